/**
 * vCPU and time ABI (public/vcpu.h, public/xen.h), laid out exactly as Xen on Arm (aarch64):
 * `struct arch_vcpu_info` and `struct arch_shared_info` are empty, so `vcpu_info` is 48 bytes
 * and shared_info holds XEN_LEGACY_MAX_VCPUS = 1 vcpu_info slot (1088 bytes). vCPU 0 uses that
 * slot until it registers its own; every other vCPU has a vcpu_info only after
 * VCPUOP_register_vcpu_info. Byte 1 of vcpu_info is `pad0` (evtchn_upcall_mask is x86-only,
 * XEN_HAVE_PV_UPCALL_MASK): a guest masks its upcall with its PL2 interrupt enables
 * (sstatus.SIE, sie.SEIE), as an Arm guest does with PSTATE.I.
 */
export const VcpuOp = {
  initialise: 0, up: 1, down: 2, is_up: 3, get_runstate_info: 4, register_runstate_memory_area: 5,
  set_periodic_timer: 6, stop_periodic_timer: 7, set_singleshot_timer: 8, stop_singleshot_timer: 9,
  register_vcpu_info: 10, send_nmi: 11, get_physid: 12, register_vcpu_time_memory_area: 13,
} as const;

/** Runstates (public/vcpu.h RUNSTATE_*). */
export const Runstate = { running: 0, runnable: 1, blocked: 2, offline: 3 } as const;

/** vcpu_info slots in shared_info (public/arch-arm.h: 1). */
export const XEN_LEGACY_MAX_VCPUS = 1;
/** Most vCPUs a domain may have (public/arch-arm.h GUEST_MAX_VCPUS). */
export const GUEST_MAX_VCPUS = 128;

/** struct vcpu_time_info (32 bytes). Guests read it under the version pair (odd = updating). */
export const VcpuTimeInfo = {
  size: 32,
  version: { offset: 0, size: 4 },
  tsc_timestamp: { offset: 8, size: 8 },
  system_time: { offset: 16, size: 8 },
  tsc_to_system_mul: { offset: 24, size: 4 },
  tsc_shift: { offset: 28, size: 1 },
  flags: { offset: 29, size: 1 },
} as const;

/** struct vcpu_info (48 bytes: empty arch part, no evtchn_upcall_mask, as on Arm). */
export const VcpuInfo = {
  size: 48,
  evtchn_upcall_pending: { offset: 0, size: 1 },
  pad0: { offset: 1, size: 1 },
  evtchn_pending_sel: { offset: 8, size: 8 },
  time: { offset: 16, size: 32 },
} as const;

/** struct shared_info (one page per domain). */
export const SharedInfo = {
  size: XEN_LEGACY_MAX_VCPUS * VcpuInfo.size + 2 * 64 * 8 + 16,
  vcpu_info: { offset: 0, size: XEN_LEGACY_MAX_VCPUS * VcpuInfo.size },
  evtchn_pending: { offset: XEN_LEGACY_MAX_VCPUS * VcpuInfo.size, size: 64 * 8 },
  evtchn_mask: { offset: XEN_LEGACY_MAX_VCPUS * VcpuInfo.size + 512, size: 64 * 8 },
  wc_version: { offset: XEN_LEGACY_MAX_VCPUS * VcpuInfo.size + 1024, size: 4 },
  wc_sec: { offset: XEN_LEGACY_MAX_VCPUS * VcpuInfo.size + 1028, size: 4 },
  wc_nsec: { offset: XEN_LEGACY_MAX_VCPUS * VcpuInfo.size + 1032, size: 4 },
  wc_sec_hi: { offset: XEN_LEGACY_MAX_VCPUS * VcpuInfo.size + 1036, size: 4 },
} as const;

/** _Alignof(struct vcpu_info): a registered vcpu_info's offset must be a multiple (Xen's map_vcpu_info). */
export const VCPU_INFO_ALIGN = 8;

/** struct vcpu_register_vcpu_info { uint64_t mfn; uint32_t offset; uint32_t rsvd; } (mfn: a GFN of the caller). */
export const VcpuRegisterVcpuInfo = {
  size: 16,
  mfn: { offset: 0, size: 8 },
  offset: { offset: 8, size: 4 },
  rsvd: { offset: 12, size: 4 },
} as const;

/** struct vcpu_register_runstate_memory_area { union { guest handle h; uint64_t p; } addr; }. */
export const VcpuRegisterRunstateMemoryArea = {
  size: 8,
  addr: { offset: 0, size: 8 },
} as const;

/** struct vcpu_runstate_info (48 bytes): state, state_entry_time, time[4] by runstate. */
export const VcpuRunstateInfo = {
  size: 48,
  state: { offset: 0, size: 4 },
  state_entry_time: { offset: 8, size: 8 },
  time: { offset: 16, size: 32 },
} as const;

/**
 * Tachyxx's arch `struct vcpu_guest_context` for VCPUOP_initialise: where a secondary vCPU starts
 * (entered at PL2 like the boot vCPU, translation as given by satp).
 */
export const VcpuGuestContext = {
  size: 48,
  pc: { offset: 0, size: 8 },
  sp: { offset: 8, size: 8 },
  a0: { offset: 16, size: 8 },
  a1: { offset: 24, size: 8 },
  satp: { offset: 32, size: 8 },
  flags: { offset: 40, size: 8 },
} as const;

/** struct vcpu_set_periodic_timer { uint64_t period_ns; } */
export const VcpuSetPeriodicTimer = { size: 8, period_ns: { offset: 0, size: 8 } } as const;
/** struct vcpu_set_singleshot_timer { uint64_t timeout_abs_ns; uint32_t flags; } */
export const VcpuSetSingleshotTimer = { size: 16, timeout_abs_ns: { offset: 0, size: 8 }, flags: { offset: 8, size: 4 } } as const;
export const VCPU_SSHOTTMR_future = 1;

/** Virtual interrupts (VIRQ_*, public/xen.h). */
export const Virq = { timer: 0, debug: 1, console: 2, dom_exc: 3, tbuf: 4, debugger: 6, xenoprof: 7, con_ring: 8, pcpu_state: 9, mem_event: 10, argo: 11, enomem: 12, xenpmu: 13 } as const;
