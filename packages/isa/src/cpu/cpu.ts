// The Tachyxx CPU: RV64IMA + Zicsr + Zifencei with the Tachyxx privileged architecture
// (docs/isa.md).
//
// Engine. Registers live in an Int32Array as int32 halves. Code is compiled per *region* (the
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

import {
  Op, decode, rd as fRd, rs1 as fRs1, rs2 as fRs2, csrNum, immB, immJ,
} from '../decode.js';
import { GEN_PARAMS, generateRegion, isControl, isSystem, type RegionBlock } from './codegen.js';
import { makeCostModel, type CostModel } from './cost.js';
import {
  CSR, CSR_NUMBERS, ST_IE, ST_PIE, ST_PPL, ST_PPL_SHIFT, ST_TW, ST_WMASK,
  SST_SIE, SST_SPIE, SST_SPP, SST_WMASK, SST_HI, IRQ_VISIBLE, MIDELEG_MASK, P1IDELEG_MASK,
  EDELEG_MASK, IP_WRITABLE, IRQ_PRIORITY,
} from './csr.js';
import {
  HI, mul64, mulh64, mulhsu64, mulhu64, div64, divu64, rem64, remu64,
} from './int64.js';
import { PhysMemory, PAGE_SHIFT, chunkMask, type MemoryWriteListener } from './memory.js';
import { Access, BareTranslator, type SoftTlbInvalidator, type TranslationControl, type Translator } from './translator.js';

/** ISA variants (docs/isa.md 2.6). */
export const ISA_VARIANTS = ['tachy-v1', 'legacy-silent'] as const;
export type IsaVariant = (typeof ISA_VARIANTS)[number];

/** Why run() returned. */
export type RunReason =
  /** maxInsns instructions retired. */
  | 'budget'
  /** cpu.stop() was called (see cpu.stopReason). */
  | 'stopped'
  /** The hart is stalled in wfi; advance time (advanceIdle) to nextWakeNs() or raise an interrupt. */
  | 'idle'
  /** The hart is stalled in wfi and nothing can ever wake it. */
  | 'deadlock'
  /** Simulated time reached the `deadlineNs` given to run() (a host's time slice ended). */
  | 'deadline'
  /** 100000 consecutive traps without any instruction retiring (e.g. tvec points outside RAM). */
  | 'trap-loop'
  /**
   * A debugger event (only with debug hooks set): a breakpoint about to execute, a watched access
   * done, a debugStep() done, or requestDebugStop(). cpu.debugEvent / debugAddr say which.
   */
  | 'debug';

/**
 * Debugger hooks (the gdb stub). Consulted only at breakpoint addresses and on accesses to watched
 * pages, never on the normal path: breakpoints end compiled blocks (the instruction at a
 * breakpoint becomes a block of its own, dispatched by the run loop) and watched pages never get
 * soft-TLB entries, so their accesses take the slow path.
 */
export interface CpuDebugHooks {
  /** The instruction at breakpoint `pc` is about to execute: true = stop (run() returns 'debug'). */
  breakpoint(cpu: Cpu, pc: number): boolean;
  /**
   * An access to a watched range completed (`kind` 0 read, 1 write; the instruction retires):
   * true = stop after the instruction (run() returns 'debug').
   */
  watch(cpu: Cpu, addr: number, size: number, kind: 0 | 1): boolean;
  /**
   * A trap was just entered at PL2 (pc = its handler): true = stop there (run() returns 'debug',
   * debugEvent 'trap'). Lets a debugger step into the guest kernel's handler (gdb steps RISC-V in
   * software, with a breakpoint after the ecall). Optional; only asked on trap entry.
   */
  trap?(cpu: Cpu, cause: number, isInterrupt: boolean): boolean;
}

/** A watched range of virtual addresses [addr, addr + len) (signed-number addresses, like cpu.pc). */
export interface CpuWatchpoint { addr: number; len: number; read: boolean; write: boolean }

/**
 * A trap handler for a level implemented in TypeScript (PL0 firmware, PL1 hypervisor). Called
 * after the architectural trap entry into that level. `cause` is the code without the interrupt
 * flag; tval/epc are numbers (exact below 2^53 in magnitude; readCsrLo/Hi give the exact bits).
 */
export type TrapHandler = (cpu: Cpu, cause: number, isInterrupt: boolean, tval: number, epc: number) => void;

/** Trace callback: called before each instruction executes while tracing is on. */
export type TraceHook = (pc: number, insn: number, level: number) => void;

export interface CpuOptions {
  /** 'tachy-v1' (default) or 'legacy-silent'. */
  variant?: string;
  hartId?: number;
  /** Core frequency; default 1e9 (cycle == time in ns when nothing stalls). */
  freqHz?: number;
  costs?: Partial<CostModel>;
  /** Defaults to the bare (identity) translator over `memory`. */
  translator?: Translator;
  /**
   * What run() does when the hart stalls in wfi: 'return' (default) returns 'idle' and leaves time
   * to the caller (advanceIdle); 'advance' moves simulated time to the next timer event itself.
   */
  idle?: 'return' | 'advance';
  /**
   * True when something outside the CPU (platform, hypervisor) may raise interrupts later; then a
   * wfi with no timer armed returns 'idle' (nextWakeNs() = Infinity) instead of 'deadlock'.
   */
  platformInterrupts?: boolean;
  /** Maximum instructions per basic block (default 64). */
  maxBlockInsns?: number;
  /** Maximum instructions per compiled region of blocks on one page (default 512). */
  maxRegionInsns?: number;
  /** Software TLB entries per level (power of two, default 2048). */
  tlbEntries?: number;
  /** Attach this MMU at construction (same as calling attachMmu; overrides `translator`). */
  mmu?: TranslationControl;
}

/**
 * One vCPU's architectural state while it is not loaded on a CPU (for the hypervisor's world
 * switch): plain data, allocated once per vCPU with createVcpuContext(); saveContext/loadContext
 * copy into / out of it without allocating. 64-bit CSRs are int32 halves (Lo = bits 31:0).
 */
export interface VcpuContext {
  /** x0..x31: x[2i] = low half, x[2i+1] = high half (x0 is ignored on load). */
  readonly x: Int32Array;
  pcLo: number;
  pcHi: number;
  /** Privilege level the vCPU runs at: 2 (kernel) or 3 (user). */
  level: number;
  // ---- PL2 bank ----
  sstatus: number;
  sie: number;
  scounteren: number;
  stvecLo: number; stvecHi: number;
  sscratchLo: number; sscratchHi: number;
  sepcLo: number; sepcHi: number;
  scauseLo: number; scauseHi: number;
  stvalLo: number; stvalHi: number;
  stimecmpLo: number; stimecmpHi: number;
  satpLo: number; satpHi: number;
  /** sip.SSIP (bit 1) as written by software. */
  ssip: boolean;
  // ---- per-vCPU PL1 state the hypervisor owns ----
  p1timedeltaLo: number; p1timedeltaHi: number;
  p1gatpLo: number; p1gatpHi: number;
  /** The virtual PL2 external-interrupt line (code 9, setInterruptPending(9, on)): the event-channel upcall. */
  seip: boolean;
  /** Pending bit 9 as written by software through p1ip / mip (PL1 injecting a PL2 external interrupt). */
  seipSoft: boolean;
}

/** A fresh vCPU context: all registers 0, pc 0, PL2, stimecmp = all ones (no timer), translation off. */
export function createVcpuContext(): VcpuContext {
  return {
    x: new Int32Array(64), pcLo: 0, pcHi: 0, level: 2,
    sstatus: 0, sie: 0, scounteren: 0,
    stvecLo: 0, stvecHi: 0, sscratchLo: 0, sscratchHi: 0, sepcLo: 0, sepcHi: 0,
    scauseLo: 0, scauseHi: 0, stvalLo: 0, stvalHi: 0, stimecmpLo: -1, stimecmpHi: -1,
    satpLo: 0, satpHi: 0, ssip: false,
    p1timedeltaLo: 0, p1timedeltaHi: 0, p1gatpLo: 0, p1gatpHi: 0, seip: false, seipSoft: false,
  };
}

type BlockFn = (cpu: Cpu, budget: number, st: number) => number;

/** Largest budget passed to a compiled function (kept a small integer: one type at the call site). */
const MAX_FN_BUDGET = 0x3fffffff;


interface Block {
  /** Compiled function (returns its exit number); undefined for a system-instruction block. */
  fn: BlockFn | undefined;
  /** Index of this block in its region's function (its `st` argument): 0 = the region's entry. */
  entry: number;
  len: number;
  vpcLo: number;
  vpcHi: number;
  insn: number;
  /** False once the code under it was written (the block stays reachable only through stale links). */
  valid: boolean;
  /** A debugger breakpoint block (fn undefined): the run loop asks the debug hooks before executing it. */
  bp: boolean;
  /** Successor blocks by exit id (for a jalr exit: the last target seen). */
  links: (Block | undefined)[];
  /** Cpu.linkEpoch when `links` were recorded; links from an older epoch are ignored. */
  linkEpoch: number;
  /** Cpu.linkBank when `links` were recorded; links are followed only under the same bank. */
  linkBank: number;
}

export interface CpuStats {
  /** Blocks compiled (incl. single-step blocks). */
  blocksCompiled: number;
  /** Code pages whose compiled blocks were dropped because of a write. */
  blockInvalidations: number;
  /** fence.i / flushCode() calls. */
  codeFlushes: number;
  /** Software-TLB misses (slow-path translations). */
  tlbMisses: number;
  /** TLB flushes. */
  tlbFlushes: number;
  /** Exceptions taken, by cause. */
  exceptions: Float64Array;
  /** Interrupts taken, by code. */
  interrupts: Float64Array;
}

const TWO32 = 4294967296;
const TLB_INVALID = 0x800; // never equals an (address & mask) value, whose bits 3..11 are 0

const RETURN_OPS = [Op.SRET, Op.HRET, Op.MRET];

export class Cpu implements MemoryWriteListener, SoftTlbInvalidator {
  readonly mem: PhysMemory;
  readonly variant: IsaVariant;
  readonly hartId: number;
  readonly cost: CostModel;
  readonly freqHz: number;
  translator: Translator;

  /** Integer registers: x[2*i] = low half, x[2*i+1] = high half of register i. */
  readonly x = new Int32Array(64);
  pcLo = 0;
  pcHi = 0;
  private lvl = 2;
  /** Retired instructions (exact). */
  instret = 0;
  /** Simulated cycles. */
  cycles = 0;
  /** Simulated nanoseconds spent stalled (wfi) or otherwise added with advanceIdle. */
  idleNs = 0;
  readonly stats: CpuStats = {
    blocksCompiled: 0, blockInvalidations: 0, codeFlushes: 0, tlbMisses: 0, tlbFlushes: 0,
    exceptions: new Float64Array(32), interrupts: new Float64Array(16),
  };

  // ---- state shared with generated code ----
  /** Slow-path status for generated code: 0 ok, 1 fault pending, 2 store hit code. */
  sx = 0;
  /** High half of the last slow-path load / AMO result. */
  rhi = 0;
  /** Cycle count at which the next timer event happens (Infinity: none). */
  cycleLimit = Infinity;
  /** run()'s deadline in cycles (Infinity: none). */
  private hostDeadlineCycles = Infinity;
  /** Offset of the current level's TLB section. */
  tlbBase = 0;
  /**
   * Translation lookups since the last syncMmuStats (only with an MMU attached): added by
   * generated code (one fetch per basic block, one per load/store), amo() and page-crossing
   * accesses, and the run loop (system instructions, faulting fetches).
   */
  tlbAcc = 0;
  /** stats.tlbMisses at the last syncMmuStats: lookups since then that reached the translator. */
  private tlbMissBase = 0;
  /** The attached MMU (attachMmu), or undefined. */
  private mmuCtl: TranslationControl | undefined;
  /**
   * Virtual pages (by VPN mod 4096) filled into the exec soft-TLB since the last flush: an
   * invalidatePage of such a page drops chained links (a link bypasses the exec soft-TLB).
   */
  private readonly execPages = new Uint8Array(4096);

  // pending exception recorded by a slow path
  private excCause = 0;
  private excTvalLo = 0;
  private excTvalHi = 0;

  // ---- software TLB (per level sections; tags: page base lo / hi; offsets: host page offset|0) ----
  readonly tlbEntries: number;
  private readonly tlbMask: number;
  private readonly RL: Int32Array; private readonly RH: Int32Array; private readonly RO: Int32Array;
  private readonly WL: Int32Array; private readonly WH: Int32Array; private readonly WO: Int32Array;
  private readonly XL: Int32Array; private readonly XH: Int32Array; private readonly XO: Int32Array;

  // ---- block cache: per host page, per word ----
  private readonly pageBlocks: (Block[] | undefined)[];
  /** Host pages that have compiled blocks in this CPU. */
  private readonly codePages = new Set<number>();
  /** Bumped whenever chained links may be stale (TLB flush, fence.i, non-bare level change). */
  private linkEpoch = 0;
  /**
   * The translation "bank" chained links belong to: the level's soft-TLB bank (tlbBase), or 0
   * with the bare translator (level-independent). A link records a successor found through one
   * level's translation, so it must not be followed at another level.
   */
  private linkBank = 0;
  private readonly stepBlocks: (Block[] | undefined)[];
  private readonly maxBlock: number;
  private readonly maxRegionInsns: number;
  private readonly maxRegionBlocks = 64;
  private readonly genArgs: unknown[];

  // ---- privileged state ----
  mstatus = 0; p1status = 0; sstatus = 0;
  medeleg = 0; mideleg = 0; p1edeleg = 0; p1ideleg = 0;
  mie = 0; p1ie = 0; sie = 0;
  mcounteren = 0; p1counteren = 0; scounteren = 0;
  /** Software-written pending bits (through mip/p1ip/sip). */
  private ipSoft = 0;
  /** Pending lines raised by the platform (setInterruptPending / setExternalInterrupt). */
  private ipLines = 0;
  /** STIP latch: time + p1timedelta >= stimecmp. */
  private stip = false;
  /** 64-bit CSRs as [lo, hi] in one array, indexed by R64.* */
  private readonly r64 = new Int32Array(2 * 24);

  // LR/SC reservation
  private resValid = false;
  private resOff = 0;
  private resSize = 0;
  private resLo = 0;
  private resHi = 0;

  // run-loop state
  private irqDirty = true;
  private waiting = false;
  /**
   * > 0 while the PC is inside a basic block whose start was single-stepped (a run() slice ended
   * in the middle of it): a block-cache miss then keeps single-stepping (at most this many more
   * instructions) to the next block boundary instead of compiling a new region at an arbitrary
   * PC, which would also have to be warmed up and optimized by V8 again.
   */
  private midBlock = 0;
  private stopRequested = false;
  /** The reason given to the last stop(). */
  stopReason = '';
  private readonly handlers: (TrapHandler | undefined)[] = [undefined, undefined];
  private traceHook: TraceHook | undefined;
  private readonly idleMode: 'return' | 'advance';
  private readonly platformInterrupts: boolean;
  private timerDeadlineNs = Infinity;
  private trapsWithoutRetire = 0;

  // ---- debugger (setDebugHooks); all undefined / false on a run without a debugger ----
  private dbgHooks: CpuDebugHooks | undefined;
  /** Breakpoint addresses (signed-number VAs), or undefined when there are none. */
  private bps: Set<number> | undefined;
  /** Watched ranges and their virtual pages (VA >> 12 as a signed number), or undefined. */
  private watches: CpuWatchpoint[] | undefined;
  private watchPages: Set<number> | undefined;
  /** The breakpoint at (bpSkipLo, bpSkipHi) is passed once (resuming from it). */
  private bpSkip = false;
  private bpSkipLo = 0;
  private bpSkipHi = 0;
  private dbgStopNow = false;
  /** Why the last run() / debugStep() returned 'debug': 'break', 'watch', 'step' or 'request'. */
  debugEvent: '' | 'break' | 'watch' | 'step' | 'request' | 'trap' = '';
  /** Breakpoint pc or watched data address of the last debug event. */
  debugAddr = 0;
  /** 'r' or 'w' for a watch event. */
  debugAccess: 'r' | 'w' = 'w';

  constructor(memory: PhysMemory, config: CpuOptions = {}) {
    const variant = config.variant ?? 'tachy-v1';
    if (!(ISA_VARIANTS as readonly string[]).includes(variant)) {
      throw new Error(`unknown ISA variant '${variant}'; known variants: ${ISA_VARIANTS.join(', ')}`);
    }
    this.variant = variant as IsaVariant;
    this.mem = memory;
    this.hartId = config.hartId ?? 0;
    this.freqHz = config.freqHz ?? 1e9;
    if (!(this.freqHz > 0)) throw new RangeError(`freqHz must be positive, got ${this.freqHz}`);
    this.cost = makeCostModel(config.costs);
    this.translator = config.translator ?? new BareTranslator(this.mem);
    this.idleMode = config.idle ?? 'return';
    this.platformInterrupts = config.platformInterrupts ?? false;
    this.maxBlock = Math.max(1, Math.min(1024, config.maxBlockInsns ?? 64));
    this.maxRegionInsns = Math.max(this.maxBlock, Math.min(4096, config.maxRegionInsns ?? 512));
    const te = config.tlbEntries ?? 2048;
    if (!Number.isInteger(te) || te < 1 || (te & (te - 1)) !== 0) throw new RangeError(`tlbEntries must be a power of two, got ${te}`);
    this.tlbEntries = te;
    this.tlbMask = te - 1;
    const mk = (): Int32Array => new Int32Array(4 * te);
    this.RL = mk(); this.RH = mk(); this.RO = mk();
    this.WL = mk(); this.WH = mk(); this.WO = mk();
    this.XL = mk(); this.XH = mk(); this.XO = mk();
    this.flushTlb();
    this.stats.tlbFlushes = 0;
    this.pageBlocks = new Array(this.mem.pages);
    this.stepBlocks = new Array(this.mem.pages);
    const m = this.mem;
    this.genArgs = [m.u8, m.i8, m.u16, m.i16, m.i32, this.RL, this.RH, this.RO, this.WL, this.WH, this.WO,
      HI, mul64, mulh64, mulhsu64, mulhu64, div64, divu64, rem64, remu64];
    this.mem.addListener(this);
    this.setPcParts(this.mem.base | 0, Math.floor(this.mem.base / TWO32));
    this.r64Set(R64.stimecmp, -1, -1);
    if (config.mmu !== undefined) {
      this.attachMmu(config.mmu);
      this.stats.tlbFlushes = 0;
      this.stats.codeFlushes = 0;
    }
  }

  // =====================================================================================
  // Public register / state access
  // =====================================================================================

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
    this.setLevel(l);
  }

  /** Simulated time in nanoseconds (cycles at freqHz plus idle time). */
  timeNs(): number { return this.idleNs + this.cycles * (1e9 / this.freqHz); }

  /** Engine counters as a plain object (for --stats JSON). */
  engineStats(): { instructions: number; cycles: number; blocksCompiled: number; blockInvalidations: number;
    codeFlushes: number; tlbMisses: number; tlbFlushes: number } {
    this.syncMmuStats();
    const s = this.stats;
    return {
      instructions: this.instret, cycles: this.cycles, blocksCompiled: s.blocksCompiled,
      blockInvalidations: s.blockInvalidations, codeFlushes: s.codeFlushes, tlbMisses: s.tlbMisses, tlbFlushes: s.tlbFlushes,
    };
  }

  setTrapHandler(level: 0 | 1, handler: TrapHandler | undefined): void { this.handlers[level] = handler; }

  /** Enable (hook) or disable (undefined) the instruction trace. Zero cost when off. */
  setTrace(hook: TraceHook | undefined): void { this.traceHook = hook; }

  /** End the current run() with result 'stopped'; `reason` is kept in stopReason. */
  stop(reason = 'stopped'): void { this.stopRequested = true; this.stopReason = reason; }

  /** True while the hart is stalled in wfi. */
  get isWaiting(): boolean { return this.waiting; }

  // =====================================================================================
  // Interrupt lines and time
  // =====================================================================================

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
    this.updateTimer();
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
    this.updateTimer();
    if (this.wakeable()) return this.timeNs();
    if (!this.stip && this.timerDeadlineNs !== Infinity && this.irqEnabledAtTarget(5)) return this.timerDeadlineNs;
    return Infinity;
  }

  // =====================================================================================
  // CSR access from TypeScript (no privilege check)
  // =====================================================================================

  /** Read a CSR as a number (signed interpretation of the 64 bits; exact below 2^53). */
  readCsr(n: number): number { const lo = this.csrRead(n); return this.csrHi * TWO32 + (lo >>> 0); }
  readCsrLo(n: number): number { return this.csrRead(n); }
  readCsrHi(n: number): number { this.csrRead(n); return this.csrHi; }
  /** Write a CSR from a number (or lo/hi halves when `hi` is given). WARL rules apply. */
  writeCsr(n: number, v: number, hi?: number): void {
    if (hi === undefined) { hi = Math.floor(v / TWO32) | 0; v = v | 0; }
    if (!CSR_NUMBERS.has(n)) throw new RangeError(`unknown CSR 0x${n.toString(16)}`);
    this.csrWrite(n, v | 0, hi | 0);
  }

  // =====================================================================================
  // MMU attachment
  // =====================================================================================

  /** The attached MMU, or undefined (bare or custom translator). */
  get mmu(): TranslationControl | undefined { return this.mmuCtl; }

  /**
   * Use `mmu` for translation from now on: it becomes the translator, gets this CPU as its
   * soft-TLB invalidator, receives the current sstatus / p1gatp / satp (values it rejects read
   * as 0 afterwards), and every later satp / p1gatp / sstatus write, trap entry / return and
   * sfence.vma goes through it. Drops the soft-TLB and all compiled code (regions are recompiled
   * with soft-TLB hit counting).
   */
  attachMmu(mmu: TranslationControl): void {
    this.syncMmuStats();
    this.mmuCtl = mmu;
    this.translator = mmu;
    mmu.setInvalidator(this);
    mmu.writeSstatus(this.sstatus);
    this.pushTranslationRegs(this.r64[2 * R64.p1gatp]!, this.r64[2 * R64.p1gatp + 1]!,
      this.r64[2 * R64.satp]!, this.r64[2 * R64.satp + 1]!, true);
    this.flushTlb();
    this.flushCode();
    this.tlbAcc = 0;
    this.tlbMissBase = this.stats.tlbMisses;
  }

  /**
   * Load p1gatp then satp into the MMU (context load / attach); rejected values become 0 (Bare).
   * `onlyChanged` (attach): skip a register the MMU already holds (no spurious untagged flush).
   */
  private pushTranslationRegs(gLo: number, gHi: number, sLo: number, sHi: number, onlyChanged = false): void {
    const m = this.mmuCtl;
    if (m === undefined) {
      if ((gHi >>> 28) !== 0) { gLo = 0; gHi = 0; }
      if ((sHi >>> 28) !== 0) { sLo = 0; sHi = 0; }
      this.r64Set(R64.p1gatp, gLo, gHi);
      this.r64Set(R64.satp, sLo, sHi);
      return;
    }
    if (!(onlyChanged && gLo === m.p1gatpLo && gHi === m.p1gatpHi) && !m.writeP1gatp(gLo, gHi)) m.writeP1gatp(0, 0);
    this.r64Set(R64.p1gatp, m.p1gatpLo, m.p1gatpHi);
    if (!(onlyChanged && sLo === m.satpLo && sHi === m.satpHi) && !m.writeSatp(sLo, sHi)) m.writeSatp(0, 0);
    this.r64Set(R64.satp, m.satpLo, m.satpHi);
  }

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
  syncMmuStats(): void {
    const m = this.mmuCtl;
    if (m === undefined) return;
    const hits = this.tlbAcc - (this.stats.tlbMisses - this.tlbMissBase);
    if (hits !== 0 && this.lvl >= 2 && ((m.satpHi >>> 28) !== 0 || (m.p1gatpHi >>> 28) !== 0)) m.addSoftTlbHits(hits);
    this.tlbAcc = 0;
    this.tlbMissBase = this.stats.tlbMisses;
  }

  /** SoftTlbInvalidator: drop the soft-TLB entries of the page holding (lo, hi) at every level; drops chained links. */
  invalidatePage(lo: number, hi: number): void {
    const tag = lo & -4096;
    hi |= 0;
    const j = (lo >>> 12) & this.tlbMask;
    const RL = this.RL, RH = this.RH, WL = this.WL, WH = this.WH, XL = this.XL, XH = this.XH;
    for (let l = 0; l < 4; l++) {
      const i = j + l * this.tlbEntries;
      if (RL[i] === tag && RH[i] === hi) RL[i] = TLB_INVALID;
      if (WL[i] === tag && WH[i] === hi) WL[i] = TLB_INVALID;
      if (XL[i] === tag && XH[i] === hi) XL[i] = TLB_INVALID;
    }
    // A link into a block of this page would bypass the (now missing) exec translation.
    if (this.execPages[(lo >>> 12) & 4095] !== 0) this.linkEpoch++;
  }

  /** SoftTlbInvalidator: drop every soft-TLB entry (= flushTlb). */
  invalidateAll(): void { this.flushTlb(); }

  // =====================================================================================
  // vCPU context (hypervisor world switch)
  // =====================================================================================

  /**
   * Copy the loaded vCPU's state into `ctx`. At PL2/PL3 pc and level are the live ones; from a
   * PL1 (PL0) trap handler they are the trapped guest's: p1epc and p1status.PPL (mepc, mstatus.PPL).
   */
  saveContext(ctx: VcpuContext): void {
    this.syncMmuStats();
    let level = this.lvl, lo = this.pcLo, hi = this.pcHi;
    if (level <= 1) {
      const e = level === 0 ? R64.mepc : R64.p1epc;
      level = ((level === 0 ? this.mstatus : this.p1status) & ST_PPL) >>> ST_PPL_SHIFT;
      lo = this.r64[2 * e]!; hi = this.r64[2 * e + 1]!;
    }
    if (level < 2) throw new Error(`saveContext: no vCPU is loaded (level PL${level})`);
    ctx.x.set(this.x);
    ctx.pcLo = lo; ctx.pcHi = hi; ctx.level = level;
    ctx.sstatus = this.sstatus; ctx.sie = this.sie; ctx.scounteren = this.scounteren;
    const r = this.r64;
    ctx.stvecLo = r[2 * R64.stvec]!; ctx.stvecHi = r[2 * R64.stvec + 1]!;
    ctx.sscratchLo = r[2 * R64.sscratch]!; ctx.sscratchHi = r[2 * R64.sscratch + 1]!;
    ctx.sepcLo = r[2 * R64.sepc]!; ctx.sepcHi = r[2 * R64.sepc + 1]!;
    ctx.scauseLo = r[2 * R64.scause]!; ctx.scauseHi = r[2 * R64.scause + 1]!;
    ctx.stvalLo = r[2 * R64.stval]!; ctx.stvalHi = r[2 * R64.stval + 1]!;
    ctx.stimecmpLo = r[2 * R64.stimecmp]!; ctx.stimecmpHi = r[2 * R64.stimecmp + 1]!;
    ctx.satpLo = r[2 * R64.satp]!; ctx.satpHi = r[2 * R64.satp + 1]!;
    ctx.p1timedeltaLo = r[2 * R64.p1timedelta]!; ctx.p1timedeltaHi = r[2 * R64.p1timedelta + 1]!;
    ctx.p1gatpLo = r[2 * R64.p1gatp]!; ctx.p1gatpHi = r[2 * R64.p1gatp + 1]!;
    ctx.ssip = (this.ipSoft & (1 << 1)) !== 0;
    ctx.seip = (this.ipLines & (1 << 9)) !== 0;
    ctx.seipSoft = (this.ipSoft & (1 << 9)) !== 0;
  }

  /**
   * Make `ctx` the loaded vCPU (a world switch): registers, the PL2 bank, p1timedelta, p1gatp
   * and satp (through the MMU hooks, so VMID/ASID tagging and untagged flushes apply), the SSIP /
   * SEIP bits. At PL2/PL3 pc and level change now; from a PL1 (PL0) trap handler they go to
   * p1epc and p1status.PPL (mepc, mstatus.PPL), so the handler's returnFromTrap enters the loaded
   * vCPU. Clears the LR
   * reservation and a wfi stall, recomputes timer and interrupt state and charges
   * `cost.worldSwitch` cycles. WARL rules apply to every field.
   */
  loadContext(ctx: VcpuContext): void {
    if (ctx.level !== 2 && ctx.level !== 3) throw new RangeError(`loadContext: level must be 2 or 3, got ${ctx.level}`);
    this.syncMmuStats();
    this.x.set(ctx.x);
    this.x[0] = 0; this.x[1] = 0;
    this.sstatus = ctx.sstatus & SST_WMASK;
    this.sie = ctx.sie & IRQ_VISIBLE[2];
    this.scounteren = ctx.scounteren & 7;
    this.r64Set(R64.stvec, ctx.stvecLo & ~2, ctx.stvecHi);
    this.r64Set(R64.sscratch, ctx.sscratchLo, ctx.sscratchHi);
    this.r64Set(R64.sepc, ctx.sepcLo & ~3, ctx.sepcHi);
    this.r64Set(R64.scause, ctx.scauseLo, ctx.scauseHi);
    this.r64Set(R64.stval, ctx.stvalLo, ctx.stvalHi);
    this.r64Set(R64.stimecmp, ctx.stimecmpLo, ctx.stimecmpHi);
    this.r64Set(R64.p1timedelta, ctx.p1timedeltaLo, ctx.p1timedeltaHi);
    this.ipSoft = (this.ipSoft & ~((1 << 1) | (1 << 9))) | (ctx.ssip ? 1 << 1 : 0) | (ctx.seipSoft ? 1 << 9 : 0);
    this.ipLines = (this.ipLines & ~(1 << 9)) | (ctx.seip ? 1 << 9 : 0);
    this.mmuCtl?.writeSstatus(this.sstatus);
    this.pushTranslationRegs(ctx.p1gatpLo, ctx.p1gatpHi, ctx.satpLo, ctx.satpHi);
    if (this.lvl === 1) {
      this.r64Set(R64.p1epc, ctx.pcLo & ~3, ctx.pcHi);
      this.p1status = (this.p1status & ~ST_PPL) | (ctx.level << ST_PPL_SHIFT);
    } else if (this.lvl === 0) {
      this.r64Set(R64.mepc, ctx.pcLo & ~3, ctx.pcHi);
      this.mstatus = (this.mstatus & ~ST_PPL) | (ctx.level << ST_PPL_SHIFT);
    } else {
      this.setPcParts(ctx.pcLo, ctx.pcHi);
      this.setLevel(ctx.level);
    }
    this.resValid = false;
    this.waiting = false;
    this.linkEpoch++;
    this.cycles += this.cost.worldSwitch;
    this.stip = false;
    this.recomputeTimer();
    this.irqDirty = true;
  }

  // =====================================================================================
  // TLB and code cache
  // =====================================================================================

  /** Invalidate every software-TLB entry (all levels). */
  flushTlb(): void {
    this.RL.fill(TLB_INVALID); this.WL.fill(TLB_INVALID); this.XL.fill(TLB_INVALID);
    this.execPages.fill(0);
    this.stats.tlbFlushes++;
    this.linkEpoch++;
    this.linkBank = this.translator instanceof BareTranslator ? 0 : this.tlbBase; // (translator may have been replaced)
  }

  /** Drop every compiled block of this hart (fence.i). */
  flushCode(): void {
    this.linkEpoch++;
    for (const pg of this.codePages) {
      const pb = this.pageBlocks[pg], sb = this.stepBlocks[pg];
      if (pb !== undefined) for (const b of pb) if (b !== undefined) b.valid = false;
      if (sb !== undefined) for (const b of sb) if (b !== undefined) b.valid = false;
      this.pageBlocks[pg] = undefined;
      this.stepBlocks[pg] = undefined;
    }
    this.codePages.clear();
    this.stats.codeFlushes++;
  }

  /** MemoryWriteListener: drop compiled code of host page `page`. */
  invalidateCodePage(page: number): void {
    const pb = this.pageBlocks[page], sb = this.stepBlocks[page];
    if (pb !== undefined || sb !== undefined) {
      if (pb !== undefined) for (const b of pb) if (b !== undefined) b.valid = false;
      if (sb !== undefined) for (const b of sb) if (b !== undefined) b.valid = false;
      this.pageBlocks[page] = undefined;
      this.stepBlocks[page] = undefined;
      this.codePages.delete(page);
      this.stats.blockInvalidations++;
    }
  }

  /** MemoryWriteListener: another agent wrote [off, off+len): clears an overlapping reservation. */
  externalWrite(off: number, len: number): void {
    if (this.resValid && off < this.resOff + this.resSize && this.resOff < off + len) this.resValid = false;
  }

  // =====================================================================================
  // Run loop
  // =====================================================================================

  /**
   * Execute until exactly `maxInsns` more instructions have retired, or a stop / idle / deadlock.
   * Interrupts are taken between blocks and after every system instruction.
   */
  run(maxInsns: number, deadlineNs = Infinity): RunReason {
    this.stopRequested = false;
    this.debugEvent = '';
    if (this.dbgStopNow) { this.dbgStopNow = false; this.debugEvent = 'request'; return 'debug'; }
    // A host's time slice: compiled loops stop at the earlier of this and the timer deadline.
    const dl = deadlineNs === Infinity ? Infinity : Math.ceil((deadlineNs - this.idleNs) * this.freqHz / 1e9);
    if (dl !== this.hostDeadlineCycles) {
      this.hostDeadlineCycles = dl;
      this.updateTimer();
    }
    const target = this.instret + maxInsns;
    const XL = this.XL, XH = this.XH, XO = this.XO;
    let prev: Block | undefined, prevExit = -1;
    for (;;) {
      if (this.stopRequested) return this.debugEvent !== '' ? 'debug' : 'stopped';
      if (this.cycles >= this.cycleLimit) {
        this.updateTimer();
        if (this.cycles >= this.hostDeadlineCycles) return 'deadline';
      }
      if (this.irqDirty) {
        this.irqDirty = false;
        if (this.takeInterrupt()) { prev = undefined; if (this.trapStorm()) return 'trap-loop'; continue; }
      }
      if (this.waiting) {
        prev = undefined;
        const r = this.idle();
        if (r !== undefined) return r;
        continue;
      }
      let remaining = target - this.instret;
      if (remaining <= 0) return 'budget';
      if (this.traceHook !== undefined) { this.stepTraced(); continue; }

      // fetch: exec TLB, then the block cache
      const pcLo = this.pcLo, pcHi = this.pcHi;
      const ti = ((pcLo >>> 12) & this.tlbMask) + this.tlbBase;
      let off: number;
      if ((pcLo & -4096) === XL[ti] && pcHi === XH[ti]) off = (XO[ti]! + (pcLo & 4095)) >>> 0;
      else {
        off = this.fillExec(pcLo, pcHi);
        if (off < 0) {
          prev = undefined;
          this.tlbAcc++;
          this.trapNow(-off, pcLo, pcHi);
          if (this.trapStorm()) return 'trap-loop';
          continue;
        }
      }
      const page = this.pageBlocks[off >>> 12];
      const cached = page === undefined ? undefined : page[(off & 4095) >>> 2];
      let b: Block = cached !== undefined && cached.vpcLo === pcLo && cached.vpcHi === pcHi ? cached
        : this.midBlock > 0 ? this.stepBlock(off, pcLo, pcHi) : this.compile(off, pcLo, pcHi, this.maxBlock);
      if (prev !== undefined && prevExit >= 0) {
        if (prev.linkEpoch !== this.linkEpoch || prev.linkBank !== this.linkBank) {
          prev.links.fill(undefined); prev.linkEpoch = this.linkEpoch; prev.linkBank = this.linkBank;
        }
        prev.links[prevExit] = b;
      }
      prev = undefined;
      if (b.len > remaining) { b = this.stepBlock(off, pcLo, pcHi); if (this.midBlock === 0) this.midBlock = this.maxBlock; }
      const before = this.instret;
      if (b.fn === undefined) {
        this.midBlock = 0;
        if (b.bp) {
          // a debugger breakpoint: stop before it, or execute the instruction on its own
          if (this.breakHere(pcLo, pcHi)) return 'debug';
          this.execOne(off, pcLo, pcHi);
        } else {
          this.tlbAcc++; // its fetch (compiled blocks count their own)
          this.execSystem(b.insn);
        }
      } else {
        // run chained blocks while nothing needs the outer loop's attention
        for (;;) {
          const e = b.fn!(this, remaining > MAX_FN_BUDGET ? MAX_FN_BUDGET : remaining | 0, b.entry);
          // still inside a basic block after a single step (see midBlock)?
          if (this.midBlock > 0) this.midBlock = b.len === 1 && !isControl(decode(b.insn)) ? this.midBlock - 1 : 0;
          if (this.sx !== 0) {
            const sx = this.sx;
            this.sx = 0;
            if (sx === 1) { this.midBlock = 0; this.trapNow(this.excCause, this.excTvalLo, this.excTvalHi); }
            break;
          }
          if (this.cycles >= this.cycleLimit) break;
          remaining = target - this.instret;
          const nb: Block | undefined = b.linkEpoch === this.linkEpoch && b.linkBank === this.linkBank ? b.links[e] : undefined;
          if (nb === undefined || !nb.valid || nb.vpcLo !== this.pcLo || nb.vpcHi !== this.pcHi
            || nb.len > remaining || nb.fn === undefined) {
            prev = b; prevExit = e;
            break;
          }
          b = nb;
        }
      }
      if (this.instret !== before) this.trapsWithoutRetire = 0;
      else if (this.trapStorm()) return 'trap-loop';
    }
  }

  private trapStorm(): boolean {
    return ++this.trapsWithoutRetire > 100000;
  }

  private idle(): RunReason | undefined {
    this.updateTimer();
    if (this.wakeable()) { this.waiting = false; return undefined; }
    const wake = this.nextWakeNs();
    if (wake === Infinity) return this.platformInterrupts ? 'idle' : 'deadlock';
    if (this.idleMode === 'advance') { this.advanceIdle(Math.max(0, wake - this.timeNs())); return undefined; }
    return 'idle';
  }

  private stepTraced(): void {
    const pcLo = this.pcLo, pcHi = this.pcHi;
    let off = this.fillExec(pcLo, pcHi);
    if (off < 0) { this.tlbAcc++; this.trapNow(-off, pcLo, pcHi); return; }
    off >>>= 0;
    if (this.bps !== undefined && this.bps.has(pcHi * TWO32 + (pcLo >>> 0)) && this.breakHere(pcLo, pcHi)) {
      this.stopRequested = true; // run() returns 'debug'
      return;
    }
    const insn = this.mem.i32[off >>> 2]!;
    this.traceHook!(this.pc, insn >>> 0, this.lvl);
    this.execOne(off, pcLo, pcHi);
  }

  /** Execute the one instruction at host offset `off` (virtual pcLo/pcHi): retire it or trap. */
  private execOne(off: number, pcLo: number, pcHi: number): void {
    const b = this.stepBlock(off, pcLo, pcHi, true);
    if (b.fn === undefined) { this.tlbAcc++; this.execSystem(b.insn); }
    else {
      b.fn(this, 1, b.entry);
      if (this.sx !== 0) { const sx = this.sx; this.sx = 0; if (sx === 1) this.trapNow(this.excCause, this.excTvalLo, this.excTvalHi); }
    }
  }

  // =====================================================================================
  // Debugger support (the gdb stub)
  // =====================================================================================

  /** Install (or remove) the debugger hooks. Without hooks breakpoints and watchpoints never stop. */
  setDebugHooks(hooks: CpuDebugHooks | undefined): void { this.dbgHooks = hooks; }

  /**
   * Set the breakpoint addresses (signed-number VAs, like cpu.pc). Drops compiled code when the
   * set changes: blocks are recompiled so that every breakpoint starts a block of its own.
   */
  setBreakpoints(addrs: Iterable<number>): void {
    const next = new Set<number>();
    for (const a of addrs) next.add(a);
    const cur = this.bps;
    const same = cur === undefined ? next.size === 0 : cur.size === next.size && [...next].every((a) => cur.has(a));
    this.bps = next.size === 0 ? undefined : next;
    if (!same) this.flushCode();
  }

  /**
   * Set the watched ranges. Their pages lose their soft-TLB entries and never get new ones, so
   * every access to them takes the slow path, which checks the ranges. (The modelled TLB and its
   * statistics are untouched: the soft-TLB only caches it.)
   */
  setWatchpoints(list: readonly CpuWatchpoint[]): void {
    if (list.length === 0) { this.watches = undefined; this.watchPages = undefined; this.flushTlbQuiet(); return; }
    const pages = new Set<number>();
    for (const w of list) {
      if (!(w.len > 0)) throw new RangeError(`watchpoint length must be positive, got ${w.len}`);
      for (let p = Math.floor(w.addr / 4096); p <= Math.floor((w.addr + w.len - 1) / 4096); p++) pages.add(p);
    }
    this.watches = list.map((w) => ({ ...w }));
    this.watchPages = pages;
    this.flushTlbQuiet();
  }

  /** Drop the soft-TLB without counting a flush (a debugger action, not the guest's). */
  private flushTlbQuiet(): void {
    const n = this.stats.tlbFlushes;
    this.flushTlb();
    this.stats.tlbFlushes = n;
  }

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
  debugStep(irqs = false): RunReason {
    this.stopRequested = false;
    this.debugEvent = '';
    this.bpSkip = false;
    if (this.cycles >= this.cycleLimit) this.updateTimer();
    if ((irqs || this.waiting) && this.irqDirty) {
      this.irqDirty = false;
      if (this.takeInterrupt()) { this.debugEvent = 'step'; return 'debug'; }
    }
    if (this.waiting) {
      this.updateTimer();
      if (!this.wakeable()) return 'idle';
      this.waiting = false;
      this.irqDirty = false;
      if (this.takeInterrupt()) { this.debugEvent = 'step'; return 'debug'; }
    }
    const pcLo = this.pcLo, pcHi = this.pcHi;
    const ti = ((pcLo >>> 12) & this.tlbMask) + this.tlbBase;
    let off: number;
    if ((pcLo & -4096) === this.XL[ti] && pcHi === this.XH[ti]) off = (this.XO[ti]! + (pcLo & 4095)) >>> 0;
    else off = this.fillExec(pcLo, pcHi);
    if (off < 0) { this.tlbAcc++; this.trapNow(-off, pcLo, pcHi); }
    else this.execOne(off >>> 0, pcLo, pcHi);
    this.midBlock = 0;
    if (this.debugEvent === '') this.debugEvent = 'step';
    return 'debug';
  }

  /** At a breakpoint: pass it (resume / filtered by the hooks) or record the stop. */
  private breakHere(pcLo: number, pcHi: number): boolean {
    if (this.bpSkip && pcLo === this.bpSkipLo && pcHi === this.bpSkipHi) { this.bpSkip = false; return false; }
    const pc = pcHi * TWO32 + (pcLo >>> 0);
    const h = this.dbgHooks;
    if (h === undefined || !h.breakpoint(this, pc)) return false;
    this.debugEvent = 'break';
    this.debugAddr = pc;
    return true;
  }

  /** Slow path: is the virtual page of (lo, hi) watched? */
  private watchedPage(lo: number, hi: number): boolean {
    return this.watchPages !== undefined && this.watchPages.has(hi * 1048576 + (lo >>> 12));
  }

  /** Slow path, after an access of `size` bytes at (lo, hi): a watch hit stops after the instruction. */
  private watchAccess(lo: number, hi: number, size: number, kind: 0 | 1): void {
    const ws = this.watches;
    if (ws === undefined || this.dbgHooks === undefined) return;
    const a = hi * TWO32 + (lo >>> 0);
    for (const w of ws) {
      if (a < w.addr + w.len && w.addr < a + size && (kind === 0 ? w.read : w.write)) {
        if (!this.dbgHooks.watch(this, a, size, kind)) return;
        this.debugEvent = 'watch';
        this.debugAddr = Math.max(a, w.addr);
        this.debugAccess = kind === 0 ? 'r' : 'w';
        this.stopRequested = true;
        if (this.sx === 0) this.sx = 2; // leave the compiled block after this instruction
        return;
      }
    }
  }

  // ---- compilation ----

  /** Decode the basic block at host offset `off` (stops at a control instruction, before a system one, at the page end). */
  private scanBlock(off: number, max: number, bpOffs?: Set<number>): { words: number[]; sys: boolean; bp?: boolean } {
    const i32 = this.mem.i32;
    const words: number[] = [];
    const first = off >>> 2;
    const pageEnd = (((off >>> 12) + 1) << 10) >>> 0; // word index of the next page
    for (let i = 0; i < max && first + i < pageEnd; i++) {
      const w = i32[first + i]!;
      // a debugger breakpoint is a block of its own (the run loop dispatches it)
      if (bpOffs !== undefined && bpOffs.has(((off & 4095) + 4 * i) & 4095)) {
        return i === 0 ? { words: [w], sys: true, bp: true } : { words, sys: false };
      }
      const op = decode(w);
      if (isSystem(op)) return i === 0 ? { words: [w], sys: true } : { words, sys: false };
      words.push(w);
      if (isControl(op)) break;
    }
    return { words, sys: false };
  }

  /**
   * Compile the region entered at host offset `off` (virtual pcLo/pcHi): the entry block plus the
   * blocks reachable from it through constant jumps, branches and fall-throughs on the same page.
   */
  private compile(off: number, pcLo: number, pcHi: number, max: number): Block {
    const bpOffs = this.bps === undefined ? undefined : this.bpOffsets(pcLo & -4096, pcHi);
    const entry = this.scanBlock(off, max, bpOffs);
    let b: Block;
    if (entry.sys) {
      b = this.makeBlock([{ words: entry.words, pcLo, pcHi }], [off], true);
      b.bp = entry.bp === true;
    }
    else {
      const pageBase = off - (off & 4095);
      const regionPageLo = pcLo & -4096;
      const blocks: RegionBlock[] = [{ words: entry.words, pcLo, pcHi }];
      const offs = [off];
      const seen = new Set<number>([off & 4095]);
      let total = entry.words.length;
      for (let q = 0; q < blocks.length && blocks.length < this.maxRegionBlocks; q++) {
        const blk = blocks[q]!;
        const n = blk.words.length;
        const lastW = blk.words[n - 1]!, op = decode(lastW);
        const lastPo = (offs[q]! & 4095) + 4 * (n - 1);
        const succ: number[] = [];
        if (op >= Op.BEQ && op <= Op.BGEU) succ.push(lastPo + immB(lastW), lastPo + 4);
        else if (op === Op.JAL) succ.push(lastPo + immJ(lastW));
        else if (op !== Op.JALR) succ.push(lastPo + 4);
        for (const po of succ) {
          if (po < 0 || po >= 4096 || (po & 3) !== 0 || seen.has(po)) continue;
          seen.add(po);
          const sb = this.scanBlock(pageBase + po, max, bpOffs);
          if (sb.sys || sb.words.length === 0 || total + sb.words.length > this.maxRegionInsns) continue;
          total += sb.words.length;
          blocks.push({ words: sb.words, pcLo: (regionPageLo + po) | 0, pcHi });
          offs.push(pageBase + po);
        }
      }
      b = this.makeBlock(blocks, offs, false);
      // The region's other blocks become entry points of the same function: a slice that ends
      // (budget / cycle limit) inside a region resumes in it instead of compiling (and warming
      // up) a new overlapping region at that PC.
      const pb = this.pageBlocks[off >>> 12] ??= new Array(1024);
      for (let i = 1; i < blocks.length; i++) {
        const k = (offs[i]! & 4095) >>> 2;
        if (pb[k] === undefined || !pb[k]!.valid) pb[k] = this.newBlock(b.fn, i, blocks[i]!, b.links.length);
      }
    }
    const pg = off >>> 12;
    (this.pageBlocks[pg] ??= new Array(1024))[(off & 4095) >>> 2] = b;
    this.codePages.add(pg);
    return b;
  }

  /** Page offsets of the breakpoints on the virtual page at (pageLo, hi), or undefined when none. */
  private bpOffsets(pageLo: number, hi: number): Set<number> | undefined {
    let r: Set<number> | undefined;
    const base = hi * TWO32 + (pageLo >>> 0);
    for (const a of this.bps!) if (a >= base && a < base + 4096) (r ??= new Set()).add(a - base);
    return r;
  }

  /** The single-instruction block at `off`; `raw`: never a breakpoint block (to execute it). */
  private stepBlock(off: number, pcLo: number, pcHi: number, raw = false): Block {
    if (!raw && this.bps !== undefined && this.bps.has(pcHi * TWO32 + (pcLo >>> 0))) {
      const bb = this.newBlock(undefined, 0, { words: [this.mem.i32[off >>> 2]!], pcLo, pcHi }, 0);
      bb.bp = true;
      return bb;
    }
    const pg = off >>> 12;
    const arr = this.stepBlocks[pg];
    const b0 = arr === undefined ? undefined : arr[(off & 4095) >>> 2];
    if (b0 !== undefined && b0.vpcLo === pcLo && b0.vpcHi === pcHi) return b0;
    const w = this.mem.i32[off >>> 2]!;
    const b = this.makeBlock([{ words: [w], pcLo, pcHi }], [off], isSystem(decode(w)));
    (this.stepBlocks[pg] ??= new Array(1024))[(off & 4095) >>> 2] = b;
    this.codePages.add(pg);
    return b;
  }

  private makeBlock(blocks: RegionBlock[], offs: number[], sys: boolean): Block {
    blocks.forEach((blk, i) => this.markCode(offs[i]!, blk.words.length * 4));
    this.stats.blocksCompiled++;
    if (sys) return this.newBlock(undefined, 0, blocks[0]!, 0);
    const src = generateRegion(blocks, this.tlbMask, this.cost, this.mmuCtl !== undefined);
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const factory = new Function(...GEN_PARAMS, `return function blk(cpu,budget,st){${src.body}\n};`) as
      (...a: unknown[]) => BlockFn;
    return this.newBlock(factory(...this.genArgs), 0, blocks[0]!, src.exits);
  }

  /** A block-cache entry (one object shape for all). */
  private newBlock(fn: BlockFn | undefined, entry: number, blk: RegionBlock, exits: number): Block {
    return {
      fn, entry, len: blk.words.length, vpcLo: blk.pcLo, vpcHi: blk.pcHi, insn: blk.words[0]!, valid: true, bp: false,
      links: new Array<Block | undefined>(exits).fill(undefined), linkEpoch: this.linkEpoch, linkBank: this.linkBank,
    };
  }

  /** Record code at host [off, off+len) and keep write-TLB entries off that page. */
  private markCode(off: number, len: number): void {
    const pg = off >>> 12;
    const mask = this.mem.codeMask;
    const bits = chunkMask(off & 4095, len);
    if ((mask[pg]! & bits) === bits) return;
    const wasCode = mask[pg] !== 0;
    mask[pg]! |= bits;
    if (!wasCode) {
      // evict write-TLB entries that map this host page
      const WL = this.WL, WO = this.WO, pageOff = (pg << PAGE_SHIFT) | 0;
      for (let i = 0; i < WL.length; i++) if (WL[i] !== TLB_INVALID && WO[i] === pageOff) WL[i] = TLB_INVALID;
    }
  }

  // ---- TLB fill / slow paths ----

  private xlate(lo: number, hi: number, access: Access): number {
    this.stats.tlbMisses++;
    const r = this.translator.translate(lo, hi, access, this.lvl);
    const m = this.mmuCtl;
    if (m !== undefined) this.cycles += m.lastCycles;
    return r;
  }

  /** Translate a fetch and fill the exec TLB. Returns host offset or -cause. */
  private fillExec(lo: number, hi: number): number {
    const off = this.xlate(lo, hi, Access.EXEC);
    if (off < 0) { this.setGuestPageTval(-off); return off; }
    const i = ((lo >>> 12) & this.tlbMask) + this.tlbBase;
    this.XL[i] = lo & -4096; this.XH[i] = hi; this.XO[i] = (off - (lo & 4095)) | 0;
    this.execPages[(lo >>> 12) & 4095] = 1;
    return off;
  }

  private recordFault(cause: number, lo: number, hi: number): void {
    this.excCause = cause; this.excTvalLo = lo; this.excTvalHi = hi; this.sx = 1;
    this.setGuestPageTval(cause);
  }

  /** For a guest-page fault (20/21/23): p1tval2 <- the translator's faulting GPA. */
  private setGuestPageTval(cause: number): void {
    if (cause === 20 || cause === 21 || cause === 23) {
      this.r64Set(R64.p1tval2, this.translator.faultGpaLo ?? 0, this.translator.faultGpaHi ?? 0);
    }
  }

  /** Called by generated code for a misaligned jump target. */
  fault(cause: number, lo: number, hi: number): void { this.recordFault(cause, lo, hi); }

  /**
   * Translate [addr, addr+size) for access; returns host offset of the first byte, or -1 after
   * recording the fault. For an access crossing a page, `this.off2` gets the host offset of the
   * second page's first byte.
   */
  private off2 = 0;
  private access(lo: number, hi: number, size: number, acc: Access): number {
    const r = this.xlate(lo, hi, acc);
    if (r < 0) { this.recordFault(-r, lo, hi); return -1; }
    if ((lo & 4095) + size > 4096) {
      const nlo = ((lo & -4096) + 4096) | 0;
      const nhi = (hi + (nlo === 0 ? 1 : 0)) | 0;
      this.tlbAcc++; // the second page is a second lookup
      const r2 = this.xlate(nlo, nhi, acc);
      if (r2 < 0) { this.recordFault(-r2, lo, hi); return -1; }
      this.off2 = r2;
    }
    return r;
  }

  /** Slow-path load (TLB miss, misaligned). Returns low half; high half in rhi; sx=1 on fault. */
  ld(lo: number, hi: number, op: number): number {
    const size = op === Op.LB || op === Op.LBU ? 1 : op === Op.LH || op === Op.LHU ? 2 : op === Op.LD ? 8 : 4;
    const off = this.access(lo, hi, size, Access.READ);
    if (off < 0) return 0;
    const po = lo & 4095;
    let vlo: number, vhi: number;
    if (po + size <= 4096) {
      if ((lo & (size - 1)) === 0) {
        if (!this.watchedPage(lo, hi)) {
          const i = ((lo >>> 12) & this.tlbMask) + this.tlbBase;
          this.RL[i] = lo & -4096; this.RH[i] = hi; this.RO[i] = (off - po) | 0;
        }
      } else this.cycles += this.cost.misaligned;
      const dv = this.mem.view;
      switch (size) {
        case 1: vlo = this.mem.u8[off]!; vhi = 0; break;
        case 2: vlo = dv.getUint16(off, true); vhi = 0; break;
        case 4: vlo = dv.getInt32(off, true); vhi = 0; break;
        default: vlo = dv.getInt32(off, true); vhi = dv.getInt32(off + 4, true);
      }
    } else {
      this.cycles += this.cost.misaligned;
      const u8 = this.mem.u8;
      const n1 = 4096 - po;
      vlo = 0; vhi = 0;
      for (let k = size - 1; k >= 0; k--) {
        const byte = k < n1 ? u8[off + k]! : u8[this.off2 + k - n1]!;
        vhi = (vhi << 8) | (vlo >>> 24);
        vlo = (vlo << 8) | byte;
      }
      if (size < 8) vhi = 0;
    }
    switch (op) {
      case Op.LB: vlo = (vlo << 24) >> 24; vhi = vlo >> 31; break;
      case Op.LH: vlo = (vlo << 16) >> 16; vhi = vlo >> 31; break;
      case Op.LW: vlo |= 0; vhi = vlo >> 31; break;
      case Op.LWU: vlo |= 0; vhi = 0; break;
      default: vlo |= 0;
    }
    this.rhi = vhi;
    if (this.watches !== undefined) this.watchAccess(lo, hi, size, 0);
    return vlo;
  }

  /** Slow-path store. sx=1 on fault (nothing written), sx=2 when it overwrote compiled code. */
  st(lo: number, hi: number, vlo: number, vhi: number, op: number): void {
    const size = op === Op.SB ? 1 : op === Op.SH ? 2 : op === Op.SW ? 4 : 8;
    const off = this.access(lo, hi, size, Access.WRITE);
    if (off < 0) return;
    const po = lo & 4095;
    if (po + size <= 4096) {
      this.checkCode(off, size);
      const dv = this.mem.view;
      switch (size) {
        case 1: this.mem.u8[off] = vlo; break;
        case 2: dv.setUint16(off, vlo & 0xffff, true); break;
        case 4: dv.setInt32(off, vlo, true); break;
        default: dv.setInt32(off, vlo, true); dv.setInt32(off + 4, vhi, true);
      }
      if ((lo & (size - 1)) === 0) {
        if (this.mem.codeMask[off >>> 12] === 0 && !this.watchedPage(lo, hi)) {
          const i = ((lo >>> 12) & this.tlbMask) + this.tlbBase;
          this.WL[i] = lo & -4096; this.WH[i] = hi; this.WO[i] = (off - po) | 0;
        }
      } else this.cycles += this.cost.misaligned;
    } else {
      this.cycles += this.cost.misaligned;
      const n1 = 4096 - po;
      this.checkCode(off, n1);
      this.checkCode(this.off2, size - n1);
      const u8 = this.mem.u8;
      let l = vlo, h = vhi;
      for (let k = 0; k < size; k++) {
        if (k < n1) u8[off + k] = l & 255; else u8[this.off2 + k - n1] = l & 255;
        l = (l >>> 8) | (h << 24); h >>>= 8;
      }
    }
    if (this.watches !== undefined) this.watchAccess(lo, hi, size, 1);
  }

  /** A CPU store is about to write host [off, off+len) (within one page). */
  private checkCode(off: number, len: number): void {
    const pg = off >>> 12;
    const m = this.mem.codeMask[pg]!;
    if (m !== 0 && (m & chunkMask(off & 4095, len)) !== 0) {
      this.mem.invalidateCodePage(pg);
      this.sx = 2;
    }
  }

  /** LR / SC / AMO. Returns the old value (low half; high in rhi); sx=1 on fault, 2 on code hit. */
  amo(lo: number, hi: number, vlo: number, vhi: number, op: number): number {
    const isD = op >= Op.LR_D;
    const size = isD ? 8 : 4;
    const base = isD ? Op.LR_D : Op.LR_W;
    const kind = op - base; // 0 lr, 1 sc, 2 swap, 3 add, 4 xor, 5 and, 6 or, 7 min, 8 max, 9 minu, 10 maxu
    if ((lo & (size - 1)) !== 0) { this.recordFault(6, lo, hi); return 0; }
    this.tlbAcc++; // AMOs always translate (no soft-TLB fast path)
    const r = this.xlate(lo, hi, kind === 0 ? Access.READ : Access.WRITE);
    if (r < 0) { this.recordFault(-r, lo, hi); return 0; }
    const i32 = this.mem.i32;
    const wi = r >>> 2;
    const olo = i32[wi]!;
    const ohi = isD ? i32[wi + 1]! : olo >> 31;
    if (this.watches !== undefined) this.watchAccess(lo, hi, size, kind === 0 ? 0 : 1);
    if (kind === 0) {
      this.resValid = true; this.resOff = r; this.resSize = size; this.resLo = olo; this.resHi = isD ? ohi : 0;
      this.rhi = ohi; return olo;
    }
    if (kind === 1) {
      const ok = this.resValid && this.resOff === r && this.resSize === size && this.resLo === olo
        && (!isD || this.resHi === ohi);
      this.resValid = false;
      if (!ok) { this.rhi = 0; return 1; }
      this.checkCode(r, size);
      i32[wi] = vlo; if (isD) i32[wi + 1] = vhi;
      this.rhi = 0; return 0;
    }
    let nlo: number, nhi: number;
    if (!isD) vhi = vlo >> 31;
    switch (kind) {
      case 2: nlo = vlo; nhi = vhi; break;
      case 3: nlo = (olo + vlo) | 0; nhi = (ohi + vhi + ((nlo >>> 0) < (olo >>> 0) ? 1 : 0)) | 0; break;
      case 4: nlo = olo ^ vlo; nhi = ohi ^ vhi; break;
      case 5: nlo = olo & vlo; nhi = ohi & vhi; break;
      case 6: nlo = olo | vlo; nhi = ohi | vhi; break;
      default: {
        const lt = kind === 7 || kind === 8
          ? (ohi < vhi || (ohi === vhi && (olo >>> 0) < (vlo >>> 0)))
          : ((ohi >>> 0) < (vhi >>> 0) || (ohi === vhi && (olo >>> 0) < (vlo >>> 0)));
        const takeOld = (kind === 7 || kind === 9) ? lt : !lt;
        if (takeOld) { nlo = olo; nhi = ohi; } else { nlo = vlo; nhi = vhi; }
      }
    }
    this.checkCode(r, size);
    i32[wi] = nlo; if (isD) i32[wi + 1] = nhi;
    this.rhi = ohi;
    return olo;
  }

  // =====================================================================================
  // System instructions
  // =====================================================================================

  private retire(cycles: number): void {
    this.instret++;
    this.cycles += cycles;
    if (this.pcLo === -4) this.pcHi = (this.pcHi + 1) | 0;
    this.pcLo = (this.pcLo + 4) | 0;
  }

  /** Execute one system instruction at the current PC (retire or trap). */
  execSystem(insn: number): void {
    const op = decode(insn);
    const lvl = this.lvl;
    const legacy = this.variant === 'legacy-silent';
    switch (op) {
      case Op.ECALL: this.cycles += this.cost.system; this.trapNow(11 - lvl, 0, 0); return;
      case Op.EBREAK: this.cycles += this.cost.system; this.trapNow(3, 0, 0); return;
      case Op.FENCE_I: this.flushCode(); this.retire(this.cost.fenceI); return;
      case Op.SFENCE_VMA:
        if (lvl === 3) { this.trapNow(2, insn, 0); return; }
        if (this.mmuCtl === undefined) this.flushTlb();
        else {
          // The MMU drops the matching modelled entries and, through invalidatePage/All, the
          // soft-TLB pages they cover (the soft-TLB only holds pages of the modelled TLB).
          const r1 = fRs1(insn), r2 = fRs2(insn);
          this.mmuCtl.sfenceVma(this.x[2 * r1]!, this.x[2 * r1 + 1]!, this.x[2 * r2]! & 0xffff, r1 === 0, r2 === 0);
        }
        this.retire(this.cost.system); return;
      case Op.WFI: {
        let force = -1;
        if (lvl === 3) { this.trapNow(2, insn, 0); return; }
        if (lvl === 2) {
          if (this.mstatus & ST_TW) force = 0; else if (this.p1status & ST_TW) force = 1;
          if (force >= 0) {
            if (legacy) { this.retire(this.cost.system); return; }
            this.trap(22, false, insn, 0, this.pcLo, this.pcHi, force); return;
          }
        } else if (lvl === 1 && (this.mstatus & ST_TW)) { this.trap(2, false, insn, 0, this.pcLo, this.pcHi, 0); return; }
        this.retire(this.cost.system);
        this.updateTimer();
        if (!this.wakeable()) this.waiting = true;
        return;
      }
      case Op.SRET: case Op.HRET: case Op.MRET: {
        const bank = 2 - RETURN_OPS.indexOf(op); // sret -> 2, hret -> 1, mret -> 0
        if (lvl > bank) {
          if (lvl === 3) { this.trapNow(2, insn, 0); return; }
          if (lvl === 2) {
            if (legacy) { this.retire(this.cost.trapReturn); return; }
            this.trapNow(22, insn, 0); return;
          }
          this.trapNow(2, insn, 0); return;
        }
        this.instret++;
        this.cycles += this.cost.trapReturn;
        this.xret(bank);
        return;
      }
      case Op.CSRRW: case Op.CSRRS: case Op.CSRRC: case Op.CSRRWI: case Op.CSRRSI: case Op.CSRRCI:
        this.execCsr(insn, op, legacy);
        return;
      default:
        this.trapNow(2, insn, 0);
    }
  }

  private execCsr(insn: number, op: number, legacy: boolean): void {
    const n = csrNum(insn), d = fRd(insn), src = fRs1(insn);
    const lvl = this.lvl;
    const imm = op >= Op.CSRRWI;
    const kind = imm ? op - Op.CSRRWI : op - Op.CSRRW; // 0 write, 1 set, 2 clear
    const writes = kind === 0 || src !== 0;
    const reads = !(kind === 0 && d === 0);
    if (!CSR_NUMBERS.has(n)) { this.trapNow(2, insn, 0); return; }
    const need = 3 - ((n >>> 8) & 3);
    let silent = false;
    if (lvl > need) {
      if (lvl === 2 && legacy) silent = true;
      else { this.trapNow(lvl === 2 ? 22 : 2, insn, 0); return; }
    }
    if (writes && (n >>> 10) === 3 && !silent) { this.trapNow(2, insn, 0); return; }
    if (n >= CSR.cycle && n <= CSR.instret && lvl >= 1) {
      const bit = 1 << (n - CSR.cycle);
      const ok = (this.mcounteren & bit) !== 0 && (lvl < 2 || (this.p1counteren & bit) !== 0)
        && (lvl < 3 || (this.scounteren & bit) !== 0);
      if (!ok) { this.trapNow(lvl === 2 ? 22 : 2, insn, 0); return; }
    }
    let olo = 0, ohi = 0;
    if (reads || kind !== 0) { olo = this.csrRead(n); ohi = this.csrHi; }
    if (writes && !silent) {
      let slo: number, shi: number;
      if (imm) { slo = src; shi = 0; } else { slo = this.x[2 * src]!; shi = this.x[2 * src + 1]!; if (src === 0) { slo = 0; shi = 0; } }
      let nlo: number, nhi: number;
      if (kind === 0) { nlo = slo; nhi = shi; } else if (kind === 1) { nlo = olo | slo; nhi = ohi | shi; } else { nlo = olo & ~slo; nhi = ohi & ~shi; }
      this.csrWrite(n, nlo, nhi);
    }
    if (d !== 0) { this.x[2 * d] = olo; this.x[2 * d + 1] = ohi; }
    this.retire(this.cost.csr);
    this.irqDirty = true;
  }

  /** High half of the last csrRead. */
  private csrHi = 0;

  private csrRead(n: number): number {
    this.csrHi = 0;
    switch (n) {
      case CSR.sstatus: this.csrHi = SST_HI; return this.sstatus;
      case CSR.mstatus: return this.mstatus;
      case CSR.p1status: return this.p1status;
      case CSR.medeleg: return this.medeleg;
      case CSR.mideleg: return this.mideleg;
      case CSR.p1edeleg: return this.p1edeleg;
      case CSR.p1ideleg: return this.p1ideleg;
      case CSR.mie: return this.mie;
      case CSR.p1ie: return this.p1ie;
      case CSR.sie: return this.sie;
      case CSR.mcounteren: return this.mcounteren;
      case CSR.p1counteren: return this.p1counteren;
      case CSR.scounteren: return this.scounteren;
      case CSR.mip: return this.pendingBits() & IRQ_VISIBLE[0];
      case CSR.p1ip: return this.pendingBits() & IRQ_VISIBLE[1];
      case CSR.sip: return this.pendingBits() & IRQ_VISIBLE[2];
      case CSR.mhartid: return this.hartId;
      case CSR.cycle: return this.numSplit(this.cycles);
      case CSR.instret: return this.numSplit(this.instret);
      case CSR.time: {
        const t = Math.floor(this.timeNs());
        let lo = t | 0, hi = Math.floor(t / TWO32) | 0;
        if (this.lvl >= 2) {
          const dl = this.r64[2 * R64.p1timedelta]!, dh = this.r64[2 * R64.p1timedelta + 1]!;
          const s = (lo >>> 0) + (dl >>> 0);
          lo = s | 0; hi = (hi + dh + (s >= TWO32 ? 1 : 0)) | 0;
        }
        this.csrHi = hi; return lo;
      }
      default: {
        const idx = R64_OF[n];
        if (idx === undefined) throw new Error(`csrRead: unhandled CSR 0x${n.toString(16)}`);
        this.csrHi = this.r64[2 * idx + 1]!;
        return this.r64[2 * idx]!;
      }
    }
  }

  private numSplit(v: number): number { this.csrHi = Math.floor(v / TWO32) | 0; return v | 0; }

  private csrWrite(n: number, lo: number, hi: number): void {
    this.irqDirty = true;
    switch (n) {
      case CSR.sstatus: this.sstatus = lo & SST_WMASK; this.mmuCtl?.writeSstatus(this.sstatus); return;
      case CSR.mstatus: this.mstatus = lo & ST_WMASK; return;
      case CSR.p1status: this.p1status = lo & ST_WMASK; return;
      case CSR.medeleg: this.medeleg = lo & EDELEG_MASK; return;
      case CSR.p1edeleg: this.p1edeleg = lo & EDELEG_MASK; return;
      case CSR.mideleg: this.mideleg = lo & MIDELEG_MASK; return;
      case CSR.p1ideleg: this.p1ideleg = lo & P1IDELEG_MASK; return;
      case CSR.mie: this.mie = lo & IRQ_VISIBLE[0]; return;
      case CSR.p1ie: this.p1ie = lo & IRQ_VISIBLE[1]; return;
      case CSR.sie: this.sie = lo & IRQ_VISIBLE[2]; return;
      case CSR.mcounteren: this.mcounteren = lo & 7; return;
      case CSR.p1counteren: this.p1counteren = lo & 7; return;
      case CSR.scounteren: this.scounteren = lo & 7; return;
      case CSR.mip: this.writeIp(0, lo); return;
      case CSR.p1ip: this.writeIp(1, lo); return;
      case CSR.sip: this.writeIp(2, lo); return;
      case CSR.mhartid: case CSR.cycle: case CSR.time: case CSR.instret: return; // read-only
      case CSR.mtvec: case CSR.p1tvec: case CSR.stvec:
        this.r64Set(R64_OF[n]!, lo & ~2, hi); return; // mode bit 1 is reserved (reads 0)
      case CSR.mepc: case CSR.p1epc: case CSR.sepc:
        this.r64Set(R64_OF[n]!, lo & ~3, hi); return;
      case CSR.satp: case CSR.p1gatp: {
        const m = this.mmuCtl;
        if (m === undefined) {
          if ((hi >>> 28) !== 0) return; // without an MMU only MODE 0 (Bare): WARL, write ignored
          this.r64Set(R64_OF[n]!, lo, hi); return;
        }
        this.syncMmuStats(); // hits so far belong to the old address space / VMID
        if (n === CSR.satp) { if (m.writeSatp(lo, hi)) this.r64Set(R64.satp, m.satpLo, m.satpHi); }
        else if (m.writeP1gatp(lo, hi)) this.r64Set(R64.p1gatp, m.p1gatpLo, m.p1gatpHi);
        return;
      }
      case CSR.stimecmp: case CSR.p1timedelta:
        this.r64Set(R64_OF[n]!, lo, hi);
        this.stip = false;
        this.recomputeTimer();
        return;
      default: {
        const idx = R64_OF[n];
        if (idx === undefined) throw new Error(`csrWrite: unhandled CSR 0x${n.toString(16)}`);
        this.r64Set(idx, lo, hi);
      }
    }
  }

  private r64Set(idx: number, lo: number, hi: number): void { this.r64[2 * idx] = lo; this.r64[2 * idx + 1] = hi; }

  private writeIp(level: 0 | 1 | 2, v: number): void {
    const m = IP_WRITABLE[level];
    this.ipSoft = (this.ipSoft & ~m) | (v & m);
  }

  private pendingBits(): number {
    return this.ipSoft | this.ipLines | (this.stip ? 1 << 5 : 0);
  }

  // ---- timer ----

  private recomputeTimer(): void {
    const cl = this.r64[2 * R64.stimecmp]!, ch = this.r64[2 * R64.stimecmp + 1]!;
    const dl = this.r64[2 * R64.p1timedelta]!, dh = this.r64[2 * R64.p1timedelta + 1]!;
    const cmp = (ch >>> 0) * TWO32 + (cl >>> 0);
    if (cmp >= 2 ** 53) this.timerDeadlineNs = Infinity;
    else this.timerDeadlineNs = cmp - (dh * TWO32 + (dl >>> 0));
    this.updateTimer();
  }

  /** Refresh STIP from the current time and the cycle limit for compiled loops. */
  private updateTimer(): void {
    const d = this.timerDeadlineNs;
    if (!this.stip && d !== Infinity && this.timeNs() >= d) { this.stip = true; this.irqDirty = true; }
    if (this.stip || d === Infinity) this.cycleLimit = Infinity;
    else this.cycleLimit = Math.max(this.cycles, Math.ceil((d - this.idleNs) * this.freqHz / 1e9));
    if (this.hostDeadlineCycles < this.cycleLimit) this.cycleLimit = this.hostDeadlineCycles;
  }

  // ---- interrupts ----

  private irqTarget(code: number): number {
    const bit = 1 << code;
    if ((this.mideleg & bit) === 0) return 0;
    return (this.p1ideleg & bit) === 0 ? 1 : 2;
  }

  private ieOf(level: number): number { return level === 0 ? this.mie : level === 1 ? this.p1ie : this.sie; }

  private irqEnabledAtTarget(code: number): boolean {
    return (this.ieOf(this.irqTarget(code)) & (1 << code)) !== 0;
  }

  /** Some interrupt is pending and enabled in its target level's ie (ignoring global enables). */
  private wakeable(): boolean {
    const p = this.pendingBits();
    if (p === 0) return false;
    for (const code of IRQ_PRIORITY) if ((p & (1 << code)) !== 0 && this.irqEnabledAtTarget(code)) return true;
    return false;
  }

  private globalIe(level: number): boolean {
    return level === 0 ? (this.mstatus & ST_IE) !== 0 : level === 1 ? (this.p1status & ST_IE) !== 0 : (this.sstatus & SST_SIE) !== 0;
  }

  /** Take the highest-priority takeable interrupt, if any. */
  private takeInterrupt(): boolean {
    const p = this.pendingBits();
    if (p === 0) return false;
    let best = -1, bestT = 4;
    const cur = this.lvl;
    for (const code of IRQ_PRIORITY) {
      if ((p & (1 << code)) === 0) continue;
      const t = this.irqTarget(code);
      if (t >= bestT) continue;
      if ((this.ieOf(t) & (1 << code)) === 0) continue;
      if (cur > t || (cur === t && this.globalIe(t))) { best = code; bestT = t; }
    }
    if (best < 0) return false;
    this.waiting = false;
    this.trap(best, true, 0, 0, this.pcLo, this.pcHi, bestT);
    return true;
  }

  // ---- traps ----

  /** Raise exception `cause` at the current PC with the given tval. */
  private trapNow(cause: number, tvalLo: number, tvalHi: number): void {
    this.trap(cause, false, tvalLo, tvalHi, this.pcLo, this.pcHi, -1);
  }

  private exceptionTarget(cause: number, cur: number): number {
    const bit = 1 << cause;
    if (cur >= 1 && (this.medeleg & bit) !== 0) {
      if (cur >= 2 && (this.p1edeleg & bit) !== 0) return 2;
      return 1;
    }
    return 0;
  }

  /** Architectural trap entry; then the TS handler of the target level, if any. */
  private trap(code: number, isInt: boolean, tvalLo: number, tvalHi: number, epcLo: number, epcHi: number,
    forceTarget: number, from = this.lvl): void {
    const t = forceTarget >= 0 ? forceTarget : this.exceptionTarget(code, from);
    if (isInt) this.stats.interrupts[code]!++; else this.stats.exceptions[code]!++;
    this.resValid = false;
    this.cycles += this.cost.trapEntry;
    const causeHi = isInt ? -2147483648 : 0;
    if (t === 2) {
      this.r64Set(R64.sepc, epcLo, epcHi); this.r64Set(R64.scause, code, causeHi); this.r64Set(R64.stval, tvalLo, tvalHi);
      let s = this.sstatus;
      s = (s & ~SST_SPIE) | ((s & SST_SIE) !== 0 ? SST_SPIE : 0);
      s &= ~SST_SIE;
      s = (s & ~SST_SPP) | (from === 2 ? SST_SPP : 0);
      this.sstatus = s;
      this.mmuCtl?.writeSstatus(s);
    } else {
      const b = t === 0 ? 0 : 1;
      this.r64Set(b === 0 ? R64.mepc : R64.p1epc, epcLo, epcHi);
      this.r64Set(b === 0 ? R64.mcause : R64.p1cause, code, causeHi);
      this.r64Set(b === 0 ? R64.mtval : R64.p1tval, tvalLo, tvalHi);
      let s = b === 0 ? this.mstatus : this.p1status;
      s = (s & ~ST_PIE) | ((s & ST_IE) !== 0 ? ST_PIE : 0);
      s &= ~ST_IE;
      s = (s & ~ST_PPL) | (from << ST_PPL_SHIFT);
      if (b === 0) this.mstatus = s; else this.p1status = s;
    }
    this.setLevel(t);
    this.midBlock = 0;
    const tv = t === 0 ? R64.mtvec : t === 1 ? R64.p1tvec : R64.stvec;
    let tlo = this.r64[2 * tv]!, thi = this.r64[2 * tv + 1]!;
    const mode = tlo & 3;
    tlo &= ~3;
    if (mode === 1 && isInt) { const s = (tlo >>> 0) + 4 * code; tlo = s | 0; if (s >= TWO32) thi = (thi + 1) | 0; }
    this.pcLo = tlo; this.pcHi = thi;
    this.irqDirty = true;
    if (t === 2 && this.dbgHooks !== undefined && this.dbgHooks.trap !== undefined && this.dbgHooks.trap(this, code, isInt)) {
      this.debugEvent = 'trap';
      this.stopRequested = true; // run() returns 'debug' at the handler's first instruction
    }
    if (t <= 1) {
      const h = this.handlers[t];
      if (h !== undefined) {
        h(this, code, isInt, tvalHi * TWO32 + (tvalLo >>> 0), epcHi * TWO32 + (epcLo >>> 0));
      }
    }
  }

  private setLevel(l: number): void {
    if (l !== this.lvl && this.mmuCtl !== undefined) this.syncMmuStats(); // hits so far were made at the old level
    this.lvl = l;
    this.tlbBase = l * this.tlbEntries;
    // Chained links assume the same translation: one set per level's bank (the bare translator
    // is level-independent). Translation changes within a level bump linkEpoch (flushTlb,
    // invalidatePage), so a level change needs no epoch bump.
    this.linkBank = this.translator instanceof BareTranslator ? 0 : this.tlbBase;
    this.irqDirty = true;
  }

  /** Return from a trap using bank `bank` (0 = mret, 1 = hret, 2 = sret). */
  private xret(bank: number): void {
    this.resValid = false;
    let target: number;
    if (bank === 2) {
      const s = this.sstatus;
      target = (s & SST_SPP) !== 0 ? 2 : 3;
      this.sstatus = ((s & ~(SST_SIE | SST_SPP)) | ((s & SST_SPIE) !== 0 ? SST_SIE : 0)) | SST_SPIE;
      this.mmuCtl?.writeSstatus(this.sstatus);
      this.pcLo = this.r64[2 * R64.sepc]!; this.pcHi = this.r64[2 * R64.sepc + 1]!;
    } else {
      const s = bank === 0 ? this.mstatus : this.p1status;
      target = (s & ST_PPL) >>> ST_PPL_SHIFT;
      if (target < bank) target = bank;
      const ns = ((s & ~(ST_IE | ST_PPL)) | ((s & ST_PIE) !== 0 ? ST_IE : 0)) | ST_PIE | (3 << ST_PPL_SHIFT);
      const e = bank === 0 ? R64.mepc : R64.p1epc;
      if (bank === 0) this.mstatus = ns; else this.p1status = ns;
      this.pcLo = this.r64[2 * e]!; this.pcHi = this.r64[2 * e + 1]!;
    }
    this.setLevel(target);
  }

  // ---- API for TypeScript trap handlers ----

  /** Return from the trap in progress at `level` (0: like mret, 1: like hret). */
  returnFromTrap(level: 0 | 1): void { this.cycles += this.cost.trapReturn; this.xret(level); }

  /**
   * The trapped instruction was emulated by the handler at `level`: count it as retired (once),
   * resume after it (epc + 4) and return from the trap.
   */
  completeEmulated(level: 0 | 1): void {
    this.instret++;
    this.trapsWithoutRetire = 0;
    this.cycles += this.cost.base;
    const e = level === 0 ? R64.mepc : R64.p1epc;
    const lo = this.r64[2 * e]!, hi = this.r64[2 * e + 1]!;
    this.r64Set(e, (lo + 4) | 0, lo === -4 ? (hi + 1) | 0 : hi);
    this.returnFromTrap(level);
  }

  /**
   * The handler at `level` made progress on the trapped instruction but did not finish it (a
   * preempted hypercall, Xen's hypercall continuation): return to it so that it executes again.
   * Nothing retires, but this is not a trap storm.
   */
  restartTrapped(level: 0 | 1): void {
    this.trapsWithoutRetire = 0;
    this.returnFromTrap(level);
  }

  /**
   * From a TS handler running at level L: unwind L's trap (restore its IE from PIE, level <- the
   * level it trapped from) and enter `targetLevel` exactly like a hardware trap taken there from
   * that level, with the given cause / tval / epc.
   */
  injectTrap(targetLevel: 0 | 1 | 2 = 2, cause: number, tval: number, epc: number, isInterrupt = false): void {
    const L = this.lvl;
    if (L > 1) throw new Error(`injectTrap must be called from a PL0/PL1 trap handler (level is ${L})`);
    const s = L === 0 ? this.mstatus : this.p1status;
    let from = (s & ST_PPL) >>> ST_PPL_SHIFT;
    if (from < L) from = L;
    if (targetLevel > from) throw new Error(`injectTrap: PL${targetLevel} is less privileged than the trapped level PL${from}`);
    const ns = ((s & ~(ST_IE | ST_PPL)) | ((s & ST_PIE) !== 0 ? ST_IE : 0)) | ST_PIE | (3 << ST_PPL_SHIFT);
    if (L === 0) this.mstatus = ns; else this.p1status = ns;
    this.setLevel(from);
    this.trap(cause, isInterrupt, tval | 0, Math.floor(tval / TWO32) | 0, epc | 0, Math.floor(epc / TWO32) | 0, targetLevel, from);
  }
}

/** Indexes of the 64-bit CSRs in Cpu.r64. */
const R64 = {
  stvec: 0, sscratch: 1, sepc: 2, scause: 3, stval: 4, stimecmp: 5, satp: 6,
  p1tvec: 7, p1timedelta: 8, p1scratch: 9, p1epc: 10, p1cause: 11, p1tval: 12, p1tval2: 13, p1gatp: 14,
  mtvec: 15, mscratch: 16, mepc: 17, mcause: 18, mtval: 19,
} as const;
const R64_OF: Record<number, number> = {
  [CSR.stvec]: R64.stvec, [CSR.sscratch]: R64.sscratch, [CSR.sepc]: R64.sepc, [CSR.scause]: R64.scause,
  [CSR.stval]: R64.stval, [CSR.stimecmp]: R64.stimecmp, [CSR.satp]: R64.satp,
  [CSR.p1tvec]: R64.p1tvec, [CSR.p1timedelta]: R64.p1timedelta, [CSR.p1scratch]: R64.p1scratch,
  [CSR.p1epc]: R64.p1epc, [CSR.p1cause]: R64.p1cause, [CSR.p1tval]: R64.p1tval, [CSR.p1tval2]: R64.p1tval2,
  [CSR.p1gatp]: R64.p1gatp,
  [CSR.mtvec]: R64.mtvec, [CSR.mscratch]: R64.mscratch, [CSR.mepc]: R64.mepc, [CSR.mcause]: R64.mcause,
  [CSR.mtval]: R64.mtval,
};


