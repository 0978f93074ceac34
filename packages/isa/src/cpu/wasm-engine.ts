// The wasm engine's glue: compiles a region with wasmgen.ts into a WebAssembly module
// (synchronously; V8 starts it on its baseline compiler and tiers hot functions up to optimized
// code), instantiates it against the hart's import object (the RAM's memory and the soft-MMU slow
// paths) and wraps it as a BlockFn, so the run loop, the block cache, chaining and invalidation
// are the JS engine's own.

import { generateRegionWasm, CL_MAX, IO } from './wasmgen.js';
import type { RegionBlock } from './codegen.js';
import { amo, ld, recordFault, st } from './softmmu.js';
import type { BlockFn } from './state.js';
import type { Cpu } from './cpu.js';

type RegionExport = (budget: number, st: number, cl: number, tb: number) => number;
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: { f: RegionExport } };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The import object of `c`'s region modules: memory and the slow paths, reporting sx / rhi in `wio`. */
function importsOf(c: Cpu): object {
  if (c.wasmImports !== undefined) return c.wasmImports;
  const io = c.wio;
  const imports = {
    e: {
      mem: c.mem.wasmMemory,
      ld: (lo: number, hi: number, op: number): number => {
        const v = ld(c, lo, hi, op);
        io[IO.sx] = c.sx; io[IO.rhi] = c.rhi;
        return v;
      },
      st: (lo: number, hi: number, vlo: number, vhi: number, op: number): number => {
        st(c, lo, hi, vlo, vhi, op);
        return c.sx;
      },
      amo: (lo: number, hi: number, vlo: number, vhi: number, op: number): number => {
        const v = amo(c, lo, hi, vlo, vhi, op);
        io[IO.sx] = c.sx; io[IO.rhi] = c.rhi;
        return v;
      },
      fault: (cause: number, lo: number, hi: number): void => recordFault(c, cause, lo, hi),
    },
  };
  c.wasmImports = imports;
  return imports;
}

/** Compile `blocks` (a region, as for codegen.generateRegion) for `c`; returns the BlockFn and its exit count. */
export function compileWasmRegion(c: Cpu, blocks: RegionBlock[], countAccesses: boolean): { fn: BlockFn; exits: number } {
  const { bytes, exits } = generateRegionWasm(blocks, c.engineArea, c.tlbEntries, c.tlbMask, c.cost, countAccesses);
  const f = new WA.Instance(new WA.Module(bytes), importsOf(c)).exports.f;
  const io = c.wio;
  c.stats.wasmRegions++;
  const fn: BlockFn = countAccesses
    ? (cpu, budget, s) => {
      const cl = cpu.cycleLimit - cpu.cycles;
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
  return { fn, exits };
}
