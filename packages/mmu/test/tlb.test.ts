import { describe, expect, it } from 'vitest';
import { Access } from '@tachyxx/isa';
import { buildContainer, parseHostConfig, PluginRegistry, resolve, TLB_FLUSH, TOKENS, ConfigError, type TlbFlushEvent } from '@tachyxx/core';
import { Mmu, TAGGED_TLB, UNTAGGED_TLB, makeP1gatp, makeSatp, MMU_FACTORY, MMU_PLUGINS, PTE_R, PTE_W, type MmuOptions } from '../src/index.js';
import { AD, bump, newMem, PtBuilder, RAM_BASE, RecordingInvalidator, RWX, vaParts } from './helpers.js';

const MiB = 1024 * 1024;

/** Two domains (VMID 1 and 2, each with its own P2M) and, in each, two address spaces (ASID 1, 2). */
function world(opts: MmuOptions = {}) {
  const mem = newMem(32);
  const inv = new RecordingInvalidator();
  const mmu = new Mmu(mem, { invalidator: inv, ...opts });
  const hyp = bump(RAM_BASE, RAM_BASE + 4 * MiB);
  const doms = [1, 2].map((vmid) => {
    const s2 = new PtBuilder(mem, 2, hyp);
    const delta = vmid * 8 * MiB; // guest RAM [0x8000_0000, +8 MiB) at MA RAM_BASE + delta
    s2.map(0x8000_0000, RAM_BASE + delta, 2, RWX | AD); // one 1 GiB leaf would be misaligned: use 2 MiB leaves
    return { vmid, s2, delta };
  });
  // replace the (misaligned) 1 GiB leaves by 2 MiB leaves
  for (const d of doms) {
    d.s2.writePte(d.s2.pteAddr(0x8000_0000, 2), 0, 0);
    for (let g = 0; g < 8 * MiB; g += 2 * MiB) d.s2.map(0x8000_0000 + g, RAM_BASE + d.delta + g, 1, RWX | AD);
  }
  const spaces = doms.map((d) => [1, 2].map((asid) => {
    const s1 = new PtBuilder(mem, 1, bump(0x8000_0000 + asid * MiB, 0x8000_0000 + (asid + 1) * MiB), (g) => g + d.delta);
    return { asid, s1 };
  }));
  const enter = (vmid: number, asid: number) => {
    const d = doms[vmid - 1]!;
    const g = makeP1gatp(9, vmid, d.s2.root / 4096);
    mmu.writeP1gatp(g.lo, g.hi);
    const sp = spaces[vmid - 1]![asid - 1]!;
    const satp = makeSatp(9, asid, sp.s1.root / 4096);
    mmu.writeSatp(satp.lo, satp.hi);
  };
  for (let v = 1; v <= 2; v++) for (let a = 1; a <= 2; a++) {
    for (let p = 0; p < 8; p++) spaces[v - 1]![a - 1]!.s1.map(0x1000_0000 + p * 4096, 0x8040_0000 + (a * 8 + p) * 4096, 0, PTE_R | PTE_W | AD);
  }
  const tr = (va: number, acc: Access = Access.READ) => {
    const [lo, hi] = vaParts(va);
    return mmu.translate(lo, hi, acc, 2);
  };
  const walks = () => mmu.stats.walks.value;
  return { mem, mmu, inv, enter, tr, walks, doms };
}

describe('the modelled TLB', () => {
  it('tagged: entries survive address-space and world switches', () => {
    const { enter, tr, walks, mmu } = world({ tagged: true });
    for (const [v, a] of [[1, 1], [1, 2], [2, 1], [2, 2]] as const) { enter(v, a); tr(0x1000_0000); }
    expect(walks()).toBe(4);
    for (const [v, a] of [[1, 1], [1, 2], [2, 1], [2, 2]] as const) { enter(v, a); tr(0x1000_0000); }
    expect(walks()).toBe(4);
    expect(mmu.stats.forVmid(1).tlbHits.value).toBe(2);
    expect(mmu.stats.forVmid(1).flushes.switch.value).toBe(0);
  });

  it('tagged: each context gets its own translation for the same VA', () => {
    const { enter, tr, doms } = world({ tagged: true });
    const got: number[] = [];
    for (const [v, a] of [[1, 1], [1, 2], [2, 1], [2, 2], [1, 1], [2, 2]] as const) { enter(v, a); got.push(tr(0x1000_0000)); }
    const expect1 = (v: number, a: number) => doms[v - 1]!.delta + 0x40_0000 + a * 8 * 4096;
    expect(got).toEqual([expect1(1, 1), expect1(1, 2), expect1(2, 1), expect1(2, 2), expect1(1, 1), expect1(2, 2)]);
  });

  it('untagged: every satp or p1gatp write flushes everything', () => {
    const { enter, tr, walks, mmu, inv } = world({ tagged: false });
    for (const [v, a] of [[1, 1], [1, 2], [2, 1], [2, 2], [1, 1], [1, 2]] as const) { enter(v, a); tr(0x1000_0000); }
    expect(walks()).toBe(6);
    enter(1, 2);
    tr(0x1000_0000);
    expect(walks()).toBe(7); // even rewriting the same values flushes
    expect(mmu.stats.forVmid(1).flushes.switch.value).toBeGreaterThan(0);
    expect(inv.all).toBeGreaterThanOrEqual(14);
  });

  it('the guest sfence.vma flushes only within its own VMID', () => {
    const { enter, tr, walks, mmu } = world();
    enter(1, 1); tr(0x1000_0000);
    enter(2, 1); tr(0x1000_0000);
    mmu.sfenceVma(0, 0, 0, true, true); // everything — of VMID 2
    tr(0x1000_0000);
    expect(walks()).toBe(3);
    enter(1, 1); tr(0x1000_0000);
    expect(walks()).toBe(3);
    expect(mmu.stats.forVmid(2).flushes.vmid.value).toBe(1);
  });

  it('sfence.vma by ASID and by page', () => {
    const { enter, tr, walks, mmu, inv } = world();
    enter(1, 1); tr(0x1000_0000); tr(0x1000_1000);
    enter(1, 2); tr(0x1000_0000);
    mmu.sfenceVma(0x1000_1000, 0, 1, false, false); // page 1 of ASID 1
    expect(inv.pages).toEqual([]); // not the current address space: nothing to drop in the soft-TLB
    mmu.sfenceVma(0x1000_0000, 0, 2, false, false);
    expect(inv.pages).toEqual([0x1000_0000]);
    tr(0x1000_0000);
    enter(1, 1); tr(0x1000_0000); tr(0x1000_1000);
    expect(walks()).toBe(3 + 2);
    mmu.sfenceVma(0, 0, 1, true, false);
    tr(0x1000_0000);
    expect(walks()).toBe(6);
    const f = mmu.stats.forVmid(1).flushes;
    expect([f.page.value, f.asid.value, f.dropped.value]).toEqual([2, 1, 4]);
  });

  it('hypervisor flushes: by GPA and by VMID', () => {
    const { enter, tr, walks, mmu, doms } = world();
    enter(1, 1); tr(0x1000_0000); tr(0x1000_1000);
    mmu.flushGpa(1, 0x8040_0000 + 9 * 4096); // the GPA behind 0x1000_1000 in ASID 1
    tr(0x1000_0000); tr(0x1000_1000);
    expect(walks()).toBe(3);
    mmu.flushVmid(2);
    tr(0x1000_0000);
    expect(walks()).toBe(3);
    mmu.flushVmid(1);
    tr(0x1000_0000);
    expect(walks()).toBe(4);
    mmu.flushAll();
    expect(mmu.tlb.count).toBe(0);
    expect(doms.length).toBe(2);
  });

  it('evicting an entry invalidates its pages in the soft-TLB (LRU, deterministic)', () => {
    const { enter, tr, mmu, inv } = world({ entries: 4, ways: 4 });
    enter(1, 1);
    for (let p = 0; p < 4; p++) tr(0x1000_0000 + p * 4096);
    tr(0x1000_0000); // page 0 is now most recently used: page 1 is the LRU
    expect(inv.pages).toEqual([]);
    tr(0x1000_4000);
    expect(inv.pages).toEqual([0x1000_1000]);
    expect(mmu.stats.forVmid(1).tlbEvictions.value).toBe(1);
  });

  it('evicting a 2 MiB entry invalidates its 512 pages', () => {
    const mem = newMem(16);
    const inv = new RecordingInvalidator();
    const mmu = new Mmu(mem, { invalidator: inv, entries: 1, ways: 1 });
    const s1 = new PtBuilder(mem, 1, bump(RAM_BASE, RAM_BASE + MiB));
    const satp = makeSatp(9, 0, s1.root / 4096);
    mmu.writeSatp(satp.lo, satp.hi);
    s1.map(0x20_0000, RAM_BASE + 2 * MiB, 1, PTE_R | AD);
    s1.map(0x1000, RAM_BASE + 4 * MiB, 0, PTE_R | AD);
    mmu.translate(0x20_0000, 0, Access.READ, 2);
    mmu.translate(0x1000, 0, Access.READ, 2);
    expect(inv.pages.length).toBe(512);
    expect(inv.pages[0]).toBe(0x20_0000);
    expect(inv.pages[511]).toBe(0x3f_f000);
  });

  it('accounts soft-TLB hits reported by the CPU as hits', () => {
    const { enter, tr, mmu } = world();
    enter(1, 1); tr(0x1000_0000); tr(0x1000_0000);
    mmu.addSoftTlbHits(98);
    const s = mmu.stats.forVmid(1);
    expect(s.tlbLookups.value).toBe(100);
    expect(s.tlbHitRatio.value).toBeCloseTo(0.99);
  });

  it('is deterministic: the same run gives the same stats and the same invalidations', () => {
    const run = () => {
      const { enter, tr, mmu, inv } = world({ entries: 8, ways: 2, pwcEntries: 4, nestedTlbEntries: 4 });
      let x = 12345;
      for (let i = 0; i < 400; i++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        if (i % 37 === 0) enter(1 + (x & 1), 1 + ((x >>> 1) & 1));
        tr(0x1000_0000 + ((x >>> 8) % 9) * 4096, (x >>> 4) % 3 === 1 ? Access.WRITE : Access.READ);
      }
      return JSON.stringify([mmu.stats.dump(), inv.pages, inv.all]);
    };
    expect(run()).toBe(run());
  });
});

describe('the mmu plugin', () => {
  it('builds a tagged MMU per hart from the host config with its stats at host.cpu<N>.mmu', () => {
    const registry = new PluginRegistry([...MMU_PLUGINS]);
    const cfg = parseHostConfig('components: { mmu: { variant: tagged, entries: 128, ways: 8, nestedTlb: false } }\ncosts: { mmu.walkRef: 30 }', registry);
    const host = buildContainer(cfg, registry);
    const factory = resolve(host, MMU_FACTORY);
    expect(factory.variant).toBe('tagged');
    const mmu = factory.create(newMem(1), 0);
    expect([mmu.tlb.entries, mmu.tlb.ways, mmu.nested, mmu.costs.walkRef, mmu.tagged]).toEqual([128, 8, null, 30, true]);
    const stats = resolve(host, TOKENS.Stats);
    expect(stats.lookup('host.cpu0.mmu.vmid0.walks')).toBeDefined();
    const seen: TlbFlushEvent[] = [];
    resolve(host, TOKENS.Bus).on(TLB_FLUSH).subscribe((e) => seen.push(e));
    mmu.flushAll();
    expect(seen).toEqual([{ time: 0, pcpu: 0, scope: 'all', entries: 0 }]);
  });

  it('offers untagged and refuses unknown variants and bad geometry', () => {
    const registry = new PluginRegistry([...MMU_PLUGINS]);
    const host = buildContainer(parseHostConfig('components: { mmu: untagged }', registry), registry);
    expect(resolve(host, MMU_FACTORY).create(newMem(1), 0).tagged).toBe(false);
    expect(() => parseHostConfig('components: { mmu: shadow }', registry)).toThrow(ConfigError);
    expect(() => new Mmu(newMem(1), { entries: 48, ways: 4 })).toThrow(/power of two/);
  });
});

describe('the TLB tag policy (the mmu variant strategy)', () => {
  it('is called on every satp / p1gatp write with whether the value changed', () => {
    const calls: boolean[] = [];
    const mmu = new Mmu(newMem(1), { policy: { name: 'spy', tagged: true, onSwitch: (_m, changed) => void calls.push(changed) } });
    expect(mmu.tagged).toBe(true);
    mmu.writeSatp(0, 0);
    mmu.writeSatp(0, 0x9000_0000 | 0);
    mmu.writeP1gatp(0, 0);
    expect(calls).toEqual([false, true, false]);
    expect(new Mmu(newMem(1), { policy: UNTAGGED_TLB }).tagged).toBe(false);
    expect(new Mmu(newMem(1), { tagged: false }).policy).toBe(UNTAGGED_TLB);
    expect(new Mmu(newMem(1)).policy).toBe(TAGGED_TLB);
  });
});
