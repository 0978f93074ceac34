// irq-remap on an assembled host: picked in host YAML next to evtchn, a guest that binds its
// pirq with EVTCHNOP_bind_pirq gets the device's MSI on that port — posted when its vCPU runs,
// forwarded at once with the hypervisor's cycles.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EvtchnBindPirq, EvtchnOp, GUEST_RAM_BASE, Hypercall } from '@tachyxx/abi';
import { parseHostConfig, PluginRegistry, resolve } from '@tachyxx/core';
import { ISA_PLUGINS } from '@tachyxx/isa';
import { MMU_PLUGINS } from '@tachyxx/mmu';
import { schedPlugins } from '@tachyxx/sched';
import { assembleHost, HYPERVISOR_PLUGINS, type Domain, type Host, type Vcpu } from '@tachyxx/hypervisor';
import { EVTCHN_PLUGINS, type EvtchnComponent } from '@tachyxx/evtchn';
import { IrqRemapper, IRQ_REMAP_PLUGINS, MSI_REMAPPERS, type IrqRemapComponent } from '../src/index.js';

const SPIN = readFileSync(join(import.meta.dirname, '../../../guests/build/spin.elf'));
const registry = () => new PluginRegistry([...ISA_PLUGINS, ...MMU_PLUGINS, ...schedPlugins, ...HYPERVISOR_PLUGINS, ...EVTCHN_PLUGINS, ...IRQ_REMAP_PLUGINS]);
const RID = 0x0008;

function hostWith(variant: string) {
  const reg = registry();
  const yaml = `components:\n  isa: tachy-v1\n  mmu: tagged\n  sched: credit\n  hypervisor: xen\n  evtchn: fifo\n  irq-remap: ${variant}\n`;
  const a = assembleHost(parseHostConfig(yaml, reg, { file: 'host.yaml' }), reg, { console: () => {}, log: () => {} });
  const ev = a.component<EvtchnComponent>('evtchn').channels;
  const ir = a.component<IrqRemapComponent>('irq-remap');
  return { a, host: a.host, ev, ir };
}

/** The guest's EVTCHNOP_bind_pirq (the struct in its memory, hypercall 32 from vCPU 0). */
function guestBindPirq(host: Host, d: Domain<Vcpu>, pirq: number): number {
  const arg = GUEST_RAM_BASE + 3 * 1024 * 1024;
  d.access.write(arg, new Uint8Array(EvtchnBindPirq.size));
  d.access.writeU32(arg + EvtchnBindPirq.pirq.offset, pirq);
  const rc = host.hypercalls.dispatch(d.vcpus[0]!, Hypercall.event_channel_op, { a0: EvtchnOp.bind_pirq, a1: arg, a2: 0, a3: 0, a4: 0, a5: 0 });
  return rc < 0 ? rc : d.access.readU32(arg + EvtchnBindPirq.port.offset);
}

describe('irq-remap component', () => {
  it('posted: the MSI waits in the remapper while the vCPU is paused, and raises the pirq port when it runs', () => {
    const { a, host, ev, ir } = hostWith('posted');
    expect(resolve(a.container, MSI_REMAPPERS)).toBe(ir);
    const d = host.createDomain({ name: 'g', image: SPIN, memoryMiB: 4, paused: true });
    expect(guestBindPirq(host, d, 3)).toBeLessThan(0); // not permitted yet
    expect(ev.permitPirq(d.domid, 3)).toBe(0); // PHYSDEVOP_map_pirq's part
    const port = guestBindPirq(host, d, 3);
    expect(port).toBeGreaterThan(0);
    const r = ir.unit(0);
    expect(r.setEntry(0, { rid: RID, domid: d.domid, vcpu: 0, pirq: 3 })).toBe(0);
    const m = IrqRemapper.message(0);
    expect(r.msi(RID, m.addr, m.data)).toBe(true);
    expect(ev.isPending(d.domid, port)).toBe(false);
    expect(r.waitingInterrupts).toBe(1);
    host.unpauseDomain(d);
    host.run({ untilNs: host.clock.now + 2_000_000 });
    expect(ev.isPending(d.domid, port)).toBe(true);
    expect(r.stats.interrupts.value).toBe(1);
    expect(r.stats.hypervisorCycles.value).toBe(0);
    expect(a.host.stats.lookup('host.irq-remap.pciess0.interrupts')?.dump()).toBe(1);
    // A message from another requester is blocked.
    expect(r.msi(RID + 1, m.addr, m.data)).toBe(false);
    expect(r.drainFaults()[0]!.kind).toBe('msi-wrong-device');
  });

  it('forwarded: the pirq port is raised at once and the trap + injection are hypervisor cycles', () => {
    const { host, ev, ir } = hostWith('forwarded');
    const d = host.createDomain({ name: 'g', image: SPIN, memoryMiB: 4, paused: true });
    ev.permitPirq(d.domid, 3);
    const port = guestBindPirq(host, d, 3);
    const r = ir.unit(0);
    r.setEntry(0, { rid: RID, domid: d.domid, vcpu: 0, pirq: 3 });
    const m = IrqRemapper.message(0);
    expect(r.msi(RID, m.addr, m.data)).toBe(true);
    expect(ev.isPending(d.domid, port)).toBe(true);
    expect(r.stats.idleTraps.value).toBe(1); // nothing ran: an idle pCPU took the trap
    host.unpauseDomain(d);
    host.run({ untilNs: host.clock.now + 2_000_000 });
    expect(r.stats.interrupts.value).toBe(1);
    expect(r.stats.hypervisorCycles.value).toBe(r.costs.irqTrap + r.costs.inject);
  });

  it('a dying domain takes its entries with it', () => {
    const { host, ir } = hostWith('posted');
    const d = host.createDomain({ name: 'g', image: SPIN, memoryMiB: 4, paused: true });
    const r = ir.unit(0);
    r.setEntry(5, { rid: RID, domid: d.domid, vcpu: 0, pirq: 1 });
    host.destroyDomain(d);
    expect(r.entry(5)).toBeUndefined();
  });
});
