// Guest timers: the singleshot (set_timer_op, VCPUOP_set_singleshot_timer, SCHEDOP_poll's
// timeout), the periodic tick (VCPUOP_set_periodic_timer) and the wake-up for the guest's own
// stimecmp while its vCPU is not loaded; and vcpu_time_info, the time the guest reads.
import { Virq, VcpuInfo, VcpuTimeInfo } from '@tachyxx/abi';
import type { SimEvent } from '@tachyxx/core';
import { setU64 } from './pcpu.js';
import type { Host } from './host.js';
import type { Vcpu } from './vcpu.js';

/** The last simulated time a guest timer can be armed at (ns): the event queue's exact integer range. */
export const SIM_TIME_MAX_NS = Number.MAX_SAFE_INTEGER;

export class GuestTimers {
  private readonly scratch = new Uint8Array(64);

  constructor(private readonly host: Host) {}

  /**
   * Xen's set_timer(ev, absNs) for a guest timer: a time already past fires at the next event
   * round; a time past SIM_TIME_MAX_NS (2^53 - 1 ns, about 104 days: the event queue's exact
   * range) never comes in this simulation, so the timer is left unarmed (see docs/hypervisor.md,
   * "Time that never comes").
   */
  set(ev: SimEvent, absNs: number): void {
    const { queue, clock } = this.host;
    if (!(absNs <= SIM_TIME_MAX_NS)) queue.cancel(ev);
    else queue.reschedule(ev, Math.max(clock.now, absNs));
  }

  /** Stops all of `v`'s timers (vCPU down, domain shutdown or destroy). */
  cancelAll(v: Vcpu): void {
    const q = this.host.queue;
    q.cancel(v.singleshot);
    q.cancel(v.periodic);
    q.cancel(v.stimecmpWake);
  }

  /** A vCPU comes online: its periodic tick starts (Xen's default 10 ms for PV vCPUs). */
  startPeriodic(v: Vcpu): void {
    if (v.periodNs > 0) this.set(v.periodic, this.host.clock.now + v.periodNs);
  }

  /** VCPUOP_set_periodic_timer / stop_periodic_timer. */
  setPeriodic(v: Vcpu, periodNs: number): void {
    v.periodNs = periodNs;
    if (periodNs === 0) this.host.queue.cancel(v.periodic);
    else if (v.online) this.set(v.periodic, this.host.clock.now + periodNs);
  }

  /** The singleshot at `absNs`, or stopped (null). */
  setSingleshot(v: Vcpu, absNs: number | null): void {
    if (absNs === null) this.host.queue.cancel(v.singleshot);
    else this.set(v.singleshot, absNs);
  }

  /** A vCPU leaves its pCPU: its own stimecmp, if enabled, must still wake it when it comes due. */
  armStimecmpWake(v: Vcpu): void {
    const guest = this.host.guest;
    const deadline = guest.timerDeadlineNs(v.ctx);
    if (deadline === Infinity || !guest.timerInterruptEnabled(v.ctx)) return;
    this.host.queue.reschedule(v.stimecmpWake, Math.max(this.host.clock.now, Math.min(deadline, Number.MAX_SAFE_INTEGER)));
  }

  /** One of `v`'s timers came due. */
  fired(v: Vcpu, why: 'singleshot' | 'periodic' | 'stimecmp'): void {
    const host = this.host;
    if (v.domain.shutdownCode !== null || !v.online) return;
    if (why === 'periodic' && v.periodNs > 0) this.set(v.periodic, host.clock.now + v.periodNs);
    if (why === 'stimecmp') {
      // The guest's own timer (stimecmp) came due while it was not loaded: it runs and the CPU
      // raises STIP when it is loaded again.
      if (host.guest.timerInterruptEnabled(v.ctx)) host.wakeVcpu(v);
      return;
    }
    host.upcalls.deliverVirq(v, Virq.timer);
    // The singleshot is also SCHEDOP_poll's timeout (Xen's poll_timer_fn: vcpu_unblock): it ends
    // the poll even when the upcall was already pending (and masked), so raised nothing new.
    if (why === 'singleshot' && v.blocked && v.blockKind === 'block') host.wakeVcpu(v);
  }

  /** Writes vcpu_time_info for `v` under Xen's version protocol (odd while updating). */
  writeTimeInfo(v: Vcpu, now: number): void {
    const d = v.domain;
    const vi = v.vcpuInfoGpa;
    if (!vi) return;
    const base = vi + VcpuInfo.time.offset;
    const t = this.scratch;
    d.access.read(base, t.subarray(0, 4));
    const version = (t[0]! | (t[1]! << 8) | (t[2]! << 16) | (t[3]! << 24)) >>> 0;
    const dv = new DataView(t.buffer, 0, VcpuTimeInfo.size);
    dv.setUint32(0, (version + 1) >>> 0, true);
    d.access.write(base, t.subarray(0, 4));
    dv.setUint32(VcpuTimeInfo.version.offset, (version + 2) >>> 0, true);
    // Tachyxx's `time` CSR counts ns, so the scale is 1:1 (mul 2^32 >> 32 can't be expressed:
    // use mul = 0x80000000 with shift 1).
    dv.setUint32(4, 0, true);
    setU64(dv, VcpuTimeInfo.tsc_timestamp.offset, now);
    setU64(dv, VcpuTimeInfo.system_time.offset, now);
    dv.setUint32(VcpuTimeInfo.tsc_to_system_mul.offset, 0x80000000, true);
    dv.setInt8(VcpuTimeInfo.tsc_shift.offset, 1);
    dv.setUint8(VcpuTimeInfo.flags.offset, 0);
    d.access.write(base + 8, t.subarray(8, VcpuTimeInfo.size));
    d.access.write(base, t.subarray(0, 4));
  }
}
