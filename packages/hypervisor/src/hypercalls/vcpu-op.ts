// vcpu_op (public/vcpu.h): bring vCPUs up and down, query them, and drive their timers.
import { Errno, VcpuGuestContext, VcpuOp, VcpuRunstateInfo, VcpuSetPeriodicTimer, VcpuSetSingleshotTimer, VCPU_SSHOTTMR_future, Runstate } from '@tachyxx/abi';
import type { Vcpu } from '../host/vcpu.js';

export interface VcpuOpContext {
  now(v: Vcpu): number;
  up(v: Vcpu): void;
  down(v: Vcpu): void;
  initialise(v: Vcpu, pc: number, sp: number, a0: number, a1: number, satp: number): void;
  setSingleshot(v: Vcpu, absNs: number | null): void;
  setPeriodic(v: Vcpu, periodNs: number): void;
}

const TWO32 = 4294967296;
const u64 = (dv: DataView, off: number) => dv.getUint32(off, true) + dv.getUint32(off + 4, true) * TWO32;

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
      const pc = u64(g, VcpuGuestContext.pc.offset);
      if (pc % 4 !== 0) return -Errno.EINVAL;
      ctx.initialise(v, pc, u64(g, VcpuGuestContext.sp.offset), u64(g, VcpuGuestContext.a0.offset), u64(g, VcpuGuestContext.a1.offset), u64(g, VcpuGuestContext.satp.offset));
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
      // As xen/common/domain.c: at least 1 ms.
      if (period < 1_000_000) return -Errno.EINVAL;
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
      const abs = u64(g, 0);
      const flags = g.getUint32(VcpuSetSingleshotTimer.flags.offset, true);
      if ((flags & VCPU_SSHOTTMR_future) && abs < ctx.now(caller)) return -Errno.ETIME;
      ctx.setSingleshot(v, abs);
      return 0;
    }
    case VcpuOp.stop_singleshot_timer:
      if (v !== caller) return -Errno.EINVAL;
      ctx.setSingleshot(v, null);
      return 0;
    default:
      return -Errno.ENOSYS;
  }
}
