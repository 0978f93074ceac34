// set_timer_op (hypercall 15): the vCPU's singleshot timer, as xen/common/sched/core.c.
import type { SimEvent } from '@tachyxx/core';
import type { Vcpu } from '../host/vcpu.js';

/** set_timer_op: a timeout this far ahead (2^50 ns) is "huge" (xen/common/sched/core.c). */
export const SET_TIMER_OP_HUGE_NS = 2 ** 50;
/** set_timer_op: a huge or negative timeout fires after MILLISECS(100) instead (Xen). */
export const SET_TIMER_OP_HUGE_DELAY_NS = 100_000_000;

export interface SetTimerOpContext {
  /** The guest acknowledged upcalls (the host's syncUpcall). */
  syncUpcall(v: Vcpu): boolean;
  /** Argument 0 as the signed 64-bit s_time_t the guest passed (`a0` as the dispatcher read it). */
  signedArg0(v: Vcpu, a0: number): number;
  nowFor(v: Vcpu): number;
  cancel(ev: SimEvent): void;
  /** Xen's set_timer for a guest timer (the host's GuestTimers.set). */
  setTimer(ev: SimEvent, absNs: number): void;
}

/**
 * do_set_timer_op(s_time_t timeout): 0 stops the singleshot timer; a negative timeout or one
 * more than 2^50 ns (about 13 days) ahead fires in 100 ms instead (Xen's "huge timeout"
 * workaround for Linux's jiffy wrap); anything else is armed as given.
 */
export function setTimerOp(ctx: SetTimerOpContext, v: Vcpu, a0: number): number {
  ctx.syncUpcall(v);
  const timeout = ctx.signedArg0(v, a0);
  const now = ctx.nowFor(v);
  if (timeout === 0) ctx.cancel(v.singleshot);
  else if (timeout < 0 || timeout - now >= SET_TIMER_OP_HUGE_NS) ctx.setTimer(v.singleshot, now + SET_TIMER_OP_HUGE_DELAY_NS);
  else ctx.setTimer(v.singleshot, timeout);
  return 0;
}
