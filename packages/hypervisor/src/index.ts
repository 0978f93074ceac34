// @tachyxx/hypervisor: machine memory, P2M/M2P, guest memory access, domains, memory_op,
// the host (pCPUs, world switch, traps at PL1, hypercall table, time) and vCPUs.
export * from './memory/index.js';
export * from './domain/index.js';
export { Host, DEFAULT_BUS_SAMPLE_EVERY, type HostOptions, type HostRunStop } from './host/host.js';
export { HostError } from './host/host-error.js';
export { hex64 } from './host/pcpu.js';
export { SIM_TIME_MAX_NS } from './host/timers.js';
export { HYPERCALL_PREEMPT_NS } from './host/traps.js';
export { type DomainSpec } from './host/domain-builder.js';
export { Vcpu } from './host/vcpu.js';
export { HypercallTable, HYPERCALL_CONTINUATION, HYPERCALL_PREEMPT_MAX_ITEMS, HYPERCALL_SLOTS, type HypercallArgs, type HypercallHandler, type HypercallErrorHook, type HypercallRowOptions, type HypercallBudgetSource } from './hypercalls/table.js';
export { vcpuOp, updateRunstateArea } from './hypercalls/vcpu-op.js';
export { xenVersion, featureSubmap0, XENVER_VERSION_VALUE, XEN_MAJOR_VERSION, XEN_MINOR_VERSION } from './hypercalls/xen-version.js';
export { hvmOp, HvmParams, UPCALL_INTERRUPT } from './hypercalls/hvm-op.js';
export { physmapOp, type GrantFrameSpace, type PhysmapContext } from './hypercalls/physmap.js';
export { multicall } from './hypercalls/multicall.js';
export { DomainWatchdogs, NR_DOMAIN_WATCHDOG_TIMERS } from './hypercalls/watchdog.js';
export { hypervisorXen, HYPERVISOR_PLUGINS, HYPERVISOR_COSTS, DEFAULT_HYPERVISOR_COSTS, type HypervisorCosts } from './plugin.js';
export { type HostServices, type InterruptSink, type PollProvider, type HostComponent, HOST_SERVICES } from './services.js';
export { assembleHost, type AssembleOptions, type AssembledHost } from './assemble.js';
export { allocDomainRing, publishDomainRing, type DomainRingSlot, type UnboundPortAllocator } from './domain-ring.js';
