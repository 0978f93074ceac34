export * from './hypercall.js';
export * from './errno.js';
export * from './boot.js';
export * from './memory.js';
export * from './vcpu.js';
export * from './grant-table.js';
export * from './xs-wire.js';
export * from './event-channel.js';
