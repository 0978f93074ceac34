import { describe, expect, it } from 'vitest';
import { StatGroup } from '../src/index.js';

class TlbStats extends StatGroup {
  lookups = this.counter('lookups', 'count', 'TLB lookups');
  hits = this.counter('hits', 'count', 'TLB hits');
  hitRatio = this.formula('hitRatio', 'ratio', 'hits / lookups', () => this.hits.value / this.lookups.value);
  walkDepth = this.histogram('walkDepth', 'count', 'memory references per walk', [4, 8, 16, 24]);
}

/** Hot-path code keeps plain fields; the stats tree reads them. */
class FakeCpu {
  retired = 0;
}

describe('the stats tree', () => {
  it('dumps nested groups mounted at dotted paths as plain JSON', () => {
    const root = new StatGroup();
    const cpu = new FakeCpu();
    const tlb = root.mount('host.cpu0.mmu.tlb', new TlbStats());
    root.group('host').group('cpu0').sampled('instructions', 'insn', 'instructions retired', () => cpu.retired);
    tlb.lookups.value += 4;
    tlb.hits.value += 3;
    tlb.walkDepth.sample(24);
    tlb.walkDepth.sample(5, 2);
    tlb.walkDepth.sample(100);
    cpu.retired = 1234;
    const dump = root.dump();
    expect(dump).toEqual({
      host: {
        cpu0: {
          mmu: {
            tlb: {
              lookups: 4,
              hits: 3,
              hitRatio: 0.75,
              walkDepth: { count: 4, sum: 134, min: 5, max: 100, bounds: [4, 8, 16, 24], counts: [0, 2, 0, 1, 1] },
            },
          },
          instructions: 1234,
        },
      },
    });
    expect(JSON.parse(JSON.stringify(dump))).toEqual(dump);
  });

  it('never resets on read, only on an explicit reset', () => {
    const root = new StatGroup();
    const cpu = new FakeCpu();
    const tlb = root.mount('tlb', new TlbStats());
    const insns = root.sampled('instructions', 'insn', 'retired', () => cpu.retired);
    tlb.hits.value = 2;
    cpu.retired = 10;
    root.dump();
    expect(root.dump()).toMatchObject({ tlb: { hits: 2 }, instructions: 10 });
    root.reset();
    cpu.retired = 15;
    expect(cpu.retired).toBe(15);
    expect(insns.value).toBe(5);
    expect(root.dump()).toMatchObject({ tlb: { hits: 0, hitRatio: null, walkDepth: { count: 0, min: null, max: null } }, instructions: 5 });
  });

  it('describes each stat with its path, unit and description', () => {
    const root = new StatGroup();
    root.mount('host.tlb', new TlbStats());
    expect(root.describe()[0]).toEqual({ path: 'host.tlb.lookups', kind: 'counter', unit: 'count', description: 'TLB lookups' });
    expect(root.describe().map((s) => s.path)).toContain('host.tlb.walkDepth');
  });

  it('finds groups and stats by path', () => {
    const root = new StatGroup();
    const tlb = root.mount('host.tlb', new TlbStats());
    expect(root.lookup('host.tlb')).toBe(tlb);
    expect(root.lookup('host.tlb.hits')).toBe(tlb.hits);
    expect(root.lookup('host.nothing.here')).toBeUndefined();
  });

  it('refuses duplicate names and bad histogram bounds', () => {
    const root = new StatGroup();
    root.counter('a', 'count', 'a');
    expect(() => root.counter('a', 'count', 'again')).toThrow(/declared twice/);
    expect(() => root.mount('a', new StatGroup())).toThrow(/declared twice/);
    expect(() => root.counter('a.b', 'count', 'dotted')).toThrow(/bad stat name/);
    expect(() => root.histogram('h', 'ns', 'h', [10, 5])).toThrow(/ascending/);
  });
});
