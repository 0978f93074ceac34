// hvm_op (hypercall 34) as Xen 4.17 on Arm (xen/arch/arm/hvm.c): HVMOP_set_param and
// HVMOP_get_param on the per-domain parameters through which an Arm guest finds xenstore and its
// console. XSM_TARGET: a domain acts on itself, the control domain on anyone (else -EPERM).
// get: CALLBACK_IRQ, STORE_PFN/EVTCHN, CONSOLE_PFN/EVTCHN for everyone; MONITOR_RING_PFN not by
// the domain itself (-EPERM); anything else -EINVAL. set: the same six, never by the domain
// itself (-EPERM, "intended for toolstack usage only"); anything else -EINVAL.
// HVMOP_guest_request_vm_event: a null handle is accepted (no monitor: nothing happens); other
// sub-ops -ENOSYS.
import {
  DOMID_SELF, Errno, HvmOp, HvmParam, HVM_NR_PARAMS, HVM_PARAM_CALLBACK_TYPE_PPI, StartInfo, XenHvmParam,
} from '@tachyxx/abi';
import type { Domain } from '../domain/domain.js';

/** Tachyxx's event upcall is the PL2 external interrupt, code 9 (Arm: the GUEST_EVTCHN_PPI). */
export const UPCALL_INTERRUPT = 9;

/** Per-domain parameters as (lo, hi) u32 pairs: exact 64-bit values. */
export class HvmParams {
  private readonly params = new WeakMap<Domain<unknown>, Uint32Array>();

  of(d: Domain<unknown>): Uint32Array {
    let p = this.params.get(d);
    if (!p) { p = new Uint32Array(2 * HVM_NR_PARAMS); this.params.set(d, p); }
    return p;
  }

  get(d: Domain<unknown>, index: number): number {
    const p = this.of(d);
    return p[2 * index]! + p[2 * index + 1]! * 4294967296;
  }

  set(d: Domain<unknown>, index: number, lo: number, hi = 0): void {
    const p = this.of(d);
    p[2 * index] = lo >>> 0;
    p[2 * index + 1] = hi >>> 0;
  }

  /**
   * The builder's values, after the domain's components set it up: the xenstore and console
   * rings from start_info (store_mfn / console.domU.mfn are GFNs, as HVM_PARAM_*_PFN), so both
   * boot paths agree; CALLBACK_IRQ = a per-CPU interrupt (type PPI) numbered UPCALL_INTERRUPT.
   */
  initFromStartInfo(d: Domain<unknown>): void {
    const si = d.startInfoGpa;
    if (si) {
      const pfn = (off: number) => [d.access.readU32(si + off), d.access.readU32(si + off + 4)] as const;
      const [sl, sh] = pfn(StartInfo.store_mfn.offset);
      const [cl, ch] = pfn(StartInfo.console_mfn.offset);
      if (sl >= 0 && sh >= 0) this.set(d, HvmParam.STORE_PFN, sl, sh);
      if (cl >= 0 && ch >= 0) this.set(d, HvmParam.CONSOLE_PFN, cl, ch);
      const se = d.access.readU32(si + StartInfo.store_evtchn.offset);
      const ce = d.access.readU32(si + StartInfo.console_evtchn.offset);
      if (se >= 0) this.set(d, HvmParam.STORE_EVTCHN, se);
      if (ce >= 0) this.set(d, HvmParam.CONSOLE_EVTCHN, ce);
    }
    this.set(d, HvmParam.CALLBACK_IRQ, UPCALL_INTERRUPT, (HVM_PARAM_CALLBACK_TYPE_PPI << 24) >>> 0);
  }
}

export interface HvmOpContext {
  readonly params: HvmParams;
  /** rcu_lock_domain_by_any_id: DOMID_SELF is resolved by the caller of this. */
  domain(domid: number): Domain<unknown> | undefined;
}

function allowSet(self: boolean, index: number): number {
  switch (index) {
    case HvmParam.CALLBACK_IRQ: case HvmParam.STORE_PFN: case HvmParam.STORE_EVTCHN:
    case HvmParam.CONSOLE_PFN: case HvmParam.CONSOLE_EVTCHN: case HvmParam.MONITOR_RING_PFN:
      return self ? -Errno.EPERM : 0;
    default:
      return -Errno.EINVAL;
  }
}

function allowGet(self: boolean, index: number): number {
  switch (index) {
    case HvmParam.CALLBACK_IRQ: case HvmParam.STORE_PFN: case HvmParam.STORE_EVTCHN:
    case HvmParam.CONSOLE_PFN: case HvmParam.CONSOLE_EVTCHN:
      return 0;
    case HvmParam.MONITOR_RING_PFN:
      return self ? -Errno.EPERM : 0;
    default:
      return -Errno.EINVAL;
  }
}

/** do_hvm_op(op, arg) for the calling domain `cur`. */
export function hvmOp(ctx: HvmOpContext, cur: Domain<unknown>, op: number, arg: number): number {
  switch (op) {
    case HvmOp.set_param:
    case HvmOp.get_param: {
      const acc = cur.access;
      if (!acc.checkRange(arg, XenHvmParam.size, false)) return -Errno.EFAULT;
      const domid = acc.readU16(arg + XenHvmParam.domid.offset);
      const index = acc.readU32(arg + XenHvmParam.index.offset);
      const d = domid === DOMID_SELF ? cur : ctx.domain(domid);
      if (!d || d.isDying) return -Errno.ESRCH;
      if (d !== cur && !cur.privileged) return -Errno.EPERM; // xsm_hvm_param(XSM_TARGET)
      const self = d === cur;
      if (op === HvmOp.set_param) {
        const rc = allowSet(self, index);
        if (rc) return rc;
        ctx.params.set(d, index, acc.readU32(arg + XenHvmParam.value.offset), acc.readU32(arg + XenHvmParam.value.offset + 4));
        return 0;
      }
      const rc = allowGet(self, index);
      if (rc) return rc;
      const p = ctx.params.of(d);
      if (acc.writeU32(arg + XenHvmParam.value.offset, p[2 * index]!) < 0) return -Errno.EFAULT;
      return acc.writeU32(arg + XenHvmParam.value.offset + 4, p[2 * index + 1]!) < 0 ? -Errno.EFAULT : 0;
    }
    case HvmOp.guest_request_vm_event:
      return arg === 0 ? 0 : -Errno.EINVAL;
    default:
      return -Errno.ENOSYS;
  }
}
