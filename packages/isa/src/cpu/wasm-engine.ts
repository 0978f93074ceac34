// The wasm engine's glue: compiles a region with wasmgen.ts into a WebAssembly module
// (synchronously; V8 starts it on its baseline compiler and tiers hot functions up to optimized
// code), instantiates it against the hart's import object (the RAM's memory and the soft-MMU slow
// paths) and wraps it as a BlockFn, so the run loop, the block cache, chaining and invalidation
// are the JS engine's own.

import {
  CL_MAX, CODE_CACHE_ENTRIES, DESC, DESC_ARENA_BYTES, DESC_WORDS, IO, LINKS,
  codeCacheOffset, descArenaOffset, generateHub, generateRegionWasm,
} from './wasmgen.js';
import type { RegionBlock } from './codegen.js';
import { amo, ld, recordFault, st } from './softmmu.js';
import { rdtimeInline } from './priv.js';
import type { Block, BlockFn } from './state.js';
import type { Cpu } from './cpu.js';

type RegionExport = (budget: number, st: number, cl: number, tb: number) => number;
interface WasmTable { length: number; grow(n: number): number; set(i: number, f: RegionExport | null): void }
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: { f: RegionExport } };
  Table: new (d: { element: 'anyfunc'; initial: number }) => WasmTable;
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The import object of `c`'s region modules: memory and the slow paths, reporting sx / rhi in `wio`. */
function importsOf(c: Cpu): object {
  if (c.wasmImports !== undefined) return c.wasmImports;
  const io = c.wio;
  // After every slow path: its status, and what the hub must know of the CPU's state (a
  // translation may bump linkEpoch; a device may raise an interrupt or stop the CPU).
  const after = (): void => {
    io[IO.sx] = c.sx; io[IO.rhi] = c.rhi; io[IO.epoch] = c.linkEpoch | 0;
    io[IO.attn] = c.stopRequested || c.irqDirty || c.waiting ? 1 : 0;
  };
  const imports = {
    e: {
      mem: c.mem.wasmMemory,
      table: undefined as WasmTable | undefined,
      ld: (lo: number, hi: number, op: number): number => { const v = ld(c, lo, hi, op); after(); return v; },
      st: (lo: number, hi: number, vlo: number, vhi: number, op: number): number => { st(c, lo, hi, vlo, vhi, op); after(); return c.sx; },
      amo: (lo: number, hi: number, vlo: number, vhi: number, op: number): number => { const v = amo(c, lo, hi, vlo, vhi, op); after(); return v; },
      fault: (cause: number, lo: number, hi: number): void => { recordFault(c, cause, lo, hi); after(); },
      // (in the hub, cpu.cycles still lacks what its earlier regions retired: IO.hubCNow)
      time: (delta: number, insn: number): number => { const v = rdtimeInline(c, delta + io[IO.hubCNow]!, insn); after(); return v; },
    },
  };
  c.wasmImports = imports;
  return imports;
}

/** Compile `blocks` (a region, as for codegen.generateRegion) for `c`; returns the BlockFn, its exit count and table slot. */
export function compileWasmRegion(c: Cpu, blocks: RegionBlock[], countAccesses: boolean): { fn: BlockFn; exits: number; slot: number } {
  const { bytes, exits } = generateRegionWasm(blocks, c.engineArea, c.tlbEntries, c.cost, countAccesses);
  const f = new WA.Instance(new WA.Module(bytes), importsOf(c)).exports.f;
  const io = c.wio;
  c.stats.wasmRegions++;
  const w = hubOf(c);
  const slot = w.freeSlots.length > 0 ? w.freeSlots.pop()! : w.nextSlot++;
  if (slot >= w.table.length) w.table.grow(Math.max(64, w.table.length));
  w.table.set(slot, f);
  const fn: BlockFn = countAccesses
    ? (cpu, budget, s) => {
      const cl = cpu.cycleLimit - cpu.cycles;
      io[IO.epoch] = cpu.linkEpoch | 0; // (the region compares it after slow paths: wasmgen.ts slowCut)
      const e = f(budget, s, cl >= CL_MAX ? CL_MAX : cl > 0 ? Math.ceil(cl) : 0, cpu.tlbBase);
      cpu.pcLo = io[IO.pcLo]!; cpu.pcHi = io[IO.pcHi]!;
      cpu.instret += io[IO.n]!; cpu.cycles += io[IO.c]!; cpu.tlbAcc += io[IO.m]!;
      return e;
    }
    : (cpu, budget, s) => {
      const cl = cpu.cycleLimit - cpu.cycles;
      const e = f(budget, s, cl >= CL_MAX ? CL_MAX : cl > 0 ? Math.ceil(cl) : 0, cpu.tlbBase);
      cpu.pcLo = io[IO.pcLo]!; cpu.pcHi = io[IO.pcHi]!;
      cpu.instret += io[IO.n]!; cpu.cycles += io[IO.c]!;
      return e;
    };
  return { fn, exits, slot };
}

/**
 * Instructions per hub call at most. V8 runs a wasm function's optimized code from its next call
 * on (no on-stack replacement), so a loop that never leaves its region would otherwise run its
 * baseline (Liftoff) code to the end; re-entering every 2^20 instructions costs nothing.
 */
export const HUB_BUDGET = 1 << 20;

/** A hart's hub: the shared table of region functions, the hub function, descriptor allocation. */
export interface WasmHub {
  table: WasmTable;
  run: RegionExport;
  /** Next never-used table slot, and slots of dropped regions (reused: the table stays as large as the live regions). */
  nextSlot: number;
  freeSlots: number[];
  /** The whole buffer as int32s (descriptors, code cache). */
  m32: Int32Array;
  /** Byte offsets: code cache, descriptor arena start / next free / end. */
  cc: number;
  arena: number;
  next: number;
  end: number;
  /** Blocks by descriptor serial. */
  blocks: Block[];
}

function hubOf(c: Cpu): WasmHub {
  if (c.wasmHub !== undefined) return c.wasmHub as WasmHub;
  const imports = importsOf(c) as { e: { table: WasmTable | undefined } };
  const table = new WA.Table({ element: 'anyfunc', initial: 64 });
  imports.e.table = table;
  const run = new WA.Instance(new WA.Module(generateHub(c.engineArea, c.tlbEntries)), imports).exports.f;
  const arena = c.engineArea + descArenaOffset(c.tlbEntries);
  const h: WasmHub = {
    table, run, nextSlot: 0, freeSlots: [], m32: new Int32Array(c.mem.buffer), cc: c.engineArea + codeCacheOffset(c.tlbEntries),
    arena, next: arena, end: arena + DESC_ARENA_BYTES, blocks: [],
  };
  c.wasmHub = h;
  return h;
}

/**
 * Give the blocks of a just-compiled wasm region (entry first, then its other entry points that
 * were (re)placed in the block cache, with their host offsets) descriptors sharing one link
 * block, and enter them in the code cache. Without room left in the arena they get none (and run
 * without the hub until the next flushCode).
 */
export function describeRegion(c: Cpu, blocks: Block[], offs: number[], slot: number): void {
  const h = hubOf(c);
  const nExits = blocks[0]!.links.length;
  const bytes = 4 * (LINKS.first + nExits + DESC_WORDS * blocks.length);
  if (h.next + bytes > h.end) { freeSlot(h, slot); return; } // (its JS wrapper calls the function directly)
  const m = h.m32;
  const lb = h.next;
  h.next += bytes;
  m[(lb >> 2) + LINKS.epoch] = c.linkEpoch | 0; m[(lb >> 2) + LINKS.bank] = c.linkBank | 0; m[(lb >> 2) + LINKS.n] = nExits;
  m.fill(0, (lb >> 2) + LINKS.first, (lb >> 2) + LINKS.first + nExits);
  blocks.forEach((b, i) => {
    const d = lb + 4 * (LINKS.first + nExits + DESC_WORDS * i), w = d >> 2;
    m[w + DESC.table] = slot; m[w + DESC.entry] = b.entry; m[w + DESC.len] = b.len;
    m[w + DESC.vpcLo] = b.vpcLo; m[w + DESC.vpcHi] = b.vpcHi; m[w + DESC.valid] = 1;
    m[w + DESC.off] = offs[i]!; m[w + DESC.serial] = h.blocks.length; m[w + DESC.links] = lb;
    h.blocks.push(b);
    b.wd = d;
    m[(h.cc >> 2) + ((offs[i]! >>> 2) & (CODE_CACHE_ENTRIES - 1))] = d;
  });
}

/** A block went invalid: so does its descriptor. */
export function invalidateDesc(c: Cpu, b: Block): void {
  if (b.wd === 0) return;
  const h = c.wasmHub as WasmHub, w = b.wd >> 2;
  if (h.m32[w + DESC.valid] === 0) return;
  h.m32[w + DESC.valid] = 0;
  // the region's entry (its other blocks are on the same page, so they go invalid with it): its
  // table slot is free again, and the module can be collected once no Block refers to it
  if (h.m32[w + DESC.entry] === 0) freeSlot(h, h.m32[w + DESC.table]!);
}

function freeSlot(h: WasmHub, slot: number): void {
  h.table.set(slot, null);
  h.freeSlots.push(slot);
}

/** flushCode: every block is invalid; start the arena, the table and the code cache afresh. */
export function resetHub(c: Cpu): void {
  const h = c.wasmHub as WasmHub | undefined;
  if (h === undefined) return;
  h.next = h.arena;
  h.nextSlot = 0;
  h.freeSlots.length = 0;
  h.blocks.length = 0;
  h.m32.fill(0, h.cc >> 2, (h.cc >> 2) + CODE_CACHE_ENTRIES);
}

/**
 * Run wasm regions from block `b` (which has a descriptor) inside the hub while nothing needs the
 * run loop. Afterwards cpu state is as after the same regions run one by one by exec.ts's chain
 * loop; `c.hubLast` / `c.hubExit` are the last block run and its exit. True when a slow path's
 * request (attn) stopped it.
 *
 * The hub stops on `attn`, a copy of `stopRequested || irqDirty || waiting` that every import
 * writes (`after`), where the chain loop reads the fields themselves. They agree because none is
 * set when a chain starts (the run loop handles them first) and only imports set them inside a
 * region: an import that can set one must end with `after()`, or the engines diverge.
 */
export function runHub(c: Cpu, b: Block, remaining: number): boolean {
  const h = c.wasmHub as WasmHub, io = c.wio;
  io[IO.sx] = 0; io[IO.attn] = 0; io[IO.epoch] = c.linkEpoch | 0; io[IO.bank] = c.linkBank | 0;
  const cl = c.cycleLimit - c.cycles;
  try {
    h.run(b.wd, remaining > HUB_BUDGET ? HUB_BUDGET : remaining | 0, cl >= CL_MAX ? CL_MAX : cl > 0 ? Math.ceil(cl) : 0, c.tlbBase);
  } finally {
    io[IO.hubCNow] = 0;
  }
  c.pcLo = io[IO.pcLo]!; c.pcHi = io[IO.pcHi]!;
  c.instret += io[IO.hubN]!; c.cycles += io[IO.hubC]!; c.tlbAcc += io[IO.hubM]!;
  const s = c.stats;
  s.chainHits += io[IO.hits]!; s.hubLookups += io[IO.lookups]!;
  c.hubLast = h.blocks[h.m32[(io[IO.lastDesc]! >> 2) + DESC.serial]!]!;
  c.hubExit = io[IO.lastExit]!;
  return io[IO.attn] !== 0;
}
