/**
 * vCPU and time ABI (public/vcpu.h, public/xen.h). Tachyxx's arch choices, like Xen on ARM:
 * `struct arch_vcpu_info` is empty, so `vcpu_info` is 48 bytes; unlike ARM (1) and like x86,
 * shared_info holds XEN_LEGACY_MAX_VCPUS = 32 vcpu_info slots.
 */
export const VcpuOp = {
  initialise: 0, up: 1, down: 2, is_up: 3, get_runstate_info: 4, register_runstate_memory_area: 5,
  set_periodic_timer: 6, stop_periodic_timer: 7, set_singleshot_timer: 8, stop_singleshot_timer: 9,
  register_vcpu_info: 10, send_nmi: 11, get_physid: 12,
} as const;

/** Runstates (public/vcpu.h RUNSTATE_*). */
export const Runstate = { running: 0, runnable: 1, blocked: 2, offline: 3 } as const;

export const XEN_LEGACY_MAX_VCPUS = 32;

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

/** struct vcpu_info (48 bytes on Tachyxx: empty arch part). */
export const VcpuInfo = {
  size: 48,
  evtchn_upcall_pending: { offset: 0, size: 1 },
  evtchn_upcall_mask: { offset: 1, size: 1 },
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
