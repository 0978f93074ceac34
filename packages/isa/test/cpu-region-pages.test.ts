// Regions across virtual pages (CpuOptions.maxRegionPages): region formation follows control flow
// onto other pages (fall-through at a page end, branches, jal targets) and keeps call
// continuations in the region, so a return comes back in-region. None of it may show in simulated
// state: every test here runs the same program with maxRegionPages 1 (a region stays on its entry
// page: the old engine) and with the default, on both engines, and expects the same instret,
// cycles, pc, registers and memory at every run() boundary; only engine counters may differ.
// Translation on (remap / unmap / satp change of a page a region spans): packages/mmu/test/
// cpu-region-pages.test.ts (the real Sv48 MMU lives in @tachyxx/mmu, which isa cannot import).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { AMO, enc, type Asm } from './cpu-asm.js';
import { BASE, machine, reg, type Machine } from './cpu-helpers.js';
import { PluginRegistry, buildContainer, hostConfigFromObject, resolve as resolveToken } from '@tachyxx/core';
import { BareMachine, CSR, Cpu, DEFAULT_REGION_PAGES, ISA_CPU_FACTORY, ISA_PLUGINS, PhysMemory, type CpuEngine, type CpuOptions } from '../src/index.js';

const PAGE = 4096;
/** Data the programs load / store / AMO (x9 points here); per-function call counters at +512. */
const DATA = BASE + 0x40000;
/** Top of the call stack (x2). */
const STACK = BASE + 0x48000;

type Opts = CpuOptions;
interface Config { name: string; opts: Opts; trace?: boolean }
/** maxRegionPages 1 (the reference: the old one-page regions) and the default, on both engines. */
const CONFIGS: Config[] = [
  { name: 'js/1', opts: { engine: 'js', maxRegionPages: 1 } },
  { name: 'js/default', opts: { engine: 'js', regionReformHeat: 32 } }, // (formed again across pages soon: these runs are short)
  { name: 'wasm0/1', opts: { engine: 'wasm', wasmTierUp: 0, maxRegionPages: 1 } },
  { name: 'wasm0/default', opts: { engine: 'wasm', wasmTierUp: 0 } },
  { name: 'wasm50/default', opts: { engine: 'wasm', wasmTierUp: 50 } },
  { name: 'js/2', opts: { engine: 'js', maxRegionPages: 2 } },
  { name: 'wasm0/3', opts: { engine: 'wasm', wasmTierUp: 0, maxRegionPages: 3 } },
];
/** Single-stepping (the trace hook on): every instruction on its own, the interpreter's view (no regions at all). */
const TRACED: Config = { name: 'traced', opts: { engine: 'js' }, trace: true };

interface State { reason: string; instret: number; cycles: number; pc: number; level: number; regs: bigint[] }
function state(c: Cpu, reason: string): State {
  return { reason, instret: c.instret, cycles: c.cycles, pc: c.pc, level: c.level, regs: Array.from({ length: 32 }, (_, i) => reg(c, i)) };
}
/** Region transitions the run loop / hub made: what cross-page regions are there to cut. */
const transitions = (c: Cpu): number => c.stats.chainHits + c.stats.exitsLookup + c.stats.hubLookups;
const hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function boot(build: (a: Asm) => void, opts: Opts, trace = false): Machine {
  const m = machine(build, { memSize: 1 << 20, ...opts });
  m.cpu.setTrapHandler(0, (c, cause) => c.stop(`trap ${cause}`));
  if (trace) m.cpu.setTrace(() => {});
  return m;
}

/**
 * Runs `build` on every config in lockstep over the budget `chunks` (then to the end), expecting
 * the reference's state after every run() call and its data / stack memory at the end.
 */
function lockstep(build: (a: Asm) => void, chunks: number[], configs = CONFIGS): Machine[] {
  const ms = configs.map((cf) => boot(build, cf.opts, cf.trace));
  for (const n of [...chunks, 1e7]) {
    const st = ms.map((m) => state(m.cpu, m.cpu.run(n)));
    for (let i = 1; i < ms.length; i++) expect([configs[i]!.name, st[i]]).toEqual([configs[i]!.name, st[0]]);
    if (st[0]!.reason !== 'budget') break;
  }
  const mem0 = hex(ms[0]!.mem.readBytes(DATA, STACK - DATA));
  for (let i = 1; i < ms.length; i++) expect([configs[i]!.name, hex(ms[i]!.mem.readBytes(DATA, STACK - DATA))]).toEqual([configs[i]!.name, mem0]);
  return ms;
}

// ---- random multi-page programs ----

type R3 = (d: number, a: number, b: number) => number;
const ALU_R = ['add', 'sub', 'xor', 'or', 'and', 'sll', 'srl', 'sra', 'slt', 'sltu', 'addw', 'subw', 'mul', 'mulh', 'divu', 'remw'] as const;
const ALU_I = ['addi', 'xori', 'ori', 'andi', 'slti', 'addiw'] as const;
const LOADS = ['lb', 'lhu', 'lw', 'ld', 'lwu'] as const;
const STORES = ['sb', 'sh', 'sw', 'sd'] as const;
const BRANCHES = ['beq', 'bne', 'blt', 'bge', 'bltu', 'bgeu'] as const;
const AMOS = ['add', 'swap', 'xor', 'or', 'and', 'min', 'maxu'] as const;
/** Registers random code computes in (x8 main counter, x9 data, x1 ra, x2 sp, x16-x24 reserved). */
const WORK = [6, 7, 10, 11, 12, 13, 14, 15] as const;
const wr = fc.constantFrom(...WORK);
const rd = fc.constantFrom(...WORK, 0, 8);

type Op =
  | { k: 'w'; w: number }
  | { k: 'mem'; op: string; r: number; off: number }
  | { k: 'amo'; f: (typeof AMOS)[number]; d: boolean; rd: number; rs2: number; off: number }
  | { k: 'skip'; op: (typeof BRANCHES)[number]; a: number; b: number; n: number }
  | { k: 'ret'; op: (typeof BRANCHES)[number]; a: number; b: number }
  /** jal ra; a function pointer (auipc + addi + jalr ra); clang's `call` (auipc ra + jalr ra, ra: a constant jalr) */
  | { k: 'call'; to: number; how: 'jal' | 'ptr' | 'auipc' }
  | { k: 'loop'; n: number; body: Op[] }
  | { k: 'patch'; to: number; w: number };

const simple: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.constantFrom(...ALU_R), wr, rd, rd).map(([m, d, a, b]) => ({ k: 'w' as const, w: (enc[m] as R3)(d, a, b) })) },
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...ALU_I), wr, rd, fc.integer({ min: -2048, max: 2047 })).map(([m, d, a, i]) => ({ k: 'w' as const, w: (enc[m] as R3)(d, a, i) })) },
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...LOADS, ...STORES), wr, fc.integer({ min: 0, max: 504 })).map(([op, r, off]) => ({ k: 'mem' as const, op, r, off })) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...AMOS), fc.boolean(), wr, wr, fc.integer({ min: 0, max: 62 })).map(([f, d, rdd, rs2, off]) => ({ k: 'amo' as const, f, d, rd: rdd, rs2, off: off * 8 })) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...BRANCHES), rd, rd, fc.integer({ min: 1, max: 4 })).map(([op, a, b, n]) => ({ k: 'skip' as const, op, a, b, n })) },
);
/** An op of function `fi` (of `nf`; main is fi = -1): calls go only to higher-numbered functions (no recursion). */
function opOf(fi: number, nf: number): fc.Arbitrary<Op> {
  // self-modifying code: rewrite function `to`'s patch slot (an addi on a work register) with another addi
  const patch = { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max: nf - 1 }), wr, fc.integer({ min: -2048, max: 2047 }))
    .map(([to, r, imm]) => ({ k: 'patch' as const, to, w: enc.addi(r, r, imm) })) };
  const calls = fi + 1 < nf
    ? [{ weight: 2, arbitrary: fc.tuple(fc.integer({ min: fi + 1, max: nf - 1 }), fc.constantFrom('jal' as const, 'ptr' as const, 'auipc' as const)).map(([to, how]) => ({ k: 'call' as const, to, how })) }]
    : [];
  const inner = fc.oneof({ weight: 10, arbitrary: simple }, ...calls);
  return fc.oneof(
    { weight: 10, arbitrary: simple },
    ...calls,
    patch,
    ...(fi >= 0 ? [{ weight: 1, arbitrary: fc.tuple(fc.constantFrom(...BRANCHES), rd, rd).map(([op, a, b]) => ({ k: 'ret' as const, op, a, b })) }] : []),
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 5 }), fc.array(inner, { minLength: 1, maxLength: 6 })).map(([n, body]) => ({ k: 'loop' as const, n, body })) },
  );
}

/** Where a function goes: at the start of `page`, somewhere in it, or straddling into it from the page before. */
interface Place { page: number; where: 'start' | 'mid' | 'straddle'; slack: number }
interface Prog { nPages: number; iters: number; main: Op[]; fns: { ops: Op[]; place: Place; tail?: number }[] }

const prog: fc.Arbitrary<Prog> = fc.integer({ min: 3, max: 6 }).chain((nPages) => fc.integer({ min: 2, max: 5 }).chain((nf) => fc.record({
  nPages: fc.constant(nPages),
  iters: fc.integer({ min: 2, max: 12 }),
  main: fc.tuple(fc.array(opOf(-1, nf), { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { minLength: nf + 1, maxLength: nf + 1 }), fc.integer({ min: 0, max: nf - 1 }), fc.constantFrom('jal' as const, 'ptr' as const, 'auipc' as const))
    .map(([ops, at, twice, how]) => {
      // main calls every function (function `twice` from two call sites), at random places
      const out = [...ops];
      for (let f = 0; f <= nf; f++) out.splice(at[f]! % (out.length + 1), 0, { k: 'call', to: f === nf ? twice : f, how: f === nf ? how : 'jal' });
      return out;
    }),
  fns: fc.tuple(...Array.from({ length: nf }, (_, fi) => fc.record({
    ops: fc.array(opOf(fi, nf), { minLength: 1, maxLength: 10 }),
    // returns with ret, or (sometimes) by a tail call to a higher-numbered function
    tail: fi + 1 < nf ? fc.option(fc.integer({ min: fi + 1, max: nf - 1 }), { nil: undefined, freq: 3 }) : fc.constant(undefined),
    // function 0 always straddles pages 0 -> 1 (placed first, right after main, which is shorter
    // than a page); the last one sits on the last page: the code spans nPages pages
    place: fc.record({
      page: fi === 0 ? fc.constant(1) : fi === nf - 1 ? fc.constant(nPages - 1) : fc.integer({ min: 1, max: nPages - 1 }),
      where: fi === 0 ? fc.constant('straddle' as const) : fc.constantFrom('start' as const, 'mid' as const, 'straddle' as const),
      slack: fc.integer({ min: 1, max: 700 }),
    }),
  }))),
})));

/** The property's fixed example: 500 iterations over 4 pages, every kind of op but code stores (each would recompile). */
const LONG: Prog = {
  nPages: 4, iters: 500,
  main: [{ k: 'call', to: 0, how: 'jal' }, { k: 'w', w: enc.add(10, 10, 8) }, { k: 'call', to: 1, how: 'auipc' },
    { k: 'mem', op: 'sd', r: 10, off: 16 }, { k: 'call', to: 0, how: 'ptr' }, { k: 'loop', n: 2, body: [{ k: 'call', to: 2, how: 'jal' }] }],
  fns: [
    { ops: [{ k: 'w', w: enc.xor(11, 11, 10) }, { k: 'loop', n: 3, body: [{ k: 'w', w: enc.addi(12, 12, 3) }, { k: 'mem', op: 'lw', r: 13, off: 16 }] },
      { k: 'call', to: 2, how: 'auipc' }], place: { page: 1, where: 'straddle', slack: 2 } },
    { ops: [{ k: 'skip', op: 'bltu', a: 10, b: 8, n: 2 }, { k: 'ret', op: 'beq', a: 0, b: 0 }, { k: 'w', w: enc.addi(14, 14, 1) }],
      place: { page: 2, where: 'mid', slack: 300 }, tail: 2 },
    { ops: [{ k: 'amo', f: 'add', d: true, rd: 15, rs2: 10, off: 24 }, { k: 'w', w: enc.mul(6, 15, 10) }], place: { page: 3, where: 'straddle', slack: 1 } },
  ],
};

/** Assembles `p`; fills `layout` with each function's [first, last] instruction address. */
function assemble(p: Prog, layout: { fn: [number, number][]; end: number }) {
  return (a: Asm): void => {
    let uniq = 0;
    const emitOps = (ops: Op[], fi: number): void => {
      for (const op of ops) {
        switch (op.k) {
          case 'w': a.emit(op.w); break;
          case 'mem': a.emit((enc[op.op as 'ld'] as R3)(op.r, 9, op.off)); break;
          case 'amo': a.emit(enc.addi(16, 9, op.off), enc.amo(AMO[op.f], op.d, op.rd, 16, op.rs2)); break;
          case 'skip': {
            const l = `s${uniq++}`;
            a.ref(l, (o) => (enc[op.op] as R3)(op.a, op.b, o));
            for (let i = 0; i < op.n; i++) a.emit(enc.addi(WORK[(i + op.n) % WORK.length]!, WORK[i % WORK.length]!, 3 * i + 1));
            a.label(l);
            break;
          }
          case 'ret': a.ref(`f${fi}ret`, (o) => (enc[op.op] as R3)(op.a, op.b, o)); break;
          case 'patch':
            // x16 = &patch slot of f (auipc + addi), x25 = the new word, sw
            a.ref(`f${op.to}patch`, (o) => enc.auipc(16, (o - BigIntLo(o)) >> 12));
            a.ref(`f${op.to}patch`, (o) => enc.addi(16, 16, BigIntLo(o + 4)));
            a.li(25, op.w).emit(enc.sw(25, 16, 0));
            break;
          case 'call':
            if (op.how === 'jal') a.ref(`f${op.to}`, (o) => enc.jal(1, o));
            else if (op.how === 'auipc') {
              a.ref(`f${op.to}`, (o) => enc.auipc(1, (o - BigIntLo(o)) >> 12));
              a.ref(`f${op.to}`, (o) => enc.jalr(1, 1, BigIntLo(o + 4)));
            } else {
              // x16 = &f (auipc + addi), then jalr ra, x16
              a.ref(`f${op.to}`, (o) => enc.auipc(16, (o - BigIntLo(o)) >> 12));
              a.ref(`f${op.to}`, (o) => enc.addi(16, 16, BigIntLo(o + 4)));
              a.emit(enc.jalr(1, 16, 0));
            }
            break;
          case 'loop': {
            const ctr = fi < 0 ? 24 : 18 + fi, l = `l${uniq++}`;
            a.emit(enc.addi(ctr, 0, op.n)).label(l);
            emitOps(op.body, fi);
            a.emit(enc.addi(ctr, ctr, -1)).ref(l, (o) => enc.bne(ctr, 0, o));
            break;
          }
        }
      }
    };
    // main (page 0): x8 = iterations, x9 = DATA, x2 = STACK
    a.li(8, p.iters).li(9, DATA).li(2, STACK);
    a.label('top');
    emitOps(p.main, -1);
    a.emit(enc.addi(8, 8, -1)).ref('top', (o) => enc.bne(8, 0, o)).emit(enc.ebreak());
    // the functions, by page (then by where / index), each at its place or right after the one before
    if (a.here > BASE + PAGE - 24) throw new Error(`main is ${a.here - BASE} bytes: function 0 could not straddle pages 0 -> 1`);
    const key = (f: { place: Place; i: number }): number => f.place.page * 1e4 + (f.i === 0 ? -1 : f.place.slack);
    const order = p.fns.map((f, i) => ({ ...f, i })).sort((x, y) => key(x) - key(y) || x.i - y.i);
    for (const f of order) {
      const pg = BASE + f.place.page * PAGE;
      const want = f.place.where === 'start' ? pg : f.place.where === 'mid' ? pg + 4 * (f.place.slack % 900) : pg - 4 * (1 + (f.place.slack % 4));
      while (a.here < want) a.emit(enc.addi(0, 0, 0));
      const leaf = !hasCall(f.ops);
      const first = a.here;
      a.label(`f${f.i}`);
      if (!leaf) a.emit(enc.addi(2, 2, -16), enc.sd(1, 2, 8));
      a.emit(enc.ld(17, 9, 512 + 8 * f.i), enc.addi(17, 17, 1), enc.sd(17, 9, 512 + 8 * f.i)); // count the call
      a.label(`f${f.i}patch`).emit(enc.addi(WORK[f.i % WORK.length]!, WORK[f.i % WORK.length]!, 1)); // the slot 'patch' ops rewrite
      emitOps(f.ops, f.i);
      a.label(`f${f.i}ret`);
      if (!leaf) a.emit(enc.ld(1, 2, 8), enc.addi(2, 2, 16));
      if (f.tail === undefined) a.emit(enc.jalr(0, 1, 0));
      else {
        // a tail call (clang's `tail`: auipc t1 + jalr x0, t1): the callee returns to our caller
        a.ref(`f${f.tail}`, (o) => enc.auipc(6, (o - BigIntLo(o)) >> 12));
        a.ref(`f${f.tail}`, (o) => enc.jalr(0, 6, BigIntLo(o + 4)));
      }
      layout.fn[f.i] = [first, a.here - 4];
    }
    layout.end = a.here;
  };
}
/** Nops up to address `to`. */
function pad(a: Asm, to: number): Asm { while (a.here < to) a.emit(enc.addi(0, 0, 0)); return a; }
function BigIntLo(v: number): number { return (v << 20) >> 20; } // sign-extended low 12 bits
function hasCall(ops: Op[]): boolean { return ops.some((o) => o.k === 'call' || (o.k === 'loop' && hasCall(o.body))); }

// ---- fixed programs ----

/**
 * A call-heavy loop over four pages: main (page 0) calls f (page 1), whose body calls h (page 2),
 * and g, which straddles pages 2 -> 3; each returns with jalr.
 */
function callLoop(iters: number) {
  return (a: Asm): void => {
    a.li(8, iters).li(9, DATA).li(2, STACK);
    a.label('top').ref('f', (o) => enc.jal(1, o)).emit(enc.addi(10, 10, 1));
    a.ref('g', (o) => enc.jal(1, o)).emit(enc.xor(13, 13, 10), enc.addi(8, 8, -1)).ref('top', (o) => enc.bne(8, 0, o)).emit(enc.ebreak());
    while (a.here < BASE + PAGE + 64) a.emit(enc.addi(0, 0, 0));
    a.label('f').emit(enc.addi(2, 2, -16), enc.sd(1, 2, 8), enc.addi(11, 11, 3)).ref('h', (o) => enc.jal(1, o));
    a.emit(enc.add(11, 11, 12), enc.ld(1, 2, 8), enc.addi(2, 2, 16), enc.jalr(0, 1, 0));
    while (a.here < BASE + 2 * PAGE + 256) a.emit(enc.addi(0, 0, 0));
    a.label('h').emit(enc.addi(12, 12, 7), enc.sd(12, 9, 0), enc.jalr(0, 1, 0));
    while (a.here < BASE + 3 * PAGE - 8) a.emit(enc.addi(0, 0, 0));
    a.label('g').emit(enc.addi(14, 14, 5), enc.ld(15, 9, 0)); // page 2
    a.label('g2').emit(enc.add(14, 14, 15), enc.jalr(0, 1, 0)); // page 3
  };
}

describe('regions across pages (maxRegionPages)', () => {
  it('random programs over 3-6 pages (calls by jal, auipc+jalr and pointer, calls of calls, tail calls, early returns, callee loops, memory, AMOs, stores into callees): same state as one-page regions under any budget split, on both engines (property)', () => {
    let runs = 0, cross = 0, viaDefault = 0, viaOne = 0;
    const seen = { nested: 0, early: 0, calleeLoop: 0, indirect: 0, auipcCall: 0, tailCall: 0, amo: 0, pages6: 0, straddleMore: 0, selfModifying: 0, jsReformed: 0 };
    fc.assert(fc.property(prog, fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 0, maxLength: 10 }), (p, chunks) => {
      const layout = { fn: [] as [number, number][], end: 0 };
      const build = assemble(p, layout);
      const ms = lockstep(build, chunks, [...CONFIGS.slice(0, 6), TRACED]); // (page limit 3 on wasm: the fixed tests)
      runs++;
      // it exercises what it claims: code over >= 3 pages, a function across a page boundary,
      // every function called (its counter), the ebreak reached
      expect(layout.end - BASE).toBeGreaterThan(2 * PAGE);
      const [s0, e0] = layout.fn[0]!;
      expect([s0 < BASE + PAGE, e0 >= BASE + PAGE]).toEqual([true, true]);
      for (let f = 0; f < p.fns.length; f++) expect(ms[0]!.mem.readU32(DATA + 512 + 8 * f)).toBeGreaterThan(0);
      expect(ms[0]!.cpu.stopReason).toBe('trap 3');
      viaOne += transitions(ms[0]!.cpu); viaDefault += transitions(ms[1]!.cpu);
      const all = (ops: Op[]): Op[] => ops.flatMap((o) => (o.k === 'loop' ? [o, ...all(o.body)] : [o]));
      const fnOps = p.fns.map((f) => all(f.ops));
      if (fnOps.some((ops) => ops.some((o) => o.k === 'call'))) seen.nested++;
      if (fnOps.some((ops) => ops.some((o) => o.k === 'ret'))) seen.early++;
      if (p.fns.some((f) => f.ops.some((o) => o.k === 'loop'))) seen.calleeLoop++;
      if ([...all(p.main), ...fnOps.flat()].some((o) => o.k === 'call' && o.how === 'ptr')) seen.indirect++;
      if ([...all(p.main), ...fnOps.flat()].some((o) => o.k === 'call' && o.how === 'auipc')) seen.auipcCall++;
      if (p.fns.some((f) => f.tail !== undefined)) seen.tailCall++;
      if ([...all(p.main), ...fnOps.flat()].some((o) => o.k === 'amo')) seen.amo++;
      if (layout.end - BASE > 5 * PAGE) seen.pages6++;
      if (ms[1]!.cpu.stats.blockInvalidations > 0) seen.selfModifying++;
      if (ms[1]!.cpu.engineStats().regionReforms > 0) seen.jsReformed++; // (engine js: a region formed again once warm)
      if (layout.fn.filter(([s, e]) => Math.floor(s / PAGE) !== Math.floor(e / PAGE)).length > 1) seen.straddleMore++;
      if (transitions(ms[1]!.cpu) < transitions(ms[0]!.cpu)) cross++;
    }), {
      numRuns: Number(process.env.FC_RUNS ?? 20), seed: Number(process.env.FC_SEED ?? 0x5eed12),
      // one long run (engine js forms its regions again once warm: REGION_REFORM_HEAT), with
      // every feature, so the checks below never depend on the random draws alone
      examples: [[LONG, [3, 77, 1000, 5]]],
    });
    expect(runs).toBeGreaterThanOrEqual(Number(process.env.FC_RUNS ?? 20));
    // the draws (seeded) cover every feature the title names
    for (const [k, v] of Object.entries(seen)) expect([k, v > 0]).toEqual([k, true]);
    // the default really formed cross-page regions in these programs
    expect(cross).toBeGreaterThan(runs / 2);
    expect(viaDefault).toBeLessThan(viaOne);
  }, 60_000);

  it('a call-heavy loop over four pages: the same state, and at least 3x fewer region transitions per instruction than one-page regions', () => {
    const ITERS = 3000;
    const ms = lockstep(callLoop(ITERS), [1, 2, 3, 50, 999, 17]);
    expect(ms[0]!.cpu.stopReason).toBe('trap 3');
    expect(reg(ms[0]!.cpu, 10)).toBe(BigInt(ITERS));
    expect(reg(ms[0]!.cpu, 12)).toBe(BigInt(7 * ITERS));
    // engine js forms a region again once warm (its callees' pages were not in the exec soft-TLB
    // when it was first compiled), engine wasm at tier-up; so whole runs with tier-up here
    const cfgs: Opts[] = [{ engine: 'js', maxRegionPages: 1 }, { engine: 'js', regionReformHeat: 32 }, { engine: 'wasm', wasmTierUp: 50, maxRegionPages: 1 }, { engine: 'wasm', wasmTierUp: 50 }];
    const whole = cfgs.map((o) => { const m = boot(callLoop(ITERS), o); expect(m.cpu.run(1e7)).toBe('stopped'); return m.cpu; });
    const per = whole.map((c) => transitions(c) / c.instret);
    // one-page regions: main -> f, f -> h, h -> f, f -> main, main -> g, g's page-2 -> page-3
    // fall-through, g -> main: 7 transitions per 21-instruction iteration
    expect(per[0]).toBeGreaterThan(6 / 21);
    expect(per[2]).toBeGreaterThan(6 / 21);
    expect(per[1]! * 3).toBeLessThan(per[0]!); // js
    expect(per[3]! * 3).toBeLessThan(per[2]!); // wasm
  });

  it('code that stores into a callee on another page (in the same region): the next call runs the new code; the region is invalidated', () => {
    // the store lands when x8 == K: N - K calls ran the old code (by then, engine js formed the
    // region again with pages 1 and 2 in it, and engine wasm with tier-up compiled it to wasm)
    const N = 2000, K = 500;
    const build = (a: Asm): void => {
      a.li(8, N).li(9, DATA).li(13, K).li(14, enc.addi(10, 10, 100));
      a.li(5, BASE + 2 * PAGE); // x5 = &patch
      a.label('top').ref('f', (o) => enc.jal(1, o)).emit(enc.addi(8, 8, -1));
      a.ref('skip', (o) => enc.bne(8, 13, o)).emit(enc.sw(14, 5, 0)).label('skip');
      a.emit(enc.addi(11, 11, 1)).ref('top', (o) => enc.bne(8, 0, o)).emit(enc.ebreak());
      // f straddles pages 1 -> 2; the patched word is on page 2
      while (a.here < BASE + 2 * PAGE - 8) a.emit(enc.addi(0, 0, 0));
      a.label('f').emit(enc.addi(12, 12, 1), enc.xor(7, 7, 12));
      a.label('patch').emit(enc.addi(10, 10, 1), enc.jalr(0, 1, 0));
    };
    for (const chunks of [[], [7, 7, 7, 7, 7, 7, 7, 100, 3, 1, 1, 1, 1], [13_494, 1, 1, 1, 1, 1, 1, 1, 1]]) {
      const ms = lockstep(build, chunks);
      expect(ms[0]!.asm.addr('patch')).toBe(BASE + 2 * PAGE);
      for (const m of ms) {
        expect(reg(m.cpu, 10)).toBe(BigInt((N - K) + 100 * K));
        expect(m.cpu.stats.blockInvalidations).toBeGreaterThanOrEqual(1);
      }
    }
  });

  it('an external (DMA) write to a callee on another page between run() calls: the next call runs the new code, as single-stepping does', () => {
    const N = 2000;
    const build = (a: Asm): void => {
      a.li(8, N).li(9, DATA);
      a.label('top').ref('f', (o) => enc.jal(1, o)).emit(enc.addi(8, 8, -1)).ref('top', (o) => enc.bne(8, 0, o)).emit(enc.ebreak());
      while (a.here < BASE + 2 * PAGE - 8) a.emit(enc.addi(0, 0, 0));
      a.label('f').emit(enc.addi(12, 12, 1), enc.xor(7, 7, 12));
      a.label('patch').emit(enc.addi(10, 10, 1), enc.jalr(0, 1, 0));
    };
    const patch = BASE + 2 * PAGE;
    const f = BASE + 2 * PAGE - 8;
    const adds = [1, 100, -7, 1000]; // f's `addi x10, x10, k` before and after each write
    const ref = boot(build, { engine: 'js', maxRegionPages: 1 });
    ref.cpu.setTrace(() => {}); // single-stepping: the interpreter's view
    const ms = [ref, ...CONFIGS.map((cf) => boot(build, cf.opts))];
    // warm up (the regions exist), then three writes, through writeU32 and writeBytes, at odd points
    const phase: number[] = []; // calls (x12) that ran the old code at each write
    for (const [n, k] of [[6000, 1], [111, 2], [57, 3]] as const) {
      for (const m of ms) {
        expect(m.cpu.run(n)).toBe('budget');
        if (m === ref) {
          // a call stopped between its x12 count and the patched word runs the new code
          const pc = ref.cpu.pc, calls = Number(reg(ref.cpu, 12));
          phase.push(pc > f && pc <= patch ? calls - 1 : calls);
        }
        const w = enc.addi(10, 10, adds[k]!);
        if (k === 2) m.mem.writeBytes(patch, new Uint8Array(new Uint32Array([w]).buffer));
        else m.mem.writeU32(patch, w);
      }
    }
    const st = ms.map((m) => state(m.cpu, m.cpu.run(1e7)));
    for (let i = 1; i < ms.length; i++) expect([CONFIGS[i - 1]!.name, st[i]]).toEqual([CONFIGS[i - 1]!.name, st[0]]);
    expect(st[0]!.reason).toBe('stopped');
    const bounds = [0, ...phase, N];
    let x10 = 0;
    for (let k = 0; k < 4; k++) { expect(bounds[k + 1]!).toBeGreaterThan(bounds[k]!); x10 += adds[k]! * (bounds[k + 1]! - bounds[k]!); }
    expect(st[0]!.regs[10]).toBe(BigInt(x10));
    for (const m of ms.slice(1)) expect(m.cpu.stats.blockInvalidations).toBeGreaterThanOrEqual(3);
  });

  it('fence.i after a store into another page of the region: the new code runs', () => {
    const build = (a: Asm): void => {
      a.li(8, 30).li(9, DATA).li(14, enc.addi(10, 10, 100)).li(13, 10).li(5, BASE + PAGE);
      a.label('top').ref('f', (o) => enc.jal(1, o)).emit(enc.addi(8, 8, -1));
      a.ref('skip', (o) => enc.bne(8, 13, o)).emit(enc.sw(14, 5, 0), enc.fencei()).label('skip');
      a.ref('top', (o) => enc.bne(8, 0, o)).emit(enc.ebreak());
      while (a.here < BASE + PAGE) a.emit(enc.addi(0, 0, 0));
      a.label('f').emit(enc.addi(10, 10, 1), enc.jalr(0, 1, 0));
    };
    const ms = lockstep(build, [5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 33]);
    expect(reg(ms[0]!.cpu, 10)).toBe(20n + 100n * 10n);
    expect(ms[0]!.cpu.stats.codeFlushes).toBeGreaterThanOrEqual(1);
  });

  it('a debugger breakpoint on page 3, reached inside a region entered on page 0, stops there as with one-page regions', () => {
    const ITERS = 50;
    const out: unknown[] = [];
    for (const cf of CONFIGS) {
      const m = boot(callLoop(ITERS), cf.opts);
      const { cpu } = m;
      // warm: the cross-page regions exist before the breakpoints are set
      expect(cpu.run(200)).toBe('budget');
      const bps = [m.asm.addr('g2'), m.asm.addr('h') + 4];
      cpu.setDebugHooks({ breakpoint: () => true, watch: () => true });
      cpu.setBreakpoints(bps);
      const seen: unknown[] = [];
      for (let i = 0; i < 8; i++) {
        expect(cpu.run(1e6)).toBe('debug');
        expect(cpu.debugEvent).toBe('break');
        expect(bps).toContain(cpu.pc);
        seen.push(state(cpu, 'debug'));
        cpu.debugSkipBreakpoint();
      }
      cpu.setBreakpoints([bps[0]!]);
      for (let i = 0; i < 3; i++) { expect(cpu.run(1e6)).toBe('debug'); seen.push(state(cpu, 'debug')); cpu.debugSkipBreakpoint(); }
      cpu.setBreakpoints([]);
      expect(cpu.run(1e7)).toBe('stopped');
      seen.push(state(cpu, 'end'));
      out.push(seen);
    }
    for (let i = 1; i < out.length; i++) expect([CONFIGS[i]!.name, out[i]]).toEqual([CONFIGS[i]!.name, out[0]]);
  });

  it('a breakpoint set before the first run, on a straddling function\'s second page', () => {
    const out = CONFIGS.map((cf) => {
      const m = boot(callLoop(20), cf.opts);
      m.cpu.setDebugHooks({ breakpoint: () => true, watch: () => true });
      m.cpu.setBreakpoints([m.asm.addr('g2')]);
      const s: unknown[] = [];
      for (let r = m.cpu.run(1e6); r === 'debug'; r = m.cpu.run(1e6)) { s.push(state(m.cpu, r)); m.cpu.debugSkipBreakpoint(); }
      s.push(state(m.cpu, 'end'));
      expect(s.length).toBe(21);
      return s;
    });
    for (let i = 1; i < out.length; i++) expect(out[i]).toEqual(out[0]);
  });

  it('straight-line calls (no loop): the code after a call is in the region though no edge inside it leads there', () => {
    // main: call f (page 1), x10++, call f, x10 += 2, ebreak: its region holds the call
    // continuations, reached only by f's return
    const build = (a: Asm): void => {
      a.ref('f', (o) => enc.jal(1, o)).emit(enc.addi(10, 10, 1)).ref('f', (o) => enc.jal(1, o)).emit(enc.addi(10, 10, 2), enc.ebreak());
      pad(a, BASE + PAGE).label('f').emit(enc.addi(11, 11, 5), enc.jalr(0, 1, 0));
    };
    for (const chunks of [[], [1, 1, 1, 1, 1, 1], [2, 3]]) {
      const ms = lockstep(build, chunks);
      expect([reg(ms[0]!.cpu, 10), reg(ms[0]!.cpu, 11), ms[0]!.cpu.stopReason]).toEqual([3n, 10n, 'trap 3']);
    }
  });

  it('auipc + jalr (a constant target): a misaligned target faults (cause 0, tval, rd unwritten), a pair split by a page end still jumps; as single-stepping does', () => {
    // a call of f through auipc+jalr split across the page 0 -> 1 boundary, then a jump through
    // auipc+jalr (one block) to f + 2 (misaligned: instruction address misaligned)
    const build = (a: Asm): void => {
      a.li(8, 0).li(9, DATA).li(1, 0x123);
      pad(a, BASE + PAGE - 8).emit(enc.addi(8, 8, 1));
      a.ref('f', (o) => enc.auipc(1, (o - BigIntLo(o)) >> 12)); // last word of page 0
      a.ref('f', (o) => enc.jalr(1, 1, BigIntLo(o + 4))); // first word of page 1
      a.emit(enc.addi(10, 10, 1));
      a.ref('f', (o) => enc.auipc(5, (o - BigIntLo(o)) >> 12));
      a.ref('f', (o) => enc.jalr(1, 5, BigIntLo(o + 4) + 2)); // f + 2: misaligned
      a.emit(enc.ebreak());
      pad(a, BASE + 2 * PAGE + 40).label('f').emit(enc.addi(11, 11, 7), enc.jalr(0, 1, 0));
    };
    for (const chunks of [[], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]]) {
      const ms = lockstep(build, chunks, [...CONFIGS, TRACED]);
      const c = ms[0]!.cpu;
      expect(c.stopReason).toBe('trap 0');
      expect([c.readCsr(CSR.mtval), reg(c, 11), reg(c, 10)]).toEqual([ms[0]!.asm.addr('f') + 2, 7n, 1n]);
      // rd (x1) keeps the link of the first call: the faulting jalr wrote nothing
      expect(reg(c, 1)).toBe(BigInt(BASE + PAGE + 4));
    }
  });

  it('a timer interrupt during a cross-page call loop lands on the same instruction', () => {
    const build = (a: Asm): void => {
      callLoop(1_000_000)(a);
      pad(a, BASE + 5 * PAGE);
      a.label('vec').emit(enc.ebreak());
    };
    const res = CONFIGS.map((cf) => {
      const m = boot(build, cf.opts);
      const { cpu } = m;
      cpu.writeCsr(CSR.mideleg, 1 << 5); cpu.writeCsr(CSR.p1ideleg, 1 << 5); cpu.writeCsr(CSR.sie, 1 << 5);
      cpu.writeCsr(CSR.stvec, m.asm.addr('vec'));
      cpu.writeCsr(CSR.sstatus, 0x2);
      cpu.writeCsr(CSR.stimecmp, 123_457);
      expect(cpu.run(1e7)).toBe('stopped');
      return { ...state(cpu, 'stopped'), sepc: cpu.readCsr(CSR.sepc), scause: cpu.readCsr(CSR.scause) };
    });
    expect(res[0]!.instret).toBeGreaterThan(50_000);
    for (let i = 1; i < res.length; i++) expect([CONFIGS[i]!.name, res[i]]).toEqual([CONFIGS[i]!.name, res[0]]);
  });

  it('jalr to another page at the same page offset as a region block, and into the middle of a block: never the wrong block', () => {
    // main (page 0) calls f (page 1); f returns normally, or (every 4th call) to ra + 4096: page 1
    // at the continuation's page offset, where other code sits; every 3rd call it returns to
    // ra + 4: the middle of the continuation block (its first instruction skipped)
    const build = (a: Asm): void => {
      a.li(8, 600).li(9, DATA);
      a.label('top').ref('f', (o) => enc.jal(1, o));
      a.label('cont').emit(enc.addi(10, 10, 1), enc.addi(11, 11, 1), enc.xor(12, 12, 11));
      a.label('back').emit(enc.addi(8, 8, -1)).ref('top', (o) => enc.bne(8, 0, o)).emit(enc.ebreak());
      const contOff = (a.addr('cont') - BASE) % PAGE;
      pad(a, BASE + PAGE + contOff);
      a.label('alias').emit(enc.addi(13, 13, 1000), enc.addi(11, 11, 7)).ref('back', (o) => enc.jal(0, o)); // page 1, same offset as cont
      pad(a, BASE + PAGE + 0x200);
      a.label('f').emit(enc.addi(14, 14, 1), enc.andi(15, 14, 3)).ref('n4', (o) => enc.bne(15, 0, o));
      a.emit(enc.lui(16, 1), enc.add(1, 1, 16), enc.jalr(0, 1, 0)); // to alias
      a.label('n4').emit(enc.addi(16, 0, 3), enc.rem(15, 14, 16)).ref('n3', (o) => enc.bne(15, 0, o));
      a.emit(enc.jalr(0, 1, 4)); // to cont + 4
      a.label('n3').emit(enc.jalr(0, 1, 0));
    };
    const ms = lockstep(build, [5, 9, 200, 3, 1, 1, 77]);
    let x10 = 0, x11 = 0, x13 = 0;
    for (let k = 1; k <= 600; k++) {
      if (k % 4 === 0) { x13 += 1000; x11 += 7; } else if (k % 3 === 0) x11 += 1; else { x10++; x11++; }
    }
    expect([reg(ms[0]!.cpu, 10), reg(ms[0]!.cpu, 11), reg(ms[0]!.cpu, 13)]).toEqual([BigInt(x10), BigInt(x11), BigInt(x13)]);
  });

  it('soft-TLB conflicts: pages 1 and 33 (and 0 and 32) share exec soft-TLB slots (32 entries), called alternately from one region', () => {
    const build = (a: Asm): void => {
      a.li(8, 500).li(9, DATA);
      a.label('top').ref('f1', (o) => enc.jal(1, o)).ref('f65', (o) => enc.jal(1, o)).ref('f2', (o) => enc.jal(1, o));
      a.emit(enc.addi(8, 8, -1)).ref('top', (o) => enc.bne(8, 0, o)).emit(enc.ebreak());
      pad(a, BASE + PAGE - 8).label('f1').emit(enc.addi(10, 10, 1), enc.addi(11, 11, 2), enc.add(12, 12, 10), enc.jalr(0, 1, 0)); // straddles 0 -> 1
      pad(a, BASE + 2 * PAGE + 64).label('f2').emit(enc.addi(13, 13, 5), enc.jalr(0, 1, 0));
      pad(a, BASE + 33 * PAGE - 4).label('f65').emit(enc.addi(14, 14, 3), enc.sd(14, 9, 0), enc.jalr(0, 1, 0)); // straddles 32 -> 33
    };
    const cfgs = CONFIGS.map((cf) => ({ ...cf, opts: { ...cf.opts, tlbEntries: 32 } }));
    const ms = lockstep(build, [13, 999, 4, 1], cfgs);
    expect([reg(ms[0]!.cpu, 10), reg(ms[0]!.cpu, 13), reg(ms[0]!.cpu, 14)]).toEqual([500n, 2500n, 1500n]);
    for (const m of ms) expect(m.cpu.engineStats().tlbEntries).toBe(32);
  });

  it('a loop falling through the last page of RAM: the same access fault (cause 1, tval = end of RAM) after the same instructions', () => {
    const END = BASE + (1 << 20);
    const build = (a: Asm): void => {
      a.li(8, 50).ref('last', (o) => enc.jal(0, o));
      pad(a, END - PAGE - 64).label('f').emit(enc.addi(11, 11, 1), enc.jalr(0, 1, 0)); // page before the last
      pad(a, END - 24).label('last').ref('f', (o) => enc.jal(1, o)).emit(enc.addi(10, 10, 1), enc.addi(8, 8, -1));
      a.ref('last', (o) => enc.bne(8, 0, o)).emit(enc.addi(12, 12, 1), enc.addi(13, 13, 1)); // the last two words of RAM
    };
    const ms = lockstep(build, [7, 100]);
    const c = ms[0]!.cpu;
    expect(c.stopReason).toBe('trap 1');
    expect([c.readCsr(CSR.mepc), c.readCsr(CSR.mtval), reg(c, 10), reg(c, 12)]).toEqual([END, END, 50n, 1n]);
    for (const m of ms) expect([m.cpu.readCsr(CSR.mepc), m.cpu.readCsr(CSR.mtval), m.cpu.readCsr(CSR.mcause)]).toEqual([END, END, 1]);
  });

  it('a store from a region on page 2 into a callee on page 1 that a page-0 region has compiled in', () => {
    // main (page 0) calls f (page 1) and w (page 2); w rewrites f's second instruction every 7th call
    const build = (a: Asm): void => {
      a.li(8, 1000).li(9, DATA).li(5, BASE + PAGE + 4).li(20, enc.addi(10, 10, 1)).li(21, enc.addi(10, 10, 50));
      a.label('top').ref('f', (o) => enc.jal(1, o)).ref('w', (o) => enc.jal(1, o));
      a.emit(enc.addi(8, 8, -1)).ref('top', (o) => enc.bne(8, 0, o)).emit(enc.ebreak());
      pad(a, BASE + PAGE).label('f').emit(enc.addi(11, 11, 1), enc.addi(10, 10, 1), enc.jalr(0, 1, 0));
      pad(a, BASE + 2 * PAGE + 128).label('w').emit(enc.addi(16, 0, 7), enc.rem(15, 8, 16), enc.addi(17, 0, 3));
      a.ref('old', (o) => enc.blt(15, 17, o)).emit(enc.sw(21, 5, 0), enc.jalr(0, 1, 0));
      a.label('old').emit(enc.sw(20, 5, 0), enc.jalr(0, 1, 0));
    };
    const ms = lockstep(build, [3, 50, 50, 1, 1, 2, 600]);
    // call k (x8 = 1001 - k before it) runs what the previous w (x8 = 1002 - k) stored
    let x10 = 0;
    for (let k = 1; k <= 1000; k++) { const prev = 1002 - k; x10 += k === 1 || (prev % 7) < 3 ? 1 : 50; }
    expect(reg(ms[0]!.cpu, 10)).toBe(BigInt(x10));
    for (const m of ms) expect(m.cpu.stats.blockInvalidations).toBeGreaterThan(20);
  });

  it('rejects maxRegionPages outside 1..64 or not an integer, naming the option and the range', () => {
    const mem = new PhysMemory(BASE, 4096);
    for (const bad of [0, 65, 1.5, -1, Number.NaN]) {
      expect(() => new Cpu(mem, { maxRegionPages: bad }), String(bad)).toThrow(/maxRegionPages.*1.*64/);
    }
    for (const ok of [1, 8, 64]) expect(new Cpu(new PhysMemory(BASE, 4096), { maxRegionPages: ok }).maxRegionPages).toBe(ok);
    expect(new Cpu(new PhysMemory(BASE, 4096)).maxRegionPages).toBe(DEFAULT_REGION_PAGES);
  });

  it('the isa plugin\'s maxRegionPages param: validated 1..64 by name, and passed to the harts it creates', () => {
    const reg = new PluginRegistry([...ISA_PLUGINS]);
    const cfg = (v: unknown) => hostConfigFromObject({ components: { isa: { variant: 'tachy-v1', engine: 'js', maxRegionPages: v } } }, reg);
    for (const bad of [0, 65, 1.5, 'many']) expect(() => cfg(bad), String(bad)).toThrow(/maxRegionPages[^]*1\.\.64/);
    for (const [v, want] of [[3, 3], [undefined, DEFAULT_REGION_PAGES]] as const) {
      const factory = resolveToken(buildContainer(cfg(v), reg), ISA_CPU_FACTORY);
      expect(factory.create(new PhysMemory(BASE, 4096), 0).maxRegionPages).toBe(want);
    }
  });
});

// ---- real guests ----
const root = resolve(import.meta.dirname, '../../..');
const GUESTS = ['isa-tests', 'selfmod', 'hello', 'badinsn', 'bench-calls-small', 'bench-interp-small', 'bench-chase-small', 'timer'];

function runGuest(name: string, engine: CpuEngine, slice: number, maxRegionPages?: number) {
  const image = readFileSync(resolve(root, 'guests/build', `${name}.elf`));
  let out = '';
  const opts: Opts = { engine, wasmTierUp: 0, ...(maxRegionPages === undefined ? {} : { maxRegionPages }) };
  const cpuFactory = { variant: 'tachy-v1' as const, engine, create: (mem: PhysMemory, hartId: number) => new Cpu(mem, { ...opts, hartId }) };
  const m = new BareMachine({ image, file: name, cpuFactory, memoryMiB: 64, console: (b) => { out += Buffer.from(b).toString('latin1'); } });
  let r;
  do r = m.runSlice(slice, 2e9); while (r === 'budget');
  const c = m.cpu;
  return { result: { exit: typeof r === 'string' ? r : r.reason, out, instret: c.instret, cycles: c.cycles, pc: c.pc, regs: Array.from({ length: 32 }, (_, i) => reg(c, i)), ram: hex(m.memory.u8) } };
}

describe('guest images: cross-page regions against one-page regions', () => {
  for (const name of GUESTS) {
    const file = resolve(root, 'guests/build', `${name}.elf`);
    it(`${name}: same output, instret, cycles, registers and RAM (${name === 'isa-tests' ? 'js and wasm whole runs' : 'js whole runs and odd slices, wasm whole runs'})`, () => {
      expect(existsSync(file), `${file} (committed in guests/build; pnpm guests rebuilds it)`).toBe(true);
      // (wasm against js at the default under odd slices: engine-diff.test.ts's guest images)
      // (isa-tests, the longest, in whole runs only: each test stays under ~3 s)
      for (const [engine, slice] of [['js', Infinity], ['js', 99_991], ['wasm', Infinity]] as const) {
        if (name === 'isa-tests' && slice !== Infinity) continue;
        const one = runGuest(name, engine, slice, 1), def = runGuest(name, engine, slice);
        expect([engine, slice, def.result]).toEqual([engine, slice, one.result]);
      }
    }, 60_000);
  }
});
