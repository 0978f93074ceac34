/**
 * The types shared by the scheduler core (Xen's schedule.c + cpupool.c, here `SchedCore`) and the
 * per-pool scheduler variants (Xen's `struct scheduler`: credit, rr, null).
 *
 * Time is integer simulated nanoseconds. A pCPU is a number 0..pcpus-1. A vCPU is a `SchedVcpu`
 * handle that the core creates in `addVcpu` and the hypervisor keeps next to its own vCPU.
 */
import { XenError } from '@tachyxx/core/errors';

export type SchedVariant = 'credit' | 'rr' | 'null';
export const SCHED_VARIANTS: readonly SchedVariant[] = ['credit', 'rr', 'null'];

/** Xen credit1 priorities (sched/credit.c). */
export const CSCHED_PRI_TS_BOOST = 0;
export const CSCHED_PRI_TS_UNDER = -1;
export const CSCHED_PRI_TS_OVER = -2;
export const CSCHED_PRI_IDLE = -64;

/** A scheduling error the toolstack or the hypervisor should report (e.g. to xl, as -EINVAL/-EBUSY). */
export class SchedError extends XenError {
  override readonly name: string = 'SchedError';
  /** `errno`: the Xen errno this maps to (positive: 22 EINVAL, 16 EBUSY, 28 ENOSPC, 2 ENOENT, 17 EEXIST). */
  constructor(message: string, errno: number) {
    super(message, errno);
  }
}
export const EINVAL = 22;
export const EBUSY = 16;
export const ENOSPC = 28;
export const ENOENT = 2;
export const EEXIST = 17;

/** What a vCPU is doing from the scheduler's point of view. */
export type SchedRunstate = 'running' | 'runnable' | 'blocked' | 'offline';

/**
 * The scheduler's handle for one vCPU. The hypervisor reads it and passes it back; it never writes
 * the fields (use the core's methods). `owner` is free for the hypervisor (e.g. its own Vcpu).
 */
export class SchedVcpu {
  /** Free for the hypervisor: whatever it wants to find from a decision's `next`. */
  owner: unknown = undefined;
  /** The pCPU whose run queue the vCPU belongs to (Xen's `v->processor`). */
  processor = 0;
  /** The pCPU it is running on, or -1. */
  runningOn = -1;
  /** Blocked by the guest (SCHEDOP_block / poll), until `wake`. */
  blocked = false;
  /** Pause count: domain pause, cap parking, ... Runnable only at 0. */
  pauseCount = 0;
  /** Brought up (VCPUOP_up); an offline vCPU is never scheduled. */
  online = true;
  /** Hard affinity (pinning): the pCPUs it may run on; null = all of its pool's. Never violated. */
  hard: ReadonlySet<number> | null = null;
  /** Soft affinity: preferred pCPUs; null = none. */
  soft: ReadonlySet<number> | null = null;
  /** Total simulated ns it has run (updated at every deschedule; see `SchedCore.runtime`). */
  runtimeNs = 0;
  /** When it was last switched in (valid while running). */
  scheduledAt = 0;
  /** When it last woke from a block, for the wake-up latency stat; -1 when not waiting. */
  wokeAt = -1;
  /** Times it ran on a different pCPU than the time before. */
  migrations = 0;
  /** The pCPU it last ran on, or -1. */
  lastRanOn = -1;
  /** A migration the core must finish when it is descheduled (affinity change, pool move). */
  migratePending = false;
  /** Variant-private data (Xen's `unit->priv`). */
  priv: unknown = undefined;

  constructor(
    /** Its domain (the pool and the weight/cap live there). */
    readonly domain: SchedDomain,
    readonly vcpuid: number,
  ) {}

  get domid(): number {
    return this.domain.domid;
  }

  /** Whether it can run: online, not blocked, not paused. */
  get runnable(): boolean {
    return this.online && !this.blocked && this.pauseCount === 0;
  }

  get runstate(): SchedRunstate {
    if (this.runningOn >= 0) return 'running';
    if (!this.online) return 'offline';
    return this.runnable ? 'runnable' : 'blocked';
  }

  /** "d1v0", for traces and messages. */
  get name(): string {
    return `d${this.domid}v${this.vcpuid}`;
  }
}

/** Per-domain scheduling parameters (xl sched-credit -w/-c). */
export interface SchedDomainParams {
  /** Relative weight, 1..65535; default 256. */
  weight: number;
  /** Cap in percent of one pCPU (50 = half, 200 = two pCPUs); 0 = no cap. */
  cap: number;
}

/** The scheduler's view of a domain. */
export class SchedDomain {
  readonly vcpus: SchedVcpu[] = [];
  /** Variant-private data. */
  priv: unknown = undefined;
  constructor(
    readonly domid: number,
    public weight: number,
    public cap: number,
    public pool: string,
  ) {}
}

/** What `schedule` decided for a pCPU. */
export interface SchedDecision {
  /** The vCPU to run, or null to run the idle vCPU. */
  readonly next: SchedVcpu | null;
  /** How long until the core will ask for a reschedule (Infinity: none is armed, e.g. idle, null). */
  readonly sliceNs: number;
  /** `next` was taken from another pCPU's run queue (or moved here) for this decision. */
  readonly migrated: boolean;
}

/**
 * What a variant may ask of the core (Xen's schedule.c services). Passed to the variant's
 * constructor.
 */
export interface SchedContext {
  /** The vCPU running on `pcpu`, or null when it runs idle. */
  curr(pcpu: number): SchedVcpu | null;
  /** Raise SCHEDULE_SOFTIRQ on `pcpu`: the hypervisor will call `schedule(pcpu)` soon. */
  tickle(pcpu: number): void;
  /** Pause (cap parking): the vCPU stops being runnable until `unpause`. */
  pause(v: SchedVcpu, now: number): void;
  unpause(v: SchedVcpu, now: number): void;
  /** Move a running vCPU elsewhere when it is next descheduled (credit's migrate-on-tick). */
  migrateRunning(v: SchedVcpu): void;
  /** NUMA node of a pCPU (0 when no topology was given). */
  nodeOf(pcpu: number): number;
}

/**
 * One scheduler instance, owning the pCPUs of one cpupool (Xen's `struct scheduler` ops). The
 * core calls these; the hypervisor never does directly.
 */
export interface SchedulerOps {
  readonly name: SchedVariant;
  /** Period of `tick`, ns (0: the variant has no tick). */
  readonly tickNs: number;
  /** Period of `account`, ns (0: none). */
  readonly acctNs: number;
  /** The pCPUs this instance owns, ascending. */
  readonly cpus: readonly number[];

  addPcpu(pcpu: number, now: number): void;
  /** Remove a pCPU: the core has descheduled its vCPU and slept (dequeued) every runnable vCPU
   *  whose processor it was; the core then relocates those. */
  removePcpu(pcpu: number, now: number): void;
  addDomain(d: SchedDomain): void;
  removeDomain(d: SchedDomain): void;
  /** Weight / cap are about to change (`d` still holds the old values; the core stores the new
   *  ones after this returns). Optional: variants that ignore weights need nothing. */
  setDomainParams?(d: SchedDomain, params: Partial<SchedDomainParams>): void;
  /** A new vCPU (or one moved in): set up its private data and choose `v.processor`; do not queue
   *  it (the core calls `wake(v, now, true)` next if it is runnable). Throws SchedError to refuse. */
  insertVcpu(v: SchedVcpu, now: number): void;
  /** v is not running: move it to the best pCPU for its (new) affinity and re-queue it if runnable.
   *  Throws SchedError when no pCPU fits (null); v is then unassigned and the core restores it. */
  relocate(v: SchedVcpu, now: number): void;
  /** Throws SchedError when a relocation of v (with its new affinity) could not succeed. */
  checkRelocate?(v: SchedVcpu): void;
  /** Throws SchedError when `pcpu` cannot leave the pool (null: nowhere to put its vCPU). */
  checkRemovePcpu?(pcpu: number): void;
  /** v is neither running nor queued any more after this. */
  removeVcpu(v: SchedVcpu, now: number): void;
  /** v became runnable (not running): queue it on `v.processor` and tickle. `migrating`: no boost. */
  wake(v: SchedVcpu, now: number, migrating: boolean): void;
  /** v stopped being runnable: dequeue it (if running, the core already tickled its pCPU). */
  sleep(v: SchedVcpu, now: number): void;
  yield(v: SchedVcpu, now: number): void;
  /** The best pCPU for v in its hard affinity (soft preferred). */
  pickCpu(v: SchedVcpu, now: number): number;
  /** A running vCPU is taken off its pCPU by force (pool moves): charge its run time. */
  deschedule(v: SchedVcpu, now: number): void;
  /** Choose what `pcpu` runs next. `prev` is what ran (null = idle); `prevRunnable` whether it may continue. */
  doSchedule(pcpu: number, now: number, prev: SchedVcpu | null, prevRunnable: boolean): SchedDecision;
  tick(pcpu: number, now: number): void;
  account(now: number): void;
  /** The variant's params as set. */
  readonly params: Readonly<Record<string, number>>;
}

/** Creates a scheduler instance for a pool. */
export type SchedulerFactory = (ctx: SchedContext, params: Record<string, number>) => SchedulerOps;

/** True when `pcpu` is allowed by an affinity mask (null = everything). */
export function allows(mask: ReadonlySet<number> | null, pcpu: number): boolean {
  return mask === null || mask.has(pcpu);
}

/** Cycles through `cpus` (ascending) starting after `from`, like Xen's cpumask_cycle. */
export function cycleFrom(cpus: readonly number[], from: number): number[] {
  let i = 0;
  while (i < cpus.length && cpus[i]! <= from) i++;
  return [...cpus.slice(i), ...cpus.slice(0, i)];
}

/** Whether v has a soft affinity that is useful (narrower than its hard affinity within `cpus`). */
export function hasSoftAffinity(v: SchedVcpu, cpus: readonly number[]): boolean {
  if (v.soft === null) return false;
  let hardCount = 0;
  let both = 0;
  for (const c of cpus) {
    if (!allows(v.hard, c)) continue;
    hardCount++;
    if (v.soft.has(c)) both++;
  }
  return both > 0 && both < hardCount;
}

/** The pCPUs of `cpus` that v may use in a balance step ('soft' = soft ∩ hard, 'hard' = hard). */
export function affinityCpus(v: SchedVcpu, cpus: readonly number[], step: 'soft' | 'hard'): number[] {
  return cpus.filter((c) => allows(v.hard, c) && (step === 'hard' || allows(v.soft, c)));
}
