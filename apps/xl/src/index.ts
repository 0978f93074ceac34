export * from './xlcfg/index.js';
export * from './config/index.js';
export { main, XL_COMMANDS } from './main.js';
