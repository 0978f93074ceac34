// One domain of a host as a gdb target (what Xen's gdbsx does): its vCPUs are threads 1..n;
// registers come from the pCPU a vCPU is loaded on, or from its saved context; memory goes
// through the vCPU's stage 1 and the domain's stage 2. Breakpoints and watchpoints are set on
// every pCPU and only stop a pCPU running a vCPU of this domain (another domain running the same
// addresses passes them). While gdb holds the domain the whole host stops (all-stop, the
// default), or with `othersRun` the domain is paused and the other domains run on.
import type { Cpu, CpuWatchpoint, PhysMemory } from '@tachyxx/isa';
import type { Domain, Host, HostRunStop, Vcpu } from '@tachyxx/hypervisor';
import { REG, type ExitEvent, type StopEvent } from './target.js';
import { SLICE_INSNS, SliceTarget, cpuTranslation, readCpuReg, writeCpuReg } from './slice-target.js';
import { cpuStop } from './bare-target.js';
import type { TranslationRegs } from './walk.js';

export interface DomainTargetOptions {
  /** Other domains keep running while gdb holds this one (default false: everything stops). */
  othersRun?: boolean;
  /** Stop after this many retired instructions in all (--max-insns). */
  maxInsns?: number;
}

const SHUTDOWN_NAMES = ['poweroff', 'reboot', 'suspend', 'crash', 'watchdog', 'soft_reset'];

export class DomainTarget extends SliceTarget {
  readonly memory: PhysMemory;
  private readonly othersRun: boolean;
  private readonly maxInsns: number;
  /** A step of a vCPU that was not loaded: it runs until the vCPU is, then steps it. */
  private pendingStep: { tid: number; irqs: boolean } | undefined;
  /** othersRun: the background run of the other domains while this one is held. */
  private bg: NodeJS.Immediate | undefined;
  private held = false;

  constructor(private readonly host: Host, readonly domain: Domain<Vcpu>, o: DomainTargetOptions = {}) {
    super();
    this.memory = host.machine.mem;
    this.othersRun = o.othersRun ?? false;
    this.maxInsns = o.maxInsns ?? Infinity;
    for (const p of host.pcpus) {
      p.cpu.setDebugHooks({
        breakpoint: (cpu) => this.mine(cpu), watch: (cpu) => this.mine(cpu),
        trap: (cpu, _cause, isInt) => this.catchesTrap(isInt) && this.mine(cpu),
      });
    }
    host.onVcpuRunning((v) => {
      const s = this.pendingStep;
      if (s !== undefined && this.vcpu(s.tid) === v && v.loadedOn >= 0) host.pcpus[v.loadedOn]!.cpu.requestDebugStop();
    });
  }

  /** Does `cpu` run a vCPU of this domain now? */
  private mine(cpu: Cpu): boolean {
    for (const p of this.host.pcpus) if (p.cpu === cpu) return p.current?.domain === this.domain;
    return false;
  }

  private vcpu(tid: number): Vcpu | undefined { return this.domain.vcpus[tid - 1]; }
  private cpuOf(v: Vcpu): Cpu | undefined { return v.loadedOn >= 0 ? this.host.pcpus[v.loadedOn]!.cpu : undefined; }

  threads(): number[] { return this.domain.vcpus.map((_, i) => i + 1); }

  threadInfo(tid: number): string {
    const v = this.vcpu(tid);
    if (v === undefined) return 'no such vCPU';
    const where = v.loadedOn >= 0 ? `on pCPU ${v.loadedOn}` : v.runstate;
    return `${this.domain.name} vCPU ${v.id} (${v.name}), PL${this.level(v)}, ${v.online ? where : 'offline'}`;
  }

  private level(v: Vcpu): number { const c = this.cpuOf(v); return c !== undefined ? c.level : v.ctx.level; }

  readReg(tid: number, n: number): { lo: number; hi: number } | undefined {
    const v = this.vcpu(tid);
    if (v === undefined) return undefined;
    const cpu = this.cpuOf(v);
    if (cpu !== undefined) return readCpuReg(cpu, n);
    const c = v.ctx;
    if (n >= 0 && n < 32) return n === 0 ? { lo: 0, hi: 0 } : { lo: c.x[2 * n]!, hi: c.x[2 * n + 1]! };
    switch (n) {
      case REG.pc: return { lo: c.pcLo, hi: c.pcHi };
      case REG.pl: return { lo: c.level, hi: 0 };
      case REG.sstatus: return { lo: c.sstatus, hi: 2 }; // UXL = 2 (64-bit), as the CPU reads it
      case REG.sepc: return { lo: c.sepcLo, hi: c.sepcHi };
      case REG.scause: return { lo: c.scauseLo, hi: c.scauseHi };
      case REG.stval: return { lo: c.stvalLo, hi: c.stvalHi };
      case REG.stvec: return { lo: c.stvecLo, hi: c.stvecHi };
      case REG.satp: return { lo: c.satpLo, hi: c.satpHi };
      default: return undefined;
    }
  }

  writeReg(tid: number, n: number, lo: number, hi: number): boolean {
    const v = this.vcpu(tid);
    if (v === undefined) return false;
    const cpu = this.cpuOf(v);
    if (cpu !== undefined) {
      // a vCPU runs at PL2 or PL3 only
      if (n === REG.pl && !(hi === 0 && (lo === 2 || lo === 3))) return false;
      return writeCpuReg(cpu, n, lo, hi);
    }
    const c = v.ctx;
    if (n === 0) return true;
    if (n > 0 && n < 32) { c.x[2 * n] = lo; c.x[2 * n + 1] = hi; return true; }
    switch (n) {
      case REG.pc: c.pcLo = lo & ~3; c.pcHi = hi; return true;
      case REG.pl: if (hi !== 0 || (lo !== 2 && lo !== 3)) return false; c.level = lo; return true;
      case REG.sstatus: c.sstatus = lo; return true; // loadContext applies the WARL mask
      case REG.sepc: c.sepcLo = lo; c.sepcHi = hi; return true;
      case REG.scause: c.scauseLo = lo; c.scauseHi = hi; return true;
      case REG.stval: c.stvalLo = lo; c.stvalHi = hi; return true;
      case REG.stvec: c.stvecLo = lo; c.stvecHi = hi; return true;
      case REG.satp: c.satpLo = lo; c.satpHi = hi; return true;
      default: return false;
    }
  }

  translation(tid: number): TranslationRegs {
    const v = this.vcpu(tid) ?? this.domain.vcpus[0]!;
    const cpu = this.cpuOf(v);
    if (cpu !== undefined) return cpuTranslation(cpu);
    const c = v.ctx;
    return { satpLo: c.satpLo, satpHi: c.satpHi, p1gatpLo: c.p1gatpLo, p1gatpHi: c.p1gatpHi, level: c.level };
  }

  setBreakpoints(addrs: number[]): void { for (const p of this.host.pcpus) p.cpu.setBreakpoints(addrs); }
  setWatchpoints(list: CpuWatchpoint[]): void { for (const p of this.host.pcpus) p.cpu.setWatchpoints(list); }

  private exitOf(): ExitEvent | undefined {
    const d = this.domain;
    if (d.shutdownCode === null) return undefined;
    const why = SHUTDOWN_NAMES[d.shutdownCode] ?? String(d.shutdownCode);
    return { code: d.shutdownCode === 0 ? 0 : 1, message: `domain '${d.name}' ${d.crashMessage ? `crashed: ${d.crashMessage}` : `shut down: ${why}`}` };
  }

  protected slice(): 'budget' | StopEvent | ExitEvent {
    const done = this.exitOf();
    if (done !== undefined) return done;
    const before = this.host.instructions();
    if (before >= this.maxInsns) return { code: 1, message: `stopped after --max-insns ${this.maxInsns} instructions` };
    const why = this.host.run({ maxInsns: Math.min(this.maxInsns, before + SLICE_INSNS) });
    const end = this.exitOf();
    if (end !== undefined) return end;
    if (why === 'debug') {
      const p = this.host.debugStopped!;
      const v = p.current!;
      const tid = v.id + 1;
      const s = this.pendingStep;
      if (s !== undefined && p.cpu.debugEvent === 'request') {
        this.pendingStep = undefined;
        return this.stepLoaded(p.cpu, tid, s.irqs) ?? 'budget';
      }
      return cpuStop(p.cpu, tid);
    }
    if (why === 'idle') return { code: 1, message: 'deadlock: every vCPU is blocked and nothing can wake them' };
    if (why === 'all-shutdown') return this.exitOf() ?? { code: 0, message: 'every domain shut down' };
    if (why === 'insn-limit' && this.host.instructions() >= this.maxInsns) {
      return { code: 1, message: `stopped after --max-insns ${this.maxInsns} instructions` };
    }
    return 'budget';
  }

  /** debugStep on the pCPU the vCPU is loaded on; undefined when that did not execute (wfi). */
  private stepLoaded(cpu: Cpu, tid: number, irqs: boolean): StopEvent | ExitEvent | undefined {
    const r = cpu.debugStep(irqs);
    const end = this.exitOf();
    if (end !== undefined) return end;
    return r === 'debug' ? cpuStop(cpu, tid) : undefined;
  }

  protected step(tid: number, irqs: boolean): StopEvent | ExitEvent | 'run' {
    this.release();
    const v = this.vcpu(tid);
    const p = v !== undefined && v.loadedOn >= 0 ? this.host.pcpus[v.loadedOn]! : undefined;
    if (p !== undefined && !p.reschedule) {
      const r = this.stepLoaded(p.cpu, tid, irqs);
      if (r !== undefined) return r;
    }
    // not loaded (blocked, runnable, descheduled): run until it is, then step it there
    this.pendingStep = { tid, irqs };
    return 'run';
  }

  protected prepareResume(): void {
    this.release();
    for (const p of this.host.pcpus) if (p.current?.domain === this.domain) p.cpu.debugSkipBreakpoint();
  }

  protected interruptTid(): number {
    for (const p of this.host.pcpus) if (p.current?.domain === this.domain) return p.current.id + 1;
    return 1;
  }

  protected clearDebug(): void {
    this.pendingStep = undefined;
    for (const p of this.host.pcpus) { p.cpu.setBreakpoints([]); p.cpu.setWatchpoints([]); }
  }

  /**
   * Driven by an outside run loop (`driver`): must that loop run nothing now? True while gdb holds
   * the domain in all-stop (the whole host's simulated time stops, as QEMU's gdbstub); with
   * `othersRun` the domain is paused instead and the loop runs the others.
   */
  get holdsHost(): boolean { return this.mode === 'stopped' && !this.othersRun; }

  /** Driven: the outcome of one `host.run` of the outside loop (a debug stop, the domain's end). */
  hostRan(why: HostRunStop): void {
    if (this.exited) return;
    const end = this.exitOf();
    if (end !== undefined) { this.driven(end); return; }
    const p = this.host.debugStopped;
    if (why !== 'debug' || p === null) return;
    const v = p.current;
    if (v === null || v.domain !== this.domain) return;
    const s = this.pendingStep;
    if (s !== undefined && p.cpu.debugEvent === 'request') {
      this.pendingStep = undefined;
      const r = this.stepLoaded(p.cpu, v.id + 1, s.irqs);
      if (r !== undefined) this.driven(r);
      return;
    }
    this.driven(cpuStop(p.cpu, v.id + 1));
  }

  /** Driven: the domain is gone (destroyed) or the debugger closes: drop every hook and hold. */
  dispose(): void {
    this.release();
    this.clearDebug();
    this.listener = undefined;
    for (const p of this.host.pcpus) p.cpu.setDebugHooks(undefined);
  }

  /** othersRun: gdb holds this domain; pause it and run the others in the background. */
  protected override stoppedHook(): void {
    if (!this.othersRun || this.held || this.exited) return;
    this.held = true;
    this.host.pauseDomain(this.domain);
    if (this.driver !== undefined) return; // the outside loop runs the others
    const tick = (): void => {
      this.bg = undefined;
      if (!this.held) return;
      const why = this.host.run({ maxInsns: this.host.instructions() + SLICE_INSNS });
      if (why === 'time' || why === 'insn-limit' || why === 'debug') this.bg = setImmediate(tick);
    };
    this.bg = setImmediate(tick);
  }

  /** End the hold: the domain runs (or steps) again. */
  private release(): void {
    if (!this.held) return;
    this.held = false;
    if (this.bg !== undefined) { clearImmediate(this.bg); this.bg = undefined; }
    this.host.unpauseDomain(this.domain);
  }
}
