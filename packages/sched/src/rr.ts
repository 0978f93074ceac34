/**
 * Round robin: one FIFO run queue per pCPU, a fixed time slice, no weights or caps. A pCPU whose
 * queue is empty steals the first vCPU its affinity allows from a peer's queue (cycling from the
 * next pCPU), so no pCPU idles while a peer has waiting work it could run. A woken vCPU goes to
 * the tail of its pCPU's queue; an idle pCPU in its affinity is tickled to take it.
 *
 * There is no priority and no periodic rebalancing: shares are equal among the vCPUs of one
 * queue, and across queues only as equal as the stealing makes them.
 */
import { SchedError, EINVAL, affinityCpus, allows, cycleFrom, hasSoftAffinity, type SchedContext, type SchedDecision, type SchedulerOps, type SchedVcpu } from './types.js';

export interface RrParams {
  /** Time slice, ms. */
  tslice_ms: number;
}
export const RR_DEFAULTS: RrParams = { tslice_ms: 10 };

interface RrVcpu {
  queuedOn: number;
}

export class RoundRobinScheduler implements SchedulerOps {
  readonly name = 'rr' as const;
  readonly tickNs = 0;
  readonly acctNs = 0;
  readonly tslice: number;
  readonly params: Readonly<RrParams>;
  private readonly runqs = new Map<number, SchedVcpu[]>();
  private cpuList: number[] = [];

  constructor(
    private readonly ctx: SchedContext,
    params: Partial<RrParams> = {},
  ) {
    this.params = { ...RR_DEFAULTS, ...params };
    if (this.params.tslice_ms < 1) throw new SchedError(`rr: tslice_ms must be >= 1, got ${this.params.tslice_ms}`, EINVAL);
    this.tslice = this.params.tslice_ms * 1_000_000;
  }

  get cpus(): readonly number[] {
    return this.cpuList;
  }

  addPcpu(pcpu: number): void {
    if (this.runqs.has(pcpu)) return;
    this.runqs.set(pcpu, []);
    this.cpuList = [...this.cpuList, pcpu].sort((a, b) => a - b);
  }

  removePcpu(pcpu: number): void {
    if (this.runqs.get(pcpu)?.length) throw new Error(`rr: removing pCPU ${pcpu} with queued vCPUs`);
    this.runqs.delete(pcpu);
    this.cpuList = this.cpuList.filter((c) => c !== pcpu);
  }

  addDomain(): void {}
  removeDomain(): void {}

  private rv(v: SchedVcpu): RrVcpu {
    return v.priv as RrVcpu;
  }

  insertVcpu(v: SchedVcpu): void {
    v.priv = { queuedOn: -1 } satisfies RrVcpu;
    v.processor = this.pickCpu(v);
  }

  removeVcpu(v: SchedVcpu): void {
    this.dequeue(v);
  }

  private dequeue(v: SchedVcpu): void {
    const rv = this.rv(v);
    if (rv.queuedOn < 0) return;
    const q = this.runqs.get(rv.queuedOn)!;
    q.splice(q.indexOf(v), 1);
    rv.queuedOn = -1;
  }

  private load(c: number): number {
    return this.runqs.get(c)!.length + (this.ctx.curr(c) ? 1 : 0);
  }

  pickCpu(v: SchedVcpu): number {
    for (const step of ['soft', 'hard'] as const) {
      if (step === 'soft' && !hasSoftAffinity(v, this.cpuList)) continue;
      const mask = affinityCpus(v, this.cpuList, step);
      if (mask.length === 0) {
        if (step === 'soft') continue;
        throw new SchedError(`rr: ${v.name} has no pCPU in its hard affinity in this pool`, EINVAL);
      }
      const own = (c: number) => this.load(c) - (this.ctx.curr(c) === v || this.rv(v).queuedOn === c ? 1 : 0);
      const start = mask.includes(v.processor) ? v.processor : -1;
      const order = start >= 0 ? [start, ...cycleFrom(mask, start).filter((c) => c !== start)] : mask;
      let best = order[0]!;
      for (const c of order) if (own(c) < own(best)) best = c;
      if (step === 'hard' || own(best) === 0) return best;
    }
    throw new Error('unreachable');
  }

  wake(v: SchedVcpu): void {
    const rv = this.rv(v);
    if (v.runningOn >= 0 || rv.queuedOn >= 0) return;
    this.runqs.get(v.processor)!.push(v);
    rv.queuedOn = v.processor;
    if (this.ctx.curr(v.processor) === null) {
      this.ctx.tickle(v.processor);
      return;
    }
    const idle = this.cpuList.find((c) => allows(v.hard, c) && this.ctx.curr(c) === null && this.runqs.get(c)!.length === 0);
    if (idle !== undefined) this.ctx.tickle(idle);
  }

  relocate(v: SchedVcpu, now: number): void {
    this.dequeue(v);
    v.processor = this.pickCpu(v);
    if (v.runnable) this.wake(v);
    void now;
  }

  sleep(v: SchedVcpu): void {
    if (v.runningOn < 0) this.dequeue(v);
  }

  yield(): void {}
  deschedule(): void {}
  tick(): void {}
  account(): void {}

  doSchedule(cpu: number, _now: number, prev: SchedVcpu | null, prevRunnable: boolean): SchedDecision {
    const q = this.runqs.get(cpu);
    if (!q) throw new Error(`rr: pCPU ${cpu} is not in this pool`);
    if (prev && prevRunnable) {
      q.push(prev);
      this.rv(prev).queuedOn = cpu;
    }
    let next = q.shift() ?? null;
    let migrated = false;
    if (next) this.rv(next).queuedOn = -1;
    else {
      for (const peer of cycleFrom(this.cpuList, cpu)) {
        if (peer === cpu) continue;
        const pq = this.runqs.get(peer)!;
        const i = pq.findIndex((v) => allows(v.hard, cpu));
        if (i < 0) continue;
        next = pq.splice(i, 1)[0]!;
        this.rv(next).queuedOn = -1;
        next.processor = cpu;
        migrated = true;
        break;
      }
    }
    return { next, sliceNs: next ? this.tslice : Infinity, migrated };
  }
}

export function createRr(ctx: SchedContext, params: Record<string, number>): RoundRobinScheduler {
  return new RoundRobinScheduler(ctx, params as Partial<RrParams>);
}
