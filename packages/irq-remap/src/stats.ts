// The interrupt remapper's stats: one group per PCIeSS at `host.irq-remap.pciess<N>`.
import { StatGroup } from '@tachyxx/core';

/** Latency buckets (simulated ns): 10 ns .. 10 ms, then more. */
export const LATENCY_BOUNDS_NS = [10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000, 10_000_000] as const;

export class IrqRemapStats extends StatGroup {
  readonly messages = this.counter('messages', 'count', 'MSI writes seen (delivered, queued or blocked)');
  readonly interrupts = this.counter('interrupts', 'count', 'interrupts that reached the guest (its pirq port raised / handler able to run)');
  readonly posted = this.counter('posted', 'count', 'posted: interrupts recorded in the remapper (no PL1 code)');
  readonly forwarded = this.counter('forwarded', 'count', 'forwarded / none: interrupts that trapped to PL1 and were injected');
  readonly queued = this.counter('queued', 'count', 'interrupts for a vCPU that was not running (delivered when it next runs)');
  readonly coalesced = this.counter('coalesced', 'count', 'interrupts merged into one already waiting for the same vCPU and pirq (one pending bit)');
  readonly wakeups = this.counter('wakeups', 'count', 'posted: blocked target vCPUs woken by the wake-up notification');
  readonly idleTraps = this.counter('idleTraps', 'count', 'forwarded: traps taken while no vCPU ran (hypervisor cycles on an idle pCPU)');
  readonly unbound = this.counter('unbound', 'count', 'interrupts dropped because the guest had not bound the pirq to a port');
  readonly unmapped = this.counter('unmapped', 'count', 'blocked: no remapping entry (or no vector) for the message');
  readonly wrongDevice = this.counter('wrongDevice', 'count', 'blocked: the entry belongs to another requester ID');
  readonly faultOverflows = this.counter('faultOverflows', 'count', 'blocked messages not queued (fault list full)');
  readonly latency = this.histogram('latency', 'ns', 'device raise -> guest handler can run (simulated ns), per delivered interrupt (coalesced MSIs ride on the first)', LATENCY_BOUNDS_NS);
  readonly hypervisorCycles = this.counter('hypervisorCycles', 'cycle', 'hypervisor cycles spent on MSIs (trap + injection, each one that trapped)');
  readonly hypervisorCyclesPerInterrupt = this.formula('hypervisorCyclesPerInterrupt', 'cycle', 'hypervisorCycles / (posted + forwarded): per MSI accepted', () => this.hypervisorCycles.value / (this.posted.value + this.forwarded.value));
}
