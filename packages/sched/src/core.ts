/**
 * The scheduler core the hypervisor talks to (Xen's schedule.c + cpupool.c): cpupools, each with
 * its own scheduler instance; domains and vCPUs; runnability (block, pause, online); hard and
 * soft affinity; the per-pCPU slice timer, the variant's tick and accounting timers on the event
 * queue; run-time accounting and stats. The variants (credit, rr, null) only see `SchedulerOps`.
 *
 * Protocol with the hypervisor:
 *  - When `onReschedule(pcpu)` is called (a tickle, a slice end, a block/yield/pause of the
 *    running vCPU, an affinity or pool change), the hypervisor calls `schedule(pcpu, now)` soon —
 *    best from an event at the current time, not re-entrantly — and switches that pCPU from
 *    whatever it has loaded to `decision.next` (null = idle).
 *  - It also calls `schedule(pcpu, now)` once per pCPU at boot.
 *  - It reports guest actions with `block`, `wake`, `yield`, `pause`/`unpause`, `setOnline`.
 *  - `now` is the simulated ns of the calling pCPU: >= the queue's clock, non-decreasing.
 * A vCPU's run time is the simulated time between being switched in and out by `schedule`.
 */
import { SimEvent, type EventQueue } from '@tachyxx/core';
import { createCredit } from './credit.js';
import { createNull } from './null.js';
import { createRr } from './rr.js';
import { SchedStats } from './stats.js';
import {
  EBUSY,
  EEXIST,
  EINVAL,
  ENOENT,
  SchedDomain,
  SchedError,
  SchedVcpu,
  allows,
  type SchedContext,
  type SchedDecision,
  type SchedDomainParams,
  type SchedulerFactory,
  type SchedulerOps,
  type SchedVariant,
} from './types.js';

export const DEFAULT_POOL = 'Pool-0';
export const DEFAULT_WEIGHT = 256;

const FACTORIES: Record<SchedVariant, SchedulerFactory> = {
  credit: createCredit,
  rr: createRr,
  null: (ctx) => createNull(ctx),
};

export interface SchedCoreOptions {
  /** Number of pCPUs (0..pcpus-1); all start in Pool-0. */
  pcpus: number;
  /** The simulation's event queue: the core puts its slice, tick and accounting timers on it. */
  queue: EventQueue;
  /** Pool-0's scheduler; default credit. */
  variant?: SchedVariant;
  /** Pool-0's scheduler params (e.g. `{ tslice_ms: 30, ratelimit_us: 1000, tick_ms: 10 }`). */
  params?: Record<string, number>;
  /** NUMA node of each pCPU (default: all on node 0); credit's work stealing goes node by node. */
  nodeOfPcpu?: readonly number[];
  /** Called when a pCPU must reschedule (see the protocol above). */
  onReschedule?: (pcpu: number) => void;
}

export interface AddDomainOptions {
  domid: number;
  /** 1..65535, default 256. */
  weight?: number;
  /** Percent of one pCPU, 0 = uncapped. */
  cap?: number;
  /** Cpupool name, default Pool-0. */
  pool?: string;
}

export interface AddVcpuOptions {
  /** Hard affinity (pinning); omitted/null = any pCPU of the pool. */
  hard?: Iterable<number> | null;
  /** Soft affinity (preference); omitted/null = none. */
  soft?: Iterable<number> | null;
  /** Default true (VCPUOP_up). */
  online?: boolean;
  /** Start blocked (default false). */
  blocked?: boolean;
}

/** A cpupool: a set of pCPUs with its own scheduler instance. */
export class CpuPool {
  readonly domains = new Set<number>();
  acctEvent: SimEvent | null = null;
  constructor(
    readonly name: string,
    readonly variant: SchedVariant,
    readonly sched: SchedulerOps,
  ) {}
  get cpus(): readonly number[] {
    return this.sched.cpus;
  }
}

interface PcpuState {
  readonly id: number;
  pool: CpuPool | null;
  curr: SchedVcpu | null;
  reschedPending: boolean;
  sliceEvent: SimEvent;
  tickEvent: SimEvent;
}

function toSet(x: Iterable<number> | null | undefined): ReadonlySet<number> | null {
  return x === null || x === undefined ? null : new Set(x);
}

export class SchedCore {
  readonly stats = new SchedStats();
  onReschedule: (pcpu: number) => void;
  private readonly queue: EventQueue;
  private readonly pcpuStates: PcpuState[] = [];
  private readonly pools = new Map<string, CpuPool>();
  private readonly domains = new Map<number, SchedDomain>();
  private readonly nodeOfPcpu: readonly number[];
  private readonly ctxFor = new Map<string, SchedContext>();

  constructor(opts: SchedCoreOptions) {
    if (!Number.isSafeInteger(opts.pcpus) || opts.pcpus < 1) throw new SchedError(`pcpus must be a positive integer, got ${opts.pcpus}`, EINVAL);
    this.queue = opts.queue;
    this.onReschedule = opts.onReschedule ?? (() => {});
    this.nodeOfPcpu = opts.nodeOfPcpu ?? [];
    for (let i = 0; i < opts.pcpus; i++) {
      this.pcpuStates.push({
        id: i,
        pool: null,
        curr: null,
        reschedPending: false,
        sliceEvent: new SimEvent(`sched.slice.cpu${i}`, () => this.requestReschedule(i)),
        tickEvent: new SimEvent(`sched.tick.cpu${i}`, (now) => this.onTick(i, now)),
      });
    }
    const pool0 = this.createPool(DEFAULT_POOL, opts.variant ?? 'credit', opts.params ?? {});
    const now = this.queue.clock.now;
    for (let i = 0; i < opts.pcpus; i++) this.attachPcpu(i, pool0, now);
  }


  get pcpuCount(): number {
    return this.pcpuStates.length;
  }

  // ---- cpupools ----------------------------------------------------------------------------

  /** Creates an empty cpupool with its own scheduler instance. */
  createPool(name: string, variant: SchedVariant, params: Record<string, number> = {}): CpuPool {
    if (this.pools.has(name)) throw new SchedError(`cpupool '${name}' already exists`, EEXIST);
    const factory = FACTORIES[variant];
    if (!factory) throw new SchedError(`unknown scheduler '${variant}' (known: ${Object.keys(FACTORIES).join(', ')})`, EINVAL);
    const ctx = this.makeContext();
    const pool = new CpuPool(name, variant, factory(ctx, params));
    this.ctxFor.set(name, ctx);
    this.pools.set(name, pool);
    if (pool.sched.acctNs > 0) {
      const period = pool.sched.acctNs;
      const ev = new SimEvent(`sched.acct.${name}`, (now) => {
        pool.sched.account(now);
        this.queue.schedule(ev, now + period);
      });
      pool.acctEvent = ev;
      const now = this.queue.clock.now;
      this.queue.schedule(ev, now - (now % period) + period);
    }
    return pool;
  }

  /** Destroys an empty cpupool (no pCPUs, no domains). */
  destroyPool(name: string): void {
    const pool = this.getPool(name);
    if (name === DEFAULT_POOL) throw new SchedError(`${DEFAULT_POOL} cannot be destroyed`, EBUSY);
    if (pool.domains.size || pool.cpus.length) throw new SchedError(`cpupool '${name}' still has ${pool.cpus.length} pCPUs and ${pool.domains.size} domains`, EBUSY);
    if (pool.acctEvent) this.queue.cancel(pool.acctEvent);
    this.pools.delete(name);
  }

  getPool(name: string): CpuPool {
    const pool = this.pools.get(name);
    if (!pool) throw new SchedError(`no cpupool '${name}' (have: ${[...this.pools.keys()].join(', ')})`, ENOENT);
    return pool;
  }

  poolNames(): string[] {
    return [...this.pools.keys()];
  }

  /** The pool a pCPU belongs to, or null if it is free. */
  poolOfPcpu(pcpu: number): CpuPool | null {
    return this.pcpu(pcpu).pool;
  }

  /**
   * Moves a pCPU to another pool (or out of every pool with `to = null`). Its running vCPU is
   * descheduled and every vCPU whose pCPU it was is relocated inside its own pool.
   */
  movePcpu(pcpu: number, to: string | null, now: number): void {
    const ps = this.pcpu(pcpu);
    const target = to === null ? null : this.getPool(to);
    const from = ps.pool;
    if (from === target) return;
    if (from) {
      if (from.cpus.length === 1 && from.domains.size > 0)
        throw new SchedError(`pCPU ${pcpu} is the last of cpupool '${from.name}', which still has domains ${[...from.domains].join(', ')}`, EBUSY);
      for (const domid of from.domains) {
        for (const v of this.domains.get(domid)!.vcpus) {
          if (v.hard && [...from.cpus].every((c) => c === pcpu || !v.hard!.has(c)) && v.hard.has(pcpu))
            throw new SchedError(`pCPU ${pcpu} cannot leave cpupool '${from.name}': ${v.name} is pinned to it`, EBUSY);
        }
      }
      from.sched.checkRemovePcpu?.(pcpu);
      if (ps.curr) this.evict(ps.curr, now);
      const affected: SchedVcpu[] = [];
      for (const domid of from.domains) for (const v of this.domains.get(domid)!.vcpus) if (v.processor === pcpu) affected.push(v);
      for (const v of affected) if (v.runnable) from.sched.sleep(v, now);
      from.sched.removePcpu(pcpu, now);
      this.queue.cancel(ps.tickEvent);
      ps.pool = null;
      for (const v of affected) from.sched.relocate(v, now);
    }
    if (target) this.attachPcpu(pcpu, target, now);
    this.requestReschedule(pcpu);
  }

  private attachPcpu(pcpu: number, pool: CpuPool, now: number): void {
    const ps = this.pcpu(pcpu);
    ps.pool = pool;
    pool.sched.addPcpu(pcpu, now);
    const period = pool.sched.tickNs;
    if (period > 0) this.queue.reschedule(ps.tickEvent, now - (now % period) + period);
  }

  /** Moves a domain (all its vCPUs) to another pool; hard affinities left empty are reset. */
  moveDomain(domid: number, to: string, now: number): void {
    const d = this.domain(domid);
    const from = this.getPool(d.pool);
    const target = this.getPool(to);
    if (from === target) return;
    if (target.cpus.length === 0) throw new SchedError(`cpupool '${to}' has no pCPUs`, EINVAL);
    this.detachDomain(d, now);
    try {
      this.attachDomain(d, target, now);
    } catch (e) {
      this.attachDomain(d, from, now);
      throw e;
    }
  }

  private detachDomain(d: SchedDomain, now: number): void {
    const pool = this.getPool(d.pool);
    for (const v of d.vcpus) {
      if (v.runningOn >= 0) this.evict(v, now);
      if (v.runnable) pool.sched.sleep(v, now);
      pool.sched.removeVcpu(v, now);
    }
    pool.sched.removeDomain(d);
    pool.domains.delete(d.domid);
  }

  private attachDomain(d: SchedDomain, pool: CpuPool, now: number): void {
    d.pool = pool.name;
    pool.sched.addDomain(d);
    pool.domains.add(d.domid);
    const done: SchedVcpu[] = [];
    try {
      for (const v of d.vcpus) {
        if (v.hard && !pool.cpus.some((c) => v.hard!.has(c))) {
          v.hard = null;
          this.stats.affinityBroken.value++;
        }
        v.processor = this.initialCpu(v, pool);
        pool.sched.insertVcpu(v, now);
        done.push(v);
      }
    } catch (e) {
      for (const v of done) pool.sched.removeVcpu(v, now);
      pool.sched.removeDomain(d);
      pool.domains.delete(d.domid);
      throw e;
    }
    for (const v of d.vcpus) if (v.runnable) pool.sched.wake(v, now, true);
  }

  // ---- domains -----------------------------------------------------------------------------

  addDomain(opts: AddDomainOptions): SchedDomain {
    if (this.domains.has(opts.domid)) throw new SchedError(`domain ${opts.domid} already exists`, EEXIST);
    const weight = opts.weight ?? DEFAULT_WEIGHT;
    const cap = opts.cap ?? 0;
    checkParams({ weight, cap });
    const pool = this.getPool(opts.pool ?? DEFAULT_POOL);
    const d = new SchedDomain(opts.domid, weight, cap, pool.name);
    pool.sched.addDomain(d);
    pool.domains.add(d.domid);
    this.domains.set(d.domid, d);
    this.stats.domainRuntime(d.domid).value = 0;
    return d;
  }

  removeDomain(domid: number, now: number): void {
    const d = this.domain(domid);
    for (const v of [...d.vcpus]) this.removeVcpu(v, now);
    const pool = this.getPool(d.pool);
    pool.sched.removeDomain(d);
    pool.domains.delete(domid);
    this.domains.delete(domid);
  }

  domain(domid: number): SchedDomain {
    const d = this.domains.get(domid);
    if (!d) throw new SchedError(`no domain ${domid}`, ENOENT);
    return d;
  }

  /** xl sched-credit -d DOM -w W -c C. */
  setDomainParams(domid: number, params: Partial<SchedDomainParams>): void {
    const d = this.domain(domid);
    checkParams(params);
    // The variant sees the old values on `d` (credit re-weights its totals); the core records them.
    this.getPool(d.pool).sched.setDomainParams?.(d, params);
    if (params.weight !== undefined) d.weight = params.weight;
    if (params.cap !== undefined) d.cap = params.cap;
  }

  domainParams(domid: number): SchedDomainParams {
    const d = this.domain(domid);
    return { weight: d.weight, cap: d.cap };
  }

  // ---- vCPUs -------------------------------------------------------------------------------

  addVcpu(domid: number, vcpuid: number, opts: AddVcpuOptions, now: number): SchedVcpu {
    const d = this.domain(domid);
    if (d.vcpus.some((v) => v.vcpuid === vcpuid)) throw new SchedError(`vCPU ${vcpuid} of domain ${domid} already exists`, EEXIST);
    const pool = this.getPool(d.pool);
    const v = new SchedVcpu(d, vcpuid);
    v.hard = toSet(opts.hard);
    v.soft = toSet(opts.soft);
    v.online = opts.online ?? true;
    v.blocked = opts.blocked ?? false;
    if (v.hard && !pool.cpus.some((c) => v.hard!.has(c)))
      throw new SchedError(`hard affinity {${[...v.hard].join(',')}} of ${v.name} has no pCPU in cpupool '${pool.name}' {${pool.cpus.join(',')}}`, EINVAL);
    v.processor = this.initialCpu(v, pool);
    pool.sched.insertVcpu(v, now);
    d.vcpus.push(v);
    if (v.runnable) pool.sched.wake(v, now, true);
    return v;
  }

  /** Xen's sched_select_initial_cpu: the allowed pCPU with the fewest vCPUs placed on it. */
  private initialCpu(v: SchedVcpu, pool: CpuPool): number {
    const allowed = pool.cpus.filter((c) => allows(v.hard, c));
    if (allowed.length === 0) throw new SchedError(`${v.name} has no pCPU in cpupool '${pool.name}'`, EINVAL);
    const count = new Map<number, number>();
    for (const domid of pool.domains) for (const u of this.domains.get(domid)!.vcpus) if (u !== v) count.set(u.processor, (count.get(u.processor) ?? 0) + 1);
    let best = allowed[0]!;
    for (const c of allowed) if ((count.get(c) ?? 0) < (count.get(best) ?? 0)) best = c;
    return best;
  }

  removeVcpu(v: SchedVcpu, now: number): void {
    const d = v.domain;
    const pool = this.getPool(d.pool);
    if (v.runningOn >= 0) this.evict(v, now);
    if (v.runnable) pool.sched.sleep(v, now);
    pool.sched.removeVcpu(v, now);
    d.vcpus.splice(d.vcpus.indexOf(v), 1);
  }

  /** SCHEDOP_block / poll: the vCPU stops being runnable until `wake`. */
  block(v: SchedVcpu, now: number): void {
    if (v.blocked) return;
    this.change(v, now, () => (v.blocked = true));
  }

  /** An event for a blocked vCPU (event channel, timer): it becomes runnable. */
  wake(v: SchedVcpu, now: number): void {
    if (!v.blocked) return;
    this.change(v, now, () => (v.blocked = false));
    if (v.runnable && v.runningOn < 0) {
      v.wokeAt = now;
      this.stats.wakeups.value++;
    }
  }

  /** SCHEDOP_yield by the running vCPU. */
  yield(v: SchedVcpu, now: number): void {
    if (v.runningOn < 0) return;
    this.stats.yields.value++;
    this.getPool(v.domain.pool).sched.yield(v, now);
    this.requestReschedule(v.runningOn);
  }

  /** Pause (domain pause, toolstack); nests. */
  pause(v: SchedVcpu, now: number): void {
    this.change(v, now, () => v.pauseCount++);
  }

  unpause(v: SchedVcpu, now: number): void {
    if (v.pauseCount === 0) throw new SchedError(`${v.name} is not paused`, EINVAL);
    this.change(v, now, () => v.pauseCount--);
  }

  /** VCPUOP_up / VCPUOP_down. */
  setOnline(v: SchedVcpu, online: boolean, now: number): void {
    this.change(v, now, () => (v.online = online));
  }

  private change(v: SchedVcpu, now: number, mutate: () => void): void {
    const was = v.runnable;
    mutate();
    const is = v.runnable;
    if (was === is) return;
    const sched = this.getPool(v.domain.pool).sched;
    if (!is) {
      sched.sleep(v, now);
      if (v.runningOn >= 0) this.requestReschedule(v.runningOn);
    } else if (v.runningOn < 0) sched.wake(v, now, false);
  }

  /** Sets hard and/or soft affinity (`undefined` keeps, `null` clears). Never violates the hard one. */
  setAffinity(v: SchedVcpu, aff: { hard?: Iterable<number> | null; soft?: Iterable<number> | null }, now: number): void {
    const pool = this.getPool(v.domain.pool);
    const hard = aff.hard === undefined ? v.hard : toSet(aff.hard);
    const soft = aff.soft === undefined ? v.soft : toSet(aff.soft);
    if (hard && !pool.cpus.some((c) => hard.has(c)))
      throw new SchedError(`hard affinity {${[...hard].join(',')}} of ${v.name} has no pCPU in cpupool '${pool.name}' {${pool.cpus.join(',')}}`, EINVAL);
    const old = { hard: v.hard, soft: v.soft };
    v.hard = hard;
    v.soft = soft;
    try {
      pool.sched.checkRelocate?.(v);
    } catch (e) {
      v.hard = old.hard;
      v.soft = old.soft;
      throw e;
    }
    if (v.runningOn >= 0) {
      if (!allows(hard, v.runningOn)) {
        v.migratePending = true;
        this.requestReschedule(v.runningOn);
      }
      return;
    }
    try {
      pool.sched.relocate(v, now);
    } catch (e) {
      v.hard = old.hard;
      v.soft = old.soft;
      pool.sched.relocate(v, now);
      throw e;
    }
  }

  // ---- scheduling --------------------------------------------------------------------------

  /** What runs on `pcpu` now (null = idle). */
  curr(pcpu: number): SchedVcpu | null {
    return this.pcpu(pcpu).curr;
  }

  /** Whether a reschedule of `pcpu` was requested and `schedule` not yet called. */
  reschedulePending(pcpu: number): boolean {
    return this.pcpu(pcpu).reschedPending;
  }

  /** Decide what `pcpu` runs next (call on `onReschedule`, at boot, and whenever you like). */
  schedule(pcpu: number, now: number): SchedDecision {
    const ps = this.pcpu(pcpu);
    ps.reschedPending = false;
    this.stats.schedules.value++;
    const pool = ps.pool;
    const prev = ps.curr;
    if (!pool) {
      if (prev) throw new Error(`pCPU ${pcpu} is in no pool but runs ${prev.name}`);
      return { next: null, sliceNs: Infinity, migrated: false };
    }
    const prevRunnable = prev !== null && prev.runnable && !prev.migratePending;
    const d = pool.sched.doSchedule(pcpu, now, prev, prevRunnable);
    const next = d.next;
    if (next) {
      if (!allows(next.hard, pcpu)) throw new Error(`scheduler '${pool.variant}' put ${next.name} on pCPU ${pcpu}, outside its hard affinity {${[...next.hard!].join(',')}}`);
      if (next.runningOn >= 0 && next.runningOn !== pcpu) throw new Error(`scheduler '${pool.variant}' put ${next.name} on pCPU ${pcpu} while it runs on pCPU ${next.runningOn}`);
      if (!next.runnable) throw new Error(`scheduler '${pool.variant}' chose ${next.name}, which is not runnable`);
      if (next.domain.pool !== pool.name) throw new Error(`scheduler of '${pool.name}' chose ${next.name} of pool '${next.domain.pool}'`);
    }
    if (next !== prev) {
      this.stats.contextSwitches.value++;
      if (prev) this.switchOut(prev, pcpu, now);
      if (next) {
        next.runningOn = pcpu;
        next.scheduledAt = now;
        next.processor = pcpu;
        if (next.lastRanOn >= 0 && next.lastRanOn !== pcpu) {
          next.migrations++;
          this.stats.migrations.value++;
        }
        if (next.wokeAt >= 0) {
          this.stats.wakeLatency.sample(now - next.wokeAt);
          next.wokeAt = -1;
        }
      }
      ps.curr = next;
      if (prev && prev.migratePending) {
        prev.migratePending = false;
        pool.sched.relocate(prev, now);
      }
    }
    if (next && Number.isFinite(d.sliceNs)) this.queue.reschedule(ps.sliceEvent, now + d.sliceNs);
    else this.queue.cancel(ps.sliceEvent);
    return d;
  }

  private switchOut(v: SchedVcpu, pcpu: number, now: number): void {
    const ran = Math.max(0, now - v.scheduledAt);
    v.runtimeNs += ran;
    this.stats.domainRuntime(v.domid).value += ran;
    v.runningOn = -1;
    v.lastRanOn = pcpu;
  }

  /** Takes a running vCPU off its pCPU by force (removal, pool moves); the pCPU will reschedule. */
  private evict(v: SchedVcpu, now: number): void {
    const pcpu = v.runningOn;
    const ps = this.pcpu(pcpu);
    this.getPool(v.domain.pool).sched.deschedule(v, now);
    this.switchOut(v, pcpu, now);
    ps.curr = null;
    this.queue.cancel(ps.sliceEvent);
    this.requestReschedule(pcpu);
  }

  /** Run time of a vCPU up to `now` (including the current run). */
  runtime(v: SchedVcpu, now: number): number {
    return v.runtimeNs + (v.runningOn >= 0 ? Math.max(0, now - v.scheduledAt) : 0);
  }

  /** Run time of a domain up to `now`. */
  domainRuntime(domid: number, now: number): number {
    return this.domain(domid).vcpus.reduce((s, v) => s + this.runtime(v, now), 0);
  }

  /** The scheduler instance of a pool (for variant-specific inspection, e.g. credit priorities). */
  scheduler(pool = DEFAULT_POOL): SchedulerOps {
    return this.getPool(pool).sched;
  }

  /** Throws if any invariant is broken (for tests): hard affinity, one pCPU per vCPU, pool membership. */
  checkInvariants(): void {
    const seen = new Set<SchedVcpu>();
    for (const ps of this.pcpuStates) {
      const v = ps.curr;
      if (!v) continue;
      if (seen.has(v)) throw new Error(`${v.name} runs on two pCPUs`);
      seen.add(v);
      if (v.runningOn !== ps.id) throw new Error(`${v.name} runs on pCPU ${ps.id} but says ${v.runningOn}`);
      if (!allows(v.hard, ps.id)) throw new Error(`${v.name} runs on pCPU ${ps.id} outside its hard affinity`);
      if (!ps.pool || v.domain.pool !== ps.pool.name) throw new Error(`${v.name} runs on pCPU ${ps.id} outside its pool`);
    }
  }

  private requestReschedule(pcpu: number): void {
    const ps = this.pcpu(pcpu);
    if (ps.reschedPending) return;
    ps.reschedPending = true;
    this.stats.reschedules.value++;
    this.onReschedule(pcpu);
  }

  private onTick(pcpu: number, now: number): void {
    const ps = this.pcpu(pcpu);
    if (!ps.pool) return;
    ps.pool.sched.tick(pcpu, now);
    this.queue.schedule(ps.tickEvent, now + ps.pool.sched.tickNs);
  }

  private pcpu(pcpu: number): PcpuState {
    const ps = this.pcpuStates[pcpu];
    if (!ps) throw new SchedError(`no pCPU ${pcpu} (have 0..${this.pcpuStates.length - 1})`, EINVAL);
    return ps;
  }

  private makeContext(): SchedContext {
    return {
      curr: (pcpu) => this.pcpuStates[pcpu]!.curr,
      tickle: (pcpu) => this.requestReschedule(pcpu),
      pause: (v, now) => {
        this.stats.parks.value++;
        this.pause(v, now);
      },
      unpause: (v, now) => this.unpause(v, now),
      migrateRunning: (v) => {
        v.migratePending = true;
      },
      nodeOf: (pcpu) => this.nodeOfPcpu[pcpu] ?? 0,
    };
  }
}

function checkParams(p: Partial<SchedDomainParams>): void {
  if (p.weight !== undefined && (!Number.isInteger(p.weight) || p.weight < 1 || p.weight > 65535)) throw new SchedError(`weight must be an integer in 1..65535, got ${p.weight}`, EINVAL);
  if (p.cap !== undefined && (!Number.isInteger(p.cap) || p.cap < 0 || p.cap > 65535)) throw new SchedError(`cap must be an integer in 0..65535 (percent of a pCPU, 0 = none), got ${p.cap}`, EINVAL);
}
