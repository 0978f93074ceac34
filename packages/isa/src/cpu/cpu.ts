// The Tachyxx CPU: RV64IMA + Zicsr + Zifencei with the Tachyxx privileged architecture
// (docs/isa.md).
//
// Engine (docs/isa.md section 4). Two back ends share everything below except the code they
// generate: 'js' (codegen.ts, the reference) and 'wasm' (wasmgen.ts / wasm-engine.ts: the same
// regions as WebAssembly with i64 registers, run by a hub inside wasm, after a tier-up from JS).
// Registers live in an Int32Array as int32 halves. Code is compiled per *region* (the
// basic blocks reachable from an entry PC through constant jumps, branches and fall-throughs on
// the same 4 KiB page) into one JS function with `new Function` (codegen.ts); loops inside a
// region run inside that function. Regions are cached by host (physical) offset, checked against
// the virtual PC they were compiled for, and chained through per-exit links. Memory accesses use
// a QEMU-style software TLB per privilege level (read / write / exec), filled from a pluggable
// Translator; pages holding compiled code never get write-TLB entries, so every store to them
// takes the slow path, which invalidates overlapping code (128-byte granularity) before the next
// instruction. System instructions (CSR, ecall, ebreak, xret, wfi, fences, illegal) execute one
// at a time in `execSystem`. No BigInt and no allocation per instruction.
//
// Contract for the caller (runner / hypervisor):
// - `run(n)` returns after exactly n more retired instructions ('budget'), or earlier with
//   'stopped' (a trap handler called stop()), 'idle' (stalled in wfi: advance time with
//   advanceIdle / idleUntil(nextWakeNs()) or raise an interrupt, then call run again),
//   'deadlock' (stalled in wfi with nothing able to wake it) or 'trap-loop' (100000 traps in a
//   row without a retired instruction). Guest behaviour never throws.
// - Interrupts are checked between regions and after every system instruction; a compiled loop
//   stops at the cycle of the next timer event, so the timer is precise to one basic block.
// - Trap handlers for PL0 / PL1 run synchronously inside run(), after the architectural entry.
//
// Address translation. Without an MMU the translator is the bare one (or a custom Translator) and
// satp / p1gatp accept MODE 0 only. `attachMmu(mmu)` (a TranslationControl, e.g. @tachyxx/mmu's
// Mmu) routes satp / p1gatp / sstatus writes and sfence.vma to the MMU, which invalidates soft-TLB
// pages through this CPU (SoftTlbInvalidator) whenever a modelled-TLB entry of the current context
// goes away; so every access the soft-TLB serves is a modelled-TLB hit. Block lookup always goes
// VA -> exec soft-TLB -> host page -> block (checked against the VA), so two address spaces never
// run each other's code, and chained links die (linkEpoch) on every soft-TLB flush and page
// invalidation. Links are also tagged with the level's soft-TLB bank (linkBank) they were recorded
// under and only followed under the same bank, so a level change (a trap to a PL1 handler and
// back) keeps them. Soft-TLB hits are counted cheaply (see syncMmuStats).
//
// Layout (issue 9 §4): this file is the public API over one shared state object (state.ts:
// CpuState, which Cpu extends, so generated code and every module see one hidden class). The
// engine's jobs live in modules of functions over that state: exec.ts (run loop, block dispatch),
// blockcache.ts (translation cache, invalidation, chaining), softmmu.ts (soft-TLB, slow paths,
// MMU attachment), context.ts (vCPU context save / load), priv.ts (CSRs, timer, interrupts, traps,
// system instructions), debug.ts (breakpoints, watchpoints, single step). The ISA variant is a
// SensitiveInstructionPolicy (sensitive.ts) bound by the isa plugins.

import { CSR_NUMBERS } from './csr.js';
import { type MemoryWriteListener, PhysMemory } from './memory.js';
import type { SoftTlbInvalidator, TranslationControl } from './translator.js';
import { type CpuDebugHooks, type CpuOptions, type CsrTrapHandler, CpuState, type FastEcallHandler, type CpuWatchpoint, R64, type RunReason, TWO32, type TraceHook, type TrapHandler } from './state.js';
import { type VcpuContext, loadContext, saveContext } from './context.js';
import { amo, attachMmu, externalWrite, flushTlb, invalidatePage, ld, recordFault, st, syncMmuStats } from './softmmu.js';
import { flushCode, invalidateCodePage } from './blockcache.js';
import { run } from './exec.js';
import { debugStep, setBreakpoints, setWatchpoints } from './debug.js';
import { completeEmulated, csrRead, csrWrite, execSystem, fastEcallEntry, fastEcallReturn, injectTrap, irqEnabledAtTarget, r64Set, restartTrapped, returnFromTrap, setLevel, updateTimer, rdtimeInline, wakeable } from './priv.js';

export { ISA_VARIANTS, CPU_ENGINES, DEFAULT_TLB_ENTRIES, TLB_INITIAL_ENTRIES, WASM_TIER_UP, WASM_SHORT_RUN, DEFAULT_REGION_PAGES } from './state.js';
export type { CpuEngine, IsaVariant, RunReason, TrapHandler, CsrTrapHandler, FastEcallHandler, TraceHook, CpuOptions, CpuStats, CpuDebugHooks, CpuWatchpoint } from './state.js';
export { createVcpuContext } from './context.js';

/** Engine counters (Cpu.engineStats; `--stats` JSON): CpuStats' counters plus instret / cycles. */
export interface EngineStats {
  engine: string;
  instructions: number;
  cycles: number;
  /** Blocks compiled (regions, single-step and system-instruction blocks), wasmRegions of them to wasm. */
  blocksCompiled: number;
  wasmRegions: number;
  /** Hot JS regions recompiled to wasm (engine wasm with tier-up; not counted in blocksCompiled). */
  wasmTierUps: number;
  /** Hot JS regions kept as JS (short runs ending at a system instruction: WASM_SHORT_RUN). */
  wasmKeptJs: number;
  /** Engine js: warm regions compiled again to take in pages first left out (REGION_REFORM_HEAT). */
  regionReforms: number;
  blockInvalidations: number;
  codeFlushes: number;
  /** Translations that reached the translator (soft-TLB misses), and the data soft-TLB refills among them. */
  tlbMisses: number;
  tlbRefills: number;
  tlbFlushes: number;
  /** Soft-TLB size changes, and the entries per level in use now (softmmu.ts tlbSlot / flushTlb). */
  tlbResizes: number;
  tlbEntries: number;
  /** Region transitions through a chained link (run loop or hub) and through the hub's own lookup. */
  chainHits: number;
  hubLookups: number;
  /** Returns to the run loop, by reason: no usable link (a lookup follows), a fault, a store into code / watch, the cycle limit, a slow path's request (attn). */
  exitsLookup: number;
  exitsFault: number;
  exitsCodeWrite: number;
  exitsCycleLimit: number;
  exitsAttention: number;
  /** Engine wasm: chains handed from the JS run loop to the hub. */
  hubHandovers: number;
}
export type { VcpuContext } from './context.js';

/** One hart: the public API of the CPU engine (the state and its fields: CpuState). */
export class Cpu extends CpuState implements MemoryWriteListener, SoftTlbInvalidator {
  constructor(memory: PhysMemory, config: CpuOptions = {}) {
    super(memory, config);
    flushTlb(this);
    this.stats.tlbFlushes = 0;
    this.mem.addListener(this);
    this.setPcParts(this.mem.base | 0, Math.floor(this.mem.base / TWO32));
    r64Set(this, R64.stimecmp, -1, -1);
    if (config.mmu !== undefined) {
      attachMmu(this, config.mmu);
      this.stats.tlbFlushes = 0;
      this.stats.codeFlushes = 0;
    }
  }

  /** PC as a number (exact below 2^53 in magnitude; sign-extended for addresses with bit 63 set). */
  get pc(): number { return this.pcHi * TWO32 + (this.pcLo >>> 0); }
  set pc(v: number) { this.setPcParts(v | 0, Math.floor(v / TWO32) | 0); }
  setPcParts(lo: number, hi: number): void { this.pcLo = lo & ~3; this.pcHi = hi | 0; }
  /** Register i as a signed number (exact when |value| < 2^53). */
  getReg(i: number): number { return i === 0 ? 0 : this.x[2 * i + 1]! * TWO32 + (this.x[2 * i]! >>> 0); }
  /** Register i as an unsigned number (exact when value < 2^53). */
  getRegU(i: number): number { return i === 0 ? 0 : (this.x[2 * i + 1]! >>> 0) * TWO32 + (this.x[2 * i]! >>> 0); }
  getRegLo(i: number): number { return i === 0 ? 0 : this.x[2 * i]!; }
  getRegHi(i: number): number { return i === 0 ? 0 : this.x[2 * i + 1]!; }
  setReg(i: number, lo: number, hi: number): void { if (i !== 0) { this.x[2 * i] = lo; this.x[2 * i + 1] = hi; } }
  /** Set register i from an integer number (two's complement; exact for |n| < 2^53). */
  setRegNumber(i: number, n: number): void { this.setReg(i, n | 0, Math.floor(n / TWO32) | 0); }
  /** Current privilege level 0..3 (setting it from TypeScript is for loaders and tests). */
  get level(): number { return this.lvl; }
  set level(l: number) {
    if (!(l === 0 || l === 1 || l === 2 || l === 3)) throw new RangeError(`no privilege level ${l}`);
    setLevel(this, l);
  }
  /** Simulated time in nanoseconds (cycles at freqHz plus idle time). */
  timeNs(): number { return this.idleNs + this.cycles * (1e9 / this.freqHz); }
  /** Engine counters as a plain object (for --stats JSON). */
  engineStats(): EngineStats {
    syncMmuStats(this);
    const s = this.stats;
    return {
      engine: this.engine, instructions: this.instret, cycles: this.cycles, blocksCompiled: s.blocksCompiled,
      wasmRegions: s.wasmRegions, wasmTierUps: s.wasmTierUps, wasmKeptJs: s.wasmKeptJs, regionReforms: s.regionReforms, blockInvalidations: s.blockInvalidations, codeFlushes: s.codeFlushes,
      tlbMisses: s.tlbMisses, tlbRefills: s.tlbRefills, tlbFlushes: s.tlbFlushes, tlbResizes: s.tlbResizes, tlbEntries: this.tlbMask + 1, chainHits: s.chainHits,
      hubLookups: s.hubLookups, exitsLookup: s.exitsLookup, exitsFault: s.exitsFault, exitsCodeWrite: s.exitsCodeWrite,
      exitsCycleLimit: s.exitsCycleLimit, exitsAttention: s.exitsAttention, hubHandovers: s.hubHandovers,
    };
  }
  setTrapHandler(level: 0 | 1, handler: TrapHandler | undefined): void { this.handlers[level] = handler; this.csrHandlers[level] = undefined; }
  /**
   * Like setTrapHandler, for a handler that reads tval / epc from the level's CSRs (mtval / mepc
   * or p1tval / p1epc) when it needs them: nothing is boxed per trap (the hypervisor's hot path).
   */
  setCsrTrapHandler(level: 0 | 1, handler: CsrTrapHandler | undefined): void { this.csrHandlers[level] = handler; this.handlers[level] = undefined; }
  /**
   * The PL1 hypercall fast path (see FastEcallHandler), or undefined: asked first for every ecall
   * from PL2 that traps to PL1 with one of `numbers` (0..63) in a7 (the PL1 trap handler takes
   * the others and what it declines).
   */
  setFastEcall(handler: FastEcallHandler | undefined, numbers: Iterable<number> = []): void {
    let lo = 0, hi = 0;
    for (const n of numbers) {
      if (!Number.isInteger(n) || n < 0 || n > 63) throw new RangeError(`setFastEcall: call number ${n} is not 0..63`);
      if (n < 32) lo |= 1 << n; else hi |= 1 << (n - 32);
    }
    this.fastEcall = handler;
    this.fastEcallLo = handler === undefined ? 0 : lo;
    this.fastEcallHi = handler === undefined ? 0 : hi;
  }
  /** In a FastEcallHandler, before its work: the trap entry's counts and cost. */
  fastEcallEntry(): void { fastEcallEntry(this); }
  /**
   * In a FastEcallHandler, last: the state after the trap to PL1 and completeEmulated(1)
   * (`retire`) or restartTrapped(1).
   */
  fastEcallReturn(retire: boolean): void { fastEcallReturn(this, retire); }
  /** Enable (hook) or disable (undefined) the instruction trace. Zero cost when off. */
  setTrace(hook: TraceHook | undefined): void { this.traceHook = hook; }
  /** End the current run() with result 'stopped'; `reason` is kept in stopReason. */
  stop(reason = 'stopped'): void { this.stopRequested = true; this.stopReason = reason; }
  /** True while the hart is stalled in wfi. */
  get isWaiting(): boolean { return this.waiting; }
  /** Raise or lower the external interrupt line of a level (0: code 11, 1: code 10, 2: code 9). */
  setExternalInterrupt(level: 0 | 1 | 2, on: boolean): void { this.setInterruptPending(11 - level, on); }
  /** Raise or lower any platform interrupt line by code (1,2,3,5,6,7,9,10,11). */
  setInterruptPending(code: number, on: boolean): void {
    const bit = 1 << code;
    if (!(bit & 0xeee)) throw new RangeError(`no interrupt with code ${code}`);
    this.ipLines = on ? this.ipLines | bit : this.ipLines & ~bit;
    this.irqDirty = true;
  }
  /** Advance simulated time by ns without executing (the hart was idle). */
  advanceIdle(ns: number): void {
    if (!(ns >= 0)) throw new RangeError(`advanceIdle needs a non-negative duration, got ${ns}`);
    this.idleNs += ns;
    updateTimer(this);
  }
  /** Advance simulated time to `timeNs` (no-op when already there). */
  idleUntil(timeNs: number): void {
    const now = this.timeNs();
    if (timeNs > now) this.advanceIdle(timeNs - now);
  }
  /**
   * Simulated time (ns) at which a stalled hart will wake by itself (its timer), or Infinity.
   */
  nextWakeNs(): number {
    updateTimer(this);
    if (wakeable(this)) return this.timeNs();
    if (!this.stip && this.timerDeadlineNs !== Infinity && irqEnabledAtTarget(this, 5)) return this.timerDeadlineNs;
    return Infinity;
  }
  /** Read a CSR as a number (signed interpretation of the 64 bits; exact below 2^53). */
  readCsr(n: number): number { const lo = csrRead(this, n); return this.csrHi * TWO32 + (lo >>> 0); }
  readCsrLo(n: number): number { return csrRead(this, n); }
  readCsrHi(n: number): number { csrRead(this, n); return this.csrHi; }
  /** Write a CSR from a number (or lo/hi halves when `hi` is given). WARL rules apply. */
  writeCsr(n: number, v: number, hi?: number): void {
    if (hi === undefined) { hi = Math.floor(v / TWO32) | 0; v = v | 0; }
    if (!CSR_NUMBERS.has(n)) throw new RangeError(`unknown CSR 0x${n.toString(16)}`);
    csrWrite(this, n, v | 0, hi | 0);
  }
  /** The attached MMU, or undefined (bare or custom translator). */
  get mmu(): TranslationControl | undefined { return this.mmuCtl; }
  /**
   * Use `mmu` for translation from now on: it becomes the translator, gets this CPU as its
   * soft-TLB invalidator, receives the current sstatus / p1gatp / satp (values it rejects read
   * as 0 afterwards), and every later satp / p1gatp / sstatus write, trap entry / return and
   * sfence.vma goes through it. Drops the soft-TLB and all compiled code (regions are recompiled
   * with soft-TLB hit counting).
   */
  attachMmu(mmu: TranslationControl): void { attachMmu(this, mmu); }
  /**
   * Report the accesses the soft-TLB served since the last call to the MMU (addSoftTlbHits), when
   * they were made at PL2/PL3 with translation on. Called automatically before every level change,
   * satp / p1gatp write and context save / load, and by engineStats(); call it before reading the
   * MMU's stats. Accounting: lookups = one instruction fetch per basic block executed (a compiled
   * block, a single-stepped instruction or a system instruction: the modelled ITLB is consulted
   * once per block, not per instruction), plus one per load / store / AMO, plus one more for an
   * access that crosses a page; soft-TLB hits = lookups - translate() calls. So the MMU's
   * tlbHits + softTlbHits + tlbMisses equals that lookup count exactly.
   */
  syncMmuStats(): void { syncMmuStats(this); }
  /** SoftTlbInvalidator: drop the soft-TLB entries of the page holding (lo, hi) at every level; drops chained links. */
  invalidatePage(lo: number, hi: number): void { invalidatePage(this, lo, hi); }
  /** SoftTlbInvalidator: drop every soft-TLB entry (= flushTlb). */
  invalidateAll(): void { flushTlb(this); }
  /**
   * Copy the loaded vCPU's state into `ctx`. At PL2/PL3 pc and level are the live ones; from a
   * PL1 (PL0) trap handler they are the trapped guest's: p1epc and p1status.PPL (mepc, mstatus.PPL).
   */
  saveContext(ctx: VcpuContext): void { saveContext(this, ctx); }
  /**
   * Make `ctx` the loaded vCPU (a world switch): registers, the PL2 bank, p1timedelta, p1gatp
   * and satp (through the MMU hooks, so VMID/ASID tagging and untagged flushes apply), the SSIP /
   * SEIP bits. At PL2/PL3 pc and level change now; from a PL1 (PL0) trap handler they go to
   * p1epc and p1status.PPL (mepc, mstatus.PPL), so the handler's returnFromTrap enters the loaded
   * vCPU. Clears the LR
   * reservation and a wfi stall, recomputes timer and interrupt state and charges
   * `cost.worldSwitch` cycles. WARL rules apply to every field.
   */
  loadContext(ctx: VcpuContext): void { loadContext(this, ctx); }
  /** Invalidate every software-TLB entry (all levels). */
  flushTlb(): void { flushTlb(this); }
  /** Drop every compiled block of this hart (fence.i). */
  flushCode(): void { flushCode(this); }
  /** MemoryWriteListener: drop compiled code of host page `page`. */
  invalidateCodePage(page: number): void { invalidateCodePage(this, page); }
  /** MemoryWriteListener: another agent wrote [off, off+len): clears an overlapping reservation. */
  externalWrite(off: number, len: number): void { externalWrite(this, off, len); }
  /**
   * Execute until exactly `maxInsns` more instructions have retired, or a stop / idle / deadlock.
   * Interrupts are taken between blocks and after every system instruction.
   */
  run(maxInsns: number, deadlineNs = Infinity): RunReason { return run(this, maxInsns, deadlineNs); }
  /** Install (or remove) the debugger hooks. Without hooks breakpoints and watchpoints never stop. */
  setDebugHooks(hooks: CpuDebugHooks | undefined): void { this.dbgHooks = hooks; }
  /**
   * Set the breakpoint addresses (signed-number VAs, like cpu.pc). Drops compiled code when the
   * set changes: blocks are recompiled so that every breakpoint starts a block of its own.
   */
  setBreakpoints(addrs: Iterable<number>): void { setBreakpoints(this, addrs); }
  /**
   * Set the watched ranges. Their pages lose their soft-TLB entries and never get new ones, so
   * every access to them takes the slow path, which checks the ranges. (The modelled TLB and its
   * statistics are untouched: the soft-TLB only caches it.)
   */
  setWatchpoints(list: readonly CpuWatchpoint[]): void { setWatchpoints(this, list); }
  /** The next run() returns 'debug' (debugEvent 'request') before executing anything. */
  requestDebugStop(): void { this.dbgStopNow = true; }
  /** Resuming from a breakpoint at the current pc: pass it once instead of stopping again. */
  debugSkipBreakpoint(): void { this.bpSkip = true; this.bpSkipLo = this.pcLo; this.bpSkipHi = this.pcHi; }
  /**
   * Debugger single step: execute exactly one instruction, or take the exception it raises (pc is
   * then the handler's entry: a step over ecall stops at the PL2 handler, or after the hypercall
   * when a TypeScript PL0 / PL1 handler emulated it). Pending interrupts are taken (and the step
   * ends at their handler) only with `irqs` or while stalled in wfi (QEMU masks them by default
   * while stepping: SSTEP_NOIRQ). Returns 'debug' (debugEvent 'step', or 'watch' when the
   * instruction hit a watchpoint), or 'idle' when the hart is stalled in wfi with nothing
   * pending (advance time and step again).
   */
  debugStep(irqs = false): RunReason { return debugStep(this, irqs); }
  /** Called by generated code for a misaligned jump target. */
  fault(cause: number, lo: number, hi: number): void { recordFault(this, cause, lo, hi); }
  /** Called by generated code for `rdtime` (priv.ts rdtimeInline). */
  rdtime(delta: number, insn: number): number { return rdtimeInline(this, delta, insn); }
  /** Slow-path load (TLB miss, misaligned). Returns low half; high half in rhi; sx=1 on fault. */
  ld(lo: number, hi: number, op: number): number { return ld(this, lo, hi, op); }
  /** Slow-path store. sx=1 on fault (nothing written), sx=2 when it overwrote compiled code. */
  st(lo: number, hi: number, vlo: number, vhi: number, op: number): void { st(this, lo, hi, vlo, vhi, op); }
  /** LR / SC / AMO. Returns the old value (low half; high in rhi); sx=1 on fault, 2 on code hit. */
  amo(lo: number, hi: number, vlo: number, vhi: number, op: number): number { return amo(this, lo, hi, vlo, vhi, op); }
  /** Execute one system instruction at the current PC (retire or trap). */
  execSystem(insn: number): void { execSystem(this, insn); }
  /** Return from the trap in progress at `level` (0: like mret, 1: like hret). */
  returnFromTrap(level: 0 | 1): void { returnFromTrap(this, level); }
  /**
   * The trapped instruction was emulated by the handler at `level`: count it as retired (once),
   * resume after it (epc + 4) and return from the trap.
   */
  completeEmulated(level: 0 | 1): void { completeEmulated(this, level); }
  /**
   * The handler at `level` made progress on the trapped instruction but did not finish it (a
   * preempted hypercall, Xen's hypercall continuation): return to it so that it executes again.
   * Nothing retires, but this is not a trap storm.
   */
  restartTrapped(level: 0 | 1): void { restartTrapped(this, level); }
  /**
   * From a TS handler running at level L: unwind L's trap (restore its IE from PIE, level <- the
   * level it trapped from) and enter `targetLevel` exactly like a hardware trap taken there from
   * that level, with the given cause / tval / epc.
   */
  injectTrap(targetLevel: 0 | 1 | 2 = 2, cause: number, tval: number, epc: number, isInterrupt = false): void { injectTrap(this, targetLevel, cause, tval, epc, isInterrupt); }
}
