// SCHEDOP_watchdog as Xen's domain_watchdog (xen/common/sched/core.c): NR_DOMAIN_WATCHDOG_TIMERS
// per domain. id 0 arms a free timer for `timeout` seconds and returns its id (1-based), or
// -ENOSPC; id > NR is -EINVAL; an id not in use is -EINVAL; timeout 0 stops and frees it,
// anything else re-arms it. When one fires the domain shuts down with SHUTDOWN_watchdog (the
// toolstack's on_watchdog action then applies), unless it is already shutting down.
import { Errno, SchedWatchdog } from '@tachyxx/abi';
import { SimEvent } from '@tachyxx/core';
import type { Domain } from '../domain/domain.js';

/** Xen's NR_DOMAIN_WATCHDOG_TIMERS (xen/include/xen/sched.h). */
export const NR_DOMAIN_WATCHDOG_TIMERS = 2;

export interface WatchdogContext {
  now(): number;
  /** Xen's set_timer; `absNs` may lie beyond simulated time (then it never fires). */
  arm(ev: SimEvent, absNs: number): void;
  cancel(ev: SimEvent): void;
  fired(d: Domain<any>): void;
}

export class DomainWatchdogs {
  private readonly timers = new WeakMap<Domain<any>, (SimEvent | null)[]>();

  constructor(private readonly ctx: WatchdogContext) {}

  private of(d: Domain<any>): (SimEvent | null)[] {
    let t = this.timers.get(d);
    if (!t) { t = new Array(NR_DOMAIN_WATCHDOG_TIMERS).fill(null); this.timers.set(d, t); }
    return t;
  }

  /** SCHEDOP_watchdog with a `struct sched_watchdog` at `arg`. */
  op(d: Domain<any>, arg: number): number {
    const w = d.access.readStruct(arg, SchedWatchdog);
    if (typeof w === 'number') return -Errno.EFAULT;
    return this.watchdog(d, w.id, w.timeout);
  }

  watchdog(d: Domain<any>, id: number, timeoutS: number): number {
    if (id > NR_DOMAIN_WATCHDOG_TIMERS) return -Errno.EINVAL;
    const t = this.of(d);
    const at = this.ctx.now() + timeoutS * 1e9;
    if (id === 0) {
      const free = t.indexOf(null);
      if (free < 0) return -Errno.ENOSPC;
      const ev = new SimEvent(`d${d.domid}.watchdog${free + 1}`, () => {
        if (d.shutdownCode === null && !d.isDying) this.ctx.fired(d);
      });
      t[free] = ev;
      this.ctx.arm(ev, at);
      return free + 1;
    }
    const ev = t[id - 1];
    if (!ev) return -Errno.EINVAL;
    if (timeoutS === 0) {
      this.ctx.cancel(ev);
      t[id - 1] = null;
    } else {
      this.ctx.arm(ev, at);
    }
    return 0;
  }

  /** watchdog_domain_destroy: every timer of `d` stops. */
  destroy(d: Domain<any>): void {
    const t = this.timers.get(d);
    if (t) for (const ev of t) if (ev) this.ctx.cancel(ev);
    this.timers.delete(d);
  }
}
