// The CPU's one shared state object (issue 9 §4). Every module of the engine (exec, blockcache,
// softmmu, context, priv, debug) is a set of functions over this state; Cpu (cpu.ts) extends it
// with the public API. All fields are created here, in one order, with one type each (V8 keeps
// one hidden class for every hart, so field access in the run loop, the slow paths and the
// generated code (codegen.ts reads x, pcLo/pcHi, sx, rhi, cycles, instret, cycleLimit, tlbBase,
// tlbAcc) stays monomorphic). Fields that were private to Cpu are internal: only src/cpu/ uses
// them.

import { makeCostModel, type CostModel } from './cost.js';
import { CSR } from './csr.js';
import { HI, mul64, mulh64, mulhsu64, mulhu64, div64, divu64, rem64, remu64 } from './int64.js';
import type { PhysMemory } from './memory.js';
import { BareTranslator, type TranslationControl, type Translator } from './translator.js';
import { sensitivePolicyOf, type SensitiveInstructionPolicy } from './sensitive.js';
import type { Cpu } from './cpu.js';
import { ENGINE_AREA, IO_WORDS, engineAreaBytes, tlbSections } from './wasmgen.js';

/** ISA variants (docs/isa.md 2.6). */
export const ISA_VARIANTS = ['tachy-v1', 'legacy-silent'] as const;
export type IsaVariant = (typeof ISA_VARIANTS)[number];

/** Execution engines (docs/isa.md, "Engine"): 'js' (the reference) or 'wasm'. */
export const CPU_ENGINES = ['js', 'wasm'] as const;
export type CpuEngine = (typeof CPU_ENGINES)[number];
/** What a machine's config may select: an engine, or 'auto' (resolveEngine). */
export const ENGINE_CHOICES = ['js', 'wasm', 'auto'] as const;
export type EngineChoice = (typeof ENGINE_CHOICES)[number];

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
/**
 * A trap handler that reads tval and epc from its level's CSRs when it needs them (mtval / mepc,
 * p1tval / p1epc: readCsr or readCsrLo/Hi) instead of getting them as arguments: an epc at or
 * above 2^30 (any RAM address) would be a heap number allocated per trap for the call.
 */
export type CsrTrapHandler = (cpu: Cpu, cause: number, isInterrupt: boolean) => void;

/**
 * The PL1 hypercall fast path (Cpu.setFastEcall), asked first when an ecall from PL2 traps to
 * PL1 with one of its call numbers in a7 (a7 selects the call, as in Tachyxx's hypercall ABI and
 * the SBI), before the architectural trap entry (the CPU has charged the ecall's cost.system). Either
 * return false having changed nothing: the trap is taken as always (entry, the PL1 trap
 * handler, its return). Or handle the call as the PL1 trap handler would, between
 * cpu.fastEcallEntry() and cpu.fastEcallReturn(retire), and return true: the CPU is then
 * exactly as after the trap entry, that handler and completeEmulated(1) (retire) or
 * restartTrapped(1) (a continuation). In between the CPU stays at PL2 (level, pc and the PL1
 * trap CSRs as before the ecall), so the fast path must not use them: no context save / load,
 * no injectTrap, no returnFromTrap, no CSR access; registers, guest memory, stop() and costs
 * (cycles) are what it may use.
 */
export type FastEcallHandler = (cpu: Cpu) => boolean;

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
  /**
   * Execution engine: 'js' (default; regions compiled to JS functions, registers as int32
   * halves) or 'wasm' (regions compiled to WebAssembly with i64 registers; needs a PhysMemory
   * created with an `engineArea` of at least engineAreaBytes(tlbEntries)). Both give the same
   * instret, cycles, registers and memory (test/engine-diff.test.ts).
   */
  engine?: string;
  /**
   * Engine 'wasm': instructions a region runs as a JS function before it is recompiled to wasm
   * (building a wasm module costs milliseconds; cold code never pays it). 0: compile every region
   * to wasm at once. Default WASM_TIER_UP.
   */
  wasmTierUp?: number;
  /** Maximum instructions per basic block (default 64). */
  maxBlockInsns?: number;
  /** Maximum instructions per compiled region (default 512). */
  maxRegionInsns?: number;
  /**
   * Virtual pages a compiled region may span (1..64, default DEFAULT_REGION_PAGES; 1: a region
   * stays on its entry page). Regions follow branches, calls (and the code after them, for the
   * return) and fall-throughs onto other pages whose translation the exec soft-TLB holds; every
   * edge onto another page checks that translation at run time (blockcache.ts).
   */
  maxRegionPages?: number;
  /**
   * Engine 'js': instructions a region that left out another page runs before it is formed again
   * across pages (a region formed for the first time stays on its entry page). Default
   * REGION_REFORM_HEAT. (Engine 'wasm' forms regions again at tier-up, `wasmTierUp`.)
   */
  regionReformHeat?: number;
  /**
   * Software TLB entries per level at most (power of two, default DEFAULT_TLB_ENTRIES). The
   * soft-TLB starts at min(TLB_INITIAL_ENTRIES, tlbEntries) and, while no modelled TLB stands
   * behind it (no MMU, or an MMU in Bare mode), doubles while refills keep evicting live entries
   * (softmmu.ts tlbSlot); with translation on it stays at the initial size.
   */
  tlbEntries?: number;
  /** Attach this MMU at construction (same as calling attachMmu; overrides `translator`). */
  mmu?: TranslationControl;
  /**
   * What a sensitive instruction at PL2 does (docs/isa.md 2.6); default: the policy of `variant`
   * (sensitivePolicyOf). The isa plugins bind the one of their variant.
   */
  sensitivePolicy?: SensitiveInstructionPolicy;
}

export type BlockFn = (cpu: Cpu, budget: number, st: number) => number;

/** Largest budget passed to a compiled function (kept a small integer: one type at the call site). */
export const MAX_FN_BUDGET = 0x3fffffff;


export interface Block {
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
  /** Engine 'wasm': byte offset of the block's descriptor for the hub (wasm-engine.ts), 0 = none. */
  wd: number;
  /**
   * Engine 'wasm', a region still compiled to JS (tier-up), or engine 'js', a region to form
   * once more (REGION_REFORM_HEAT): the region's entry block, which counts down `heat`
   * (instructions retired in the region) and holds `hostOff` and `subs` (its other entry points)
   * to recompile the region (blockcache.ts tierUp). Undefined otherwise.
   */
  home: Block | undefined;
  heat: number;
  hostOff: number;
  subs: Block[] | undefined;
  /**
   * Engine 'wasm', on a JS region's entry block during tier-up: calls of the region's function,
   * and how many of them ended at a system instruction (the run loop's next block executes one
   * instruction on its own: ecall, CSR access, wfi...). See WASM_SHORT_RUN.
   */
  runs: number;
  sysExits: number;
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
  /** Regions compiled to WebAssembly (engine 'wasm'; at once, or recompiled when hot: wasmTierUps). */
  wasmRegions: number;
  /** Regions recompiled from JS to wasm after wasmTierUp instructions (not in blocksCompiled). */
  wasmTierUps: number;
  /** Hot JS regions kept as JS: short runs that mostly end at a system instruction (WASM_SHORT_RUN). */
  wasmKeptJs: number;
  /**
   * Engine 'js': regions compiled again once warm (REGION_REFORM_HEAT) because pages they lead to
   * were not in the exec soft-TLB when they were first compiled (not in blocksCompiled).
   */
  regionReforms: number;
  /** Run-loop dispatches: region exits that continued through a chained link (no lookup). */
  chainHits: number;
  /** Region exits that needed the exec soft-TLB / block-cache lookup (no valid link). */
  exitsLookup: number;
  /** Region exits for a faulting instruction (sx 1). */
  exitsFault: number;
  /** Region exits after a store into compiled code or a watched access (sx 2). */
  exitsCodeWrite: number;
  /** Region exits at the cycle limit (the next timer event or the host deadline). */
  exitsCycleLimit: number;
  /** Region exits after a slow path asked for the run loop (an interrupt line a device moved from an MMIO access, a stop). */
  exitsAttention: number;
  /** Engine wasm: chains the JS run loop handed to the hub (the next region had a hub descriptor). */
  hubHandovers: number;
  /** Soft-TLB refills by the load / store slow paths (fills of the read or write sections). */
  tlbRefills: number;
  /** Soft-TLB size changes (growth under eviction pressure, shrinking at a flush of a little-used soft-TLB). */
  tlbResizes: number;
  /** Engine 'wasm': region-to-region transitions the hub made by looking the pc up itself. */
  hubLookups: number;
  /** Exceptions taken, by cause. */
  exceptions: Float64Array;
  /** Interrupts taken, by code. */
  interrupts: Float64Array;
}

export const TWO32 = 4294967296;
/**
 * Default CpuOptions.wasmTierUp: instructions a region runs in JS before it is compiled to wasm.
 * A region that runs only some thousand times stays in V8's interpreter or baseline code, at
 * ~30 ns per guest instruction, while compiling it to wasm costs ~1 ms: at 100000, bench-lz ran
 * 7 % of its time in such JS regions. Measured whole process (one run per process, best of 3,
 * 100000 -> 15000): lz -10 %, sort -13 %, bignum -8 %, interp and nqueens within noise; hello
 * (23565 instructions) still compiles no wasm (at 10000 it did: +7 ms of start-up).
 */
export const WASM_TIER_UP = 15_000;
/**
 * Engine 'wasm' tier-up: a hot JS region whose runs average fewer instructions than this and at
 * least half of which end at a system instruction stays JS. Such a run always returns to the run
 * loop (a system instruction executes on its own), so in wasm it would pay the JS -> wasm -> JS
 * boundary and the hub's entry and miss (tens of ns) for a few instructions (about 1.5 ns each
 * saved): the null-hypercall loop of a guest (guests/hcversion: 11 instructions, ecall) ran 15 to
 * 30% slower as wasm.
 */
export const WASM_SHORT_RUN = 64;
/**
 * Default CpuOptions.maxRegionPages: a guest's hot path (netfront, IP stack) calls across ~6
 * pages of small functions; a region that stopped at every page and call ran ~35 instructions
 * per entry (docs/benchmarks.md, PV network).
 */
export const DEFAULT_REGION_PAGES = 8;
/**
 * Engine 'js': instructions a region that left out another page (a region formed for the first
 * time stays on its entry page: cold code is compiled cheaply; and code is compiled when first
 * reached, before its callees ran) runs before it is formed once more across pages. (Engine
 * 'wasm' forms regions again at tier-up.) Warm: a large region's compilation costs about as much
 * as running some 100000 instructions.
 */
export const REGION_REFORM_HEAT = 32768;
/**
 * Soft-TLB entries per level at most (the sections' stride) unless CpuOptions.tlbEntries says
 * otherwise: 2^16 pages = 256 MiB, the bare machine's default RAM. QEMU sizes its soft-TLB
 * dynamically between 2^CPU_TLB_DYN_MIN_BITS (6) and 2^CPU_TLB_DYN_MAX_BITS (32 -
 * TARGET_PAGE_BITS = 20 with 4 KiB pages) entries, starting at 2^CPU_TLB_DYN_DEFAULT_BITS (8)
 * (accel/tcg/tlb-bounds.h; resized at flushes by tlb_mmu_resize_locked in accel/tcg/cputlb.c).
 */
export const DEFAULT_TLB_ENTRIES = 65536;
/** Soft-TLB entries per level at first, after attachMmu, and the smallest it shrinks to (8 MiB covered). */
export const TLB_INITIAL_ENTRIES = 2048;
export const TLB_INVALID = 0x800; // never equals an (address & mask) value, whose bits 3..11 are 0

/** Indexes of the 64-bit CSRs in Cpu.r64. */
export const R64 = {
  stvec: 0, sscratch: 1, sepc: 2, scause: 3, stval: 4, stimecmp: 5, satp: 6,
  p1tvec: 7, p1timedelta: 8, p1scratch: 9, p1epc: 10, p1cause: 11, p1tval: 12, p1tval2: 13, p1gatp: 14,
  mtvec: 15, mscratch: 16, mepc: 17, mcause: 18, mtval: 19,
} as const;
export const R64_OF: Record<number, number> = {
  [CSR.stvec]: R64.stvec, [CSR.sscratch]: R64.sscratch, [CSR.sepc]: R64.sepc, [CSR.scause]: R64.scause,
  [CSR.stval]: R64.stval, [CSR.stimecmp]: R64.stimecmp, [CSR.satp]: R64.satp,
  [CSR.p1tvec]: R64.p1tvec, [CSR.p1timedelta]: R64.p1timedelta, [CSR.p1scratch]: R64.p1scratch,
  [CSR.p1epc]: R64.p1epc, [CSR.p1cause]: R64.p1cause, [CSR.p1tval]: R64.p1tval, [CSR.p1tval2]: R64.p1tval2,
  [CSR.p1gatp]: R64.p1gatp,
  [CSR.mtvec]: R64.mtvec, [CSR.mscratch]: R64.mscratch, [CSR.mepc]: R64.mepc, [CSR.mcause]: R64.mcause,
  [CSR.mtval]: R64.mtval,
};

/** The state of one hart (see the file comment). Not exported from the package: Cpu is the API. */
export class CpuState {
  readonly mem: PhysMemory;
  readonly variant: IsaVariant;
  readonly hartId: number;
  readonly cost: CostModel;
  readonly freqHz: number;
  translator: Translator;

  /** Integer registers: x[2*i] = low half, x[2*i+1] = high half of register i. */
  readonly x: Int32Array;
  pcLo = 0;
  pcHi = 0;
  lvl = 2;
  /** Retired instructions (exact). */
  instret = 0;
  /** Simulated cycles. */
  cycles = 0;
  /** Simulated nanoseconds spent stalled (wfi) or otherwise added with advanceIdle. */
  idleNs = 0;
  readonly stats: CpuStats = {
    blocksCompiled: 0, blockInvalidations: 0, codeFlushes: 0, tlbMisses: 0, tlbFlushes: 0,
    wasmRegions: 0, wasmTierUps: 0, wasmKeptJs: 0, regionReforms: 0, chainHits: 0, exitsLookup: 0, exitsFault: 0, exitsCodeWrite: 0, exitsCycleLimit: 0, exitsAttention: 0, hubHandovers: 0, tlbRefills: 0, tlbResizes: 0, hubLookups: 0,
    exceptions: new Float64Array(32), interrupts: new Float64Array(16),
  };

  /** The execution engine (CpuOptions.engine). */
  readonly engine: CpuEngine;
  /** Byte offset of this hart's engine area in mem.buffer (engine 'wasm'), else -1. */
  readonly engineArea: number;
  /** The wasm engine's output block (IO in wasmgen.ts), a view into the engine area; empty for 'js'. */
  readonly wio: Int32Array;
  /** The wasm engine's import object for region modules (built on first use). */
  wasmImports: object | undefined;
  /** The wasm engine's hub (wasm-engine.ts WasmHub; built on first use). */
  wasmHub: object | undefined;
  /** CpuOptions.wasmTierUp (engine 'wasm'). */
  readonly wasmTierUp: number;
  readonly regionReformHeat: number;
  /** Table slot of the region makeBlock compiled last (engine 'wasm'), else -1. */
  wasmSlot = -1;
  /** After runHub: the last block run and its exit id. */
  hubLast: Block | undefined;
  hubExit = -1;

  // ---- state shared with generated code ----
  /** Slow-path status for generated code: 0 ok, 1 fault pending, 2 store hit code. */
  sx = 0;
  /** High half of the last slow-path load / AMO result. */
  rhi = 0;
  /** Cycle count at which the next timer event happens (Infinity: none). */
  cycleLimit = Infinity;
  /** run()'s deadline in cycles (Infinity: none). */
  hostDeadlineCycles = Infinity;
  /** Offset of the current level's TLB section. */
  tlbBase = 0;
  /**
   * Translation lookups since the last syncMmuStats (only with an MMU attached): added by
   * generated code (one fetch per basic block, one per load/store), amo() and page-crossing
   * accesses, and the run loop (system instructions, faulting fetches).
   */
  tlbAcc = 0;
  /** stats.tlbMisses at the last syncMmuStats: lookups since then that reached the translator. */
  tlbMissBase = 0;
  /** The attached MMU (attachMmu), or undefined. */
  mmuCtl: TranslationControl | undefined;
  /**
   * Virtual pages (by VPN mod 4096) filled into the exec soft-TLB since the last flush: an
   * invalidatePage of such a page drops chained links (a link bypasses the exec soft-TLB).
   */
  readonly execPages = new Uint8Array(4096);

  // pending exception recorded by a slow path
  excCause = 0;
  excTvalLo = 0;
  excTvalHi = 0;

  // ---- software TLB (per level sections; tags: page base lo / hi; offsets: host page offset|0) ----
  /** Entries per level at most: the stride between the levels' sections. */
  readonly tlbEntries: number;
  /** Entries per level in use - 1 (a power of two - 1; softmmu.ts resizes it at flushes). */
  tlbMask: number;
  /** Refills since the last resize that evicted a live entry of another page (growth pressure). */
  tlbEvictions = 0;
  /** Refills since the last flush (how much of the soft-TLB a flush interval used). */
  tlbFills = 0;
  /** Entries per level of the largest soft-TLB so far: indexes from here on are never used. */
  tlbHigh: number;
  /**
   * Tags of the read, write and exec sections: entry i's page base lo at [2i], hi at [2i+1] (one
   * little-endian i64, which the wasm engine compares at once); TLB_INVALID in lo = empty. Host
   * page offsets: RO / WO / XO[i].
   */
  readonly RT: Int32Array; readonly RO: Int32Array;
  readonly WT: Int32Array; readonly WO: Int32Array;
  readonly XT: Int32Array; readonly XO: Int32Array;

  // ---- block cache: per host page, per word ----
  readonly pageBlocks: (Block[] | undefined)[];
  /** Host pages that have compiled blocks in this CPU. */
  readonly codePages = new Set<number>();
  /** Bumped whenever chained links may be stale (TLB flush, fence.i, non-bare level change). */
  linkEpoch = 0;
  /**
   * The translation "bank" chained links belong to: the level's soft-TLB bank (tlbBase), or 0
   * with the bare translator (level-independent). A link records a successor found through one
   * level's translation, so it must not be followed at another level.
   */
  linkBank = 0;
  /** `translator` is a BareTranslator (level-independent: one link bank), as of the last flushTlb. */
  bareXlate = true;
  readonly stepBlocks: (Block[] | undefined)[];
  readonly maxBlock: number;
  readonly maxRegionInsns: number;
  readonly maxRegionBlocks = 64;
  readonly maxRegionPages: number;
  /**
   * Per host page: every block of the multi-page regions that include code on it (all their
   * entry points, whatever page each is on). A write to the page invalidates them all.
   */
  readonly spanBlocks: (Block[] | undefined)[];
  readonly genArgs: unknown[];

  // ---- privileged state ----
  mstatus = 0; p1status = 0; sstatus = 0;
  medeleg = 0; mideleg = 0; p1edeleg = 0; p1ideleg = 0;
  mie = 0; p1ie = 0; sie = 0;
  mcounteren = 0; p1counteren = 0; scounteren = 0;
  /** Software-written pending bits (through mip/p1ip/sip). */
  ipSoft = 0;
  /** Pending lines raised by the platform (setInterruptPending / setExternalInterrupt). */
  ipLines = 0;
  /** STIP latch: time + p1timedelta >= stimecmp. */
  stip = false;
  /** 64-bit CSRs as [lo, hi] in one array, indexed by R64.* */
  readonly r64 = new Int32Array(2 * 24);

  // LR/SC reservation
  resValid = false;
  resOff = 0;
  resSize = 0;
  resLo = 0;
  resHi = 0;

  // run-loop state
  irqDirty = true;
  waiting = false;
  /**
   * > 0 while the PC is inside a basic block whose start was single-stepped (a run() slice ended
   * in the middle of it): a block-cache miss then keeps single-stepping (at most this many more
   * instructions) to the next block boundary instead of compiling a new region at an arbitrary
   * PC, which would also have to be warmed up and optimized by V8 again.
   */
  midBlock = 0;
  stopRequested = false;
  /** The reason given to the last stop(). */
  stopReason = '';
  readonly handlers: (TrapHandler | undefined)[] = [undefined, undefined];
  /** Per level: a CsrTrapHandler (set instead of `handlers`' entry), or undefined. */
  readonly csrHandlers: (CsrTrapHandler | undefined)[] = [undefined, undefined];
  /** The PL1 hypercall fast path (setFastEcall), or undefined, and its call numbers 0..63 (bits of a7). */
  fastEcall: FastEcallHandler | undefined;
  fastEcallLo = 0;
  fastEcallHi = 0;
  traceHook: TraceHook | undefined;
  readonly idleMode: 'return' | 'advance';
  readonly platformInterrupts: boolean;
  timerDeadlineNs = Infinity;
  trapsWithoutRetire = 0;

  // ---- debugger (setDebugHooks); all undefined / false on a run without a debugger ----
  dbgHooks: CpuDebugHooks | undefined;
  /** Breakpoint addresses (signed-number VAs), or undefined when there are none. */
  bps: Set<number> | undefined;
  /** Watched ranges and their virtual pages (VA >> 12 as a signed number), or undefined. */
  watches: CpuWatchpoint[] | undefined;
  watchPages: Set<number> | undefined;
  /** The breakpoint at (bpSkipLo, bpSkipHi) is passed once (resuming from it). */
  bpSkip = false;
  bpSkipLo = 0;
  bpSkipHi = 0;
  dbgStopNow = false;
  /** Why the last run() / debugStep() returned 'debug': 'break', 'watch', 'step' or 'request'. */
  debugEvent: '' | 'break' | 'watch' | 'step' | 'request' | 'trap' = '';
  /** Breakpoint pc or watched data address of the last debug event. */
  debugAddr = 0;
  /** 'r' or 'w' for a watch event. */
  debugAccess: 'r' | 'w' = 'w';

/** High half of the last csrRead (priv). */
  csrHi = 0;
  /** Slow-path access (softmmu): host offset of the second page's first byte of a page-crossing access. */
  off2 = 0;
  /** What a sensitive instruction at PL2 does (the variant's strategy; sensitive.ts). */
  readonly sensitive: SensitiveInstructionPolicy;

  constructor(memory: PhysMemory, config: CpuOptions = {}) {
    const variant = config.variant ?? 'tachy-v1';
    if (!(ISA_VARIANTS as readonly string[]).includes(variant)) {
      throw new Error(`unknown ISA variant '${variant}'; known variants: ${ISA_VARIANTS.join(', ')}`);
    }
    this.variant = variant as IsaVariant;
    this.sensitive = config.sensitivePolicy ?? sensitivePolicyOf(this.variant);
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
    const rp = config.maxRegionPages ?? DEFAULT_REGION_PAGES;
    if (!Number.isInteger(rp) || rp < 1 || rp > 64) throw new RangeError(`maxRegionPages must be an integer from 1 to 64, got ${rp}`);
    this.maxRegionPages = rp;
    const te = config.tlbEntries ?? DEFAULT_TLB_ENTRIES;
    if (!Number.isInteger(te) || te < 1 || (te & (te - 1)) !== 0) throw new RangeError(`tlbEntries must be a power of two, got ${te}`);
    this.tlbEntries = te;
    this.tlbMask = Math.min(te, TLB_INITIAL_ENTRIES) - 1;
    this.tlbHigh = this.tlbMask + 1;
    const engine = config.engine ?? 'js';
    if (!(CPU_ENGINES as readonly string[]).includes(engine)) {
      throw new Error(`unknown CPU engine '${engine}'; known engines: ${CPU_ENGINES.join(', ')}`);
    }
    this.engine = engine as CpuEngine;
    /** A soft-TLB section of `words` int32s (tags: 2 per entry, host offsets: 1), named as in tlbSections. */
    let mk: (name: keyof ReturnType<typeof tlbSections>, words: number) => Int32Array;
    if (this.engine === 'wasm') {
      // registers, output block and soft-TLB in the RAM's WebAssembly.Memory (wasmgen.ts ENGINE_AREA)
      const area = memory.allocEngineArea(engineAreaBytes(te));
      const buf = memory.buffer;
      this.engineArea = area;
      this.x = new Int32Array(buf, area + ENGINE_AREA.regs, 64);
      this.wio = new Int32Array(buf, area + ENGINE_AREA.io, IO_WORDS);
      const at = tlbSections(area, te); // (the wasm code's own offsets: one layout)
      mk = (name, words) => new Int32Array(buf, at[name], words);
    } else {
      this.engineArea = -1;
      this.x = new Int32Array(64);
      this.wio = new Int32Array(0);
      mk = (_name, words) => new Int32Array(words);
    }
    const tier = config.wasmTierUp ?? WASM_TIER_UP;
    if (!Number.isSafeInteger(tier) || tier < 0) throw new RangeError(`wasmTierUp must be a non-negative integer, got ${tier}`);
    this.wasmTierUp = tier;
    const heat = config.regionReformHeat ?? REGION_REFORM_HEAT;
    if (!Number.isSafeInteger(heat) || heat < 1) throw new RangeError(`regionReformHeat must be a positive integer, got ${heat}`);
    this.regionReformHeat = heat;
    this.wasmImports = undefined;
    this.wasmHub = undefined;
    this.hubLast = undefined;
    this.RT = mk('RT', 8 * te); this.RO = mk('RO', 4 * te);
    this.WT = mk('WT', 8 * te); this.WO = mk('WO', 4 * te);
    this.XT = mk('XT', 8 * te); this.XO = mk('XO', 4 * te);
    this.pageBlocks = new Array(this.mem.pages);
    this.stepBlocks = new Array(this.mem.pages);
    this.spanBlocks = new Array(this.mem.pages);
    const m = this.mem;
    this.genArgs = [m.u8, m.i8, m.u16, m.i16, m.i32, this.RT, this.RO, this.WT, this.WO, this.XT, this.XO,
      HI, mul64, mulh64, mulhsu64, mulhu64, div64, divu64, rem64, remu64];
  }
}
