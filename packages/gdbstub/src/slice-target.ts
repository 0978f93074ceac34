// The run / stop machinery shared by the targets: the simulation runs in slices (SLICE_INSNS
// retired instructions) on the Node event loop, so a gdb interrupt (Ctrl-C) or a new connection
// is handled between two slices and stops everything at once. While stopped nothing runs:
// simulated time does not move.
import { CSR, type Cpu, type CpuWatchpoint, type PhysMemory } from '@tachyxx/isa';
import { REG, type DebugTarget, type ExitEvent, type StopEvent, type StopListener } from './target.js';
import type { TranslationRegs } from './walk.js';

/** Instructions per slice: about 10 ms of host time at 100 MIPS, so Ctrl-C answers at once. */
export const SLICE_INSNS = 1_000_000;

/** wfi stalls a bare step waits through (time advanced to the next wake-up each) before giving up. */
export const MAX_IDLE_STEPS = 1000;

const CSR_OF_REG: Record<number, number> = {
  [REG.sstatus]: CSR.sstatus, [REG.sepc]: CSR.sepc, [REG.scause]: CSR.scause, [REG.stval]: CSR.stval,
  [REG.stvec]: CSR.stvec, [REG.satp]: CSR.satp,
};

/** Register access to a vCPU that is loaded on a CPU. */
export function readCpuReg(cpu: Cpu, n: number): { lo: number; hi: number } | undefined {
  if (n >= 0 && n < 32) return { lo: cpu.getRegLo(n), hi: cpu.getRegHi(n) };
  if (n === REG.pc) return { lo: cpu.pcLo, hi: cpu.pcHi };
  if (n === REG.pl) return { lo: cpu.level, hi: 0 };
  const csr = CSR_OF_REG[n];
  if (csr === undefined) return undefined;
  return { lo: cpu.readCsrLo(csr), hi: cpu.readCsrHi(csr) };
}

export function writeCpuReg(cpu: Cpu, n: number, lo: number, hi: number): boolean {
  if (n === 0) return true; // x0 is hard-wired
  if (n > 0 && n < 32) { cpu.setReg(n, lo, hi); return true; }
  if (n === REG.pc) { cpu.setPcParts(lo, hi); return true; }
  if (n === REG.pl) {
    if (hi !== 0 || lo < 0 || lo > 3) return false;
    cpu.level = lo;
    return true;
  }
  const csr = CSR_OF_REG[n];
  if (csr === undefined) return false;
  cpu.writeCsr(csr, lo, hi);
  return true;
}

export function cpuTranslation(cpu: Cpu): TranslationRegs {
  return {
    satpLo: cpu.readCsrLo(CSR.satp), satpHi: cpu.readCsrHi(CSR.satp),
    p1gatpLo: cpu.readCsrLo(CSR.p1gatp), p1gatpHi: cpu.readCsrHi(CSR.p1gatp),
    level: cpu.level,
  };
}

type Mode = 'stopped' | 'running' | 'free' | 'exited';

export abstract class SliceTarget implements DebugTarget {
  listener: StopListener | undefined;
  /** Called once when the guest is finished (whether or not gdb is attached). */
  onFinished: ((ev: ExitEvent) => void) | undefined;
  protected mode: Mode = 'stopped';
  /** `monitor catch-traps`: stop at the PL2 handler entry of every exception (and interrupt). */
  catchTraps: 'off' | 'exceptions' | 'all' = 'off';
  protected catchesTrap(isInterrupt: boolean): boolean {
    return this.listener !== undefined && (this.catchTraps === 'all' || (this.catchTraps === 'exceptions' && !isInterrupt));
  }
  private timer: NodeJS.Immediate | undefined;
  /**
   * An outside run loop drives the simulation (the host daemon's HostRunner): start() only wakes
   * it, and it hands every run's outcome to `driven()`; the target never slices on its own.
   */
  driver: { wake(): void } | undefined;
  private exitEvent: ExitEvent | undefined;

  abstract readonly memory: PhysMemory;
  abstract threads(): number[];
  abstract threadInfo(tid: number): string;
  abstract readReg(tid: number, n: number): { lo: number; hi: number } | undefined;
  abstract writeReg(tid: number, n: number, lo: number, hi: number): boolean;
  abstract translation(tid: number): TranslationRegs;
  abstract setBreakpoints(addrs: number[]): void;
  abstract setWatchpoints(list: CpuWatchpoint[]): void;
  /** Run one slice: 'budget' (go on), a debugger stop, or the end. */
  protected abstract slice(): 'budget' | StopEvent | ExitEvent;
  /** Single-step `tid`: its stop, the end, or 'run' (run slices: the step completes in one). */
  protected abstract step(tid: number, irqs: boolean): StopEvent | ExitEvent | 'run';
  /** Called when the target stops for gdb (a target may keep other parts running). */
  protected stoppedHook(): void {}
  /** Prepare to resume after a stop (pass breakpoints at the stopped pcs once). */
  protected abstract prepareResume(): void;
  /** The thread an interrupt reports. */
  protected abstract interruptTid(): number;
  /** Drop breakpoints, watchpoints and hooks. */
  protected abstract clearDebug(): void;
  /** Reset the catch-traps mode with the breakpoints (gdb detached or killed). */
  protected resetCatch(): void { this.catchTraps = 'off'; }

  get running(): boolean { return this.mode === 'running'; }
  get exited(): boolean { return this.mode === 'exited'; }
  get exitInfo(): ExitEvent | undefined { return this.exitEvent; }

  resume(stepTid: number | undefined, irqs: boolean): void {
    if (this.mode === 'exited') { this.later(() => this.finish(this.exitEvent!)); return; }
    if (stepTid !== undefined) {
      this.mode = 'running';
      this.later(() => {
        if (this.mode !== 'running') return;
        const r = this.step(stepTid, irqs);
        if (r === 'run') this.start('running');
        else if ('code' in r) this.finish(r);
        else this.report(r);
      });
      return;
    }
    this.prepareResume();
    this.start('running');
  }

  /** Run without gdb (before it connects, or after it detached). */
  runFree(): void {
    if (this.mode === 'exited') return;
    this.start('free');
  }

  /** Stop a free run silently (a gdb connection arrives): the stop gdb's '?' then reports. */
  pause(): StopEvent {
    this.cancel();
    if (this.mode !== 'exited') { this.mode = 'stopped'; this.stoppedHook(); }
    return { tid: this.interruptTid(), signal: 5, kind: 'interrupt' };
  }

  halt(): void {
    if (this.mode !== 'running') return;
    this.cancel();
    this.report({ tid: this.interruptTid(), signal: 2, kind: 'interrupt' });
  }

  detach(): void {
    this.resetCatch();
    this.clearDebug();
    this.listener = undefined;
    if (this.mode === 'stopped' || this.mode === 'running') { this.prepareResume(); this.start('free'); }
  }

  kill(): void {
    this.clearDebug();
    this.listener = undefined;
    this.cancel();
    this.finish({ code: 137, message: 'killed by gdb' });
  }

  private start(mode: 'running' | 'free'): void {
    this.cancel();
    this.mode = mode;
    if (this.driver !== undefined) { this.driver.wake(); return; }
    const tick = (): void => {
      this.timer = undefined;
      if (this.mode !== mode) return;
      const r = this.slice();
      if (r === 'budget') { this.timer = setImmediate(tick); return; }
      if ('code' in r) { this.finish(r); return; }
      if (mode === 'free' || this.listener === undefined) { this.start(mode); return; } // nobody to tell: go on
      this.report(r);
    };
    this.timer = setImmediate(tick);
  }

  /** Driven (see `driver`): the outcome of one run of the outside loop. */
  protected driven(r: 'budget' | StopEvent | ExitEvent): void {
    if (this.mode === 'exited' || r === 'budget') return;
    if ('code' in r) { this.finish(r); return; }
    if (this.mode !== 'running' || this.listener === undefined) return; // free: nobody to tell, go on
    this.report(r);
  }

  private report(ev: StopEvent): void {
    this.mode = 'stopped';
    this.stoppedHook();
    this.listener?.onStop(ev);
  }

  private cancel(): void {
    if (this.timer !== undefined) { clearImmediate(this.timer); this.timer = undefined; }
  }

  private later(f: () => void): void { setImmediate(f); }

  private finish(ev: ExitEvent): void {
    const first = this.mode !== 'exited';
    this.mode = 'exited';
    this.exitEvent = ev;
    this.listener?.onExit(ev);
    if (first) this.onFinished?.(ev);
  }
}
