/** Xen hypercall numbers (xen/include/public/xen.h, `__HYPERVISOR_*`). */
export const Hypercall = {
  set_trap_table: 0, mmu_update: 1, set_gdt: 2, stack_switch: 3, set_callbacks: 4,
  fpu_taskswitch: 5, sched_op_compat: 6, platform_op: 7, set_debugreg: 8, get_debugreg: 9,
  update_descriptor: 10, memory_op: 12, multicall: 13, update_va_mapping: 14, set_timer_op: 15,
  event_channel_op_compat: 16, xen_version: 17, console_io: 18, physdev_op_compat: 19,
  grant_table_op: 20, vm_assist: 21, update_va_mapping_otherdomain: 22, iret: 23, vcpu_op: 24,
  set_segment_base: 25, mmuext_op: 26, xsm_op: 27, nmi_op: 28, sched_op: 29, callback_op: 30,
  xenoprof_op: 31, event_channel_op: 32, physdev_op: 33, hvm_op: 34, sysctl: 35, domctl: 36,
  kexec_op: 37, tmem_op: 38, argo_op: 39, xenpmu_op: 40, dm_op: 41, hypfs_op: 42,
} as const;
export type HypercallName = keyof typeof Hypercall;

const byNumber = new Map<number, HypercallName>(
  Object.entries(Hypercall).map(([k, v]) => [v, k as HypercallName]),
);
/** Xen's name for a hypercall number, or `hypercall_<n>` for numbers Xen does not define. */
export function hypercallName(nr: number): string {
  return byNumber.get(nr) ?? `hypercall_${nr}`;
}

/** console_io sub-commands (public/xen.h CONSOLEIO_*). */
export const CONSOLEIO_write = 0;
export const CONSOLEIO_read = 1;

/** sched_op sub-commands (public/sched.h SCHEDOP_*). */
export const SchedOp = {
  yield: 0, block: 1, shutdown: 2, poll: 3, remote_shutdown: 4, shutdown_code: 5, watchdog: 6,
  pin_override: 7,
} as const;

/** Shutdown reasons (public/sched.h SHUTDOWN_*). */
export const ShutdownReason = {
  poweroff: 0, reboot: 1, suspend: 2, crash: 3, watchdog: 4, soft_reset: 5,
} as const;
export type ShutdownReasonName = keyof typeof ShutdownReason;
export function shutdownReasonName(code: number): string {
  const e = Object.entries(ShutdownReason).find(([, v]) => v === code);
  return e ? e[0] : `unknown(${code})`;
}

/** `struct multicall_entry { xen_ulong_t op, result; xen_ulong_t args[6]; }` (64 bytes on 64-bit). */
export const MulticallEntry = {
  size: 64,
  op: { offset: 0, size: 8 },
  result: { offset: 8, size: 8 },
  args: { offset: 16, size: 48 },
} as const;

/** `struct sched_shutdown { unsigned int reason; }` (SCHEDOP_shutdown, SCHEDOP_shutdown_code). */
export const SchedShutdown = { size: 4, reason: { offset: 0, size: 4 } } as const;

/** `struct sched_remote_shutdown { domid_t domain_id; unsigned int reason; }` (SCHEDOP_remote_shutdown). */
export const SchedRemoteShutdown = { size: 8, domain_id: { offset: 0, size: 2 }, reason: { offset: 4, size: 4 } } as const;

/** `struct sched_pin_override { int32_t pcpu; }` (SCHEDOP_pin_override: hardware domain only). */
export const SchedPinOverride = { size: 4, pcpu: { offset: 0, size: 4 } } as const;

/** `struct sched_watchdog { uint32_t id; uint32_t timeout; }` (SCHEDOP_watchdog; timeout in seconds). */
export const SchedWatchdog = {
  size: 8,
  id: { offset: 0, size: 4 },
  timeout: { offset: 4, size: 4 },
} as const;

/**
 * How a hypercall handler takes an argument register, as the C type of Xen's prototype converts
 * the 64-bit register_t (Arm64's call_handlers_arm64 passes each register to the prototype):
 * `int` its low 32 bits as signed, `uint` its low 32 bits unsigned, `long` (unsigned long,
 * s_time_t, xen_ulong_t) and `ptr` (a guest handle) all 64 bits.
 */
export type HypercallArgType = 'int' | 'uint' | 'long' | 'ptr';

/**
 * The argument types of the hypercalls Tachyxx implements, from Xen 4.17's prototypes
 * (xen/include/hypercall-defs.c): e.g. xen_version(int cmd, void *arg), so xen_version with
 * cmd = 2^32 is XENVER_version. A hypercall not listed here takes its arguments as `long`.
 */
export const HypercallArgTypes: Readonly<Partial<Record<HypercallName, readonly HypercallArgType[]>>> = {
  // memory_op(unsigned long cmd, void *arg)
  memory_op: ['long', 'ptr'],
  // multicall(multicall_entry_t *call_list, unsigned long nr_calls)
  multicall: ['ptr', 'long'],
  // set_timer_op(s_time_t timeout)
  set_timer_op: ['long'],
  // xen_version(int cmd, void *arg)
  xen_version: ['int', 'ptr'],
  // console_io(unsigned int cmd, unsigned int count, char *buffer)
  console_io: ['uint', 'uint', 'ptr'],
  // grant_table_op(unsigned int cmd, void *uop, unsigned int count)
  grant_table_op: ['uint', 'ptr', 'uint'],
  // vcpu_op(int cmd, unsigned int vcpuid, void *arg)
  vcpu_op: ['int', 'uint', 'ptr'],
  // sched_op(int cmd, void *arg)
  sched_op: ['int', 'ptr'],
  // event_channel_op(int cmd, void *arg)
  event_channel_op: ['int', 'ptr'],
  // physdev_op(int cmd, void *arg)
  physdev_op: ['int', 'ptr'],
  // hvm_op(unsigned long op, void *arg)
  hvm_op: ['long', 'ptr'],
};

/** The argument types of hypercall `nr` (HypercallArgTypes), or undefined when not listed. */
export function hypercallArgTypes(nr: number): readonly HypercallArgType[] | undefined {
  const name = byNumber.get(nr);
  return name === undefined ? undefined : HypercallArgTypes[name];
}
