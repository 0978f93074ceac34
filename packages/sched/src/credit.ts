/**
 * Xen's credit scheduler (credit1, xen/common/sched/credit.c), re-modelled:
 *
 * - One run queue per pCPU, ordered by priority (BOOST 0 > UNDER -1 > OVER -2; idle -64), FIFO
 *   within a priority. A yielding vCPU goes behind one more vCPU.
 * - Credits: 10 per ms of run time are burnt (`burn_credits`) at every tick and deschedule. Every
 *   accounting period (one time slice, 30 ms) `account` shares `credits_per_tslice * ncpus` among
 *   the *active* domains by weight (`csched_acct`, with Xen's peak/cap/balance rules), recomputes
 *   UNDER/OVER, parks vCPUs of capped domains that overspent (credit < -cap share) and unparks them
 *   when their credit is positive again, clamps credit at -credits_per_tslice, and takes vCPUs
 *   that earned more than a slice off the active list (halving their credit).
 * - Tick (10 ms, per pCPU): the running vCPU loses BOOST, burns, joins the active list, or is moved
 *   to an idle pCPU if one fits it better; then the run queue is re-sorted after an accounting.
 * - Wake: an UNDER vCPU that was not parked and is not just migrating is BOOSTed; it is queued on
 *   its pCPU and `__runq_tickle` decides which pCPU to interrupt (idle ones first, soft affinity
 *   before hard).
 * - Schedule: rate limiting (a vCPU runs at least `ratelimit_us` unless it yields or blocks),
 *   then the head of the local run queue; when that is OVER or idle, steal the first vCPU of
 *   strictly higher priority from a busy peer that its affinity allows (soft step, then hard,
 *   node by node) — `csched_load_balance` / `csched_runq_steal`.
 */
import {
  CSCHED_PRI_IDLE,
  CSCHED_PRI_TS_BOOST,
  CSCHED_PRI_TS_OVER,
  CSCHED_PRI_TS_UNDER,
  SchedError,
  EINVAL,
  affinityCpus,
  allows,
  cycleFrom,
  hasSoftAffinity,
  type SchedContext,
  type SchedDecision,
  type SchedDomain,
  type SchedDomainParams,
  type SchedulerOps,
  type SchedVcpu,
} from './types.js';

export const CSCHED_DEFAULT_WEIGHT = 256;
export const CSCHED_CREDITS_PER_MSEC = 10;
/** XEN_SYSCTL_SCHED_RATELIMIT_MIN: never arm a timer shorter than this (ns). */
export const CSCHED_MIN_TIMER = 100_000;

export interface CreditParams {
  /** Time slice and accounting period, ms (Xen: sched_credit_tslice_ms, 1..1000). */
  tslice_ms: number;
  /** Context-switch rate limit, us (Xen: sched_ratelimit_us; 0 disables). */
  ratelimit_us: number;
  /** Tick period, ms (Xen: tslice / 3). */
  tick_ms: number;
}
export const CREDIT_DEFAULTS: CreditParams = { tslice_ms: 30, ratelimit_us: 1000, tick_ms: 10 };

const MS = 1_000_000;

interface CVcpu {
  readonly v: SchedVcpu;
  readonly dom: CDom;
  pri: number;
  credit: number;
  residual: number;
  startTime: number;
  yielding: boolean;
  parked: boolean;
  active: boolean;
  /** The pCPU whose run queue holds it, or -1. */
  queuedOn: number;
}

interface CDom {
  readonly d: SchedDomain;
  readonly active: CVcpu[];
  onActiveList: boolean;
}

interface CPcpu {
  readonly cpu: number;
  readonly runq: CVcpu[];
  runqSortLast: number;
}

export class CreditScheduler implements SchedulerOps {
  readonly name = 'credit' as const;
  readonly tickNs: number;
  readonly acctNs: number;
  readonly tslice: number;
  readonly ratelimit: number;
  readonly creditsPerTslice: number;
  readonly params: Readonly<CreditParams>;

  private readonly pcpus = new Map<number, CPcpu>();
  private cpuList: number[] = [];
  /** pCPUs running idle and not yet tickled (Xen's prv->idlers). */
  readonly idlers = new Set<number>();
  private readonly activeDoms: CDom[] = [];
  /** Sum of weight over active vCPUs. */
  private weight = 0;
  /** credits_per_tslice * ncpus. */
  private credit = 0;
  private creditBalance = 0;
  private runqSortEpoch = 0;
  private readonly balanceBias = new Map<number, number>();
  private lastTickleCpu = -1;

  constructor(
    private readonly ctx: SchedContext,
    params: Partial<CreditParams> = {},
  ) {
    const p = { ...CREDIT_DEFAULTS, ...params };
    if (p.tslice_ms < 1 || p.tslice_ms > 1000) throw new SchedError(`credit: tslice_ms must be in 1..1000, got ${p.tslice_ms}`, EINVAL);
    this.params = p;
    this.tslice = p.tslice_ms * MS;
    // Xen: a rate limit longer than the slice is "undefined" and set to the slice.
    this.ratelimit = Math.min(p.ratelimit_us * 1000, this.tslice);
    this.tickNs = p.tick_ms * MS;
    this.acctNs = this.tslice;
    this.creditsPerTslice = CSCHED_CREDITS_PER_MSEC * p.tslice_ms;
  }

  get cpus(): readonly number[] {
    return this.cpuList;
  }

  // ---- pCPUs and domains -------------------------------------------------------------------

  addPcpu(pcpu: number): void {
    if (this.pcpus.has(pcpu)) return;
    this.pcpus.set(pcpu, { cpu: pcpu, runq: [], runqSortLast: this.runqSortEpoch });
    this.cpuList = [...this.cpuList, pcpu].sort((a, b) => a - b);
    this.credit += this.creditsPerTslice;
    this.idlers.add(pcpu);
  }

  removePcpu(pcpu: number): void {
    const spc = this.pcpus.get(pcpu);
    if (!spc) return;
    if (spc.runq.length) throw new Error(`credit: removing pCPU ${pcpu} with ${spc.runq.length} queued vCPUs`);
    for (const [node, bias] of this.balanceBias) if (bias === pcpu) this.balanceBias.delete(node);
    this.pcpus.delete(pcpu);
    this.cpuList = this.cpuList.filter((c) => c !== pcpu);
    this.credit -= this.creditsPerTslice;
    this.idlers.delete(pcpu);
  }

  addDomain(d: SchedDomain): void {
    d.priv = { d, active: [], onActiveList: false } satisfies CDom;
  }

  removeDomain(d: SchedDomain): void {
    const sdom = d.priv as CDom;
    if (sdom.active.length) throw new Error(`credit: domain ${d.domid} removed with active vCPUs`);
    const i = this.activeDoms.indexOf(sdom);
    if (i >= 0) this.activeDoms.splice(i, 1);
  }

  setDomainParams(d: SchedDomain, params: Partial<SchedDomainParams>): void {
    const sdom = d.priv as CDom;
    if (params.weight !== undefined && params.weight !== d.weight && sdom.onActiveList) {
      this.weight += (params.weight - d.weight) * sdom.active.length;
    }
  }

  // ---- vCPUs -------------------------------------------------------------------------------

  private sv(v: SchedVcpu): CVcpu {
    return v.priv as CVcpu;
  }

  insertVcpu(v: SchedVcpu, now: number): void {
    v.priv = {
      v,
      dom: v.domain.priv as CDom,
      pri: CSCHED_PRI_TS_UNDER,
      credit: 0,
      residual: 0,
      startTime: now,
      yielding: false,
      parked: false,
      active: false,
      queuedOn: -1,
    } satisfies CVcpu;
    v.processor = this.pickCpu(v);
  }

  removeVcpu(v: SchedVcpu): void {
    const svc = this.sv(v);
    if (svc.queuedOn >= 0) this.runqRemove(svc);
    if (svc.parked) {
      svc.parked = false;
      // The core drops the vCPU; its pause count no longer matters.
    }
    if (svc.active) this.acctStop(svc);
  }

  wake(v: SchedVcpu, _now: number, migrating: boolean): void {
    const svc = this.sv(v);
    if (v.runningOn >= 0 || svc.queuedOn >= 0) return;
    if (!migrating && svc.pri === CSCHED_PRI_TS_UNDER && !svc.parked) svc.pri = CSCHED_PRI_TS_BOOST;
    this.runqInsert(svc, v.processor);
    this.runqTickle(svc);
  }

  relocate(v: SchedVcpu, now: number): void {
    this.sleep(v);
    v.processor = this.pickCpu(v);
    if (v.runnable) this.wake(v, now, true);
  }

  sleep(v: SchedVcpu): void {
    const svc = this.sv(v);
    if (v.runningOn >= 0) return; // the core tickles its pCPU
    if (svc.queuedOn >= 0) this.runqRemove(svc);
  }

  yield(v: SchedVcpu): void {
    this.sv(v).yielding = true;
  }

  deschedule(v: SchedVcpu, now: number): void {
    this.burn(this.sv(v), now);
  }

  /** Priority of a vCPU (for tests and dumps). */
  priority(v: SchedVcpu): number {
    return this.sv(v).pri;
  }

  /** Credit of a vCPU (for tests and dumps). */
  creditOf(v: SchedVcpu): number {
    return this.sv(v).credit;
  }

  isParked(v: SchedVcpu): boolean {
    return this.sv(v).parked;
  }

  // ---- run queues --------------------------------------------------------------------------

  private runqInsert(svc: CVcpu, cpu: number): void {
    const runq = this.pcpus.get(cpu)!.runq;
    let i = 0;
    while (i < runq.length && !(svc.pri > runq[i]!.pri)) i++;
    // A yielding vCPU goes behind one more runnable vCPU if there is one (Xen: behind one
    // lower-priority vCPU; the next sort brings it forward).
    if (svc.yielding && i < runq.length) i++;
    runq.splice(i, 0, svc);
    svc.queuedOn = cpu;
  }

  private runqRemove(svc: CVcpu): void {
    const runq = this.pcpus.get(svc.queuedOn)!.runq;
    const i = runq.indexOf(svc);
    if (i < 0) throw new Error(`credit: ${svc.v.name} not on the run queue of pCPU ${svc.queuedOn}`);
    runq.splice(i, 1);
    svc.queuedOn = -1;
  }

  private nrRunnable(cpu: number): number {
    return this.pcpus.get(cpu)!.runq.length + (this.ctx.curr(cpu) ? 1 : 0);
  }

  private curPri(cpu: number): number {
    const cur = this.ctx.curr(cpu);
    return cur ? this.sv(cur).pri : CSCHED_PRI_IDLE;
  }

  private tickleCpu(cpu: number): void {
    this.idlers.delete(cpu);
    this.ctx.tickle(cpu);
  }

  /** __runq_tickle: which pCPU(s) should reschedule because `svc` was queued. */
  private runqTickle(svc: CVcpu): void {
    const v = svc.v;
    const cpu = v.processor;
    const curPri = this.curPri(cpu);
    const idleMask = this.cpuList.filter((c) => this.idlers.has(c));
    // Exclusive pinning to an idle pCPU.
    if (v.hard !== null && v.hard.size === 1 && this.idlers.has(cpu)) {
      this.tickleCpu(cpu);
      return;
    }
    if (curPri === CSCHED_PRI_IDLE || (idleMask.length === 0 && svc.pri > curPri)) {
      this.tickleCpu(cpu);
      return;
    }
    if (idleMask.length === 0) return;
    for (const step of ['soft', 'hard'] as const) {
      if (step === 'soft' && !hasSoftAffinity(v, this.cpuList)) continue;
      const suitable = affinityCpus(v, idleMask, step);
      if (suitable.length === 0 && step === 'soft') continue;
      if (suitable.length === 0) {
        if (svc.pri > curPri) {
          this.tickleCpu(cpu);
          return;
        }
      } else {
        const pick = cycleFrom(suitable, this.lastTickleCpu)[0]!;
        this.lastTickleCpu = pick;
        this.tickleCpu(pick);
        return;
      }
    }
  }

  /** csched_runq_sort: after an accounting, move UNDER-or-better vCPUs ahead of OVER ones (stable). */
  private runqSort(cpu: number): void {
    const spc = this.pcpus.get(cpu)!;
    if (spc.runqSortLast === this.runqSortEpoch) return;
    spc.runqSortLast = this.runqSortEpoch;
    const under = spc.runq.filter((s) => s.pri >= CSCHED_PRI_TS_UNDER);
    if (under.length === 0 || under.length === spc.runq.length) return;
    const over = spc.runq.filter((s) => s.pri < CSCHED_PRI_TS_UNDER);
    spc.runq.length = 0;
    spc.runq.push(...under, ...over);
  }

  // ---- credits -----------------------------------------------------------------------------

  private burn(svc: CVcpu, now: number): void {
    const delta = now - svc.startTime;
    if (delta <= 0) return;
    const val = delta * CSCHED_CREDITS_PER_MSEC + svc.residual;
    const credits = Math.floor(val / MS);
    svc.residual = val - credits * MS;
    svc.credit -= credits;
    svc.startTime = now;
  }

  private acctStart(svc: CVcpu): void {
    if (svc.active) return;
    const sdom = svc.dom;
    svc.active = true;
    sdom.active.unshift(svc);
    this.weight += sdom.d.weight;
    if (!sdom.onActiveList) {
      sdom.onActiveList = true;
      this.activeDoms.unshift(sdom);
    }
  }

  private acctStop(svc: CVcpu): void {
    if (!svc.active) return;
    const sdom = svc.dom;
    svc.active = false;
    sdom.active.splice(sdom.active.indexOf(svc), 1);
    this.weight -= sdom.d.weight;
    if (sdom.active.length === 0 && sdom.onActiveList) {
      sdom.onActiveList = false;
      this.activeDoms.splice(this.activeDoms.indexOf(sdom), 1);
    }
  }

  /** csched_tick for one pCPU. */
  tick(cpu: number, now: number): void {
    if (!this.pcpus.has(cpu)) return;
    const cur = this.ctx.curr(cpu);
    if (cur) {
      const svc = this.sv(cur);
      if (svc.pri === CSCHED_PRI_TS_BOOST) svc.pri = CSCHED_PRI_TS_UNDER;
      this.burn(svc, now);
      if (!svc.active) this.acctStart(svc);
      else {
        const newCpu = this.pickCpu(cur);
        if (newCpu !== cpu) {
          this.ctx.migrateRunning(cur);
          this.ctx.tickle(cpu);
        }
      }
    }
    this.runqSort(cpu);
  }

  /** csched_acct: share out credits among the active domains by weight. */
  account(_now: number): void {
    const weightTotal = this.weight;
    let creditTotal = this.credit;
    if (this.creditBalance < 0) creditTotal -= this.creditBalance;
    if (weightTotal === 0) {
      this.creditBalance = 0;
      return;
    }
    let weightLeft = weightTotal;
    let creditBalance = 0;
    let creditXtra = false;
    const cpt = this.creditsPerTslice;
    for (const sdom of [...this.activeDoms]) {
      const n = sdom.active.length;
      const w = sdom.d.weight;
      weightLeft -= w * n;
      let creditPeak = n * cpt;
      if (this.creditBalance < 0) creditPeak += Math.floor((-this.creditBalance * w * n + (weightTotal - 1)) / weightTotal);
      let creditCap = 0;
      if (sdom.d.cap !== 0) {
        creditCap = Math.floor((sdom.d.cap * cpt + 99) / 100);
        if (creditCap < creditPeak) creditPeak = creditCap;
        creditCap = Math.floor((creditCap + (n - 1)) / n);
      }
      let creditFair = Math.floor((creditTotal * w * n + (weightTotal - 1)) / weightTotal);
      if (creditFair < creditPeak) creditXtra = true;
      else {
        if (weightLeft !== 0) creditTotal += Math.floor(((creditFair - creditPeak) * weightTotal + (weightLeft - 1)) / weightLeft);
        if (creditXtra) {
          // Keep domains with extra credit at the head of the list.
          const i = this.activeDoms.indexOf(sdom);
          this.activeDoms.splice(i, 1);
          this.activeDoms.unshift(sdom);
        }
        creditFair = creditPeak;
      }
      creditFair = Math.floor((creditFair + (n - 1)) / n);
      for (const svc of [...sdom.active]) {
        svc.credit += creditFair;
        let credit = svc.credit;
        if (credit < 0) {
          svc.pri = CSCHED_PRI_TS_OVER;
          if (sdom.d.cap !== 0 && credit < -creditCap && !svc.parked) {
            svc.parked = true;
            this.ctx.pause(svc.v, _now);
          }
          if (credit < -cpt) {
            credit = -cpt;
            svc.credit = credit;
          }
        } else {
          svc.pri = CSCHED_PRI_TS_UNDER;
          if (svc.parked) {
            // Unpause before clearing the flag, so the wake-up is not boosted.
            this.ctx.unpause(svc.v, _now);
            svc.parked = false;
          }
          if (credit > cpt) {
            this.acctStop(svc);
            credit = Math.trunc(credit / 2);
            svc.credit = credit;
          }
        }
        creditBalance += credit;
      }
    }
    this.creditBalance = creditBalance;
    this.runqSortEpoch++;
  }

  // ---- placement and scheduling ------------------------------------------------------------

  /** _csched_cpu_pick without SMT topology: v's pCPU if idle, else an idle pCPU it may use (soft first). */
  pickCpu(v: SchedVcpu): number {
    let best = -1;
    const isIdle = (c: number) => {
      if (this.idlers.has(c)) return true;
      if (c !== v.processor) return false;
      const cur = this.ctx.curr(c);
      return this.pcpus.get(c)!.runq.every((s) => s.v === v) && (cur === null || cur === v);
    };
    for (const step of ['soft', 'hard'] as const) {
      const mask = affinityCpus(v, this.cpuList, step);
      if (step === 'soft' && (!hasSoftAffinity(v, this.cpuList) || mask.length === 0)) continue;
      if (mask.length === 0) throw new SchedError(`credit: ${v.name} has no pCPU in its hard affinity in this pool`, EINVAL);
      let cpu = mask.includes(v.processor) ? v.processor : cycleFrom(mask, v.processor)[0]!;
      if (!isIdle(cpu)) {
        const idle = cycleFrom(mask, cpu).find(isIdle);
        if (idle !== undefined) cpu = idle;
      }
      best = cpu;
      if (isIdle(cpu)) break;
    }
    return best;
  }

  doSchedule(cpu: number, now: number, prev: SchedVcpu | null, prevRunnable: boolean): SchedDecision {
    const spc = this.pcpus.get(cpu);
    if (!spc) throw new Error(`credit: pCPU ${cpu} is not in this pool`);
    const scurr = prev ? this.sv(prev) : null;
    const runtime = prev ? Math.max(0, now - prev.scheduledAt) : 0;
    if (scurr) this.burn(scurr, now);

    if (scurr && !scurr.yielding && this.ratelimit > 0 && prevRunnable && runtime < this.ratelimit) {
      let tslice = this.ratelimit - runtime;
      if (tslice < CSCHED_MIN_TIMER) tslice = CSCHED_MIN_TIMER;
      return { next: prev, sliceNs: tslice, migrated: false };
    }

    if (scurr && prevRunnable) this.runqInsert(scurr, cpu);
    if (scurr) scurr.yielding = false;

    let snext: CVcpu | null = spc.runq[0] ?? null;
    let migrated = false;
    const snextPri = snext ? snext.pri : CSCHED_PRI_IDLE;
    if (snext && snextPri > CSCHED_PRI_TS_OVER) this.runqRemove(snext);
    else {
      const stolen = this.loadBalance(cpu, snextPri);
      if (stolen) {
        snext = stolen;
        migrated = true;
      } else if (snext) this.runqRemove(snext);
    }

    if (snext === null) this.idlers.add(cpu);
    else this.idlers.delete(cpu);
    if (snext) snext.startTime = now;
    return { next: snext ? snext.v : null, sliceNs: snext ? this.tslice : Infinity, migrated };
  }

  /** csched_load_balance: steal a strictly better vCPU from a busy peer (soft step first, node by node). */
  private loadBalance(cpu: number, pri: number): CVcpu | null {
    const node = this.ctx.nodeOf(cpu);
    const nodes = [...new Set(this.cpuList.map((c) => this.ctx.nodeOf(c)))].sort((a, b) => a - b);
    const nodeOrder = [node, ...cycleFrom(nodes, node).filter((n) => n !== node)];
    for (const step of ['soft', 'hard'] as const) {
      for (const peerNode of nodeOrder) {
        const workers = this.cpuList.filter((c) => c !== cpu && !this.idlers.has(c) && this.ctx.nodeOf(c) === peerNode);
        if (workers.length === 0) continue;
        for (const peer of cycleFrom(workers, this.balanceBias.get(peerNode) ?? -1)) {
          if (this.nrRunnable(peer) <= 1) continue;
          if (this.ctx.curr(peer) === null) continue;
          const stolen = this.runqSteal(peer, cpu, pri, step);
          if (stolen) {
            this.balanceBias.set(peerNode, peer);
            return stolen;
          }
        }
      }
    }
    return null;
  }

  private runqSteal(peer: number, cpu: number, pri: number, step: 'soft' | 'hard'): CVcpu | null {
    const runq = this.pcpus.get(peer)!.runq;
    for (const speer of runq) {
      if (speer.pri <= pri) break;
      const v = speer.v;
      if (step === 'soft' && !hasSoftAffinity(v, this.cpuList)) continue;
      if (!allows(v.hard, cpu) || (step === 'soft' && !allows(v.soft, cpu))) continue;
      this.runqRemove(speer);
      v.processor = cpu;
      return speer;
    }
    return null;
  }
}

export function createCredit(ctx: SchedContext, params: Record<string, number>): CreditScheduler {
  return new CreditScheduler(ctx, params as Partial<CreditParams>);
}
