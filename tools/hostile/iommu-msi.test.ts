// Hostile interrupts: a device given to domain A sends MSIs aimed at victim B's interrupt. With
// remapping (posted, forwarded) the entry's requester check blocks it (msi-wrong-device) and B
// sees nothing; without (none) the vector alone decides and B gets A's interrupt — unless the
// hypervisor traps A's MSI-X table writes (checkMsixWrite), which refuses B's vector.
import { describe, expect, it } from 'vitest';
import { IrqRemapper, type IrqRemapVariant } from '@tachyxx/irq-remap';
import { ioHost, image } from '../test/io-helpers.js';

const RID_A = 0x0008, RID_B = 0x0010;

function setup(variant: IrqRemapVariant) {
  const { host } = ioHost();
  const a = host.createDomain({ name: 'attacker', image: image('hello'), memoryMiB: 4, paused: true });
  const b = host.createDomain({ name: 'victim', image: image('hello'), memoryMiB: 4, paused: true });
  const got: string[] = [];
  const r = new IrqRemapper({ variant, host, deliver: (domid, pirq) => { got.push(`d${domid}p${pirq}`); return true; } });
  host.onVcpuRunning((v, now) => r.vcpuRunning(v, now));
  return { host, a, b, r, got };
}

describe('hostile MSIs from a passed-through device', () => {
  for (const variant of ['posted', 'forwarded'] as const) {
    it(`${variant}: an MSI with the victim's handle is blocked as msi-wrong-device; random messages never reach the victim`, () => {
      const { a, b, r, got } = setup(variant);
      expect(r.setEntry(0, { rid: RID_A, domid: a.domid, vcpu: 0, pirq: 1 })).toBe(0);
      expect(r.setEntry(1, { rid: RID_B, domid: b.domid, vcpu: 0, pirq: 1 })).toBe(0);
      const victim = IrqRemapper.message(1);
      expect(r.msi(RID_A, victim.addr, victim.data)).toBe(false);
      for (let h = 0; h < 2048; h++) { const m = IrqRemapper.message(h); r.msi(RID_A, m.addr, m.data); }
      for (let v = 0; v < 256; v++) r.msi(RID_A, IrqRemapper.compatMessage(0, v).addr, v);
      expect(got.every((g) => g === `d${a.domid}p1`)).toBe(true);
      expect(r.stats.wrongDevice.value).toBe(2);
      expect(r.drainFaults()[0]).toMatchObject({ kind: 'msi-wrong-device', rid: RID_A, index: 1 });
    });
  }

  it('posted: a flood of MSIs at a vCPU that does not run stays one pending interrupt (no unbounded queue)', () => {
    const { host, a, r, got } = setup('posted');
    expect(r.setEntry(0, { rid: RID_A, domid: a.domid, vcpu: 0, pirq: 1 })).toBe(0);
    const m = IrqRemapper.message(0);
    for (let i = 0; i < 100_000; i++) r.msi(RID_A, m.addr, m.data);
    expect(r.waitingInterrupts).toBe(1);
    expect(r.stats.coalesced.value).toBe(99_999);
    expect(got).toEqual([]);
    host.unpauseDomain(a);
    host.run({ untilNs: host.clock.now + 1_000_000 });
    expect(got).toEqual([`d${a.domid}p1`]);
  });

  it('none: the vector decides, so the victim gets the attacker\'s interrupt; the MSI-X write check is what stops it', () => {
    const { a, b, r, got } = setup('none');
    expect(r.bindVector(0x40, { rid: RID_A, domid: a.domid, vcpu: 0, pirq: 1 })).toBe(0);
    expect(r.bindVector(0x41, { rid: RID_B, domid: b.domid, vcpu: 0, pirq: 1 })).toBe(0);
    const victim = IrqRemapper.compatMessage(0, 0x41);
    expect(r.msi(RID_A, victim.addr, victim.data)).toBe(true);
    expect(got).toEqual([`d${b.domid}p1`]);
    expect(r.checkMsixWrite(RID_A, victim.addr, victim.data)).toMatchObject({ trap: true, allowed: false });
  });
});
