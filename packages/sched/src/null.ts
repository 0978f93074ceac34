/**
 * The null scheduler (xen/common/sched/null.c, without its wait queue): every vCPU is assigned to
 * one pCPU of its hard affinity (soft preferred) when it is inserted and stays there; a pCPU runs
 * its vCPU whenever that is runnable and idles otherwise. No time slices, no preemption, no
 * migrations. More vCPUs than free pCPUs is refused with a SchedError (ENOSPC).
 */
import { SchedError, ENOSPC, affinityCpus, hasSoftAffinity, type SchedContext, type SchedDecision, type SchedulerOps, type SchedVcpu } from './types.js';

export class NullScheduler implements SchedulerOps {
  readonly name = 'null' as const;
  readonly tickNs = 0;
  readonly acctNs = 0;
  readonly params = {};
  /** pCPU -> its assigned vCPU (or null). */
  private readonly assigned = new Map<number, SchedVcpu | null>();
  private cpuList: number[] = [];

  constructor(private readonly ctx: SchedContext) {}

  get cpus(): readonly number[] {
    return this.cpuList;
  }

  /** The vCPU assigned to a pCPU. */
  assignedTo(pcpu: number): SchedVcpu | null {
    return this.assigned.get(pcpu) ?? null;
  }

  addPcpu(pcpu: number): void {
    if (this.assigned.has(pcpu)) return;
    this.assigned.set(pcpu, null);
    this.cpuList = [...this.cpuList, pcpu].sort((a, b) => a - b);
  }

  relocate(v: SchedVcpu): void {
    if (this.assigned.get(v.processor) === v) this.assigned.set(v.processor, null);
    this.insertVcpu(v);
    this.wake(v);
  }

  checkRelocate(v: SchedVcpu): void {
    if (this.assigned.get(v.processor) === v && affinityCpus(v, [v.processor], 'hard').length) return;
    const free = this.cpuList.filter((c) => this.assigned.get(c) === null && affinityCpus(v, [c], 'hard').length);
    if (free.length === 0) throw new SchedError(`null scheduler: no free pCPU in the new hard affinity of ${v.name}`, ENOSPC);
  }

  checkRemovePcpu(pcpu: number): void {
    const v = this.assigned.get(pcpu);
    if (!v) return;
    const free = this.cpuList.filter((c) => c !== pcpu && this.assigned.get(c) === null && affinityCpus(v, [c], 'hard').length);
    if (free.length === 0) throw new SchedError(`null: cannot remove pCPU ${pcpu}: ${v.name} runs there and no other free pCPU of its affinity is left in the pool`, ENOSPC);
  }

  removePcpu(pcpu: number): void {
    this.assigned.delete(pcpu);
    this.cpuList = this.cpuList.filter((c) => c !== pcpu);
  }

  addDomain(): void {}
  removeDomain(): void {}

  insertVcpu(v: SchedVcpu): void {
    v.priv = undefined;
    const cpu = this.pickFree(v);
    if (cpu < 0) {
      const used = this.cpuList.filter((c) => this.assigned.get(c) !== null).length;
      throw new SchedError(
        `null scheduler: no free pCPU for ${v.name}: ${used} of ${this.cpuList.length} pCPUs in the pool already have a vCPU` +
          (v.hard ? ` (hard affinity ${[...v.hard].sort((a, b) => a - b).join(',')})` : '') +
          '; the null scheduler runs exactly one vCPU per pCPU (use credit or rr to overcommit)',
        ENOSPC,
      );
    }
    this.assigned.set(cpu, v);
    v.processor = cpu;
  }

  private pickFree(v: SchedVcpu): number {
    for (const step of ['soft', 'hard'] as const) {
      if (step === 'soft' && !hasSoftAffinity(v, this.cpuList)) continue;
      const free = affinityCpus(v, this.cpuList, step).filter((c) => this.assigned.get(c) === null);
      if (free.length) return free[0]!;
    }
    return -1;
  }

  removeVcpu(v: SchedVcpu): void {
    if (this.assigned.get(v.processor) === v) this.assigned.set(v.processor, null);
  }

  pickCpu(v: SchedVcpu): number {
    return this.assigned.get(v.processor) === v ? v.processor : this.pickFree(v);
  }

  wake(v: SchedVcpu): void {
    if (v.runningOn < 0 && this.ctx.curr(v.processor) === null) this.ctx.tickle(v.processor);
  }

  sleep(): void {}
  yield(): void {}
  deschedule(): void {}
  tick(): void {}
  account(): void {}

  doSchedule(cpu: number, _now: number, _prev: SchedVcpu | null, _prevRunnable: boolean): SchedDecision {
    if (!this.assigned.has(cpu)) throw new Error(`null: pCPU ${cpu} is not in this pool`);
    const v = this.assigned.get(cpu) ?? null;
    const next = v && v.runnable && !v.migratePending ? v : null;
    return { next, sliceNs: Infinity, migrated: false };
  }
}

export function createNull(ctx: SchedContext): NullScheduler {
  return new NullScheduler(ctx);
}
