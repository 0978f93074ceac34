/**
 * The standard topics of the bus. Every payload carries `time`, the simulated ns of the event.
 * Packages declare further topics of their own with `defineTopic` (e.g. evtchn send, IOMMU fault).
 * Domain ids follow Xen (dom0 = 0); a bare-metal run reports its one program as domid 0.
 */
import { defineTopic } from './bus.js';

/** Privilege levels of the Tachyxx CPU: PL0 firmware, PL1 hypervisor, PL2 kernel, PL3 user. */
export type PrivilegeLevel = 0 | 1 | 2 | 3;

export type DomainLifecycleKind = 'created' | 'unpaused' | 'paused' | 'shutdown' | 'destroyed';
export interface DomainLifecycleEvent {
  time: number;
  domid: number;
  kind: DomainLifecycleKind;
  /** The domain's name, when it has one. */
  name?: string;
}
export const DOMAIN_LIFECYCLE = defineTopic<DomainLifecycleEvent>('domain.lifecycle');

export interface VcpuScheduleEvent {
  time: number;
  pcpu: number;
  domid: number;
  vcpu: number;
  /** 'in': starts running on `pcpu`; 'out': stops. */
  kind: 'in' | 'out';
  /** Why it was descheduled: its slice ended, it blocked, yielded, or the domain went down. */
  reason?: 'preempted' | 'blocked' | 'yielded' | 'shutdown';
}
export const VCPU_SCHEDULE = defineTopic<VcpuScheduleEvent>('vcpu.schedule');

/** A trap taken into PL0 or PL1 (not one delegated PL3 -> PL2). Publishers may sample: see `weight`. */
export interface TrapEvent {
  time: number;
  pcpu: number;
  domid: number;
  vcpu: number;
  /** Cause code (RISC-V mcause/scause numbering, interrupt bit separate). */
  cause: number;
  interrupt: boolean;
  /** Level trapped from and to. */
  from: PrivilegeLevel;
  to: PrivilegeLevel;
  pc: number;
  tval: number;
  /** How many traps this event stands for (1 unless the publisher samples). */
  weight: number;
}
export const TRAP = defineTopic<TrapEvent>('cpu.trap');

/**
 * A hypercall returned. The host publishes one in `weight` (it samples: never every call in the
 * hot path); aggregate on the subscriber side (countBy, countPerWindow).
 */
export interface HypercallEvent {
  time: number;
  /** The pCPU it ran on. */
  pcpu: number;
  domid: number;
  vcpu: number;
  /** How many hypercalls this event stands for (the sampling period). */
  weight: number;
  /** Xen hypercall number (a7). */
  op: number;
  /** Sub-command (a0) for multiplexed calls such as sched_op, or -1. */
  cmd: number;
  /** Return value (>= 0, or -errno). */
  result: number;
  /** Simulated cycles spent in the handler. */
  cycles: number;
}
export const HYPERCALL = defineTopic<HypercallEvent>('hypercall');

/** Console output of a domain (console_io write, or the bare firmware console). */
export interface ConsoleOutputEvent {
  time: number;
  domid: number;
  text: string;
}
export const CONSOLE_OUTPUT = defineTopic<ConsoleOutputEvent>('console.output');

export type ShutdownReason = 'poweroff' | 'reboot' | 'suspend' | 'crash' | 'watchdog';
/** A domain asked to shut down (SCHEDOP_shutdown), or the bare machine stopped. */
export interface ShutdownEvent {
  time: number;
  domid: number;
  reason: ShutdownReason;
  /** The raw SHUTDOWN_* code (0 poweroff, 1 reboot, 2 suspend, 3 crash, 4 watchdog). */
  code: number;
}
export const SHUTDOWN = defineTopic<ShutdownEvent>('shutdown');

/** A TLB flush (sfence.vma/hfence-like, or a flush-all variant's world switch). */
export interface TlbFlushEvent {
  time: number;
  pcpu: number;
  scope: 'all' | 'vmid' | 'asid' | 'page';
  vmid?: number;
  asid?: number;
  va?: number;
  /** Entries dropped. */
  entries: number;
}
export const TLB_FLUSH = defineTopic<TlbFlushEvent>('mmu.tlb-flush');

/**
 * Coarse per-pCPU counters, published by the host at most once per run round (quantum) per pCPU
 * (and only with a subscriber): running totals since boot, for counter tracks and windows.
 */
export interface PcpuCountersEvent {
  time: number;
  pcpu: number;
  instructions: number;
  cycles: number;
  /** Modelled-TLB misses (walks started) on this pCPU. */
  tlbMisses: number;
  /** Traps taken into PL1 on this pCPU. */
  traps: number;
}
export const PCPU_COUNTERS = defineTopic<PcpuCountersEvent>('pcpu.counters');
