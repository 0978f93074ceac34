// sched_op (hypercall 29): yield, block, shutdown, poll, remote_shutdown, shutdown_code, watchdog,
// pin_override (Xen's do_sched_op, xen/common/sched/core.c); other cmds -ENOSYS as Xen.
import { Errno, SchedOp, ShutdownReason } from '@tachyxx/abi';
import type { SimEvent } from '@tachyxx/core';
import type { SchedCore } from '@tachyxx/sched';
import type { DomainTable } from '../domain/domain-table.js';
import type { Domain } from '../domain/domain.js';
import type { Vcpu } from '../host/vcpu.js';
import type { PollProvider } from '../services.js';
import { SIM_TIME_MAX_NS } from '../host/timers.js';
import type { DomainWatchdogs } from './watchdog.js';

const TWO32 = 4294967296;

export interface SchedOpContext {
  readonly sched: SchedCore;
  readonly domains: DomainTable<Vcpu>;
  readonly watchdogs: DomainWatchdogs;
  /** The SCHEDOP_poll provider (the event-channel component), or null: polls wait for the timeout. */
  readonly pollProvider: PollProvider | null;
  /** The event queue's time. */
  now(): number;
  /** The time `v` sees (its pCPU's own while loaded). */
  nowFor(v: Vcpu): number;
  /** The guest acknowledged upcalls: is one still pending? */
  syncUpcall(v: Vcpu): boolean;
  /** Could `v` take the upcall now (interrupts not masked)? */
  upcallDeliverable(v: Vcpu): boolean;
  setTimer(ev: SimEvent, absNs: number): void;
  shutdownDomain(d: Domain<Vcpu>, reason: number): void;
}

/** Buffers for the op structs: the op reads them during the call only. */
const remoteShutdownBuf = new Uint8Array(8);
const remoteShutdownView = new DataView(remoteShutdownBuf.buffer);
const pollBuf = new Uint8Array(24);
const pollView = new DataView(pollBuf.buffer);

export function schedOp(ctx: SchedOpContext, v: Vcpu, cmd: number, arg: number): number {
  const d = v.domain;
  switch (cmd) {
    case SchedOp.yield:
      ctx.sched.yield(v.sched, ctx.now());
      return 0;
    case SchedOp.block: {
      // Xen: block returns at once when an event is already pending (Arm's
      // vcpu_block_unless_event_pending). The Arm layout has no evtchn_upcall_mask to clear;
      // unlike Arm's local_event_delivery_enable, the guest's sstatus.SIE is left as it is
      // (docs/abi.md).
      if (ctx.syncUpcall(v)) return 0;
      block(ctx, v);
      return 0;
    }
    case SchedOp.shutdown: {
      const r = shutdownReasonAt(d, arg);
      if (r < 0) return r;
      ctx.shutdownDomain(d, r);
      return 0;
    }
    case SchedOp.shutdown_code: {
      // Xen's SCHEDOP_shutdown_code (xen/common/sched/core.c): struct sched_shutdown, -EFAULT
      // when it cannot be read; the code is recorded only while none is (the first one wins) and
      // becomes the reason of the domain's later shutdown (domain_shutdown: `reason =
      // d->shutdown_code`), e.g. a crash reported as this code. An unknown reason is -EINVAL, as
      // SCHEDOP_shutdown's here (Xen records (u8)reason; docs/abi.md, "Where Tachyxx differs").
      const r = shutdownReasonAt(d, arg);
      if (r < 0) return r;
      if (d.recordedShutdownCode === null && d.shutdownCode === null) d.recordedShutdownCode = r;
      return 0;
    }
    case SchedOp.pin_override:
      // Xen: -EPERM unless is_hardware_domain(current->domain), checked before the argument is
      // read. Tachyxx has no guest hardware domain (the host and its toolstack own the
      // hardware; a control domain is not one), so every caller gets -EPERM.
      return -Errno.EPERM;
    case SchedOp.remote_shutdown: {
      // struct sched_remote_shutdown { domid_t domain_id; unsigned int reason; }
      if (d.access.read(arg, remoteShutdownBuf) < 0) return -Errno.EFAULT;
      const dv = remoteShutdownView;
      const target = ctx.domains.get(dv.getUint16(0, true));
      const reason = dv.getUint32(4, true);
      // Xen: the domain is looked up first (-ESRCH, DOMID_SELF included), then
      // xsm_schedop_shutdown(XSM_DM_PRIV) (-EPERM unless privileged: Tachyxx has no device-model
      // domains). An unknown reason is -EINVAL here (docs/abi.md, "Where Tachyxx differs").
      if (!target) return -Errno.ESRCH;
      if (!d.privileged) return -Errno.EPERM;
      if (reason > ShutdownReason.soft_reset) return -Errno.EINVAL;
      ctx.shutdownDomain(target, reason);
      return 0;
    }
    case SchedOp.watchdog:
      return ctx.watchdogs.op(d, arg);
    case SchedOp.poll: {
      if (d.access.read(arg, pollBuf) < 0) return -Errno.EFAULT;
      const dv = pollView;
      const nrPorts = dv.getUint32(8, true);
      // uint64_t timeout (absolute ns), taken by set_timer as s_time_t: bit 63 set = the past.
      const timeout = dv.getUint32(16, true) + dv.getInt32(20, true) * TWO32;
      if (nrPorts > 128) return -Errno.EINVAL;
      const portsGpa = dv.getUint32(0, true) + dv.getUint32(4, true) * TWO32;
      if (!d.access.checkRange(portsGpa, nrPorts * 4, false)) return -Errno.EFAULT;
      // Xen's do_poll: local_events_need_delivery() ends the poll at once - on Arm only while
      // the guest can take the upcall (interrupts not masked): a pending upcall the guest
      // masks (sstatus.SIE or sie.SEIE off) does not, or a poll loop that leaves
      // evtchn_upcall_pending set would spin.
      if (ctx.syncUpcall(v) && ctx.upcallDeliverable(v)) return 0;
      if (ctx.pollProvider) {
        const r = ctx.pollProvider.poll(v, portsGpa, nrPorts);
        if (r < 0) return r;
        if (r > 0) return 0;
      }
      // (Xen has a separate poll timer; here the poll shares the singleshot: a timeout that
      // never comes leaves the singleshot as it is rather than cancelling it.)
      if (timeout && Math.max(0, timeout) <= SIM_TIME_MAX_NS) ctx.setTimer(v.singleshot, Math.max(0, timeout));
      block(ctx, v);
      return 0;
    }
    default:
      return -Errno.ENOSYS;
  }
}

/**
 * The reason of the guest's struct sched_shutdown at `arg`: -EFAULT when it cannot be read,
 * -EINVAL past SHUTDOWN_MAX (soft_reset; Xen takes any u8: docs/abi.md, "Where Tachyxx differs").
 */
function shutdownReasonAt(d: Vcpu['domain'], arg: number): number {
  const r = d.access.readU32(arg);
  if (r < 0) return -Errno.EFAULT;
  return r > ShutdownReason.soft_reset ? -Errno.EINVAL : r;
}

function block(ctx: SchedOpContext, v: Vcpu): void {
  v.blocked = true;
  v.blockKind = 'block';
  ctx.sched.block(v.sched, ctx.nowFor(v));
}
