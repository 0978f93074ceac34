// Hostile passthrough (issue 13 section 6): a domU given edu (guests/eduevil, C) programs its
// device to DMA outside its domain: past its own memory, at the victim's machine addresses, far
// away. Under the IOMMU every such write is refused and recorded as a fault against the device,
// not one byte lands in the victim, the victim's console is unchanged, and the host answers
// `list`. Under `none` with unsafe-passthrough the same DMA overwrites the victim: the book's
// "safe DMA" problem, made visible. The BAR-move attempt is emulated by the config filter.
import { describe, expect, it } from 'vitest';
import { GUEST_VPCI_MEM_ADDR } from '@tachyxx/abi';
import { parsePciSpec } from '@tachyxx/xlcfg';
import { cfg, maOf, PAGE, ptHost, runUntil, snapshot, writeMission } from './passthrough-helpers.js';

const RAM = 0x8000_0000;

async function attack(o: { iommu?: string; unsafe?: boolean; bar?: boolean }) {
  const t = ptHost(o);
  const { ts, op } = t;
  await op('pci-assignable-add', { bdf: '01:00.0' });
  await op('pci-assignable-add', { bdf: '02:00.0' });
  const victimOut: string[] = [];
  const v = await op('create', { config: cfg('victim', 'spin', [parsePciSpec('02:00.0')]), paused: true });
  const a = await op('create', { config: cfg('attacker', 'eduevil', [parsePciSpec('01:00.0')]), paused: true });
  const vd = t.dom(v.domid), ad = t.dom(a.domid);
  const ctxOf = (sink: string[]) => ({ send: (_id: unknown, ev: any) => { if (ev.event === 'console') sink.push(Buffer.from(ev.data, 'base64').toString()); return true; }, addStream: () => {}, endStream: () => {} });
  await ts.op('console', { domain: 'victim' }, ctxOf(victimOut) as any, 9001);
  const attackerOut: string[] = [];
  await ts.op('console', { domain: 'attacker' }, ctxOf(attackerOut) as any, 9002);
  // The victim runs alone first: its console as it is without an attack.
  await op('unpause', { domain: 'victim' });
  await runUntil(ts, () => victimOut.join('').includes('spin: looping forever'));
  const victimText = victimOut.join('');
  // Paused during the attack, so that its own stores do not count as changes.
  await op('pause', { domain: 'victim' });
  const before = snapshot(ts, vd);
  const targets = [
    RAM + 16 * 1024 * 1024, // just past the attacker's 16 MiB
    maOf(vd, RAM + 0x10_0000), // a victim page by machine address
    maOf(vd, RAM + 0x20_0000),
    2 ** 39, // far away
  ];
  writeMission(ad, { dma: targets, bar: o.bar ? maOf(vd, RAM) : 0 });
  await op('unpause', { domain: 'attacker' });
  await runUntil(ts, () => attackerOut.join('').includes('eduevil: done') || ad.isDying);
  const after = snapshot(ts, vd);
  await op('unpause', { domain: 'victim' });
  const t0 = ts.host.clock.now;
  await runUntil(ts, () => ts.host.clock.now > t0 + 20_000_000);
  return { ...t, vd, ad, before, after, targets, victimText, victimOut, attackerOut: attackerOut.join('') };
}

describe('hostile DMA from a passed-through device (eduevil)', () => {
  for (const iommu of ['shared-stage2', 'private'] as const) {
    it(`${iommu}: every DMA outside the domain faults, no byte reaches the victim, the host answers list`, async () => {
      const r = await attack({ iommu, bar: true });
      try {
        expect(r.attackerOut).toContain('eduevil: done');
        expect(r.attackerOut.match(/DMA to [0-9a-f]+: completed/g)).toHaveLength(4); // the device finished (with errors)
        // The victim's memory, page by page, as before.
        let changed = 0;
        for (const [mfn, bytes] of r.before) if (!Buffer.from(r.after.get(mfn)!).equals(Buffer.from(bytes))) changed++;
        expect(r.before.size).toBeGreaterThan(4000);
        expect(changed).toBe(0);
        expect(r.victimOut.join('')).toBe(r.victimText);
        // Faults recorded against the attacker's device, by the IOMMU.
        const faults = r.ts.host.stats.lookup('host.iommu.pciess0.faults')?.dump() as Record<string, number> | number;
        const total = typeof faults === 'number' ? faults : Object.values(faults).reduce((x, y) => x + y, 0);
        expect(total).toBeGreaterThanOrEqual(2); // past its RAM, far away (the victim MAs may fall inside its own GPA range)
        expect(r.pt.stats.iommuFaults.value).toBeGreaterThanOrEqual(2); // counted against the assigned device
        expect(r.attackerEdu.stats.dmaErrors).toBeGreaterThanOrEqual(2);
        // The BAR write was emulated: the device and the guest mapping did not move.
        expect(r.attackerOut).toMatch(/BAR0 write [0-9a-f]+ -> 0, BAR0 now 23000000, id 010000ed/);
        expect(r.attackerEdu.decodedBars()[0]!.addr).toBe(0x4000_0000);
        // The attacker powered off: its device was reset and taken back, its mapping revoked.
        expect(r.attackerEdu.owner).toBe(0);
        expect(r.ad.p2m!.lookup(GUEST_VPCI_MEM_ADDR / PAGE)).toBe(-1);
        // The host is fine.
        const list = await r.op('list');
        expect(list.domains.map((d: { name: string }) => d.name)).toEqual(['Domain-0', 'victim']);
      } finally { r.ts.close(); }
    });
  }

  it('none + unsafe-passthrough: the same DMA overwrites the victim (no IOMMU: nobody notices)', async () => {
    const r = await attack({ iommu: 'none', unsafe: true });
    try {
      expect(r.attackerOut).toContain('eduevil: done');
      const hit = [r.targets[1]!, r.targets[2]!].map((ma) => r.after.get(ma / PAGE)!);
      for (const page of hit) expect(page.every((b) => b === 0xee)).toBe(true);
      expect(r.iommu.unit(0).queuedFaults + r.iommu.handledFaults).toBe(0);
    } finally { r.ts.close(); }
  });
});
