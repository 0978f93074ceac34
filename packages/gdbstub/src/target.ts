// What the stub debugs: a set of vCPUs (gdb threads 1..n) sharing one memory, run and stopped
// all together (all-stop, QEMU's model). Implemented for a bare machine (BareTarget) and for one
// domain of a host (DomainTarget).
import type { CpuWatchpoint, PhysMemory } from '@tachyxx/isa';
import type { TranslationRegs } from './walk.js';

/** Register numbers of the 'g' packet and p/P (the order of the target description). */
export const REG = {
  /** x0..x31 are 0..31. */
  pc: 32,
  sstatus: 33, sepc: 34, scause: 35, stval: 36, stvec: 37, satp: 38,
  /** The current privilege level (0..3). */
  pl: 39,
} as const;
export const NUM_REGS = 40;

export type StopKind = 'break' | 'hwbreak' | 'watch' | 'step' | 'trap' | 'interrupt';

export interface StopEvent {
  /** gdb thread id (vCPU index + 1). */
  tid: number;
  /** Signal number: 5 (SIGTRAP) for breakpoints, steps and watchpoints, 2 (SIGINT) for an interrupt. */
  signal: number;
  kind: StopKind;
  /** For a watchpoint: the data address and which kind of watchpoint fired. */
  watchAddr?: number;
  watchKind?: 'watch' | 'rwatch' | 'awatch';
}

export interface ExitEvent {
  /** Process exit status for gdb's 'W' reply (0: the guest powered off). */
  code: number;
  /** One line for the user. */
  message: string;
}

export interface StopListener {
  onStop(ev: StopEvent): void;
  onExit(ev: ExitEvent): void;
}

export interface DebugTarget {
  /** Thread ids (1..n), one per vCPU. */
  threads(): number[];
  /** A short description of a thread (qThreadExtraInfo). */
  threadInfo(tid: number): string;
  /** Register `n` (see REG) of thread `tid` as int32 halves; undefined for an unknown register or thread. */
  readReg(tid: number, n: number): { lo: number; hi: number } | undefined;
  /** Write register `n`; false when it does not exist or cannot be written. */
  writeReg(tid: number, n: number, lo: number, hi: number): boolean;
  /** The memory all threads share (machine memory for a domain). */
  readonly memory: PhysMemory;
  /** The translation registers of thread `tid` (for its view of virtual memory). */
  translation(tid: number): TranslationRegs;
  /** Set the breakpoint addresses (signed-number VAs). */
  setBreakpoints(addrs: number[]): void;
  setWatchpoints(list: CpuWatchpoint[]): void;
  /**
   * Resume: step thread `stepTid` (one instruction or one trap entry; others stay stopped) or, when
   * undefined, run every thread until a breakpoint, a watchpoint, halt() or the end. Reports
   * through the listener (asynchronously: never from inside resume()).
   */
  resume(stepTid: number | undefined, irqsWhileStepping: boolean): void;
  /** Stop a running target now (between two slices of the simulation) and report an interrupt. */
  halt(): void;
  /** True while resumed (not stopped, not exited). */
  readonly running: boolean;
  /** True once the guest is finished. */
  readonly exited: boolean;
  /** Forget all breakpoints / watchpoints and let the guest run on by itself (gdb detached). */
  detach(): void;
  /** End the simulation (gdb's kill). */
  kill(): void;
  listener: StopListener | undefined;
  /** `monitor catch-traps`: stop at the PL2 handler entry of exceptions ('exceptions') or of every trap ('all'). */
  catchTraps: 'off' | 'exceptions' | 'all';
}
