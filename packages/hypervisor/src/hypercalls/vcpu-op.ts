// vcpu_op (public/vcpu.h): bring vCPUs up and down, query them, drive their timers, and (the
// two calls Xen on Arm's do_arm_vcpu_op knows) register a vCPU's vcpu_info and runstate area.
// Any other cmd is -EINVAL, as on Arm.
import {
  Errno, PAGE_SIZE, VcpuGuestContext, VcpuInfo, VcpuOp, VcpuRegisterRunstateMemoryArea, VcpuRegisterVcpuInfo, VcpuRunstateInfo,
  VcpuSetPeriodicTimer, VcpuSetSingleshotTimer, VCPU_INFO_ALIGN, VCPU_SSHOTTMR_future, Runstate,
} from '@tachyxx/abi';
import type { Vcpu } from '../host/vcpu.js';

export interface VcpuOpContext {
  now(v: Vcpu): number;
  up(v: Vcpu): void;
  down(v: Vcpu): void;
  /** The new context: the guest's 64-bit pc, sp, a0, a1, satp as (lo, hi) 32-bit halves, in that order. */
  initialise(v: Vcpu, words: Int32Array): void;
  /** Xen's set_timer(singleshot, absNs): null stops it; < now fires at once; past the simulated time limit never fires. */
  setSingleshot(v: Vcpu, absNs: number | null): void;
  setPeriodic(v: Vcpu, periodNs: number): void;
  /** Xen's vcpu_mark_events_pending (the host's sendUpcall). */
  markEventsPending(v: Vcpu): void;
  /** Xen's force_update_vcpu_system_time: rewrite vcpu_info.time now. */
  updateTime(v: Vcpu): void;
}

const runstateBuf = new Uint8Array(VcpuRunstateInfo.size);
const runstateView = new DataView(runstateBuf.buffer);

/**
 * Writes `v`'s vcpu_runstate_info at its registered area (Xen's update_runstate_area, called at
 * every schedule in and out). Nothing when none is registered; a copy that faults is ignored, as
 * Xen's __copy_to_guest there.
 */
export function updateRunstateArea(v: Vcpu, now: number): void {
  if (!v.runstateArea) return;
  encodeRunstate(v, now);
  v.domain.access.write(v.runstateArea, runstateBuf);
}

function encodeRunstate(v: Vcpu, now: number): void {
  const dv = runstateView;
  const put = (off: number, n: number) => { dv.setUint32(off, n >>> 0, true); dv.setUint32(off + 4, Math.floor(n / TWO32), true); };
  dv.setUint32(VcpuRunstateInfo.state.offset, Runstate[v.runstate], true);
  dv.setUint32(4, 0, true);
  put(VcpuRunstateInfo.state_entry_time.offset, v.runstateEntry);
  // time[] up to `now` for the state it is in (vcpu_runstate_get), without allocating
  const cur = Runstate[v.runstate];
  // (Xen's `if (delta > 0)`: a `now` before the state's entry, of another clock, adds nothing)
  const delta = now > v.runstateEntry ? now - v.runstateEntry : 0;
  for (let i = 0; i < 4; i++) put(VcpuRunstateInfo.time.offset + 8 * i, v.runstateTime[i]! + (i === cur ? delta : 0));
}

/**
 * VCPUOP_register_vcpu_info as Xen 4.17's map_vcpu_info (xen/common/domain.c): the offset must
 * leave the whole vcpu_info in the page and be aligned to _Alignof(vcpu_info) (else -ENXIO);
 * once only (-EINVAL); on the caller itself or an offline vCPU (-EINVAL); the frame must be a
 * writable page of the domain (-EINVAL). The old contents (vCPU 0's shared_info slot) are
 * copied, a vCPU without one starts zeroed; then every selector bit is set and the upcall
 * raised ("the domain will get a spurious event, but it can cope"), and the time rewritten.
 */
function registerVcpuInfo(ctx: VcpuOpContext, caller: Vcpu, v: Vcpu, g: DataView): number {
  const d = v.domain;
  const gfn = u64(g, VcpuRegisterVcpuInfo.mfn.offset);
  const offset = g.getUint32(VcpuRegisterVcpuInfo.offset.offset, true);
  if (offset > PAGE_SIZE - VcpuInfo.size || offset % VCPU_INFO_ALIGN !== 0) return -Errno.ENXIO;
  if (v.registeredVcpuInfo) return -Errno.EINVAL;
  if (v !== caller && v.online) return -Errno.EINVAL;
  const gpa = gfn * PAGE_SIZE + offset;
  if (gfn >= 2 ** 40 || !d.access.checkRange(gpa, VcpuInfo.size, true)) return -Errno.EINVAL;
  const info = new Uint8Array(VcpuInfo.size);
  const old = v.vcpuInfoGpa;
  if (old) d.access.read(old, info);
  info.fill(0xff, VcpuInfo.evtchn_pending_sel.offset, VcpuInfo.evtchn_pending_sel.offset + 8);
  d.access.write(gpa, info);
  v.registeredVcpuInfo = gpa;
  ctx.markEventsPending(v);
  ctx.updateTime(v);
  return 0;
}

const TWO32 = 4294967296;
const u64 = (dv: DataView, off: number) => dv.getUint32(off, true) + dv.getUint32(off + 4, true) * TWO32;
/** A u64 field read as Xen's s_time_t (negative when bit 63 is set); exact below 2^53 in magnitude. */
const s64 = (dv: DataView, off: number) => dv.getUint32(off, true) + dv.getInt32(off + 4, true) * TWO32;
/** Xen's STIME_DELTA_MAX (xen/include/xen/time.h): the longest period, 2^63 - 1 ns. */
const STIME_DELTA_MAX = 2 ** 63 - 1;
/** Xen's MILLISECS(1): the shortest period VCPUOP_set_periodic_timer accepts (xen/common/domain.c). */
export const VCPU_MIN_PERIOD_NS = 1_000_000;

/** HYPERVISOR_vcpu_op(cmd, vcpuid, arg). A domain may only operate on its own vCPUs. */
export function vcpuOp(ctx: VcpuOpContext, caller: Vcpu, cmd: number, vcpuid: number, arg: number): number {
  const d = caller.domain;
  if (!Number.isInteger(vcpuid) || vcpuid >= d.vcpus.length) return -Errno.ENOENT;
  const v = d.vcpus[vcpuid]!;
  const read = (layout: { size: number }): DataView | null => {
    const b = new Uint8Array(layout.size);
    return d.access.read(arg, b) < 0 ? null : new DataView(b.buffer);
  };
  switch (cmd) {
    case VcpuOp.initialise: {
      if (v.initialised) return -Errno.EEXIST;
      const g = read(VcpuGuestContext);
      if (!g) return -Errno.EFAULT;
      // All 64 bits of each register (a pc of 2^64 - 4 is a sign-extended high address, not 0);
      // instructions are 4-byte aligned (no C extension), so a pc that is not is -EINVAL.
      const words = new Int32Array(10);
      const fields = [VcpuGuestContext.pc, VcpuGuestContext.sp, VcpuGuestContext.a0, VcpuGuestContext.a1, VcpuGuestContext.satp];
      fields.forEach((f, i) => { words[2 * i] = g.getInt32(f.offset, true); words[2 * i + 1] = g.getInt32(f.offset + 4, true); });
      if ((words[0]! & 3) !== 0) return -Errno.EINVAL;
      ctx.initialise(v, words);
      return 0;
    }
    case VcpuOp.up:
      if (!v.initialised) return -Errno.EINVAL;
      ctx.up(v);
      return 0;
    case VcpuOp.down:
      ctx.down(v);
      return 0;
    case VcpuOp.is_up:
      return v.online ? 1 : 0;
    case VcpuOp.get_runstate_info: {
      if (!d.access.checkRange(arg, VcpuRunstateInfo.size, true)) return -Errno.EFAULT;
      const now = ctx.now(v);
      const t = v.runstateTimes(now);
      const b = new Uint8Array(VcpuRunstateInfo.size);
      const dv = new DataView(b.buffer);
      dv.setUint32(VcpuRunstateInfo.state.offset, Runstate[v.runstate], true);
      const put = (off: number, n: number) => { dv.setUint32(off, n >>> 0, true); dv.setUint32(off + 4, Math.floor(n / TWO32), true); };
      put(VcpuRunstateInfo.state_entry_time.offset, v.runstateEntry);
      [t.running, t.runnable, t.blocked, t.offline].forEach((n, i) => put(VcpuRunstateInfo.time.offset + 8 * i, n));
      return d.access.write(arg, b) < 0 ? -Errno.EFAULT : 0;
    }
    case VcpuOp.set_periodic_timer: {
      if (v !== caller) return -Errno.EINVAL;
      const g = read(VcpuSetPeriodicTimer);
      if (!g) return -Errno.EFAULT;
      const period = u64(g, 0);
      // As xen/common/domain.c: at least 1 ms, at most STIME_DELTA_MAX.
      if (period < VCPU_MIN_PERIOD_NS || period > STIME_DELTA_MAX || g.getInt32(4, true) < 0) return -Errno.EINVAL;
      ctx.setPeriodic(v, period);
      return 0;
    }
    case VcpuOp.stop_periodic_timer:
      if (v !== caller) return -Errno.EINVAL;
      ctx.setPeriodic(v, 0);
      return 0;
    case VcpuOp.set_singleshot_timer: {
      if (v !== caller) return -Errno.EINVAL;
      const g = read(VcpuSetSingleshotTimer);
      if (!g) return -Errno.EFAULT;
      const flags = g.getUint32(VcpuSetSingleshotTimer.flags.offset, true);
      // Xen compares the u64 with NOW() unsigned, then set_timer takes it as s_time_t: a value
      // with bit 63 set is in the past (fires at once), 2^53..2^63 - 1 is beyond simulated time.
      if ((flags & VCPU_SSHOTTMR_future) && u64(g, 0) < ctx.now(caller)) return -Errno.ETIME;
      ctx.setSingleshot(v, Math.max(0, s64(g, 0)));
      return 0;
    }
    case VcpuOp.stop_singleshot_timer:
      if (v !== caller) return -Errno.EINVAL;
      ctx.setSingleshot(v, null);
      return 0;
    case VcpuOp.register_vcpu_info: {
      const g = read(VcpuRegisterVcpuInfo);
      if (!g) return -Errno.EFAULT;
      return registerVcpuInfo(ctx, caller, v, g);
    }
    case VcpuOp.register_runstate_memory_area: {
      // Xen: the handle is stored and the current runstate copied there at once (a failed copy
      // is ignored); a null handle stops the updates. Pointers are guest-physical on Tachyxx.
      // Xen on Arm's guest_handle_okay is always 1, so it answers 0 for any area and its later
      // copies fail silently; Tachyxx says -EFAULT for an unwritable one at once (docs/abi.md,
      // "Where Tachyxx differs").
      const g = read(VcpuRegisterRunstateMemoryArea);
      if (!g) return -Errno.EFAULT;
      const addr = u64(g, 0);
      if (addr !== 0 && !d.access.checkRange(addr, VcpuRunstateInfo.size, true)) return -Errno.EFAULT;
      v.runstateArea = addr;
      updateRunstateArea(v, ctx.now(v));
      return 0;
    }
    default:
      // Xen 4.17 on Arm (xen/arch/arm/domain.c do_vcpu_op): every cmd but the two it knows is
      // -EINVAL (after the vCPU check, -ENOENT). Tachyxx answers the x86-PV-style cmds above
      // besides (docs/abi.md); the rest (send_nmi, get_physid, register_vcpu_time_memory_area, ...)
      // are -EINVAL as on Arm.
      return -Errno.EINVAL;
  }
}
