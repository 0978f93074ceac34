// The hypervisor's own cost model as a plugin (component `hypervisor`, variant `xen`), so its
// costs live in the host config next to the CPU's and the MMU's (`costs: { hypervisor.hypercall: 376 }`).
// Defaults are the Xen-ARM column of Dall et al., "ARM Virtualization: Performance and
// Architectural Implications", ISCA 2016 (shared/design/references.md); the CPU charges its own
// trap entry/return and world switch (isa's `trapEntry`, `trapReturn`, `worldSwitch`).
import { bindSingleton, componentCosts, definePlugin, defineToken, p, resolve, TOKENS } from '@tachyxx/core';

export interface HypervisorCosts {
  /** Cycles of hypervisor work per hypercall round trip, on top of the CPU's trap entry/return. */
  hypercall: number;
  /** Cycles to emulate or reflect a trapped sensitive instruction. */
  emulation: number;
  /** Cycles to inject a virtual interrupt (upcall) into a vCPU. */
  virtualIrq: number;
  /** Cycles per item of a batched hypercall (one grant map/unmap/copy op, one memory_op extent). */
  hypercallItem: number;
  /** Cycles per KiB the hypervisor copies for a guest (grant copy, console_io). */
  copyPerKiB: number;
}
export const HYPERVISOR_COSTS = defineToken<HypervisorCosts>('hypervisor.Costs');

export const DEFAULT_HYPERVISOR_COSTS: Readonly<HypervisorCosts> = Object.freeze({
  hypercall: 376, // Xen-ARM hypercall, Dall et al. ISCA 2016
  emulation: 1356, // Xen-ARM interrupt-controller trap (a trap the hypervisor emulates)
  virtualIrq: 71, // Xen-ARM virtual IRQ completion
  hypercallItem: 188, // half a Xen-ARM hypercall round trip: lock, look-up and status write per op (our estimate)
  copyPerKiB: 64, // memcpy at 16 bytes per cycle (our estimate)
});

export const hypervisorXen = definePlugin({
  id: 'hypervisor',
  variant: 'xen',
  description: 'Xen-style hypervisor at PL1: hypercall costs from Xen on ARM (Dall et al., ISCA 2016)',
  params: {},
  costs: {
    hypercall: p.uint(DEFAULT_HYPERVISOR_COSTS.hypercall, 'hypervisor cycles per hypercall (Xen-ARM, Dall et al. ISCA 2016: 376)'),
    emulation: p.uint(DEFAULT_HYPERVISOR_COSTS.emulation, 'hypervisor cycles per emulated or reflected sensitive instruction (Xen-ARM I/O-controller trap: 1356)'),
    virtualIrq: p.uint(DEFAULT_HYPERVISOR_COSTS.virtualIrq, 'hypervisor cycles per injected virtual interrupt (Xen-ARM virtual IRQ completion: 71)'),
    hypercallItem: p.uint(DEFAULT_HYPERVISOR_COSTS.hypercallItem, 'hypervisor cycles per item of a batched hypercall: a grant op, a memory_op extent (estimate: 188)'),
    copyPerKiB: p.uint(DEFAULT_HYPERVISOR_COSTS.copyPerKiB, 'hypervisor cycles per KiB copied for a guest: grant copy, console_io (estimate: 64, 16 bytes per cycle)'),
  },
  provides: [HYPERVISOR_COSTS],
  requires: [TOKENS.Costs],
  register(c) {
    bindSingleton(c, HYPERVISOR_COSTS, (c) => {
      const all = componentCosts(resolve(c, TOKENS.Costs), 'hypervisor');
      return Object.freeze({
        hypercall: all['hypercall']!, emulation: all['emulation']!, virtualIrq: all['virtualIrq']!,
        hypercallItem: all['hypercallItem']!, copyPerKiB: all['copyPerKiB']!,
      });
    });
  },
});
export const HYPERVISOR_PLUGINS = [hypervisorXen] as const;
