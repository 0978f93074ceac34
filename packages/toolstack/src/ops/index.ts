// The toolstack's op table: one entry per op of OP_ARGS (protocol.ts), each with its argument
// shape and handler. A missing or extra op is a compile error here.
import type { OpName } from '../protocol.js';
import { BLOCK_OPS } from './block.js';
import { CONSOLE_OPS } from './console.js';
import { CPUPOOL_OPS } from './cpupool.js';
import { DEBUG_OPS } from './debug.js';
import { DOMAIN_OPS } from './domain.js';
import { HOST_OPS } from './host.js';
import { MEMORY_OPS } from './memory.js';
import { NETWORK_OPS } from './network.js';
import { PCI_OPS } from './pci.js';
import { SRIOV_OPS } from './sriov.js';
import type { OpEntry, OpTable } from './types.js';
import { VCPU_OPS } from './vcpu.js';

export const OP_TABLE: OpTable<OpName> = Object.freeze({ ...HOST_OPS, ...DOMAIN_OPS, ...CONSOLE_OPS, ...VCPU_OPS, ...MEMORY_OPS, ...CPUPOOL_OPS, ...DEBUG_OPS, ...BLOCK_OPS, ...NETWORK_OPS, ...PCI_OPS, ...SRIOV_OPS });

/** The entry of op `name`, or undefined (own properties only: `__proto__` is no op). */
export function opEntry(name: string): OpEntry | undefined {
  return Object.hasOwn(OP_TABLE, name) ? (OP_TABLE as Record<string, OpEntry>)[name] : undefined;
}

export { listDomains, cpuNs } from './domain.js';
export { listNics, NIC_REMOVE_TIMEOUT_NS, type NicInfo } from './network.js';
export { hostInfo, hostCounts, xenVersion } from './host.js';
export { op, type OpEntry, type OpRun, type OpArgs, type OpTable } from './types.js';
