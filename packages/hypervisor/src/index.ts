// @tachyxx/hypervisor: machine memory, P2M/M2P, guest memory access, domains, memory_op.
export * from './memory/index.js';
export * from './domain/index.js';
