#!/usr/bin/env node
// Micro benchmarks of the CPU engine (not run by `pnpm test`). Reports guest M insn/s.
//   node packages/isa/bench/loop.bench.mjs [distDir]
// distDir defaults to packages/isa/dist (run `pnpm -F @tachyxx/isa build` first).
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const dist = resolve(process.argv[2] ?? new URL('../dist', import.meta.url).pathname);
const { Cpu, PhysMemory } = await import(pathToFileURL(resolve(dist, 'index.js')).href);

const BASE = 0x8000_0000;
// minimal encoders
const R = (f7, rs2, rs1, f3, rd, op) => ((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const I = (imm, rs1, f3, rd, op) => (((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const Bt = (imm, rs2, rs1, f3) => ((((imm >> 12) & 1) << 31) | (((imm >> 5) & 0x3f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (((imm >> 1) & 15) << 8) | (((imm >> 11) & 1) << 7) | 0x63) >>> 0;
const add = (d, a, b) => R(0, b, a, 0, d, 0x33), sub = (d, a, b) => R(0x20, b, a, 0, d, 0x33);
const xor = (d, a, b) => R(0, b, a, 4, d, 0x33), and = (d, a, b) => R(0, b, a, 7, d, 0x33);
const addi = (d, a, i) => I(i, a, 0, d, 0x13), slli = (d, a, s) => I(s, a, 1, d, 0x13), srli = (d, a, s) => I(s, a, 5, d, 0x13);
const mul = (d, a, b) => R(1, b, a, 0, d, 0x33);
const ld = (d, a, i) => I(i, a, 3, d, 3), sd = (s, a, i) => ((((i >> 5) & 0x7f) << 25) | (s << 20) | (a << 15) | (3 << 12) | ((i & 31) << 7) | 0x23) >>> 0;
const bne = (a, b, o) => Bt(o, b, a, 1), beq = (a, b, o) => Bt(o, b, a, 0), blt = (a, b, o) => Bt(o, b, a, 4);
const lui = (d, i) => (((i & 0xfffff) << 12) | (d << 7) | 0x37) >>> 0;
const jal = (d, off) => ((((off >> 20) & 1) << 31) | (((off >> 1) & 0x3ff) << 21) | (((off >> 11) & 1) << 20) | (((off >> 12) & 0xff) << 12) | (d << 7) | 0x6f) >>> 0;
const EBREAK = 0x00100073;

function machine(words, memSize = 64 << 20) {
  const mem = new PhysMemory(BASE, memSize);
  const bytes = new Uint8Array(words.length * 4);
  const dv = new DataView(bytes.buffer);
  words.forEach((w, i) => dv.setUint32(i * 4, w, true));
  mem.writeBytes(BASE, bytes);
  const cpu = new Cpu(mem, process.env.TLB ? { tlbEntries: Number(process.env.TLB) } : {});
  cpu.pc = BASE;
  return { cpu, mem };
}

function measure(name, cpu, insns) {
  const t0 = process.hrtime.bigint();
  const r = cpu.run(insns);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const mips = cpu.instret / s / 1e6;
  console.log(`${name.padEnd(36)} ${String(cpu.instret).padStart(11)} insns  ${s.toFixed(3)} s  ${mips.toFixed(0).padStart(5)} M insn/s  (${r})`);
  return mips;
}

const N = Number(process.env.BENCH_INSNS ?? 600e6);
const results = {};
// 1. tight ALU self-loop: 8 insns per iteration (t0=x5 counter, a0..a5)
{
  const { cpu } = machine([
    lui(5, 0x7ffff),
    add(10, 10, 11), xor(12, 12, 10), addi(11, 11, 1), slli(13, 10, 3), sub(14, 13, 12), and(15, 14, 11), addi(5, 5, -1), bne(5, 0, -28),
    EBREAK,
  ]);
  results.aluLoop = measure('alu self-loop (8 insns/iter)', cpu, N);
}
// 2. loop with an if/else inside (3 blocks per iteration, no self-loop)
{
  const { cpu } = machine([
    lui(5, 0x7ffff),
    /*L:*/ addi(10, 10, 1), andi(11, 10, 1), beq(11, 0, 12),
    add(12, 12, 10), xor(13, 13, 12), jal(0, 8),
    /*E:*/ sub(12, 12, 10),
    /*J:*/ addi(5, 5, -1), bne(5, 0, -32),
    EBREAK,
  ]);
  results.branchyLoop = measure('branchy loop (3 blocks/iter)', cpu, N / 3);
}
function andi(d, a, i) { return I(i, a, 7, d, 0x13); }
// 3. memory: sum an 8 MiB array with ld/sd (read-modify-write)
{
  const { cpu } = machine([
    addi(6, 0, 1), slli(6, 6, 31), lui(7, 0x100), add(6, 6, 7), // x6 = array base 0x80100000
    lui(7, 0x800), add(7, 7, 6), // x7 = end (base + 8 MiB)
    addi(8, 6, 0),
    /*L:*/ ld(9, 8, 0), add(10, 10, 9), addi(9, 9, 1), sd(9, 8, 0), addi(8, 8, 8), bne(8, 7, -20),
    addi(8, 6, 0), jal(0, -28),
  ]);
  results.memLoop = measure('ld/add/sd streaming loop', cpu, N / 3);
}
// 4. pointer chase over 32 MiB (random cyclic permutation of 8-byte cells)
{
  const cells = (32 << 20) / 8;
  const { cpu, mem } = machine([
    addi(10, 0, 0),
    /*L:*/ ld(10, 10, 0), addi(5, 5, 1), jal(0, -8),
  ], 64 << 20);
  const perm = new Uint32Array(cells);
  for (let i = 0; i < cells; i++) perm[i] = i;
  let seed = 12345;
  for (let i = cells - 1; i > 0; i--) { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; const j = seed % (i + 1); const t = perm[i]; perm[i] = perm[j]; perm[j] = t; }
  const base = 0x80100000 - BASE;
  const i32 = new Int32Array(mem.buffer);
  for (let i = 0; i < cells; i++) {
    const from = perm[i], to = perm[(i + 1) % cells];
    i32[(base + from * 8) >> 2] = BASE + 0x100000 + to * 8;
    i32[((base + from * 8) >> 2) + 1] = 0;
  }
  // start at perm[0]
  cpu.run(1); // lui
  cpu.setReg(10, (BASE + 0x100000 + perm[0] * 8) | 0, 0);
  results.chase = measure('pointer chase 32 MiB (3 insns/iter)', cpu, N / 10);
}
// 5. multiply-heavy loop
{
  const { cpu } = machine([
    lui(5, 0x7ffff), addi(11, 0, 7),
    mul(10, 10, 11), addi(10, 10, 3), srli(12, 10, 7), xor(10, 10, 12), addi(5, 5, -1), bne(5, 0, -20),
    EBREAK,
  ]);
  results.mulLoop = measure('mul/xorshift self-loop', cpu, N / 3);
}
console.log(JSON.stringify(results));
