export * from './domain.js';
export * from './domain-table.js';
export * from './memory-op.js';
