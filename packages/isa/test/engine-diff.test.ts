// The two execution engines against each other: the same program on engine 'js' (the reference)
// and engine 'wasm' must retire the same instructions in the same simulated cycles and leave the
// same registers, pc and memory, under arbitrary run() budget splits (exits at every point of a
// region), for random programs over every compiled instruction with edge-value operands, and for
// the real guest images (self-modifying code, traps, the benchmarks' -small builds).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { AMO, enc, type Asm } from './cpu-asm.js';
import { BASE, machine, reg, setReg } from './cpu-helpers.js';
import { BareMachine, CSR, Cpu, DEFAULT_TLB_ENTRIES, PhysMemory, engineAreaBytes, type CpuEngine } from '../src/index.js';

/** The data window x9 points at: 520 bytes across a page boundary (page-crossing slow paths too). */
const DATA = BASE + 0x10000 - 200;
type R3 = (d: number, a: number, b: number) => number;
const R_OPS = ['add', 'sub', 'sll', 'slt', 'sltu', 'xor', 'srl', 'sra', 'or', 'and', 'addw', 'subw', 'sllw', 'srlw', 'sraw',
  'mul', 'mulh', 'mulhsu', 'mulhu', 'div', 'divu', 'rem', 'remu', 'mulw', 'divw', 'divuw', 'remw', 'remuw'] as const;
const I_OPS = ['addi', 'slti', 'sltiu', 'xori', 'ori', 'andi', 'addiw'] as const;
const SH_OPS = ['slli', 'srli', 'srai'] as const;
const SHW_OPS = ['slliw', 'srliw', 'sraiw'] as const;
const LOADS = ['lb', 'lh', 'lw', 'ld', 'lbu', 'lhu', 'lwu'] as const;
const STORES = ['sb', 'sh', 'sw', 'sd'] as const;
const BRANCHES = ['beq', 'bne', 'blt', 'bge', 'bltu', 'bgeu'] as const;
const AMOS = ['add', 'swap', 'xor', 'or', 'and', 'min', 'max', 'minu', 'maxu'] as const;

type Item =
  | { kind: 'w'; w: number }
  | { kind: 'br'; op: (typeof BRANCHES)[number]; a: number; b: number; skip: number }
  | { kind: 'call' }
  | { kind: 'mem'; op: string; r: number; off: number }
  | { kind: 'amo'; f: (typeof AMOS)[number]; d: boolean; rd: number; rs2: number; off: number };

const r = fc.integer({ min: 1, max: 7 });
const item: fc.Arbitrary<Item> = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(fc.constantFrom(...R_OPS), fc.integer({ min: 0, max: 7 }), r, r)
    .map(([m, d, a, b]) => ({ kind: 'w' as const, w: (enc[m] as R3)(d, a, b) })) },
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...I_OPS), r, r, fc.integer({ min: -2048, max: 2047 }))
    .map(([m, d, a, i]) => ({ kind: 'w' as const, w: (enc[m] as R3)(d, a, i) })) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...SH_OPS), r, r, fc.integer({ min: 0, max: 63 }))
    .map(([m, d, a, s]) => ({ kind: 'w' as const, w: (enc[m] as R3)(d, a, s) })) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...SHW_OPS), r, r, fc.integer({ min: 0, max: 31 }))
    .map(([m, d, a, s]) => ({ kind: 'w' as const, w: (enc[m] as R3)(d, a, s) })) },
  { weight: 1, arbitrary: fc.tuple(r, fc.integer({ min: -(1 << 19), max: (1 << 19) - 1 }))
    .map(([d, u]) => ({ kind: 'w' as const, w: enc.lui(d, u) })) },
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...BRANCHES), r, r, fc.integer({ min: 1, max: 6 }))
    .map(([op, a, b, skip]) => ({ kind: 'br' as const, op, a, b, skip })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'call' as const }) },
  // loads / stores at any offset in a 512-byte window: misaligned and page-internal slow paths too
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...LOADS, ...STORES), r, fc.integer({ min: 0, max: 504 }))
    .map(([op, rr, off]) => ({ kind: 'mem' as const, op, r: rr, off })) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...AMOS), fc.boolean(), r, r, fc.integer({ min: 0, max: 63 }))
    .map(([f, d, rd, rs2, off]) => ({ kind: 'amo' as const, f, d, rd, rs2, off: off * 8 })) },
);

/** x8 = loop counter, x9 = data pointer (never written), x10/x11 scratch of the leaf function. */
function assemble(items: Item[], iterations: number) {
  return (a: Asm) => {
    a.emit(enc.addi(8, 0, iterations));
    a.label('top');
    items.forEach((it, i) => {
      a.label(`i${i}`);
      if (it.kind === 'w') a.emit(it.w);
      else if (it.kind === 'br') a.ref(`i${Math.min(items.length, i + it.skip)}`, (o) => (enc[it.op] as R3)(it.a, it.b, o));
      else if (it.kind === 'call') a.ref('fn', (o) => enc.jal(1, o));
      else if (it.kind === 'mem') a.emit((enc[it.op as 'ld'] as R3)(it.r, 9, it.off));
      else {
        // AMO address: x9 + off (aligned), built in x10
        a.emit(enc.addi(10, 9, it.off), enc.amo(AMO[it.f], it.d, it.rd, 10, it.rs2));
      }
    });
    a.label(`i${items.length}`);
    a.emit(enc.addi(8, 8, -1)).ref('top', (o) => enc.bne(8, 0, o)).emit(enc.ebreak());
    a.label('fn').emit(enc.add(10, 10, 1), enc.xor(11, 11, 10), enc.jalr(0, 1, 0));
  };
}

const edge = fc.oneof(
  fc.constantFrom(0n, 1n, 2n, 3n, (1n << 64n) - 1n, 1n << 63n, (1n << 63n) - 1n, 0xffffffffn, 0x80000000n, 0x7fffffffn, 0xffffffff80000000n),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  fc.bigInt({ min: 0n, max: 255n }),
);

function compare(a: Cpu, b: Cpu): void {
  expect(b.instret).toBe(a.instret);
  expect(b.cycles).toBe(a.cycles);
  expect(b.pc).toBe(a.pc);
  for (let i = 1; i < 32; i++) expect([i, reg(b, i)]).toEqual([i, reg(a, i)]);
}

describe('engine wasm against engine js', () => {
  it('random programs over every compiled instruction, under arbitrary budget splits and tier-up points', () => {
    fc.assert(fc.property(
      fc.array(item, { minLength: 1, maxLength: 40 }),
      fc.integer({ min: 1, max: 30 }),
      fc.array(edge, { minLength: 8, maxLength: 8 }),
      fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 12 }),
      fc.constantFrom(0, 1, 40, 333),
      (items, iters, init, chunks, wasmTierUp) => {
        const build = assemble(items, iters);
        // tier-up 0: every region wasm from the start; else JS regions turn wasm mid-run
        const js = machine(build, { engine: 'js' }), wa = machine(build, { engine: 'wasm', wasmTierUp });
        for (const m of [js, wa]) {
          for (let i = 1; i < 8; i++) setReg(m.cpu, i, init[i]!);
          setReg(m.cpu, 9, BigInt(DATA));
          for (let k = 0; k < 65; k++) m.mem.writeU64(DATA + 8 * k, (k * 0x9e3779b9) >>> 0, (k * 0x85ebca6b) | 0);
          m.cpu.setTrapHandler(0, (c) => c.stop('trap'));
        }
        expect(wa.cpu.engine).toBe('wasm');
        for (const n of [...chunks, 1e7]) {
          const ra = js.cpu.run(n), rb = wa.cpu.run(n);
          expect(rb).toBe(ra);
          compare(js.cpu, wa.cpu);
          if (ra === 'stopped') break;
        }
        expect(wa.mem.readBytes(DATA, 520)).toEqual(js.mem.readBytes(DATA, 520));
      }), { numRuns: Number(process.env.FC_RUNS ?? 300) });
  });

  it('a timer interrupt lands on the same instruction (compiled loops stop at the cycle limit)', () => {
    // a tight loop in one region; the PL2 timer fires mid-loop; its handler's ebreak stops the run
    const build = (a: Asm): void => {
      a.emit(enc.addi(5, 0, 0));
      a.label('loop').emit(enc.addi(5, 5, 1), enc.mul(6, 5, 5), enc.xor(7, 7, 6)).ref('loop', (o) => enc.bne(5, 0, o));
    };
    const res: unknown[] = [];
    for (const engine of ['js', 'wasm'] as CpuEngine[]) {
      const { cpu, mem } = machine(build, { engine });
      mem.writeU32(BASE + 0x700, enc.ebreak());
      cpu.writeCsr(CSR.mideleg, 1 << 5); cpu.writeCsr(CSR.p1ideleg, 1 << 5); cpu.writeCsr(CSR.sie, 1 << 5);
      cpu.writeCsr(CSR.stvec, BASE + 0x700);
      cpu.writeCsr(CSR.sstatus, 0x2);
      cpu.writeCsr(CSR.stimecmp, 12_345);
      cpu.setTrapHandler(0, (c) => c.stop('ebreak'));
      expect(cpu.run(1e7)).toBe('stopped');
      res.push({ instret: cpu.instret, cycles: cpu.cycles, sepc: cpu.readCsr(CSR.sepc), x5: reg(cpu, 5), x7: reg(cpu, 7) });
    }
    expect(res[1]).toEqual(res[0]);
    expect((res[0] as { x5: bigint }).x5).toBeGreaterThan(1000n);
  });

  it('code rewritten in a loop: every rewrite recompiles, same results, the funcref table stays small', () => {
    // each iteration stores a new `addi x7, x7, k` over the instruction two words ahead and runs it
    const build = (a: Asm): void => {
      a.emit(enc.lui(10, 0x38), enc.addi(10, 10, 0x393)); // x10 = addi x7, x7, 0
      a.emit(enc.addi(8, 0, 600), enc.auipc(5, 0), enc.addi(5, 5, 28)); // x5 = the patched word
      a.label('loop').emit(enc.andi(9, 8, 2047), enc.slli(9, 9, 20), enc.or(6, 10, 9), enc.sw(6, 5, 0));
      a.emit(enc.addi(11, 11, 1), enc.addi(7, 7, 0), enc.addi(8, 8, -1));
      a.ref('loop', (o) => enc.bne(8, 0, o)).emit(enc.ebreak());
    };
    const js = machine(build, { engine: 'js' }), wa = machine(build, { engine: 'wasm', wasmTierUp: 0 });
    for (const m of [js, wa]) { m.cpu.setTrapHandler(0, (c) => c.stop('ebreak')); expect(m.cpu.run(1e6)).toBe('stopped'); }
    compare(js.cpu, wa.cpu);
    expect(reg(wa.cpu, 7)).toBe(BigInt((600 * 601) / 2));
    expect(wa.cpu.stats.blockInvalidations).toBe(600);
    expect(wa.cpu.stats.wasmRegions).toBeGreaterThan(600);
    expect((wa.cpu.wasmHub as { table: { length: number } }).table.length).toBeLessThanOrEqual(64);
  });

  it('rejects an unknown engine and a wasm hart on memory without an engine area, naming the fix', () => {
    expect(() => new Cpu(new PhysMemory(BASE, 4096), { engine: 'llvm' })).toThrow(/unknown CPU engine 'llvm'.*js, wasm/);
    expect(() => new Cpu(new PhysMemory(BASE, 4096), { engine: 'wasm' })).toThrow(/engineArea/);
    const mem = new PhysMemory({ base: BASE, size: 4096, engineArea: engineAreaBytes(DEFAULT_TLB_ENTRIES) });
    new Cpu(mem, { engine: 'wasm' });
    expect(() => new Cpu(mem, { engine: 'wasm' })).toThrow(/0 left/);
    expect(() => new PhysMemory({ base: BASE, size: 4096 * 1024 * 1024 - 4096, engineArea: 1 << 20 })).toThrow(/4 GiB/);
  });
});

// ---- real guests ----
const root = resolve(import.meta.dirname, '../../..');
const GUESTS = ['isa-tests', 'selfmod', 'hello', 'badinsn', 'bench-intmix-small', 'bench-muldiv-small', 'bench-interp-small',
  'bench-calls-small', 'bench-chase-small', 'timer'];

function runGuest(name: string, engine: CpuEngine, slice: number, wasmTierUp = 0) {
  const image = readFileSync(resolve(root, 'guests/build', `${name}.elf`));
  let out = '';
  const cpuFactory = { variant: 'tachy-v1' as const, engine, create: (mem: PhysMemory, hartId: number) => new Cpu(mem, { engine, hartId, wasmTierUp }) };
  const m = new BareMachine({ image, file: name, cpuFactory, memoryMiB: 64, console: (b) => { out += Buffer.from(b).toString('latin1'); } });
  let r;
  do r = m.runSlice(slice, 2e9); while (r === 'budget');
  const c = m.cpu;
  const regs = Array.from({ length: 32 }, (_, i) => reg(c, i));
  const ram = createHash('sha256').update(m.memory.u8).digest('hex');
  const s = c.engineStats();
  return { exit: typeof r === 'string' ? r : r.reason, out, instret: c.instret, cycles: c.cycles, pc: c.pc, regs, ram,
    // (not blocksCompiled: regions take in the pages the exec soft-TLB maps when they are formed,
    // and the engines form hot regions again at different points: js at REGION_REFORM_HEAT, wasm at tier-up)
    stats: { blockInvalidations: s.blockInvalidations, codeFlushes: s.codeFlushes, tlbMisses: s.tlbMisses, tlbRefills: s.tlbRefills },
    wasmRegions: s.wasmRegions, wasmTierUps: s.wasmTierUps, wasmKeptJs: s.wasmKeptJs };
}

describe('guest images on both engines', () => {
  for (const name of GUESTS) {
    const file = resolve(root, 'guests/build', `${name}.elf`);
    it(`${name}: same output, instret, cycles, registers, RAM and code-cache counters`, () => {
      expect(existsSync(file), `${file} (committed in guests/build; pnpm guests rebuilds it)`).toBe(true);
      // whole runs, then slices of an odd size (run() returns mid-region, single-steps to block
      // ends); wasm from the start, and JS regions turning wasm after 500 instructions
      const js = [Infinity, 99_991].map((slice) => runGuest(name, 'js', slice));
      for (const [i, slice] of [Infinity, 99_991].entries()) {
        for (const tier of [0, 500]) {
          const a = js[i]!, b = runGuest(name, 'wasm', slice, tier);
          expect(b.wasmRegions).toBeGreaterThan(0);
          if (tier > 0) expect(b.wasmTierUps).toBe(b.wasmRegions);
          expect(a.wasmRegions).toBe(0);
          const { wasmRegions: _a, wasmTierUps: _c, wasmKeptJs: _e, ...ja } = a, { wasmRegions: _b, wasmTierUps: _d, wasmKeptJs: _f, ...wb } = b;
          expect(wb).toEqual(ja);
        }
      }
    }, 120_000);
  }

  it('tier-up keeps a hot region of short runs into ecall as JS (WASM_SHORT_RUN), and tiers loops up', () => {
    expect(existsSync(resolve(root, 'guests/build/hcversion-small.elf')), 'guests/build/hcversion-small.elf (committed)').toBe(true);
    // hcversion: 10000 ecalls (-ENOSYS from the bare firmware) from an 11-instruction loop region
    const js = runGuest('hcversion-small', 'js', Infinity);
    const b = runGuest('hcversion-small', 'wasm', Infinity, 500);
    expect(b.wasmKeptJs).toBeGreaterThanOrEqual(1);
    const { wasmRegions: _a, wasmTierUps: _c, wasmKeptJs: _e, ...ja } = js, { wasmRegions: _b, wasmTierUps: _d, wasmKeptJs: _f, ...wb } = b;
    expect(wb).toEqual(ja);
    // at once (wasmTierUp 0) there is no JS phase to measure: the same loop is wasm
    expect(runGuest('hcversion-small', 'wasm', Infinity, 0).wasmKeptJs).toBe(0);
    // a compute loop (no system instruction in it) goes to wasm
    const m = runGuest('bench-muldiv-small', 'wasm', Infinity, 500);
    expect(m.wasmTierUps).toBeGreaterThan(0);
  });

  it('selfmod really rewrites code it has run (the invalidation is exercised)', () => {
    const b = runGuest('selfmod', 'wasm', Infinity);
    expect(b.stats.blockInvalidations).toBeGreaterThan(0);
  });
});
