// A bare machine (`tachyxx run --bare`) as a gdb target: one hart, thread 1, memory through its
// satp (stage 1; there is no stage 2 on a bare machine).
import type { BareMachine, Cpu, CpuWatchpoint, PhysMemory, RunResult } from '@tachyxx/isa';
import type { ExitEvent, StopEvent } from './target.js';
import { MAX_IDLE_STEPS, SLICE_INSNS, SliceTarget, cpuTranslation, readCpuReg, writeCpuReg } from './slice-target.js';
import type { TranslationRegs } from './walk.js';

export interface BareTargetOptions {
  /** Stop after this many retired instructions in all (--max-insns). */
  maxInsns?: number;
}

export function exitOf(r: RunResult): ExitEvent {
  return { code: r.reason === 'poweroff' ? 0 : 1, message: r.message };
}

/** The stop a CPU's debug event describes. */
export function cpuStop(cpu: Cpu, tid: number): StopEvent {
  switch (cpu.debugEvent) {
    case 'watch':
      return { tid, signal: 5, kind: 'watch', watchAddr: cpu.debugAddr, watchKind: cpu.debugAccess === 'r' ? 'rwatch' : 'watch' };
    case 'break': return { tid, signal: 5, kind: 'break' };
    case 'trap': return { tid, signal: 5, kind: 'trap' };
    default: return { tid, signal: 5, kind: 'step' };
  }
}

export class BareTarget extends SliceTarget {
  readonly memory: PhysMemory;
  private readonly cpu: Cpu;
  private readonly maxInsns: number;

  constructor(private readonly machine: BareMachine, o: BareTargetOptions = {}) {
    super();
    this.cpu = machine.cpu;
    this.memory = machine.memory;
    this.maxInsns = o.maxInsns ?? Infinity;
    this.cpu.setDebugHooks({ breakpoint: () => true, watch: () => true, trap: (_c, _cause, isInt) => this.catchesTrap(isInt) });
  }

  threads(): number[] { return [1]; }
  threadInfo(): string { return `hart 0, PL${this.cpu.level}${this.cpu.isWaiting ? ', in wfi' : ''}`; }
  readReg(tid: number, n: number) { return tid === 1 ? readCpuReg(this.cpu, n) : undefined; }
  writeReg(tid: number, n: number, lo: number, hi: number): boolean { return tid === 1 && writeCpuReg(this.cpu, n, lo, hi); }
  translation(): TranslationRegs { return cpuTranslation(this.cpu); }
  setBreakpoints(addrs: number[]): void { this.cpu.setBreakpoints(addrs); }
  setWatchpoints(list: CpuWatchpoint[]): void { this.cpu.setWatchpoints(list); }

  protected slice(): 'budget' | StopEvent | ExitEvent {
    const r = this.machine.runSlice(SLICE_INSNS, this.maxInsns);
    if (r === 'budget') return 'budget';
    if (r === 'debug') return cpuStop(this.cpu, 1);
    return exitOf(r);
  }

  protected step(_tid: number, irqs: boolean): StopEvent | ExitEvent {
    let r = this.cpu.debugStep(irqs);
    for (let n = 0; r === 'idle' && this.machine.exit === undefined && n < MAX_IDLE_STEPS; n++) {
      this.machine.idle();
      if (this.machine.exit === undefined) r = this.cpu.debugStep(irqs);
    }
    const done = this.machine.exit;
    if (done !== undefined) return exitOf(done);
    return cpuStop(this.cpu, 1);
  }

  protected prepareResume(): void { this.cpu.debugSkipBreakpoint(); }
  protected interruptTid(): number { return 1; }
  protected clearDebug(): void {
    this.cpu.setBreakpoints([]);
    this.cpu.setWatchpoints([]);
  }
}
