export * from './decode.js';
