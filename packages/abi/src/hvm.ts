/**
 * hvm_op (hypercall 34) as Xen on Arm has it (xen/arch/arm/hvm.c): HVMOP_set_param /
 * HVMOP_get_param on the per-domain parameters an Arm guest reads to find xenstore and its
 * console (public/hvm/hvm_op.h, public/hvm/params.h).
 */

/** hvm_op sub-commands (`HVMOP_*`) Tachyxx answers; the rest are -ENOSYS. */
export const HvmOp = { set_param: 0, get_param: 1, guest_request_vm_event: 24 } as const;

/** struct xen_hvm_param { domid_t domid; uint16_t pad; uint32_t index; uint64_t value; }. */
export const XenHvmParam = {
  size: 16,
  domid: { offset: 0, size: 2 },
  pad: { offset: 2, size: 2 },
  index: { offset: 4, size: 4 },
  value: { offset: 8, size: 8 },
} as const;

/** Parameter indexes (`HVM_PARAM_*`) an Arm domain has (xen/arch/arm/hvm.c hvm_allow_*_param). */
export const HvmParam = {
  CALLBACK_IRQ: 0, STORE_PFN: 1, STORE_EVTCHN: 2, CONSOLE_PFN: 17, CONSOLE_EVTCHN: 18, MONITOR_RING_PFN: 28,
} as const;
/** HVM_NR_PARAMS (public/hvm/params.h). */
export const HVM_NR_PARAMS = 39;
/** HVM_PARAM_CALLBACK_IRQ's type field (bits 63:56) and the Arm type: a per-CPU interrupt. */
export const HVM_PARAM_CALLBACK_IRQ_TYPE_SHIFT = 56;
export const HVM_PARAM_CALLBACK_TYPE_PPI = 2;
