import { describe, expect, it } from 'vitest';
import { NS_PER_MS, NS_PER_S, PluginRegistry, XenError, buildContainer, parseHostConfig, resolve } from '@tachyxx/core';
import { SchedSim, SchedError, ENOSPC, NullScheduler, SCHED_CORE, schedPlugins, type SchedVariant } from '../src/index.js';

describe('null', () => {
  it('refuses more vCPUs than pCPUs with a clear error', () => {
    const sim = new SchedSim({ pcpus: 2, variant: 'null' });
    sim.addDomain({ domid: 1 });
    sim.addVcpu(1, 0, { kind: 'cpu' });
    sim.addVcpu(1, 1, { kind: 'cpu' });
    let err: unknown;
    try {
      sim.addVcpu(1, 2, { kind: 'cpu' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SchedError);
    expect((err as SchedError).errno).toBe(ENOSPC);
    expect(err).toBeInstanceOf(XenError); // issue 9 §4: one error base carrying a Xen errno
    expect((err as Error).message).toBe(
      'null scheduler: no free pCPU for d1v2: 2 of 2 pCPUs in the pool already have a vCPU; the null scheduler runs exactly one vCPU per pCPU (use credit or rr to overcommit)',
    );
    expect(sim.core.domain(1).vcpus).toHaveLength(2);
  });

  it('runs each vCPU on its own pCPU, never migrating, idling while it is blocked', () => {
    const sim = new SchedSim({ pcpus: 2, variant: 'null' });
    sim.addDomain({ domid: 1 });
    const a = sim.addVcpu(1, 0, { kind: 'cpu' });
    const b = sim.addVcpu(1, 1, { kind: 'periodic', runNs: 1 * NS_PER_MS, blockNs: 3 * NS_PER_MS });
    sim.run(1 * NS_PER_S);
    expect(sim.core.stats.migrations.value).toBe(0);
    expect(sim.share(1)).toBeCloseTo(1.25, 2);
    const n = sim.core.scheduler() as NullScheduler;
    expect(n.assignedTo(a.processor)).toBe(a);
    expect(n.assignedTo(b.processor)).toBe(b);
    expect(a.processor).not.toBe(b.processor);
  });
});

describe('rr', () => {
  it('is fair: 3 CPU-bound vCPUs on one pCPU get 1/3 each within 1%, in fixed slices', () => {
    const sim = new SchedSim({ pcpus: 1, variant: 'rr', params: { tslice_ms: 10 } });
    for (let d = 1; d <= 3; d++) {
      sim.addDomain({ domid: d, weight: d * 100 });
      sim.addVcpu(d, 0, { kind: 'cpu' });
    }
    sim.run(10 * NS_PER_S);
    const shares = [1, 2, 3].map((d) => sim.share(d));
    console.log(`rr 3 vCPUs on 1 pCPU -> shares ${shares.map((s) => s.toFixed(4)).join(' ')}`);
    for (const s of shares) expect(Math.abs(s - 1 / 3)).toBeLessThan(0.01);
    expect(sim.trace.slice(3, 6).map((e) => e.t)).toEqual([30, 40, 50].map((x) => x * NS_PER_MS));
  });

  it('is fair: 4 CPU-bound vCPUs on 2 pCPUs get 1/2 each within 1%', () => {
    const sim = new SchedSim({ pcpus: 2, variant: 'rr' });
    for (let d = 1; d <= 4; d++) {
      sim.addDomain({ domid: d });
      sim.addVcpu(d, 0, { kind: 'cpu' });
    }
    sim.run(10 * NS_PER_S);
    const shares = [1, 2, 3, 4].map((d) => sim.share(d));
    console.log(`rr 4 vCPUs on 2 pCPUs -> shares ${shares.map((s) => s.toFixed(4)).join(' ')}`);
    for (const s of shares) expect(Math.abs(s - 0.5)).toBeLessThan(0.01);
  });
});

describe('cpupools', () => {
  it('isolate: a pool of 1 pCPU with a hog does not slow the domains of another pool', () => {
    const sim = new SchedSim({ pcpus: 3 });
    sim.core.createPool('batch', 'rr');
    sim.core.movePcpu(2, 'batch', 0);
    sim.addDomain({ domid: 1 });
    sim.addVcpu(1, 0, { kind: 'cpu' });
    sim.addVcpu(1, 1, { kind: 'cpu' });
    sim.addDomain({ domid: 2, pool: 'batch' });
    for (let i = 0; i < 4; i++) sim.addVcpu(2, i, { kind: 'cpu' });
    const onPcpu: Map<string, Set<number>> = new Map();
    sim.onDecision = (pcpu, d) => {
      if (!d.next) return;
      const s = onPcpu.get(d.next.name) ?? new Set();
      s.add(pcpu);
      onPcpu.set(d.next.name, s);
    };
    sim.run(5 * NS_PER_S);
    console.log(`cpupools: Pool-0 (credit, 2 pCPUs) d1 share ${sim.share(1).toFixed(4)}; batch (rr, 1 pCPU) d2 share ${sim.share(2).toFixed(4)}`);
    expect(sim.share(1)).toBeGreaterThan(1.99);
    expect(sim.share(2)).toBeGreaterThan(0.99);
    expect(sim.share(2)).toBeLessThan(1.0001);
    for (const [name, cpus] of onPcpu) expect([...cpus].every((c) => (name.startsWith('d2') ? c === 2 : c !== 2))).toBe(true);
  });

  it('moves a domain and pCPUs between pools, and refuses to empty a pool that has domains', () => {
    const sim = new SchedSim({ pcpus: 4 });
    sim.core.createPool('p1', 'credit', { tslice_ms: 10 });
    sim.core.movePcpu(3, 'p1', 0);
    sim.addDomain({ domid: 1 });
    const v = sim.addVcpu(1, 0, { kind: 'cpu' }, { hard: [0, 1] });
    sim.run(100 * NS_PER_MS);
    expect([0, 1]).toContain(v.runningOn);
    sim.core.moveDomain(1, 'p1', sim.now);
    expect(v.hard).toBe(null); // {0,1} has no pCPU of p1: affinity broken, as Xen does
    expect(sim.core.stats.affinityBroken.value).toBe(1);
    sim.run(200 * NS_PER_MS);
    expect(v.runningOn).toBe(3);
    expect(() => sim.core.movePcpu(3, 'Pool-0', sim.now)).toThrow(/last of cpupool 'p1'/);
    sim.core.movePcpu(2, 'p1', sim.now);
    sim.core.movePcpu(3, 'Pool-0', sim.now);
    sim.run(300 * NS_PER_MS);
    expect(v.runningOn).toBe(2);
    expect(sim.core.poolOfPcpu(3)!.name).toBe('Pool-0');
    sim.core.checkInvariants();
    expect(() => sim.core.destroyPool('p1')).toThrow(/still has 1 pCPUs and 1 domains/);
  });
});

describe('determinism', () => {
  const scenario = (seed: number, variant: SchedVariant) => {
    const sim = new SchedSim({ pcpus: 3, seed, variant });
    for (let d = 1; d <= 5; d++) {
      sim.addDomain({ domid: d, weight: 128 * d, cap: d === 5 ? 60 : 0 });
      sim.addVcpu(d, 0, { kind: 'random', meanRunNs: 3 * NS_PER_MS, meanBlockNs: 2 * NS_PER_MS });
      sim.addVcpu(d, 1, { kind: d % 2 ? 'cpu' : 'random', meanRunNs: 5 * NS_PER_MS, meanBlockNs: 1 * NS_PER_MS } as never);
    }
    sim.run(2 * NS_PER_S);
    return { hash: sim.traceHash(), n: sim.trace.length, stats: JSON.stringify(sim.core.stats.dump()) };
  };
  for (const variant of ['credit', 'rr'] as SchedVariant[]) {
    it(`gives identical traces and stats for the same seed, different ones for another (${variant})`, () => {
      const a = scenario(7, variant);
      const b = scenario(7, variant);
      const c = scenario(8, variant);
      console.log(`${variant}: seed 7 -> ${a.n} switches, trace hash ${a.hash}; seed 8 -> ${c.hash}`);
      expect(b).toEqual(a);
      expect(c.hash).not.toBe(a.hash);
    });
  }
});

describe('plugin', () => {
  it('is selected from the host config and mounts its stats under host.sched', () => {
    const registry = new PluginRegistry([...schedPlugins]);
    const host = buildContainer(parseHostConfig('pcpus: 2\ncomponents: { sched: { variant: credit, tslice_ms: 20, ratelimit_us: 500 } }', registry), registry);
    const core = resolve(host, SCHED_CORE);
    expect(core.pcpuCount).toBe(2);
    expect(core.scheduler().params).toEqual({ tslice_ms: 20, ratelimit_us: 500, tick_ms: 10 });
    expect(Object.keys(core.stats.dump())).toContain('wakeLatency');
    expect(() => parseHostConfig('components: { sched: { variant: credit2 } }', registry)).toThrow(/credit, rr, null|credit2/);
  });
});
