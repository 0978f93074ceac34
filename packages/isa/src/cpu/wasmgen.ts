// The wasm engine's region compiler: the same regions, exits, cycle / instret / lookup accounting
// as codegen.ts (the JS engine, the reference), emitted as one WebAssembly function per region
// with the guest registers in i64 locals. 64-bit adds, compares, shifts, multiplies and divides
// are single wasm instructions here, where the JS engine works on int32 halves.
//
// Shared state lives in the guest RAM's WebAssembly.Memory (PhysMemory `engineArea`), in the
// hart's engine area at byte `area` (layout: ENGINE_AREA below): the registers (x[2i], x[2i+1] =
// the i64 of register i, little-endian), an output block (next pc, retired instructions, cycles,
// translation lookups, the slow paths' sx / rhi), and the soft-TLB arrays RL..XO the JS side
// views as Int32Arrays. Guest RAM is at memory offset 0, so a soft-TLB host offset is a wasm
// address.
//
// Function: `f(budget, st, cl, tb) -> exit` (all i32): `st` = region block to start at, `cl` =
// cycles left before the cycle limit (clamped to CL_MAX by the caller), `tb` = cpu.tlbBase.
// Structure: block $R { loop $L { block $B(k-1) ... block $B0 { br_table st } code0 } code1 ...
// } } epilogue: each block's code sits in its own `loop $Si` (a self-edge is a `br $Si`); an
// edge to another block sets st and branches to $L; exits set xpc / xe and branch to $R, whose
// epilogue stores the written registers and the counts. Slow paths are imported JS functions
// (softmmu's ld / st / amo / recordFault through wasm-engine.ts).

import {
  Op, decode, rd as fRd, rs1 as fRs1, rs2 as fRs2, immI, immS, immB, immU, immJ, shamt as fShamt,
} from '../decode.js';
import type { CostModel } from './cost.js';
import { add64c, constJalrTarget, costOf, crossesPage, hostPageOf, isControl, isInlineCsr, returnTargets, type RegionBlock } from './codegen.js';
import { FnBody, I32, I64, W, encodeModule } from './wasm-encoder.js';

/** Entries of the hub's direct-mapped code cache (host offset / 4 -> descriptor). */
export const CODE_CACHE_ENTRIES = 4096;
/** Bytes of block descriptors and link blocks per hart (when used up, new blocks run without the hub). */
export const DESC_ARENA_BYTES = 512 * 1024;

/** Byte layout of a hart's engine area (relative to its start); `tlbEntries`-dependent parts by function. */
export const ENGINE_AREA = {
  /** x0..x31 as 64 int32 halves. */
  regs: 0,
  /** Output block (Int32Array of IO_WORDS): see IO. */
  io: 256,
  /** The soft-TLB sections RT RO WT WO XT XO (tlbSections: tags 32, host offsets 16 * tlbEntries bytes). */
  tlb: 512,
} as const;
/** Byte offset (in the engine area) of the code cache, then the descriptor arena. */
export function codeCacheOffset(tlbEntries: number): number { return ENGINE_AREA.tlb + 9 * 16 * tlbEntries; }
export function descArenaOffset(tlbEntries: number): number { return codeCacheOffset(tlbEntries) + 4 * CODE_CACHE_ENTRIES; }

/**
 * Int32 indexes in the output block. Regions write pc / n / c / m; slow-path imports write sx /
 * rhi and refresh epoch / attn; the hub reads epoch / bank / attn and writes the last*, hits,
 * lookups and hub* totals.
 */
export const IO = {
  pcLo: 0, pcHi: 1, n: 2, c: 3, m: 4, sx: 5, rhi: 6,
  epoch: 7, bank: 8, attn: 9, lastDesc: 10, lastExit: 11, hits: 12, hubN: 13, hubC: 14, hubM: 15, lookups: 16,
  /** The soft-TLB's in-use entries per level - 1 (Cpu.tlbMask; softmmu.ts keeps it current). */
  tmask: 17,
  /**
   * Inside the hub: the cycles its earlier regions retired in this call (not yet in cpu.cycles),
   * written before each region call; 0 outside it. cpu.rdtime adds them.
   */
  hubCNow: 18,
} as const;
export const IO_WORDS = 32;
/** Int32 fields of a block descriptor (one per Block with a wasm region function). */
export const DESC = { table: 0, entry: 1, len: 2, vpcLo: 3, vpcHi: 4, valid: 5, off: 6, serial: 7, links: 8 } as const;
export const DESC_WORDS = 9;
/** Int32 fields of a link block (shared by the blocks of one region), then the links by exit id. */
export const LINKS = { epoch: 0, bank: 1, n: 2, first: 3 } as const;
/** Region-to-region transitions per hub call (see generateHub). */
export const HUB_MAX_STEPS = 4096;
/** Largest `cl` passed to a region function (cycle counts stay far from int32 overflow). */
export const CL_MAX = 0x3fffffff;

/**
 * Byte offsets (in wasm memory) of a hart's soft-TLB sections, in CpuState's order: per section
 * the tags (RT / WT / XT: entry i's page base as the i64 at 8 i, lo then hi, Int32Array [2i], [2i+1])
 * and the host page offsets (RO / WO / XO: the int32 at 4 i); i = level * tlbEntries + slot.
 */
export function tlbSections(area: number, tlbEntries: number): { RT: number; RO: number; WT: number; WO: number; XT: number; XO: number } {
  const te4 = 16 * tlbEntries, RT = area + ENGINE_AREA.tlb;
  return { RT, RO: RT + 2 * te4, WT: RT + 3 * te4, WO: RT + 5 * te4, XT: RT + 6 * te4, XO: RT + 8 * te4 };
}

/** Bytes of engine area one hart needs with `tlbEntries` soft-TLB entries per level. */
export function engineAreaBytes(tlbEntries: number): number {
  return descArenaOffset(tlbEntries) + DESC_ARENA_BYTES;
}

// imported functions (indices), then the module's own functions
const F_LD = 0, F_ST = 1, F_AMO = 2, F_FAULT = 3, F_TIME = 4; // 5: the region function itself
// locals of the main function
const P_BUDGET = 0, P_ST = 1, P_CL = 2, P_TB = 3;
const L_N = 4, L_C = 5, L_M = 6, L_XE = 7, L_T2 = 8, L_A32 = 9, L_B32 = 10, L_ENTRY = 11, L_TM = 12;
const L_XPC = 13, L_V = 14, L_EA = 15;
const REG0 = 15; // register r (1..31) is local REG0 + r
const L_MT = REG0 + 32, L_MW = REG0 + 33; // i64 scratch of the inline mulhu
const L_EPOCH = REG0 + 34; // i32: the output block's epoch at entry (countAccesses: slowCut)

export interface WasmRegion {
  bytes: Uint8Array;
  /** Number of distinct external exit ids (as RegionSource.exits). */
  exits: number;
}

export function generateRegionWasm(blocks: RegionBlock[], area: number, tlbEntries: number,
  cost: CostModel, countAccesses = false): WasmRegion {
  const index = new Map<string, number>();
  blocks.forEach((b, i) => index.set(`${b.pcLo}:${b.pcHi}`, i));
  // Registers used / written per block, and per entry block over the blocks it can reach inside
  // the region: an entry loads only the registers its part of the region uses and stores only
  // those it may write (a region is often entered near its end, e.g. after a call returns).
  const usedB: number[] = [], writtenB: number[] = [], succB: number[][] = [];
  for (const blk of blocks) {
    let u = 0, wr = 0;
    for (const w of blk.words) {
      const op = decode(w);
      const r1 = fRs1(w), r2 = fRs2(w), d = fRd(w);
      if (op !== Op.LUI && op !== Op.AUIPC && op !== Op.JAL && op !== Op.FENCE) u |= 1 << r1;
      if ((op >= Op.BEQ && op <= Op.BGEU) || (op >= Op.SB && op <= Op.SD) || (op >= Op.ADD && op <= Op.AND)
        || (op >= Op.ADDW && op <= Op.REMUW) || (op >= Op.SC_W && op <= Op.AMOMAXU_W) || (op >= Op.SC_D && op <= Op.AMOMAXU_D)) u |= 1 << r2;
      const writes = !(op >= Op.BEQ && op <= Op.BGEU) && !(op >= Op.SB && op <= Op.SD) && op !== Op.FENCE;
      if (writes && d !== 0) { u |= 1 << d; wr |= 1 << d; }
    }
    usedB.push(u & ~1); writtenB.push(wr);
    const n = blk.words.length, last = blk.words[n - 1]!, op = decode(last);
    const [ll, lh] = add64c(blk.pcLo, blk.pcHi, 4 * (n - 1));
    const targets: [number, number][] = [];
    if (op >= Op.BEQ && op <= Op.BGEU) targets.push(add64c(ll, lh, immB(last)), add64c(ll, lh, 4));
    else if (op === Op.JAL) targets.push(add64c(ll, lh, immJ(last)));
    else if (op !== Op.JALR) targets.push(add64c(ll, lh, 4));
    // a jalr may go to any block of the region (the in-region dispatch below)
    const ct = op === Op.JALR ? constJalrTarget(blk.words, n - 1, blk.pcLo, blk.pcHi) : undefined;
    if (ct !== undefined) targets.push(ct);
    succB.push(op === Op.JALR && ct === undefined ? blocks.map((_, t) => t)
      : targets.map(([tl, th]) => index.get(`${tl}:${th}`)).filter((t): t is number => t !== undefined));
  }
  const usedR: number[] = [], writtenR: number[] = [];
  for (let i = 0; i < blocks.length; i++) {
    const seen = new Set<number>([i]), stack = [i];
    let u = 0, wr = 0;
    while (stack.length > 0) {
      const j = stack.pop()!;
      u |= usedB[j]!; wr |= writtenB[j]!;
      for (const t of succB[j]!) if (!seen.has(t)) { seen.add(t); stack.push(t); }
    }
    usedR.push(u); writtenR.push(wr);
  }
  const regsOf = (mask: number): number[] => { const r: number[] = []; for (let i = 1; i < 32; i++) if ((mask >>> i) & 1) r.push(i); return r; };

  const { RT: RTo, RO: ROo, WT: WTo, WO: WOo, XT: XTo, XO: XOo } = tlbSections(area, tlbEntries);
  const ioOff = (i: number): number => area + ENGINE_AREA.io + 4 * i;

  const f = new FnBody();
  const K = blocks.length;
  // the region's virtual pages and their blocks (a jalr dispatches per page)
  const pages: { lo: number; hi: number; blocks: number[] }[] = [];
  blocks.forEach((b, t) => {
    const lo = b.pcLo & -4096;
    let pg = pages.find((p) => p.lo === lo && p.hi === b.pcHi);
    if (pg === undefined) pages.push(pg = { lo, hi: b.pcHi, blocks: [] });
    pg.blocks.push(t);
  });
  const rets = returnTargets(blocks, index);
  /** Push the i32 condition "the exec soft-TLB maps block b's virtual page to the host page it was compiled from". */
  const onPage = (b: RegionBlock): void => {
    f.i32((b.pcLo >>> 12) & 0xfffff).get(L_TM).op(W.i32_and).get(P_TB).op(W.i32_add).i32(2).op(W.i32_shl).tee(L_T2)
      .i32(1).op(W.i32_shl).mem(W.i64_load, 3, XTo).i64(b.pcLo & -4096, b.pcHi).op(W.i64_eq)
      .get(L_T2).mem(W.i32_load, 2, XOo).i32(hostPageOf(b)).op(W.i32_eq).op(W.i32_and);
  };
  let exits = 0;

  /**
   * Per entry block (the `st` argument), code that depends on the entry's register set `sets[i]`:
   * one copy per distinct set, chosen by br_table on `sel`, all falling through to the end.
   */
  const byEntry = (sets: number[], sel: number, emit: (mask: number) => void): void => {
    const distinct = [...new Set(sets)];
    if (distinct.length === 1) { emit(distinct[0]!); return; }
    f.block('go');
    for (let g = distinct.length - 1; g >= 0; g--) f.block(`g${g}`);
    f.get(sel).brTable(sets.map((m) => `g${distinct.indexOf(m)}`), `g${distinct.indexOf(sets[0]!)}`);
    distinct.forEach((m, g) => { f.end(); void g; emit(m); f.br('go'); });
    f.end();
  };
  // prologue: the soft-TLB mask, the registers the entry's part of the region uses
  f.get(P_ST).set(L_ENTRY);
  f.i32(0).mem(W.i32_load, 2, ioOff(IO.tmask)).set(L_TM);
  if (countAccesses) f.i32(0).mem(W.i32_load, 2, ioOff(IO.epoch)).set(L_EPOCH);
  byEntry(usedR, P_ST, (m) => { for (const r of regsOf(m)) f.i32(0).mem(W.i64_load, 3, area + 8 * r).set(REG0 + r); });

  f.block('R').loop('L');
  for (let i = K - 1; i >= 0; i--) f.block(`B${i}`);
  f.get(P_ST).brTable(blocks.map((_, i) => `B${i}`), 'B0');

  /** Push register r's value. */
  const R = (r: number): FnBody => (r === 0 ? f.i64(0, 0) : f.get(REG0 + r));
  /** Pop the value on the stack into rd (dropped for x0). */
  const toRd = (d: number): void => { if (d === 0) f.op(W.drop); else f.set(REG0 + d); };
  const addI32 = (local: number, k: number): void => { if (k !== 0) f.get(local).i32(k).op(W.i32_add).set(local); };

  blocks.forEach((blk, bi) => {
    f.end(); // closes $B{bi}: block bi's code follows
    f.loop(`S${bi}`);
    const words = blk.words, n = words.length, pcLo = blk.pcLo, pcHi = blk.pcHi;
    const ops = words.map((w) => decode(w));
    const cyc: number[] = [0];
    for (let i = 0; i < n; i++) cyc.push(cyc[i]! + costOf(ops[i]!, cost));
    const acc: number[] = [1];
    for (let i = 0; i < n; i++) acc.push(acc[i]! + (ops[i]! >= Op.LB && ops[i]! <= Op.SD ? 1 : 0));
    const counts = (k: number, extra: number, faulted: number): void => {
      addI32(L_N, k); addI32(L_C, cyc[k]! + extra);
      if (countAccesses) addI32(L_M, acc[k]! + faulted);
    };
    /** Exit to a constant PC after k retired instructions plus `extra` cycles. */
    const exitC = (lo: number, hi: number, k: number, extra = 0, e = -1, faulted = 0): void => {
      counts(k, extra, faulted);
      f.i64(lo, hi).set(L_XPC).i32(e).set(L_XE).br('R');
    };
    /** After a slow path: budget 0, no further edge, when an exec translation went away (countAccesses: the epoch moved) or the slow path asked for the run loop (attn) (codegen.ts slowCut). */
    const slowCut = (): void => {
      if (countAccesses) f.i32(0).mem(W.i32_load, 2, ioOff(IO.epoch)).get(L_EPOCH).op(W.i32_ne).if_().i32(0).set(P_BUDGET).end();
      // and after a slow path that asked for the run loop (attn: an interrupt line a device moved
      // from an MMIO access, a stop): no further edge, as codegen.ts slowCut
      f.i32(0).mem(W.i32_load, 2, ioOff(IO.attn)).if_().i32(0).set(P_BUDGET).end();
    };
    /**
     * Continue at region block t when its instructions fit in the budget and the cycle limit is
     * ahead (exec.ts's conditions) and, for a block on another page, the exec soft-TLB still maps
     * its page to the host page it was compiled from (codegen.ts onPage).
     */
    const enterIfFits = (t: number): void => {
      f.get(L_N).i32(blocks[t]!.words.length).op(W.i32_add).get(P_BUDGET).op(W.i32_le_s)
        .get(L_C).get(P_CL).op(W.i32_lt_s).op(W.i32_and);
      if (crossesPage(blk, blocks[t]!)) { onPage(blocks[t]!); f.op(W.i32_and); }
      f.if_();
      if (t === bi) f.br(`S${bi}`);
      else f.i32(t).set(P_ST).br('L');
      f.end();
    };
    const goTo = (lo: number, hi: number, extra: number): void => {
      const t = index.get(`${lo}:${hi}`);
      if (t === undefined) { exitC(lo, hi, n, extra, exits++); return; }
      counts(n, extra, 0);
      enterIfFits(t);
      f.i64(lo, hi).set(L_XPC).i32(exits++).set(L_XE).br('R');
    };
    /**
     * An indirect jump to the pc in L_EA: to a block of this region when the target is one (same
     * virtual page, a block start: br_table over the page offsets the region's blocks span) and
     * fits, else an exit to the run loop / hub as before.
     */
    const goToDynamic = (): void => {
      counts(n, 0, 0);
      // Candidates: the region's blocks on the jalr's own page (a br_table over their page
      // offsets), and on other pages the code after the region's calls (returns), compared one by one.
      const own = pages.find((pg) => !crossesPage(blk, blocks[pg.blocks[0]!]!))!;
      const far = rets.filter((t) => crossesPage(blk, blocks[t]!));
      const order = [...own.blocks, ...far];
      f.block('xo');
      for (let j = order.length - 1; j >= 0; j--) f.block(`j${order[j]}`);
      for (const t of far) f.get(L_EA).i64(blocks[t]!.pcLo, blocks[t]!.pcHi).op(W.i64_eq).brIf(`j${t}`);
      const pos = own.blocks.map((t) => blocks[t]!.pcLo & 4095);
      const lo = Math.min(...pos), span = (Math.max(...pos) - lo) / 4 + 1;
      f.get(L_EA).op(W.i32_wrap_i64).i32(-4096).op(W.i32_and).i32(own.lo).op(W.i32_ne);
      hiOfEa(); f.i32(own.hi).op(W.i32_ne, W.i32_or).brIf('xo');
      const table: string[] = new Array<string>(span).fill('xo');
      own.blocks.forEach((t, k) => { table[(pos[k]! - lo) / 4] = `j${t}`; });
      f.get(L_EA).op(W.i32_wrap_i64).i32(4095).op(W.i32_and).i32(lo).op(W.i32_sub).i32(2).op(W.i32_shr_s)
        .brTable(table, 'xo');
      order.forEach((t) => { f.end(); enterIfFits(t); f.br('xo'); });
      f.end(); // $xo
      f.get(L_EA).set(L_XPC).i32(exits++).set(L_XE).br('R');
    };
    /** ea = rs1 + imm. */
    const ea = (r: number, imm: number): void => {
      if (r === 0) f.i64(imm | 0, imm >> 31);
      else { R(r); if (imm !== 0) f.i64(imm | 0, imm >> 31).op(W.i64_add); }
      f.set(L_EA);
    };
    /**
     * Soft-TLB probe of ea: leaves the i32 condition "hit" on the stack; t2 = entry index * 4 (the
     * host offset's byte index; the tag's is twice it). One i64 compare: ea with the page-offset bits
     * above the access size cleared (a misaligned ea keeps a low bit and misses) against the tag.
     */
    const probe = (tags: number, amask: number): void => {
      f.get(L_EA).op(W.i32_wrap_i64).tee(L_A32).i32(12).op(W.i32_shr_u).get(L_TM).op(W.i32_and)
        .get(P_TB).op(W.i32_add).i32(2).op(W.i32_shl).tee(L_T2);
      f.i32(1).op(W.i32_shl).mem(W.i64_load, 3, tags).get(L_EA).i64(amask, -1).op(W.i64_and).op(W.i64_eq);
    };
    /** A refill may resize the soft-TLB (softmmu.ts tlbSlot): re-read the mask after a slow path. */
    const reloadMask = (): void => { f.i32(0).mem(W.i32_load, 2, ioOff(IO.tmask)).set(L_TM); };
    const hiOfEa = (): void => { f.get(L_EA).i64(32, 0).op(W.i64_shr_u).op(W.i32_wrap_i64); };
    const split = (r: number): void => {
      if (r === 0) { f.i32(0).i32(0); return; }
      R(r).op(W.i32_wrap_i64); R(r).i64(32, 0).op(W.i64_shr_u).op(W.i32_wrap_i64);
    };
    /** Push lo (local a) | rhi << 32 as an i64. */
    const joinRhi = (loLocal: number): void => {
      f.get(loLocal).op(W.i64_extend_i32_u).i32(0).mem(W.i32_load, 2, ioOff(IO.rhi)).op(W.i64_extend_i32_s)
        .i64(32, 0).op(W.i64_shl).op(W.i64_or);
    };
    const cmp = (r1: number, r2: number, opc: number): void => { R(r1); R(r2); f.op(opc); };
    /**
     * Push the high 64 bits of the unsigned 128-bit product of registers a and b, inline (no call):
     * Hacker's Delight mulhu from four 32x32 -> 64 products, where no partial sum can overflow:
     * t = a1 b0 + (a0 b0 >> 32); w = a0 b1 + (t & M); hi = a1 b1 + (t >> 32) + (w >> 32).
     */
    const mulhu = (a: number, b: number): void => {
      const lo = (r: number): void => { R(r); f.i64(-1, 0).op(W.i64_and); };
      const hi = (r: number): void => { R(r); f.i64(32, 0).op(W.i64_shr_u); };
      hi(a); lo(b); f.op(W.i64_mul); lo(a); lo(b); f.op(W.i64_mul).i64(32, 0).op(W.i64_shr_u, W.i64_add).set(L_MT);
      lo(a); hi(b); f.op(W.i64_mul).get(L_MT).i64(-1, 0).op(W.i64_and, W.i64_add).set(L_MW);
      hi(a); hi(b); f.op(W.i64_mul).get(L_MT).i64(32, 0).op(W.i64_shr_u, W.i64_add).get(L_MW).i64(32, 0).op(W.i64_shr_u, W.i64_add);
    };

    for (let k = 0; k < n; k++) {
      const w = words[k]!, op = ops[k]!;
      const d = fRd(w), r1 = fRs1(w), r2 = fRs2(w);
      const [pl, ph] = add64c(pcLo, pcHi, 4 * k);
      const [nl, nh] = add64c(pl, ph, 4);
      const faultExit = (): void => exitC(pl, ph, k);
      const memFaultExit = (): void => (countAccesses ? exitC(pl, ph, k, 0, -1, 1) : exitC(pl, ph, k));
      const I = immI(w);
      const bin = (opc: number): void => { if (d !== 0) { R(r1); R(r2); f.op(opc); toRd(d); } };
      const binI = (opc: number): void => { if (d !== 0) { R(r1); f.i64(I, I >> 31).op(opc); toRd(d); } };
      const shI = (opc: number): void => { if (d !== 0) { R(r1); f.i64(fShamt(w), 0).op(opc); toRd(d); } };
      const w32 = (opc: number, imm?: number): void => {
        if (d === 0) return;
        R(r1).op(W.i32_wrap_i64);
        if (imm === undefined) R(r2).op(W.i32_wrap_i64); else f.i32(imm);
        f.op(opc, W.i64_extend_i32_s); toRd(d);
      };
      switch (op) {
        case Op.LUI: if (d !== 0) { const u = immU(w); f.i64(u, u >> 31); toRd(d); } break;
        case Op.AUIPC: if (d !== 0) { const [ul, uh] = add64c(pl, ph, immU(w)); f.i64(ul, uh); toRd(d); } break;
        case Op.ADDI: binI(W.i64_add); break;
        case Op.SLTI: if (d !== 0) { R(r1); f.i64(I, I >> 31).op(W.i64_lt_s, W.i64_extend_i32_u); toRd(d); } break;
        case Op.SLTIU: if (d !== 0) { R(r1); f.i64(I, I >> 31).op(W.i64_lt_u, W.i64_extend_i32_u); toRd(d); } break;
        case Op.XORI: binI(W.i64_xor); break;
        case Op.ORI: binI(W.i64_or); break;
        case Op.ANDI: binI(W.i64_and); break;
        case Op.SLLI: shI(W.i64_shl); break;
        case Op.SRLI: shI(W.i64_shr_u); break;
        case Op.SRAI: shI(W.i64_shr_s); break;
        case Op.ADD: bin(W.i64_add); break;
        case Op.SUB: bin(W.i64_sub); break;
        case Op.SLT: if (d !== 0) { cmp(r1, r2, W.i64_lt_s); f.op(W.i64_extend_i32_u); toRd(d); } break;
        case Op.SLTU: if (d !== 0) { cmp(r1, r2, W.i64_lt_u); f.op(W.i64_extend_i32_u); toRd(d); } break;
        case Op.XOR: bin(W.i64_xor); break;
        case Op.OR: bin(W.i64_or); break;
        case Op.AND: bin(W.i64_and); break;
        case Op.SLL: bin(W.i64_shl); break; // wasm shifts count mod 64, as RISC-V
        case Op.SRL: bin(W.i64_shr_u); break;
        case Op.SRA: bin(W.i64_shr_s); break;
        case Op.ADDIW: w32(W.i32_add, I); break;
        case Op.SLLIW: w32(W.i32_shl, fShamt(w)); break;
        case Op.SRLIW: w32(W.i32_shr_u, fShamt(w)); break;
        case Op.SRAIW: w32(W.i32_shr_s, fShamt(w)); break;
        case Op.ADDW: w32(W.i32_add); break;
        case Op.SUBW: w32(W.i32_sub); break;
        case Op.SLLW: w32(W.i32_shl); break; // count mod 32, as RISC-V
        case Op.SRLW: w32(W.i32_shr_u); break;
        case Op.SRAW: w32(W.i32_shr_s); break;
        case Op.MUL: bin(W.i64_mul); break;
        case Op.MULW: w32(W.i32_mul); break;
        case Op.MULHU: if (d !== 0) { mulhu(r1, r2); toRd(d); } break;
        case Op.MULH: case Op.MULHSU:
          if (d !== 0) {
            // signed high product = unsigned high product - (a < 0 ? b : 0) - (b < 0 ? a : 0)
            mulhu(r1, r2);
            R(r1); f.i64(63, 0).op(W.i64_shr_s); R(r2); f.op(W.i64_and, W.i64_sub);
            if (op === Op.MULH) { R(r2); f.i64(63, 0).op(W.i64_shr_s); R(r1); f.op(W.i64_and, W.i64_sub); }
            toRd(d);
          }
          break;
        case Op.DIV: case Op.DIVU: case Op.REM: case Op.REMU: {
          if (d === 0) break;
          // RISC-V: x / 0 = -1, x % 0 = x; MIN / -1 = MIN (= -MIN), MIN % -1 = 0 (wasm traps on
          // both divisions, so they are special-cased; rem_s by -1 is 0 for every dividend)
          const signed = op === Op.DIV || op === Op.REM, isDiv = op === Op.DIV || op === Op.DIVU;
          R(r2).op(W.i64_eqz).if_();
          if (isDiv) f.i64(-1, -1); else R(r1);
          f.set(L_V).else_();
          if (signed) {
            R(r2).i64(-1, -1).op(W.i64_eq).if_();
            if (isDiv) { f.i64(0, 0); R(r1); f.op(W.i64_sub); } else f.i64(0, 0);
            f.set(L_V).else_();
            R(r1); R(r2); f.op(isDiv ? W.i64_div_s : W.i64_rem_s).set(L_V);
            f.end();
          } else { R(r1); R(r2); f.op(isDiv ? W.i64_div_u : W.i64_rem_u).set(L_V); }
          f.end();
          f.get(L_V); toRd(d);
          break;
        }
        case Op.DIVW: case Op.DIVUW: case Op.REMW: case Op.REMUW: {
          if (d === 0) break;
          const signed = op === Op.DIVW || op === Op.REMW, isDiv = op === Op.DIVW || op === Op.DIVUW;
          R(r1).op(W.i32_wrap_i64).set(L_A32);
          R(r2).op(W.i32_wrap_i64).tee(L_B32).op(W.i32_eqz).if_();
          if (isDiv) f.i32(-1); else f.get(L_A32);
          f.set(L_A32).else_();
          if (signed) {
            f.get(L_B32).i32(-1).op(W.i32_eq).if_();
            if (isDiv) f.i32(0).get(L_A32).op(W.i32_sub); else f.i32(0);
            f.set(L_A32).else_();
            f.get(L_A32).get(L_B32).op(isDiv ? W.i32_div_s : W.i32_rem_s).set(L_A32);
            f.end();
          } else f.get(L_A32).get(L_B32).op(isDiv ? W.i32_div_u : W.i32_rem_u).set(L_A32);
          f.end();
          f.get(L_A32).op(W.i64_extend_i32_s); toRd(d);
          break;
        }
        case Op.FENCE: break;
        case Op.LB: case Op.LH: case Op.LW: case Op.LD: case Op.LBU: case Op.LHU: case Op.LWU: {
          const size = op === Op.LB || op === Op.LBU ? 1 : op === Op.LH || op === Op.LHU ? 2 : op === Op.LD ? 8 : 4;
          const ld = op === Op.LB ? W.i64_load8_s : op === Op.LBU ? W.i64_load8_u : op === Op.LH ? W.i64_load16_s
            : op === Op.LHU ? W.i64_load16_u : op === Op.LW ? W.i64_load32_s : op === Op.LWU ? W.i64_load32_u : W.i64_load;
          ea(r1, immI(w));
          probe(RTo, (-4096 | (size - 1)) | 0);
          f.if_();
          f.get(L_T2).mem(W.i32_load, 2, ROo).get(L_A32).i32(4095).op(W.i32_and).op(W.i32_add)
            .mem(ld, 0, 0).set(L_V);
          f.else_();
          f.get(L_A32); hiOfEa(); f.i32(op).call(F_LD).set(L_B32); slowCut();
          reloadMask();
          // sx 1: the load faulted (exit before it); sx 2: a debugger watchpoint (exit after it)
          f.i32(0).mem(W.i32_load, 2, ioOff(IO.sx)).tee(L_A32).if_();
          f.get(L_A32).i32(1).op(W.i32_eq).if_(); memFaultExit(); f.end();
          joinRhi(L_B32); toRd(d);
          exitC(nl, nh, k + 1);
          f.end();
          joinRhi(L_B32); f.set(L_V);
          f.end();
          if (d !== 0) f.get(L_V).set(REG0 + d);
          break;
        }
        case Op.SB: case Op.SH: case Op.SW: case Op.SD: {
          const size = op === Op.SB ? 1 : op === Op.SH ? 2 : op === Op.SW ? 4 : 8;
          const stOp = op === Op.SB ? W.i64_store8 : op === Op.SH ? W.i64_store16 : op === Op.SW ? W.i64_store32 : W.i64_store;
          ea(r1, immS(w));
          probe(WTo, (-4096 | (size - 1)) | 0);
          f.if_();
          f.get(L_T2).mem(W.i32_load, 2, WOo).get(L_A32).i32(4095).op(W.i32_and).op(W.i32_add);
          R(r2); f.mem(stOp, 0, 0);
          f.else_();
          f.get(L_A32); hiOfEa(); split(r2); f.i32(op).call(F_ST).set(L_B32); slowCut();
          reloadMask();
          f.get(L_B32).if_();
          f.get(L_B32).i32(1).op(W.i32_eq).if_(); memFaultExit(); f.end();
          exitC(nl, nh, k + 1);
          f.end();
          f.end();
          break;
        }
        case Op.LR_W: case Op.LR_D: case Op.SC_W: case Op.SC_D:
        case Op.AMOSWAP_W: case Op.AMOADD_W: case Op.AMOXOR_W: case Op.AMOAND_W: case Op.AMOOR_W:
        case Op.AMOMIN_W: case Op.AMOMAX_W: case Op.AMOMINU_W: case Op.AMOMAXU_W:
        case Op.AMOSWAP_D: case Op.AMOADD_D: case Op.AMOXOR_D: case Op.AMOAND_D: case Op.AMOOR_D:
        case Op.AMOMIN_D: case Op.AMOMAX_D: case Op.AMOMINU_D: case Op.AMOMAXU_D:
          split(r1); split(r2); f.i32(op).call(F_AMO).set(L_B32); slowCut();
          f.i32(0).mem(W.i32_load, 2, ioOff(IO.sx)).tee(L_A32).i32(1).op(W.i32_eq).if_(); faultExit(); f.end();
          joinRhi(L_B32); toRd(d);
          f.get(L_A32).if_(); exitC(nl, nh, k + 1); f.end(); // wrote compiled code: leave the region
          break;
        case Op.JAL: {
          const [tl, th] = add64c(pl, ph, immJ(w));
          if (tl & 3) { f.i32(0).i32(tl).i32(th).call(F_FAULT); faultExit(); break; }
          if (d !== 0) { f.i64(nl, nh); toRd(d); }
          goTo(tl, th, 0);
          break;
        }
        case Op.JALR: {
          const ct = constJalrTarget(words, k, pcLo, pcHi);
          if (ct !== undefined) { // auipc + jalr: a direct call / jump (codegen.ts)
            if (ct[0] & 2) { f.i32(0).i32(ct[0]).i32(ct[1]).call(F_FAULT); faultExit(); break; }
            if (d !== 0) { f.i64(nl, nh); toRd(d); }
            goTo(ct[0], ct[1], 0);
            break;
          }
          ea(r1, I);
          f.get(L_EA).i64(-2, -1).op(W.i64_and).tee(L_EA).op(W.i32_wrap_i64).i32(2).op(W.i32_and).if_();
          f.i32(0).get(L_EA).op(W.i32_wrap_i64); hiOfEa(); f.call(F_FAULT); faultExit();
          f.end();
          if (d !== 0) { f.i64(nl, nh); toRd(d); }
          goToDynamic();
          break;
        }
        case Op.BEQ: case Op.BNE: case Op.BLT: case Op.BGE: case Op.BLTU: case Op.BGEU: {
          const opc = op === Op.BEQ ? W.i64_eq : op === Op.BNE ? W.i64_ne : op === Op.BLT ? W.i64_lt_s
            : op === Op.BGE ? W.i64_ge_s : op === Op.BLTU ? W.i64_lt_u : W.i64_ge_u;
          const [tl, th] = add64c(pl, ph, immB(w));
          cmp(r1, r2, opc);
          f.if_();
          if (tl & 3) { f.i32(0).i32(tl).i32(th).call(F_FAULT); faultExit(); } else goTo(tl, th, cost.branchTaken);
          f.end();
          goTo(nl, nh, 0);
          break;
        }
        case Op.CSRRS: // rdtime (codegen isInlineCsr), a block of its own: L_C = the cycles before it
          if (!isInlineCsr(w)) throw new Error(`wasmgen: system instruction 0x${(w >>> 0).toString(16)} in a block`);
          f.get(L_C).i32(w).call(F_TIME).set(L_B32);
          f.i32(0).mem(W.i32_load, 2, ioOff(IO.sx)).i32(1).op(W.i32_eq).if_(); faultExit(); f.end();
          joinRhi(L_B32); toRd(d);
          break;
        default:
          throw new Error(`wasmgen: unexpected op ${op} in a block`);
      }
    }
    if (!isControl(ops[n - 1]!)) {
      const [el, eh] = add64c(pcLo, pcHi, 4 * n);
      goTo(el, eh, 0);
    }
    f.end(); // $S{bi}
  });
  f.end().end(); // $L, $R

  // epilogue: written registers, next pc, counts; the exit id is the result
  byEntry(writtenR, L_ENTRY, (m) => { for (const r of regsOf(m)) f.i32(0).get(REG0 + r).mem(W.i64_store, 3, area + 8 * r); });
  f.i32(0).get(L_XPC).mem(W.i64_store, 3, ioOff(IO.pcLo));
  f.i32(0).get(L_N).mem(W.i32_store, 2, ioOff(IO.n));
  f.i32(0).get(L_C).mem(W.i32_store, 2, ioOff(IO.c));
  if (countAccesses) f.i32(0).get(L_M).mem(W.i32_store, 2, ioOff(IO.m));
  f.get(L_XE);

  const i32x = (k: number): number[] => new Array<number>(k).fill(I32);
  const bytes = encodeModule(
    [
      { module: 'e', name: 'ld', type: { params: i32x(3), results: [I32] } },
      { module: 'e', name: 'st', type: { params: i32x(5), results: [I32] } },
      { module: 'e', name: 'amo', type: { params: i32x(5), results: [I32] } },
      { module: 'e', name: 'fault', type: { params: i32x(3), results: [] } },
      { module: 'e', name: 'time', type: { params: i32x(2), results: [I32] } },
    ],
    { module: 'e', name: 'mem', minPages: 0 },
    [
      { type: { params: i32x(4), results: [I32] }, locals: [[L_XPC - 4, I32], [L_MW + 1 - L_XPC, I64], [1, I32]], body: f },
    ],
    'f',
  );
  return { bytes, exits };
}

/**
 * The hub: runs region functions (through the shared funcref table) one after another while
 * nothing needs the run loop, the way exec.ts's chain loop follows links, without a JS round trip
 * per region. `hub(desc, budget, cl, tb) -> 0`. After each region: stop on a slow-path status
 * (sx), at the cycle limit, or when a slow path asked for the run loop (attn: stop / interrupt /
 * wfi); else follow the region's link for that exit (valid while the link block's epoch / bank
 * equal the CPU's), or look the next pc up like the run loop does (exec soft-TLB of this level,
 * then the code cache by host offset) and record the link. A candidate is taken only when it is
 * valid, compiled for this virtual pc and fits in the budget (exec.ts's conditions). Writes the
 * last descriptor / exit and the totals to the output block.
 */
export function generateHub(area: number, tlbEntries: number): Uint8Array {
  const { XT: XTo, XO: XOo } = tlbSections(area, tlbEntries);
  const cc = area + codeCacheOffset(tlbEntries);
  const io = (i: number): number => area + ENGINE_AREA.io + 4 * i;
  const P_D = 0, P_BUDGET = 1, P_CL = 2, P_TB = 3;
  const E = 4, N = 5, C = 6, M = 7, ND = 8, T = 9, OFF = 10, PCL = 11, HITS = 12, K = 13, LOOK = 14, LB = 15;
  const f = new FnBody();
  const ioLoad = (i: number): FnBody => f.i32(0).mem(W.i32_load, 2, io(i));
  const dLoad = (local: number, field: number): FnBody => f.get(local).mem(W.i32_load, 2, 4 * field);
  /** Leaves "descriptor ND is valid, compiled for pc and fits the budget" on the stack. */
  const fits = (): void => {
    dLoad(ND, DESC.valid).op(W.i32_eqz, W.i32_eqz);
    dLoad(ND, DESC.vpcLo).get(PCL).op(W.i32_eq, W.i32_and);
    dLoad(ND, DESC.vpcHi); ioLoad(IO.pcHi).op(W.i32_eq, W.i32_and);
    dLoad(ND, DESC.len).get(P_BUDGET).op(W.i32_le_s, W.i32_and);
  };
  f.block('out').loop('L');
  f.i32(0).get(C).mem(W.i32_store, 2, io(IO.hubCNow));
  f.get(P_BUDGET); dLoad(P_D, DESC.entry).get(P_CL).get(P_TB); dLoad(P_D, DESC.table).callIndirect(0).set(E);
  ioLoad(IO.n).set(T); f.get(N).get(T).op(W.i32_add).set(N).get(P_BUDGET).get(T).op(W.i32_sub).set(P_BUDGET);
  ioLoad(IO.c).set(T); f.get(C).get(T).op(W.i32_add).set(C).get(P_CL).get(T).op(W.i32_sub).set(P_CL);
  f.get(M); ioLoad(IO.m).op(W.i32_add).set(M);
  ioLoad(IO.sx).brIf('out');
  f.get(P_CL).i32(0).op(W.i32_le_s).brIf('out');
  ioLoad(IO.attn).brIf('out');
  // back to JS now and then: V8 tiers a wasm function up only for its next call (no OSR), and
  // the hub loop would otherwise stay in its baseline code for a whole run
  f.get(HITS).get(LOOK).op(W.i32_add).i32(HUB_MAX_STEPS).op(W.i32_ge_u).brIf('out');
  ioLoad(IO.pcLo).set(PCL);
  dLoad(P_D, DESC.links).set(LB);
  // the link for exit E, when the link block is of the current epoch and bank
  f.i32(0).set(ND);
  dLoad(LB, LINKS.epoch); ioLoad(IO.epoch).op(W.i32_eq);
  dLoad(LB, LINKS.bank); ioLoad(IO.bank).op(W.i32_eq, W.i32_and);
  f.get(E); dLoad(LB, LINKS.n).op(W.i32_lt_u, W.i32_and).if_();
  f.get(LB).get(E).i32(2).op(W.i32_shl, W.i32_add).mem(W.i32_load, 2, 4 * LINKS.first).set(ND);
  f.end();
  f.block('miss');
  f.get(ND).op(W.i32_eqz).brIf('miss');
  fits(); f.op(W.i32_eqz).brIf('miss');
  f.get(HITS).i32(1).op(W.i32_add).set(HITS).get(ND).set(P_D).br('L');
  f.end();
  // lookup: exec soft-TLB of this level, then the code cache
  f.get(PCL).i32(12).op(W.i32_shr_u); ioLoad(IO.tmask).op(W.i32_and).get(P_TB).op(W.i32_add).i32(2).op(W.i32_shl).set(T);
  f.get(T).i32(1).op(W.i32_shl).mem(W.i32_load, 2, XTo).get(PCL).i32(-4096).op(W.i32_and).op(W.i32_ne);
  f.get(T).i32(1).op(W.i32_shl).mem(W.i32_load, 2, XTo + 4); ioLoad(IO.pcHi).op(W.i32_ne, W.i32_or).brIf('out');
  f.get(T).mem(W.i32_load, 2, XOo).get(PCL).i32(4095).op(W.i32_and, W.i32_add).set(OFF);
  f.get(OFF).i32(2).op(W.i32_shr_u).i32(CODE_CACHE_ENTRIES - 1).op(W.i32_and).i32(2).op(W.i32_shl)
    .mem(W.i32_load, 2, cc).tee(ND).op(W.i32_eqz).brIf('out');
  dLoad(ND, DESC.off).get(OFF).op(W.i32_ne).brIf('out');
  fits(); f.op(W.i32_eqz).brIf('out');
  // record the link (a link block of an older epoch / bank is cleared first)
  dLoad(LB, LINKS.epoch); ioLoad(IO.epoch).op(W.i32_ne);
  dLoad(LB, LINKS.bank); ioLoad(IO.bank).op(W.i32_ne, W.i32_or).if_();
  f.i32(0).set(K).block('clr').loop('cl');
  f.get(K); dLoad(LB, LINKS.n).op(W.i32_ge_u).brIf('clr');
  f.get(LB).get(K).i32(2).op(W.i32_shl, W.i32_add).i32(0).mem(W.i32_store, 2, 4 * LINKS.first);
  f.get(K).i32(1).op(W.i32_add).set(K).br('cl');
  f.end().end();
  f.get(LB); ioLoad(IO.epoch).mem(W.i32_store, 2, 4 * LINKS.epoch);
  f.get(LB); ioLoad(IO.bank).mem(W.i32_store, 2, 4 * LINKS.bank);
  f.end();
  f.get(E); dLoad(LB, LINKS.n).op(W.i32_lt_u).if_();
  f.get(LB).get(E).i32(2).op(W.i32_shl, W.i32_add).get(ND).mem(W.i32_store, 2, 4 * LINKS.first);
  f.end();
  f.get(LOOK).i32(1).op(W.i32_add).set(LOOK).get(ND).set(P_D).br('L');
  f.end().end();
  const st = (i: number, local: number): void => { f.i32(0).get(local).mem(W.i32_store, 2, io(i)); };
  st(IO.lastDesc, P_D); st(IO.lastExit, E); st(IO.hubN, N); st(IO.hubC, C); st(IO.hubM, M);
  st(IO.hits, HITS); st(IO.lookups, LOOK);
  f.i32(0);
  const i32x = (k: number): number[] => new Array<number>(k).fill(I32);
  return encodeModule([], { module: 'e', name: 'mem', minPages: 0 },
    [{ type: { params: i32x(4), results: [I32] }, locals: [[LB - 3, I32]], body: f }], 'f', { module: 'e', name: 'table' });
}
