import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { NS_PER_MS, NS_PER_S } from '@tachyxx/core';
import { SchedSim, SchedError, type SchedVariant, type Behaviour } from '../src/index.js';

describe('load balancing and affinity', () => {
  it('ends 4 CPU-bound vCPUs on 2 pCPUs (all started on pCPU 0) with about equal shares (credit)', () => {
    const sim = new SchedSim({ pcpus: 2 });
    for (let d = 1; d <= 4; d++) {
      sim.addDomain({ domid: d });
      sim.addVcpu(d, 0, { kind: 'cpu' }, { hard: [0] });
    }
    sim.run(100 * NS_PER_MS);
    expect(sim.core.curr(1)).toBe(null);
    for (let d = 1; d <= 4; d++) sim.core.setAffinity(sim.core.domain(d).vcpus[0]!, { hard: null }, sim.now);
    const from = sim.now;
    const before = [1, 2, 3, 4].map((d) => sim.core.domainRuntime(d, from));
    sim.run(from + 10 * NS_PER_S);
    const shares = [1, 2, 3, 4].map((d, i) => sim.share(d, from, before[i]));
    console.log(`credit 4 vCPUs on 2 pCPUs (unpinned from pCPU 0) -> shares ${shares.map((s) => s.toFixed(4)).join(' ')}; migrations ${sim.core.stats.migrations.value}`);
    for (const s of shares) expect(Math.abs(s - 0.5) / 0.5).toBeLessThan(0.05);
    expect(shares.reduce((a, b) => a + b)).toBeGreaterThan(1.99);
  });

  it('balances 3 CPU-bound vCPUs on 2 pCPUs to 2/3 each (credit work stealing)', () => {
    const sim = new SchedSim({ pcpus: 2 });
    for (let d = 1; d <= 3; d++) {
      sim.addDomain({ domid: d });
      sim.addVcpu(d, 0, { kind: 'cpu' });
    }
    sim.run(10 * NS_PER_S);
    const shares = [1, 2, 3].map((d) => sim.share(d));
    console.log(`credit 3 vCPUs on 2 pCPUs -> shares ${shares.map((s) => s.toFixed(4)).join(' ')}`);
    for (const s of shares) expect(Math.abs(s - 2 / 3) / (2 / 3)).toBeLessThan(0.05);
  });

  for (const variant of ['credit', 'rr', 'null'] as SchedVariant[]) {
    it(`never runs a vCPU outside its hard affinity (${variant}, random affinities, loads and re-pinning)`, () => {
      const behaviour = fc.oneof(
        fc.constant<Behaviour>({ kind: 'cpu' }),
        fc.record({ kind: fc.constant('periodic' as const), runNs: fc.integer({ min: 10_000, max: 40 * NS_PER_MS }), blockNs: fc.integer({ min: 10_000, max: 40 * NS_PER_MS }) }),
        fc.record({ kind: fc.constant('random' as const), meanRunNs: fc.integer({ min: 10_000, max: 20 * NS_PER_MS }), meanBlockNs: fc.integer({ min: 10_000, max: 20 * NS_PER_MS }) }),
        fc.record({ kind: fc.constant('yielder' as const), runNs: fc.integer({ min: 10_000, max: 5 * NS_PER_MS }) }),
      );
      const mask = (n: number) => fc.option(fc.uniqueArray(fc.integer({ min: 0, max: n - 1 }), { minLength: 1, maxLength: n }), { nil: null });
      const scenario = fc.integer({ min: 1, max: 4 }).chain((pcpus) =>
        fc.record({
          pcpus: fc.constant(pcpus),
          seed: fc.integer({ min: 0, max: 1000 }),
          vcpus: fc.array(fc.record({ behaviour, hard: mask(pcpus), soft: mask(pcpus), weight: fc.integer({ min: 1, max: 1024 }), cap: fc.constantFrom(0, 0, 30, 100) }), {
            minLength: 1,
            maxLength: variant === 'null' ? pcpus : 8,
          }),
          repins: fc.array(fc.record({ at: fc.integer({ min: 1, max: 400 }), which: fc.nat(), hard: mask(pcpus) }), { maxLength: 5 }),
        }),
      );
      fc.assert(
        fc.property(scenario, (sc) => {
          const sim = new SchedSim({ pcpus: sc.pcpus, variant, seed: sc.seed, trace: false });
          const vs = [];
          for (let i = 0; i < sc.vcpus.length; i++) {
            const spec = sc.vcpus[i]!;
            sim.addDomain({ domid: i + 1, weight: spec.weight, cap: spec.cap });
            try {
              vs.push(sim.addVcpu(i + 1, 0, spec.behaviour, { hard: variant === 'null' ? null : spec.hard, soft: spec.soft }));
            } catch (e) {
              expect(e).toBeInstanceOf(SchedError);
            }
          }
          sim.onDecision = (pcpu, d) => {
            if (d.next && d.next.hard) expect(d.next.hard.has(pcpu)).toBe(true);
            sim.core.checkInvariants();
          };
          let t = 0;
          for (const r of [...sc.repins].sort((a, b) => a.at - b.at)) {
            sim.run(r.at * NS_PER_MS);
            t = r.at;
            if (vs.length === 0) break;
            const v = vs[r.which % vs.length]!;
            try {
              sim.core.setAffinity(v, { hard: r.hard }, sim.now);
            } catch (e) {
              expect(e).toBeInstanceOf(SchedError);
            }
          }
          sim.run(Math.max(t, 400) * NS_PER_MS + 100 * NS_PER_MS);
          sim.core.checkInvariants();
        }),
        { numRuns: 60, seed: 42 },
      );
    });
  }

  it('prefers soft affinity when the preferred pCPU is free', () => {
    const sim = new SchedSim({ pcpus: 4 });
    sim.addDomain({ domid: 1 });
    const v = sim.addVcpu(1, 0, { kind: 'cpu' }, { soft: [3] });
    sim.run(100 * NS_PER_MS);
    expect(v.runningOn).toBe(3);
  });

  it('moves a running vCPU when re-pinned away from its pCPU', () => {
    const sim = new SchedSim({ pcpus: 2 });
    sim.addDomain({ domid: 1 });
    const v = sim.addVcpu(1, 0, { kind: 'cpu' }, { hard: [0] });
    sim.run(50 * NS_PER_MS);
    expect(v.runningOn).toBe(0);
    sim.core.setAffinity(v, { hard: [1] }, sim.now);
    sim.run(60 * NS_PER_MS);
    expect(v.runningOn).toBe(1);
    expect(sim.core.curr(0)).toBe(null);
  });

  it('refuses a hard affinity with no pCPU in the pool', () => {
    const sim = new SchedSim({ pcpus: 2 });
    sim.addDomain({ domid: 1 });
    expect(() => sim.addVcpu(1, 0, { kind: 'cpu' }, { hard: [5] })).toThrow(/hard affinity \{5\} of d1v0 has no pCPU in cpupool 'Pool-0'/);
  });
});
