export * from './frame-table.js';
export * from './numa.js';
export * from './m2p.js';
export * from './machine-memory.js';
export * from './p2m.js';
export * from './guest-access.js';
