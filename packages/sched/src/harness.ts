/**
 * A small deterministic scheduling simulator: pCPUs and vCPUs with behaviours, driven by core's
 * EventQueue in simulated ns, calling `SchedCore` exactly as the hypervisor does (schedule on
 * every reschedule request, block/wake/yield from the running guest). Tests, the hypervisor's
 * tests and benchmarks reuse it.
 *
 *   const sim = new SchedSim({ pcpus: 1 });
 *   sim.addDomain({ domid: 1, weight: 512 }); sim.addVcpu(1, 0, { kind: 'cpu' });
 *   sim.addDomain({ domid: 2 });              sim.addVcpu(2, 0, { kind: 'cpu' });
 *   sim.run(10 * NS_PER_S);
 *   sim.share(1); // ~0.667
 */
import { EventQueue, Rng, SimClock, SimEvent } from '@tachyxx/core';
import { SchedCore, type AddDomainOptions } from './core.js';
import type { SchedDecision, SchedVariant, SchedVcpu } from './types.js';

export type Behaviour =
  /** Always runnable. */
  | { kind: 'cpu' }
  /** Runs `runNs` of CPU time, then blocks for `blockNs`, forever. `startBlockedNs`: first wake. */
  | { kind: 'periodic'; runNs: number; blockNs: number; startBlockedNs?: number }
  /** Like periodic, with run and block lengths drawn uniformly from 1..2*mean (seeded). */
  | { kind: 'random'; meanRunNs: number; meanBlockNs: number }
  /** Runs `runNs` of CPU time, yields, and repeats. */
  | { kind: 'yielder'; runNs: number };

export interface SchedSimOptions {
  pcpus: number;
  variant?: SchedVariant;
  params?: Record<string, number>;
  /** Seed of the behaviours' randomness. */
  seed?: number;
  nodeOfPcpu?: readonly number[];
  /** Record every switch in `trace` (default true). */
  trace?: boolean;
}

export interface TraceEntry {
  readonly t: number;
  readonly pcpu: number;
  readonly from: string;
  readonly to: string;
}

interface SimVcpu {
  readonly v: SchedVcpu;
  readonly behaviour: Behaviour;
  readonly rng: Rng;
  /** CPU time left before it blocks or yields (Infinity for cpu-bound). */
  remaining: number;
  readonly wakeEvent: SimEvent;
}

interface SimPcpu {
  loaded: SimVcpu | null;
  loadedAt: number;
  readonly softirq: SimEvent;
  readonly burstEnd: SimEvent;
}

export class SchedSim {
  readonly clock = new SimClock(1000);
  readonly queue = new EventQueue(this.clock);
  readonly core: SchedCore;
  readonly rng: Rng;
  readonly trace: TraceEntry[] = [];
  /** Called after every scheduling decision (property tests check invariants here). */
  onDecision: ((pcpu: number, d: SchedDecision, now: number) => void) | null = null;
  private readonly pcpus: SimPcpu[] = [];
  private readonly vcpus: SimVcpu[] = [];
  private readonly tracing: boolean;
  private booted = false;

  constructor(opts: SchedSimOptions) {
    this.rng = new Rng(opts.seed ?? 1);
    this.tracing = opts.trace ?? true;
    this.core = new SchedCore({
      pcpus: opts.pcpus,
      queue: this.queue,
      variant: opts.variant,
      params: opts.params,
      nodeOfPcpu: opts.nodeOfPcpu,
      onReschedule: (pcpu) => {
        const ev = this.pcpus[pcpu]!.softirq;
        if (!ev.scheduled) this.queue.schedule(ev, this.clock.now);
      },
    });
    for (let i = 0; i < opts.pcpus; i++) {
      this.pcpus.push({
        loaded: null,
        loadedAt: 0,
        softirq: new SimEvent(`sim.softirq.cpu${i}`, (now) => this.reschedule(i, now)),
        burstEnd: new SimEvent(`sim.burst.cpu${i}`, (now) => this.burstEnd(i, now)),
      });
    }
  }

  addDomain(opts: AddDomainOptions): void {
    this.core.addDomain(opts);
  }

  addVcpu(domid: number, vcpuid: number, behaviour: Behaviour, affinity: { hard?: Iterable<number> | null; soft?: Iterable<number> | null } = {}): SchedVcpu {
    const startBlocked = behaviour.kind === 'periodic' && behaviour.startBlockedNs !== undefined;
    const v = this.core.addVcpu(domid, vcpuid, { ...affinity, blocked: startBlocked }, this.clock.now);
    const sv: SimVcpu = {
      v,
      behaviour,
      rng: this.rng.fork(`d${domid}v${vcpuid}`),
      remaining: 0,
      wakeEvent: new SimEvent(`sim.wake.d${domid}v${vcpuid}`, (now) => {
        sv.remaining = this.burst(sv);
        this.core.wake(v, now);
      }),
    };
    sv.remaining = this.burst(sv);
    v.owner = sv;
    this.vcpus.push(sv);
    if (startBlocked) this.queue.schedule(sv.wakeEvent, this.clock.now + (behaviour as { startBlockedNs: number }).startBlockedNs);
    return v;
  }

  private burst(sv: SimVcpu): number {
    const b = sv.behaviour;
    switch (b.kind) {
      case 'cpu':
        return Infinity;
      case 'periodic':
        return b.runNs;
      case 'yielder':
        return b.runNs;
      case 'random':
        return 1 + sv.rng.nextInt(Math.max(1, 2 * b.meanRunNs));
    }
  }

  private blockFor(sv: SimVcpu): number {
    const b = sv.behaviour;
    if (b.kind === 'periodic') return b.blockNs;
    if (b.kind === 'random') return 1 + sv.rng.nextInt(Math.max(1, 2 * b.meanBlockNs));
    return 0;
  }

  /** Runs the simulation until `untilNs` (booting the pCPUs on the first call). */
  run(untilNs: number): void {
    if (!this.booted) {
      this.booted = true;
      for (let i = 0; i < this.pcpus.length; i++) {
        const ev = this.pcpus[i]!.softirq;
        if (!ev.scheduled) this.queue.schedule(ev, this.clock.now);
      }
    }
    this.queue.runUntil(untilNs);
  }

  get now(): number {
    return this.clock.now;
  }

  /** Fraction of the elapsed time (of one pCPU) the domain's vCPUs ran, since `fromNs` given its runtime then. */
  share(domid: number, fromNs = 0, runtimeAtFrom = 0): number {
    const elapsed = this.clock.now - fromNs;
    return elapsed > 0 ? (this.core.domainRuntime(domid, this.clock.now) - runtimeAtFrom) / elapsed : 0;
  }

  /** An FNV-1a hash of the trace (for determinism checks). */
  traceHash(): string {
    let h = 0x811c9dc5;
    for (const e of this.trace) {
      const s = `${e.t} ${e.pcpu} ${e.from} ${e.to};`;
      for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    }
    return (h >>> 0).toString(16).padStart(8, '0');
  }

  private consume(ps: SimPcpu, now: number): void {
    if (ps.loaded) ps.loaded.remaining -= now - ps.loadedAt;
    ps.loadedAt = now;
  }

  private reschedule(pcpu: number, now: number): void {
    const ps = this.pcpus[pcpu]!;
    this.consume(ps, now);
    this.queue.cancel(ps.burstEnd);
    const prev = ps.loaded;
    const d = this.core.schedule(pcpu, now);
    const next = d.next ? (d.next.owner as SimVcpu) : null;
    if (next !== prev && this.tracing) this.trace.push({ t: now, pcpu, from: prev ? prev.v.name : 'idle', to: next ? next.v.name : 'idle' });
    ps.loaded = next;
    ps.loadedAt = now;
    if (next && Number.isFinite(next.remaining)) this.queue.schedule(ps.burstEnd, now + Math.max(0, next.remaining));
    this.onDecision?.(pcpu, d, now);
  }

  private burstEnd(pcpu: number, now: number): void {
    const ps = this.pcpus[pcpu]!;
    const sv = ps.loaded;
    if (!sv) return;
    this.consume(ps, now);
    if (sv.behaviour.kind === 'yielder') {
      sv.remaining = this.burst(sv);
      this.core.yield(sv.v, now);
      return;
    }
    this.core.block(sv.v, now);
    this.queue.schedule(sv.wakeEvent, now + this.blockFor(sv));
  }
}
