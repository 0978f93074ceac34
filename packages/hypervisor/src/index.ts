// @tachyxx/hypervisor: machine memory, P2M/M2P, guest memory access, domains, memory_op,
// the host (pCPUs, world switch, traps at PL1, hypercall table, time) and vCPUs.
export * from './memory/index.js';
export * from './domain/index.js';
export { Host, HostError, DEFAULT_BUS_SAMPLE_EVERY, type HostOptions, type DomainSpec } from './host/host.js';
export { Vcpu } from './host/vcpu.js';
export { HypercallTable, type HypercallArgs, type HypercallHandler } from './hypercalls/table.js';
export { vcpuOp } from './hypercalls/vcpu-op.js';
export { hypervisorXen, HYPERVISOR_PLUGINS, HYPERVISOR_COSTS, DEFAULT_HYPERVISOR_COSTS, type HypervisorCosts } from './plugin.js';
export { type HostServices, type InterruptSink, type PollProvider, type HostComponent, HOST_SERVICES } from './services.js';
export { assembleHost, type AssembleOptions, type AssembledHost } from './assemble.js';
