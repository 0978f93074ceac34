// Hostile MSI-X from a passed-through device (issue 13 section 6): eduevil writes its MSI-X table
// entry with the victim's remapping handle and makes its device raise it. The remapper sees the
// attacker's requester ID on the victim's IRTE: blocked (msi-wrong-device), counted, the victim's
// pirq port never goes pending. Asking map_pirq for the victim's function is -ENODEV. Under
// irq-remap none the table page is read-only in the attacker's stage 2 (Xen's mmio_ro_ranges): the
// write is a stage-2 violation and only the attacker crashes.
import { describe, expect, it } from 'vitest';
import { parsePciSpec } from '@tachyxx/xlcfg';
import { cfg, ptHost, runUntil, victimIrq, writeMission } from './passthrough-helpers.js';

async function setup(irq: string) {
  const t = ptHost({ irq });
  await t.op('pci-assignable-add', { bdf: '01:00.0' });
  await t.op('pci-assignable-add', { bdf: '02:00.0' });
  const v = await t.op('create', { config: cfg('victim', 'spin', [parsePciSpec('02:00.0')]), paused: true });
  const a = await t.op('create', { config: cfg('attacker', 'eduevil', [parsePciSpec('01:00.0')]), paused: true });
  const vd = t.dom(v.domid), ad = t.dom(a.domid);
  const { port } = victimIrq(t.ts, vd, 2, 0);
  const handle = t.pt.assignment({ seg: 0, bus: 2, devfn: 0 })!.pirqs.get(0)!.handle;
  const out: string[] = [];
  await t.ts.op('console', { domain: 'attacker' }, { send: (_i: unknown, ev: any) => { if (ev.event === 'console') out.push(Buffer.from(ev.data, 'base64').toString()); return true; }, addStream: () => {}, endStream: () => {} } as any, 7001);
  return { ...t, vd, ad, port, handle, out };
}

describe('hostile MSI-X from a passed-through device (eduevil)', () => {
  for (const irq of ['posted', 'forwarded'] as const) {
    it(`${irq}: an MSI aimed at the victim's remapping entry is blocked and counted; map_pirq on its device is -ENODEV`, async () => {
      const t = await setup(irq);
      try {
        writeMission(t.ad, { msi: 1, handle: t.handle });
        await t.op('unpause', { domain: 'victim' });
        await t.op('unpause', { domain: 'attacker' });
        await runUntil(t.ts, () => t.out.join('').includes('eduevil: done'));
        expect(t.out.join('')).toMatch(new RegExp(`MSI aimed at handle ${t.handle}: own interrupts 0`));
        const st = t.irq.unit(0).stats;
        expect(st.wrongDevice.value).toBe(1);
        expect(t.ts.evtchn.isPending(t.vd.domid, t.port)).toBe(false);
        expect(st.interrupts.value).toBe(0);
        expect((await t.op('list')).domains.map((d: { name: string }) => d.name)).toEqual(['Domain-0', 'victim']);
      } finally { t.ts.close(); }
    });
  }

  it('map_pirq on a function the domain does not hold: -ENODEV', async () => {
    const t = await setup('posted');
    try {
      writeMission(t.ad, { msi: 2, victimBdf: 0x0200 });
      await t.op('unpause', { domain: 'attacker' });
      await runUntil(t.ts, () => t.out.join('').includes('eduevil: done'));
      expect(t.out.join('')).toContain('eduevil: map_pirq on 02:00.0 -> -19');
      expect(t.pt.assignment({ seg: 0, bus: 2, devfn: 0 })!.pirqs.size).toBe(1); // the victim's own only
    } finally { t.ts.close(); }
  });

  it('irq-remap none: the MSI-X table is read-only to the guest; writing it crashes only the attacker', async () => {
    const t = await setup('none');
    try {
      writeMission(t.ad, { msi: 1, handle: t.handle });
      await t.op('unpause', { domain: 'victim' });
      await t.op('unpause', { domain: 'attacker' });
      await runUntil(t.ts, () => !t.ts.host.domains.get(t.ad.domid) || t.ad.isDying);
      expect(t.out.join('')).not.toContain('MSI aimed');
      const dmesg = (await t.op('dmesg')).lines.join('\n');
      expect(dmesg).toMatch(/attacker.*stage-2 violation: store.* at GPA 0x0*23100000/);
      expect(t.ts.host.stats.lookup('host.irq-remap.pciess0.interrupts')?.dump()).toBe(0);
      expect(t.ts.evtchn.isPending(t.vd.domid, t.port)).toBe(false);
      expect(t.attackerEdu.owner).toBe(0); // taken back at its death
      expect((await t.op('list')).domains.map((d: { name: string }) => d.name)).toEqual(['Domain-0', 'victim']);
    } finally { t.ts.close(); }
  });
});
