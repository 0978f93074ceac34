// The remapper driven as a device would drive it, against a small host stand-in (domains with
// vCPUs that are running, runnable or blocked): table checks, faults, posted queueing and
// latency, forwarded costs, and the none variant's vector table and MSI-X write check.
import { describe, expect, it } from 'vitest';
import { SimClock } from '@tachyxx/core';
import { FIRST_DYNAMIC_VECTOR, IrqRemapper, MSI_ADDR_BASE, MSI_ADDR_SHV, type IrqRemapHost, type IrqRemapVariant } from '../src/index.js';

const RID_A = 0x0008, RID_B = 0x0010;
const FREQ = 1e9; // 1 cycle = 1 ns

function fakeHost() {
  const clock = new SimClock(1000);
  const doms = new Map<number, any>();
  const charged: [number, number, number][] = [];
  const woken: string[] = [];
  const mk = (domid: number, n: number) => {
    const d: any = { domid, isDying: false, vcpus: [] };
    for (let i = 0; i < n; i++) d.vcpus.push({ id: i, loadedOn: -1, blocked: false, domain: d });
    doms.set(domid, d);
    return d;
  };
  const host: IrqRemapHost = {
    freqHz: FREQ, clock,
    domains: { get: (id) => doms.get(id), list: () => [...doms.values()] },
    chargeCycles: (v, c) => charged.push([v.domain.domid, v.id, c]),
    wakeVcpu: (v) => { woken.push(`d${v.domain.domid}v${v.id}`); v.blocked = false; },
    log: () => {},
  };
  return { host, clock, mk, charged, woken };
}

function setup(variant: IrqRemapVariant) {
  const f = fakeHost();
  const d1 = f.mk(1, 2), d2 = f.mk(2, 1);
  const delivered: string[] = [];
  const bound = new Set(['1:5', '1:6', '2:7']);
  const r = new IrqRemapper({ variant, host: f.host, deliver: (domid, pirq) => { if (!bound.has(`${domid}:${pirq}`)) return false; delivered.push(`d${domid}p${pirq}`); return true; }, entries: 64 });
  return { ...f, d1, d2, r, delivered, bound };
}

describe('remapping table', () => {
  it('blocks a message with no entry (msi-unmapped) and one from another requester (msi-wrong-device)', () => {
    const { r, delivered } = setup('forwarded');
    expect(r.setEntry(3, { rid: RID_A, domid: 1, vcpu: 0, pirq: 5 })).toBe(0);
    const m = IrqRemapper.message(3);
    expect(r.msi(RID_B, m.addr, m.data)).toBe(false);
    const m4 = IrqRemapper.message(4);
    expect(r.msi(RID_A, m4.addr, m4.data)).toBe(false);
    expect(r.msi(RID_A, 0x1000, 0)).toBe(false); // not the doorbell
    expect(r.msi(RID_A, IrqRemapper.compatMessage(0, 0x40).addr, 0x40)).toBe(false); // compatibility format under remapping
    expect(r.drainFaults().map((f) => [f.kind, f.rid, f.index])).toEqual([
      ['msi-wrong-device', RID_B, 3], ['msi-unmapped', RID_A, 4], ['msi-unmapped', RID_A, -1], ['msi-unmapped', RID_A, -1],
    ]);
    expect(r.stats.wrongDevice.value).toBe(1);
    expect(r.stats.unmapped.value).toBe(3);
    expect(delivered).toEqual([]);
    expect(r.msi(RID_A, m.addr, m.data)).toBe(true);
  });

  it('decodes VT-d remappable handles (bits 19:5, handle[15] in bit 2, SHV subhandle in the data)', () => {
    const { r } = setup('forwarded');
    const big = new IrqRemapper({ variant: 'forwarded', host: fakeHost().host, deliver: () => true, entries: 65536 });
    const m = IrqRemapper.message(0x8123);
    expect(m.addr).toBe(MSI_ADDR_BASE + 0x123 * 32 + 4 + 16);
    expect(big.msi(RID_A, m.addr, 0)).toBe(false);
    expect(big.drainFaults()[0]!.index).toBe(0x8123);
    expect(r.setEntry(10, { rid: RID_A, domid: 1, vcpu: 0, pirq: 5 })).toBe(0);
    const base = IrqRemapper.message(8);
    expect(r.msi(RID_A, base.addr + MSI_ADDR_SHV, 2)).toBe(true); // 8 + subhandle 2 = 10
  });

  it('validates entries: handle range, domain, vCPU; variant none has no table', () => {
    const { r } = setup('posted');
    expect(r.setEntry(64, { rid: RID_A, domid: 1, vcpu: 0, pirq: 5 })).toBe(-22);
    expect(r.setEntry(0, { rid: RID_A, domid: 9, vcpu: 0, pirq: 5 })).toBe(-3);
    expect(r.setEntry(0, { rid: RID_A, domid: 1, vcpu: 2, pirq: 5 })).toBe(-22);
    expect(r.setEntry(0, { rid: 0x10000, domid: 1, vcpu: 0, pirq: 5 })).toBe(-22);
    expect(r.allocHandle()).toBe(0);
    expect(setup('none').r.setEntry(0, { rid: RID_A, domid: 1, vcpu: 0, pirq: 5 })).toBe(-22);
  });

  it('never throws on garbage messages', () => {
    for (const v of ['posted', 'forwarded', 'none'] as const) {
      const { r } = setup(v);
      for (const rid of [NaN, -1, 0x10000, RID_A]) for (const addr of [NaN, -1, MSI_ADDR_BASE + 0.5, MSI_ADDR_BASE + 0xfffff, 2 ** 60]) for (const data of [NaN, -1, 2 ** 40]) {
        expect(typeof r.msi(rid, addr, data)).toBe('boolean');
      }
    }
  });
});

describe('posted', () => {
  it('delivers at once to a running vCPU, with no hypervisor cycles', () => {
    const { r, d1, delivered, charged } = setup('posted');
    r.setEntry(1, { rid: RID_A, domid: 1, vcpu: 0, pirq: 5 });
    d1.vcpus[0].loadedOn = 0;
    const m = IrqRemapper.message(1);
    expect(r.msi(RID_A, m.addr, m.data)).toBe(true);
    expect(delivered).toEqual(['d1p5']);
    expect(charged).toEqual([]);
    expect(r.stats.interrupts.value).toBe(1);
    expect(r.stats.latency.sum).toBe(r.costs.postLatency);
    expect(r.stats.hypervisorCycles.value).toBe(0);
  });

  it('queues for a vCPU that is not running and delivers when it is next scheduled; a blocked one is woken', () => {
    const { r, d1, clock, delivered, woken } = setup('posted');
    r.setEntry(1, { rid: RID_A, domid: 1, vcpu: 1, pirq: 6 });
    d1.vcpus[1].blocked = true;
    const m = IrqRemapper.message(1);
    clock.advanceTo(1000);
    expect(r.msi(RID_A, m.addr, m.data)).toBe(true);
    clock.advanceTo(2000);
    expect(r.msi(RID_A, m.addr, m.data)).toBe(true);
    expect(delivered).toEqual([]);
    expect(woken).toEqual(['d1v1']); // once: the second found it runnable
    expect(r.waitingInterrupts).toBe(1); // the same pirq coalesces (one pending bit)
    expect(r.stats.coalesced.value).toBe(1);
    r.vcpuRunning(d1.vcpus[0], 3000); // another vCPU: nothing
    expect(delivered).toEqual([]);
    r.vcpuRunning(d1.vcpus[1], 6000);
    expect(delivered).toEqual(['d1p6']);
    expect(r.stats.latency.max).toBe(5000 + r.costs.postLatency); // from the first raise
    expect(r.waitingInterrupts).toBe(0);
    expect(r.stats.hypervisorCycles.value).toBe(0);
  });

  it('drops an interrupt whose pirq the guest never bound (counted)', () => {
    const { r, d2 } = setup('posted');
    r.setEntry(2, { rid: RID_B, domid: 2, vcpu: 0, pirq: 9 });
    d2.vcpus[0].loadedOn = 1;
    const m = IrqRemapper.message(2);
    expect(r.msi(RID_B, m.addr, m.data)).toBe(true);
    expect(r.stats.unbound.value).toBe(1);
    expect(r.stats.interrupts.value).toBe(0);
  });
});

describe('forwarded', () => {
  it('charges trap + injection to the running target and counts them per interrupt', () => {
    const { r, d1, charged, delivered } = setup('forwarded');
    r.setEntry(1, { rid: RID_A, domid: 1, vcpu: 0, pirq: 5 });
    d1.vcpus[0].loadedOn = 0;
    const m = IrqRemapper.message(1);
    for (let i = 0; i < 3; i++) r.msi(RID_A, m.addr, m.data);
    const hyp = r.costs.irqTrap + r.costs.inject;
    expect(charged).toEqual([[1, 0, hyp], [1, 0, hyp], [1, 0, hyp]]);
    expect(delivered).toHaveLength(3);
    expect(r.stats.hypervisorCyclesPerInterrupt.value).toBe(hyp);
    expect(r.stats.latency.max).toBe(hyp);
  });

  it('a target that is not running: the trap interrupts whoever runs, the port is raised now, latency ends when it runs', () => {
    const { r, d1, d2, clock, charged, delivered } = setup('forwarded');
    r.setEntry(1, { rid: RID_A, domid: 1, vcpu: 0, pirq: 5 });
    d2.vcpus[0].loadedOn = 0;
    const m = IrqRemapper.message(1);
    clock.advanceTo(100);
    r.msi(RID_A, m.addr, m.data);
    expect(charged).toEqual([[2, 0, r.costs.irqTrap + r.costs.inject]]);
    expect(delivered).toEqual(['d1p5']);
    expect(r.stats.interrupts.value).toBe(0);
    r.vcpuRunning(d1.vcpus[0], 2100);
    expect(r.stats.interrupts.value).toBe(1);
    expect(r.stats.latency.max).toBe(2000);
    d2.vcpus[0].loadedOn = -1;
    r.msi(RID_A, m.addr, m.data);
    expect(r.stats.idleTraps.value).toBe(1);
  });
});

describe('none (no remapping)', () => {
  it('takes the vector at its word: any device naming a vector reaches its domain', () => {
    const { r, delivered } = setup('none');
    expect(r.bindVector(0x41, { rid: RID_B, domid: 2, vcpu: 0, pirq: 7 })).toBe(0);
    expect(r.bindVector(FIRST_DYNAMIC_VECTOR - 1, { rid: RID_B, domid: 2, vcpu: 0, pirq: 7 })).toBe(-22);
    const m = IrqRemapper.compatMessage(0, 0x41);
    expect(r.msi(RID_A, m.addr, m.data)).toBe(true); // device A hits domain 2's interrupt: nothing checks the sender
    expect(delivered).toEqual(['d2p7']);
    expect(r.msi(RID_A, m.addr, 0x42)).toBe(false); // an unallocated vector
    expect(r.stats.unmapped.value).toBe(1);
  });

  it('the MSI-X write check lets a device name only its own vectors (the hypervisor traps every write)', () => {
    const { r } = setup('none');
    r.bindVector(0x41, { rid: RID_B, domid: 2, vcpu: 0, pirq: 7 });
    r.bindVector(0x50, { rid: RID_A, domid: 1, vcpu: 0, pirq: 5 });
    const own = IrqRemapper.compatMessage(0, 0x50), other = IrqRemapper.compatMessage(0, 0x41);
    expect(r.checkMsixWrite(RID_A, own.addr, own.data)).toMatchObject({ trap: true, allowed: true });
    expect(r.checkMsixWrite(RID_A, other.addr, other.data)).toMatchObject({ trap: true, allowed: false });
    expect(r.checkMsixWrite(RID_A, other.addr, 0x99).allowed).toBe(false);
    expect(r.checkMsixWrite(RID_A, 0x1000, 0x50).allowed).toBe(false);
    const { r: remapped } = setup('posted');
    expect(remapped.checkMsixWrite(RID_A, other.addr, other.data)).toMatchObject({ trap: false, allowed: true });
  });
});
