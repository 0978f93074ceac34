export * from './decode.js';
export * from './elf.js';
export * from './disasm.js';
export * from './cpu/index.js';
export * from './platform/index.js';
export * from './plugin.js';
