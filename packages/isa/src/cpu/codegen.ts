// Block compiler: turns a straight-line run of instructions (ending at a branch/jump, a page
// boundary, a length limit or before a system instruction) into the source of a JS function.
//
// Generated function: `function (cpu, budget, st)`, `st` = index of the region block to start
// at (a region can be entered at any of its blocks). It keeps the registers it uses in locals
// (lN = low half, hN = high half of xN). Every exit only records its next PC (xl/xh), exit id (xe)
// and counts in locals and `break`s out to ONE shared epilogue, which writes back the modified
// registers, sets cpu.pcLo/pcHi and adds the retired instructions and their cycles to cpu.instret
// and cpu.cycles. A block whose last instruction branches back to its own start loops inside the
// function while `budget` and the cycle limit (next timer event) allow.
//
// Why one epilogue: V8 optimizes a region (often by OSR, in the middle of its first long loop)
// with the type feedback gathered so far. With per-exit write-back code, an exit path never
// taken before (typically the budget / cycle-limit exit of a loop, taken only when run() is
// called in time slices) had no feedback for its typed-array and property stores, and taking
// it deoptimized the whole region, which is slow to re-optimize. Exits that only assign
// constants to locals need no feedback; the one epilogue gets it from the first exit taken.
//
// Memory accesses inline the software-TLB fast path (typed-array loads); a miss, a misaligned
// access, or a store to a code page calls cpu.ld / cpu.st. Those set cpu.sx: 1 = the access
// faulted (the block exits before the instruction; the CPU raises the recorded exception),
// 2 = a store hit compiled code, or a load / store hit a debugger watchpoint (the block exits
// after the instruction).
//
// With `countAccesses` (an MMU is attached) the function also adds to cpu.tlbAcc the number of
// translation lookups it made: one instruction fetch per basic block started plus one per load /
// store executed (AMOs count themselves in cpu.amo). The CPU subtracts the lookups that reached
// the translator (slow paths) to get the accesses its soft-TLB served (Cpu.syncMmuStats).

import {
  Op, decode, rd as fRd, rs1 as fRs1, rs2 as fRs2, immI, immS, immB, immU, immJ, shamt as fShamt,
} from '../decode.js';
import type { CostModel } from './cost.js';

/** True for instructions that end a block (they are the block's last instruction). */
export function isControl(op: number): boolean {
  return op === Op.JAL || op === Op.JALR || (op >= Op.BEQ && op <= Op.BGEU);
}

/** True for instructions executed by the CPU's system path, never inside a compiled block. */
export function isSystem(op: number): boolean {
  return op === Op.ILLEGAL || op >= Op.FENCE_I;
}

/** CSR number of `time`. */
const CSR_TIME = 0xc01;

/**
 * `rdtime rd` (csrrs rd, time, x0; rd != 0): a system instruction regions run inline, as a basic
 * block of its own (so block boundaries, where interrupts are taken, stay where they were), through
 * cpu.rdtime. Guests' network stacks read the clock for every packet.
 */
export function isInlineCsr(w: number): boolean {
  return decode(w) === Op.CSRRS && (w >>> 20) === CSR_TIME && fRs1(w) === 0 && fRd(w) !== 0;
}

/** Cycle cost of one instruction (for a conditional branch: the not-taken cost). */
export function costOf(op: number, c: CostModel): number {
  if (op >= Op.MUL && op <= Op.MULHU) return c.mul;
  if (op === Op.MULW) return c.mul;
  if ((op >= Op.DIV && op <= Op.REMU) || (op >= Op.DIVW && op <= Op.REMUW)) return c.div;
  if (op >= Op.LB && op <= Op.LWU) return c.load;
  if (op >= Op.SB && op <= Op.SD) return c.store;
  if (op === Op.JAL || op === Op.JALR) return c.jump;
  if (op >= Op.LR_W && op <= Op.AMOMAXU_D) return c.atomic;
  if (op >= Op.CSRRW) return c.csr;
  if (op === Op.SRET || op === Op.HRET || op === Op.MRET) return c.trapReturn;
  if (op === Op.FENCE_I) return c.fenceI;
  if (op >= Op.ECALL) return c.system;
  return c.base;
}

const TWO32 = 4294967296;

/** (lo, hi) + d for a small integer d, as [lo, hi] int32 halves (compile-time only). */
export function add64c(lo: number, hi: number, d: number): [number, number] {
  const s = (lo >>> 0) + d;
  return [s | 0, (hi + Math.floor(s / TWO32)) | 0];
}

export interface RegionSource {
  /** Source of the function body `(cpu, budget, st) => exitId`. */
  body: string;
  /** Number of distinct external exit ids (0 .. exits-1); -1 is returned for fault exits. */
  exits: number;
}

/**
 * One basic block of a region: its words and virtual PC. A region's blocks may lie on several
 * virtual pages (Cpu.maxRegionPages); `host` (the host offset of the first word, set by the block
 * cache) is what an edge onto the block's page from another page checks the exec soft-TLB against.
 */
export interface RegionBlock {
  words: number[];
  pcLo: number;
  pcHi: number;
  host?: number;
}

/** True when blocks a and b lie on different virtual pages (an edge between them checks the exec soft-TLB). */
export function crossesPage(a: RegionBlock, b: RegionBlock): boolean {
  return ((a.pcLo ^ b.pcLo) & -4096) !== 0 || a.pcHi !== b.pcHi;
}

/** Host offset of the page of block b (for the exec soft-TLB check of an edge onto its page). */
export function hostPageOf(b: RegionBlock): number {
  if (b.host === undefined) throw new Error('codegen: a block on another page than its predecessor needs its host offset');
  return (b.host - (b.host & 4095)) | 0;
}

/**
 * The target of the `jalr` at index k of a block at (pcLo, pcHi) when it is a constant: an
 * `auipc rX` just before it sets its base (`call` / `tail` without linker relaxation, how clang
 * and lld emit every call between functions in our guests). [lo, hi] with bit 0 cleared, or
 * undefined.
 */
export function constJalrTarget(words: number[], k: number, pcLo: number, pcHi: number): [number, number] | undefined {
  const w = words[k]!;
  if (k === 0 || decode(w) !== Op.JALR) return undefined;
  const a = words[k - 1]!;
  if (decode(a) !== Op.AUIPC || fRd(a) === 0 || fRd(a) !== fRs1(w)) return undefined;
  const [al, ah] = add64c(pcLo, pcHi, 4 * (k - 1));
  const [bl, bh] = add64c(al, ah, immU(a));
  const [tl, th] = add64c(bl, bh, immI(w));
  return [tl & -2, th];
}

/** True when a block ends in a call (`jal` / `jalr` with rd != 0): its return comes back after it. */
export function endsInCall(words: number[]): boolean {
  const last = words[words.length - 1]!, op = decode(last);
  return (op === Op.JAL || op === Op.JALR) && fRd(last) !== 0;
}

/**
 * Blocks a `jalr` may continue at inside the region: the code after each call of the region
 * (where a return comes back to), in region order.
 */
export function returnTargets(blocks: RegionBlock[], index: Map<string, number>): number[] {
  const r: number[] = [];
  for (const b of blocks) {
    const n = b.words.length;
    if (!endsInCall(b.words)) continue;
    const [cl, ch] = add64c(b.pcLo, b.pcHi, 4 * n);
    const t = index.get(`${cl}:${ch}`);
    if (t !== undefined && !r.includes(t)) r.push(t);
  }
  return r;
}

/** The free variables a generated body uses, in the order the CPU passes them. */
export const GEN_PARAMS = [
  'M8', 'I8', 'M16', 'I16', 'M32',
  'RT', 'RO', 'WT', 'WO', 'XT', 'XO',
  'HI', 'mul64', 'mulh64', 'mulhsu64', 'mulhu64', 'div64', 'divu64', 'rem64', 'remu64',
] as const;

/**
 * Generate one function for a region: block 0 is the entry; a constant jump/branch/fall-through
 * to the start of another block of the region continues inside the function (a `for`/`switch`
 * state machine) while the budget and the cycle limit allow; anything else exits.
 */
export function generateRegion(blocks: RegionBlock[], cost: CostModel, countAccesses = false): RegionSource {
  const index = new Map<string, number>();
  blocks.forEach((b, i) => index.set(`${b.pcLo}:${b.pcHi}`, i));

  // registers read or written anywhere in the region
  const used = new Set<number>();
  const written = new Set<number>();
  for (const blk of blocks) {
    for (const w of blk.words) {
      const op = decode(w);
      const r1 = fRs1(w), r2 = fRs2(w), d = fRd(w);
      if (op !== Op.LUI && op !== Op.AUIPC && op !== Op.JAL && op !== Op.FENCE) used.add(r1);
      if ((op >= Op.BEQ && op <= Op.BGEU) || (op >= Op.SB && op <= Op.SD) || (op >= Op.ADD && op <= Op.AND)
        || (op >= Op.ADDW && op <= Op.REMUW) || (op >= Op.SC_W && op <= Op.AMOMAXU_W) || (op >= Op.SC_D && op <= Op.AMOMAXU_D)) used.add(r2);
      const writes = !(op >= Op.BEQ && op <= Op.BGEU) && !(op >= Op.SB && op <= Op.SD) && op !== Op.FENCE;
      if (writes && d !== 0) { used.add(d); written.add(d); }
    }
  }
  used.delete(0);

  const wb = [...written].sort((a, b) => a - b).map((r) => `x[${2 * r}]=l${r};x[${2 * r + 1}]=h${r};`).join('');
  const L = (r: number): string => (r === 0 ? '0' : `l${r}`);
  const H = (r: number): string => (r === 0 ? '0' : `h${r}`);
  let exits = 0;
  let internalEdges = 0;

  const out: string[] = [];
  const decl: string[] = [];
  for (const r of [...used].sort((a, b) => a - b)) decl.push(`l${r}=x[${2 * r}]`, `h${r}=x[${2 * r + 1}]`);
  decl.push('v=0', 'w=0', 'u=0', 't0=0', 't1=0', 't2=0', 's=0', 'n=0', 'c=0');
  if (countAccesses) decl.push('m=0', 'E=cpu.linkEpoch');
  // With an MMU: once a slow path's refill evicted an exec translation (linkEpoch moved), the region
  // takes no further edge (budget 0): the next block starts through the run loop's lookup, as after
  // any region exit, so the modelled TLB sees the same fetch translations whatever the region's
  // shape (engine, maxRegionPages). Only slow paths pay for it.
  // A slow path that asked for the run loop (a device raised or lowered an interrupt line from an
  // MMIO access, or stopped the hart): no further edge either, so the interrupt is taken at the end
  // of this block, under both engines (wasmgen.ts slowCut; the chain loop and the hub then stop).
  const slowCut = `${countAccesses ? 'if(cpu.linkEpoch!==E)budget=0;' : ''}if(cpu.irqDirty||cpu.stopRequested||cpu.waiting)budget=0;`;
  // where a jalr may continue inside the region (goToDynamic)
  const rets = blocks.length > 1 ? returnTargets(blocks, index) : [];

  /**
   * The condition (`&&...`) an edge from block `from` to block `to` adds: none on one page; onto
   * another page, that the exec soft-TLB still maps `to`'s virtual page to the host page the
   * region was compiled from (else the edge exits and the run loop translates, faults included).
   */
  const onPage = (from: RegionBlock, to: RegionBlock): string => (!crossesPage(from, to) ? ''
    : `&&XT[(t2=(${(to.pcLo >>> 12) & 0xfffff}&TM)+TB)<<1]===${to.pcLo & -4096}&&XT[(t2<<1)+1]===${to.pcHi}&&XO[t2]===${hostPageOf(to)}`);

  blocks.forEach((blk, bi) => {
    const words = blk.words, n = words.length, pcLo = blk.pcLo, pcHi = blk.pcHi;
    const ops = words.map((w) => decode(w));
    const cyc: number[] = [0];
    for (let i = 0; i < n; i++) cyc.push(cyc[i]! + costOf(ops[i]!, cost));
    // translation lookups after k instructions: the block's fetch plus its loads / stores
    const acc: number[] = [1];
    for (let i = 0; i < n; i++) acc.push(acc[i]! + (ops[i]! >= Op.LB && ops[i]! <= Op.SD ? 1 : 0));
    /** Lookup count at an exit after k instructions (+1: the k-th instruction's access faulted). */
    const accAt = (k: number, faulted = 0): string => (countAccesses ? `m+=${acc[k]! + faulted};` : '');
    const last = ops[n - 1]!;
    /** Exit to a constant PC after k retired instructions of this block plus `extra` cycles. */
    // Every exit only sets locals and leaves through the shared epilogue (see the file comment).
    const exitC = (lo: number, hi: number, k: number, extra = 0, e = -1, faulted = 0): string =>
      `{n+=${k};c+=${cyc[k]! + extra};${accAt(k, faulted)}xl=${lo};xh=${hi};xe=${e};break R;}`;
    const exitD = (lo: string, hi: string, k: number, extra = 0, e = -1): string =>
      `{n+=${k};c+=${cyc[k]! + extra};${accAt(k)}xl=${lo};xh=${hi};xe=${e};break R;}`;
    /** The whole block retired; continue at constant target (lo, hi): inside the region or exit. */
    const goTo = (lo: number, hi: number, extra: number): string => {
      const t = index.get(`${lo}:${hi}`);
      if (t === undefined) return exitC(lo, hi, n, extra, exits++);
      internalEdges++;
      const tl = blocks[t]!.words.length;
      // a self-edge loops in the block's own `for` (no switch dispatch); others go through the switch
      const jump = t === bi ? 'continue;' : `st=${t};continue L;`;
      if (t === bi) selfEdge = true;
      const mAdd = countAccesses ? `m+=${acc[n]!};` : '';
      return `{n+=${n};c+=${cyc[n]! + extra};${mAdd}if(n+${tl}<=budget&&c<CL${onPage(blk, blocks[t]!)}){${jump}}` +
        `xl=${lo};xh=${hi};xe=${exits++};break R;}`;
    };
    /**
     * A jalr: continue inside the region when the target is the code after one of its calls (a
     * return) and fits, else exit to the target.
     */
    const goToDynamic = (): string => {
      const e = exits++;
      if (rets.length === 0) return exitD('t0', 't1', n, 0, e);
      internalEdges++;
      const mAdd = countAccesses ? `m+=${acc[n]!};` : '';
      const cases = rets.map((t) => {
        const tb = blocks[t]!;
        return `case ${tb.pcLo}:if(t1===${tb.pcHi}&&n+${tb.words.length}<=budget&&c<CL${onPage(blk, tb)}){st=${t};continue L;}break;`;
      }).join('');
      return `{n+=${n};c+=${cyc[n]!};${mAdd}switch(t0){${cases}}xl=t0;xh=t1;xe=${e};break R;}`;
    };
    let selfEdge = false;
    const start = out.length;
    out.push(`case ${bi}:{`);
    // lo/hi are computed from the old register values: evaluate lo into a temp first unless it is
    // already a temp or a constant.
    const setRd = (d: number, lo: string, hi: string): string => {
      if (d === 0) return '';
      if (lo === 'v') return `l${d}=v;h${d}=${hi};`; // hi is then a temp or constant expression
      if (/^-?\d+$/.test(lo)) return `h${d}=${hi};l${d}=${lo};`;
      return `u=${lo};h${d}=${hi};l${d}=u;`;
    };
    /** Effective address of rs1 + imm into t0 (lo), t1 (hi). */
    const ea = (r: number, imm: number): string => {
      if (r === 0) return `t0=${imm | 0};t1=${imm >> 31};`;
      if (imm === 0) return `t0=l${r};t1=h${r};`;
      return `t0=(l${r}+${imm})|0;t1=(h${r}+${imm >> 31}+((t0>>>0)<(l${r}>>>0)?1:0))|0;`;
    };

    for (let k = 0; k < n; k++) {
      const w = words[k]!, op = ops[k]!;
      const d = fRd(w), r1 = fRs1(w), r2 = fRs2(w);
      const a = L(r1), ah = H(r1), b = L(r2), bh = H(r2);
      const [pl, ph] = add64c(pcLo, pcHi, 4 * k);
      const [nl, nh] = add64c(pl, ph, 4);
      const faultExit = exitC(pl, ph, k);
      /** Exit before a load / store whose translation faulted (its lookup happened). */
      const memFaultExit = countAccesses ? exitC(pl, ph, k, 0, -1, 1) : faultExit;
      const I = immI(w);
      switch (op) {
        case Op.LUI: { const u = immU(w); out.push(setRd(d, `${u}`, `${u >> 31}`)); break; }
        case Op.AUIPC: { const [ul, uh] = add64c(pl, ph, immU(w)); out.push(setRd(d, `${ul}`, `${uh}`)); break; }
        case Op.ADDI:
          if (d === 0) break;
          if (r1 === 0) out.push(setRd(d, `${I}`, `${I >> 31}`));
          else if (I === 0) out.push(setRd(d, a, ah));
          else out.push(`v=(${a}+${I})|0;w=(${ah}+${I >> 31}+((v>>>0)<(${a}>>>0)?1:0))|0;`, setRd(d, 'v', 'w'));
          break;
        case Op.SLTI:
          out.push(setRd(d, `(${ah}<${I >> 31}||(${ah}===${I >> 31}&&(${a}>>>0)<${I >>> 0}))?1:0`, '0')); break;
        case Op.SLTIU:
          out.push(setRd(d, `((${ah}>>>0)<${(I >> 31) >>> 0}||(${ah}===${I >> 31}&&(${a}>>>0)<${I >>> 0}))?1:0`, '0')); break;
        case Op.XORI: out.push(setRd(d, `${a}^${I}`, `${ah}^${I >> 31}`)); break;
        case Op.ORI: out.push(setRd(d, `${a}|${I}`, `${ah}|${I >> 31}`)); break;
        case Op.ANDI: out.push(setRd(d, `${a}&${I}`, `${ah}&${I >> 31}`)); break;
        case Op.SLLI: {
          const s = fShamt(w);
          if (s === 0) out.push(setRd(d, a, ah));
          else if (s < 32) out.push(`v=${a}<<${s};w=(${ah}<<${s})|(${a}>>>${32 - s});`, setRd(d, 'v', 'w'));
          else out.push(setRd(d, '0', `${a}<<${s - 32}`));
          break;
        }
        case Op.SRLI: {
          const s = fShamt(w);
          if (s === 0) out.push(setRd(d, a, ah));
          else if (s < 32) out.push(`v=(${a}>>>${s})|(${ah}<<${32 - s});w=(${ah}>>>${s})|0;`, setRd(d, 'v', 'w'));
          else out.push(setRd(d, `(${ah}>>>${s - 32})|0`, '0'));
          break;
        }
        case Op.SRAI: {
          const s = fShamt(w);
          if (s === 0) out.push(setRd(d, a, ah));
          else if (s < 32) out.push(`v=(${a}>>>${s})|(${ah}<<${32 - s});w=${ah}>>${s};`, setRd(d, 'v', 'w'));
          else out.push(`v=${ah}>>${s - 32};w=${ah}>>31;`, setRd(d, 'v', 'w'));
          break;
        }
        case Op.ADD:
          out.push(`v=(${a}+${b})|0;w=(${ah}+${bh}+((v>>>0)<(${a}>>>0)?1:0))|0;`, setRd(d, 'v', 'w')); break;
        case Op.SUB:
          out.push(`v=(${a}-${b})|0;w=(${ah}-${bh}-((${a}>>>0)<(${b}>>>0)?1:0))|0;`, setRd(d, 'v', 'w')); break;
        case Op.SLT:
          out.push(setRd(d, `(${ah}<${bh}||(${ah}===${bh}&&(${a}>>>0)<(${b}>>>0)))?1:0`, '0')); break;
        case Op.SLTU:
          out.push(setRd(d, `((${ah}>>>0)<(${bh}>>>0)||(${ah}===${bh}&&(${a}>>>0)<(${b}>>>0)))?1:0`, '0')); break;
        case Op.XOR: out.push(setRd(d, `${a}^${b}`, `${ah}^${bh}`)); break;
        case Op.OR: out.push(setRd(d, `${a}|${b}`, `${ah}|${bh}`)); break;
        case Op.AND: out.push(setRd(d, `${a}&${b}`, `${ah}&${bh}`)); break;
        case Op.SLL:
          out.push(`s=${b}&63;if(s===0){v=${a};w=${ah};}else if(s<32){w=(${ah}<<s)|(${a}>>>(32-s));v=${a}<<s;}else{w=${a}<<(s-32);v=0;}`, setRd(d, 'v', 'w')); break;
        case Op.SRL:
          out.push(`s=${b}&63;if(s===0){v=${a};w=${ah};}else if(s<32){v=(${a}>>>s)|(${ah}<<(32-s));w=(${ah}>>>s)|0;}else{v=(${ah}>>>(s-32))|0;w=0;}`, setRd(d, 'v', 'w')); break;
        case Op.SRA:
          out.push(`s=${b}&63;if(s===0){v=${a};w=${ah};}else if(s<32){v=(${a}>>>s)|(${ah}<<(32-s));w=${ah}>>s;}else{v=${ah}>>(s-32);w=${ah}>>31;}`, setRd(d, 'v', 'w')); break;
        case Op.ADDIW: out.push(`v=(${a}+${I})|0;`, setRd(d, 'v', 'v>>31')); break;
        case Op.SLLIW: out.push(`v=${a}<<${fShamt(w)};`, setRd(d, 'v', 'v>>31')); break;
        case Op.SRLIW: out.push(`v=(${a}>>>${fShamt(w)})|0;`, setRd(d, 'v', 'v>>31')); break;
        case Op.SRAIW: out.push(`v=${a}>>${fShamt(w)};`, setRd(d, 'v', 'v>>31')); break;
        case Op.ADDW: out.push(`v=(${a}+${b})|0;`, setRd(d, 'v', 'v>>31')); break;
        case Op.SUBW: out.push(`v=(${a}-${b})|0;`, setRd(d, 'v', 'v>>31')); break;
        case Op.SLLW: out.push(`v=${a}<<(${b}&31);`, setRd(d, 'v', 'v>>31')); break;
        case Op.SRLW: out.push(`v=(${a}>>>(${b}&31))|0;`, setRd(d, 'v', 'v>>31')); break;
        case Op.SRAW: out.push(`v=${a}>>(${b}&31);`, setRd(d, 'v', 'v>>31')); break;
        case Op.MUL:
          if (d !== 0) out.push(`v=mul64(${a},${ah},${b},${bh});w=HI[0];`, setRd(d, 'v', 'w')); break;
        case Op.MULH:
          if (d !== 0) out.push(`v=mulh64(${a},${ah},${b},${bh});w=HI[0];`, setRd(d, 'v', 'w')); break;
        case Op.MULHSU:
          if (d !== 0) out.push(`v=mulhsu64(${a},${ah},${b},${bh});w=HI[0];`, setRd(d, 'v', 'w')); break;
        case Op.MULHU:
          if (d !== 0) out.push(`v=mulhu64(${a},${ah},${b},${bh});w=HI[0];`, setRd(d, 'v', 'w')); break;
        case Op.DIV:
          if (d !== 0) out.push(`v=div64(${a},${ah},${b},${bh});w=HI[0];`, setRd(d, 'v', 'w')); break;
        case Op.DIVU:
          if (d !== 0) out.push(`v=divu64(${a},${ah},${b},${bh});w=HI[0];`, setRd(d, 'v', 'w')); break;
        case Op.REM:
          if (d !== 0) out.push(`v=rem64(${a},${ah},${b},${bh});w=HI[0];`, setRd(d, 'v', 'w')); break;
        case Op.REMU:
          if (d !== 0) out.push(`v=remu64(${a},${ah},${b},${bh});w=HI[0];`, setRd(d, 'v', 'w')); break;
        case Op.MULW: out.push(`v=Math.imul(${a},${b});`, setRd(d, 'v', 'v>>31')); break;
        case Op.DIVW:
          out.push(`t0=${a}|0;t1=${b}|0;v=t1===0?-1:(t0===-2147483648&&t1===-1)?t0:(t0/t1)|0;`, setRd(d, 'v', 'v>>31')); break;
        case Op.DIVUW:
          out.push(`t1=${b}>>>0;v=t1===0?-1:((${a}>>>0)/t1)|0;`, setRd(d, 'v', 'v>>31')); break;
        case Op.REMW:
          out.push(`t0=${a}|0;t1=${b}|0;v=t1===0?t0:t1===-1?0:(t0%t1)|0;`, setRd(d, 'v', 'v>>31')); break;
        case Op.REMUW:
          out.push(`t1=${b}>>>0;v=t1===0?${a}|0:((${a}>>>0)%t1)|0;`, setRd(d, 'v', 'v>>31')); break;
        case Op.FENCE: break;
        case Op.LB: case Op.LH: case Op.LW: case Op.LD: case Op.LBU: case Op.LHU: case Op.LWU: {
          const size = op === Op.LB || op === Op.LBU ? 1 : op === Op.LH || op === Op.LHU ? 2 : op === Op.LD ? 8 : 4;
          const mask = (-4096 | (size - 1)) | 0;
          const addr = '(RO[t2]+(t0&4095))';
          let fast: string;
          switch (op) {
            case Op.LB: fast = `v=I8[${addr}>>>0];w=v>>31;`; break;
            case Op.LBU: fast = `v=M8[${addr}>>>0];w=0;`; break;
            case Op.LH: fast = `v=I16[${addr}>>>1];w=v>>31;`; break;
            case Op.LHU: fast = `v=M16[${addr}>>>1];w=0;`; break;
            case Op.LW: fast = `v=M32[${addr}>>>2];w=v>>31;`; break;
            case Op.LWU: fast = `v=M32[${addr}>>>2];w=0;`; break;
            default: fast = `t2=${addr}>>>2;v=M32[t2];w=M32[t2+1];`;
          }
          // (a refill may resize the soft-TLB: TM is re-read after every slow path, softmmu.ts tlbSlot)
          out.push(ea(r1, immI(w)), `t2=((t0>>>12)&TM)+TB;`,
            // sx 1: the load faulted (exit before it); sx 2: it hit a debugger watchpoint (exit after it)
            `if((t0&${mask})===RT[t2<<1]&&t1===RT[(t2<<1)+1]){${fast}}else{v=cpu.ld(t0,t1,${op});TM=cpu.tlbMask;${slowCut}` +
            `if(cpu.sx!==0){if(cpu.sx===1)${memFaultExit}${setRd(d, 'v', 'cpu.rhi')}${exitC(nl, nh, k + 1)}}w=cpu.rhi;}`,
            setRd(d, 'v', 'w'));
          break;
        }
        case Op.SB: case Op.SH: case Op.SW: case Op.SD: {
          const size = op === Op.SB ? 1 : op === Op.SH ? 2 : op === Op.SW ? 4 : 8;
          const mask = (-4096 | (size - 1)) | 0;
          const addr = '(WO[t2]+(t0&4095))';
          let fast: string;
          switch (op) {
            case Op.SB: fast = `M8[${addr}>>>0]=${b};`; break;
            case Op.SH: fast = `M16[${addr}>>>1]=${b};`; break;
            case Op.SW: fast = `M32[${addr}>>>2]=${b};`; break;
            default: fast = `t2=${addr}>>>2;M32[t2]=${b};M32[t2+1]=${bh};`;
          }
          out.push(ea(r1, immS(w)), `t2=((t0>>>12)&TM)+TB;`,
            `if((t0&${mask})===WT[t2<<1]&&t1===WT[(t2<<1)+1]){${fast}}else{cpu.st(t0,t1,${b},${bh},${op});TM=cpu.tlbMask;${slowCut}` +
            `if(cpu.sx!==0){if(cpu.sx===1)${memFaultExit}${exitC(nl, nh, k + 1)}}}`);
          break;
        }
        case Op.LR_W: case Op.LR_D: case Op.SC_W: case Op.SC_D:
        case Op.AMOSWAP_W: case Op.AMOADD_W: case Op.AMOXOR_W: case Op.AMOAND_W: case Op.AMOOR_W:
        case Op.AMOMIN_W: case Op.AMOMAX_W: case Op.AMOMINU_W: case Op.AMOMAXU_W:
        case Op.AMOSWAP_D: case Op.AMOADD_D: case Op.AMOXOR_D: case Op.AMOAND_D: case Op.AMOOR_D:
        case Op.AMOMIN_D: case Op.AMOMAX_D: case Op.AMOMINU_D: case Op.AMOMAXU_D:
          out.push(`v=cpu.amo(${a},${ah},${b},${bh},${op});${slowCut}if(cpu.sx===1)${faultExit}w=cpu.rhi;`, setRd(d, 'v', 'w'),
            `if(cpu.sx!==0)${exitC(nl, nh, k + 1)}`); // wrote compiled code: leave the region
          break;
        case Op.JAL: {
          const [tl, th] = add64c(pl, ph, immJ(w));
          if (tl & 3) { out.push(`cpu.fault(0,${tl},${th});`, faultExit); break; }
          out.push(setRd(d, `${nl}`, `${nh}`), goTo(tl, th, 0));
          break;
        }
        case Op.JALR: {
          const ct = constJalrTarget(words, k, pcLo, pcHi);
          if (ct !== undefined) { // auipc + jalr: a direct call / jump
            if (ct[0] & 2) { out.push(`cpu.fault(0,${ct[0]},${ct[1]});`, faultExit); break; }
            out.push(setRd(d, `${nl}`, `${nh}`), goTo(ct[0], ct[1], 0));
            break;
          }
          out.push(ea(r1, I), 't0&=-2;', `if((t0&2)!==0){cpu.fault(0,t0,t1);${faultExit}}`,
            setRd(d, `${nl}`, `${nh}`), goToDynamic());
          break;
        }
        case Op.BEQ: case Op.BNE: case Op.BLT: case Op.BGE: case Op.BLTU: case Op.BGEU: {
          let cond: string;
          switch (op) {
            case Op.BEQ: cond = `${a}===${b}&&${ah}===${bh}`; break;
            case Op.BNE: cond = `${a}!==${b}||${ah}!==${bh}`; break;
            case Op.BLT: cond = `${ah}<${bh}||(${ah}===${bh}&&(${a}>>>0)<(${b}>>>0))`; break;
            case Op.BGE: cond = `!(${ah}<${bh}||(${ah}===${bh}&&(${a}>>>0)<(${b}>>>0)))`; break;
            case Op.BLTU: cond = `(${ah}>>>0)<(${bh}>>>0)||(${ah}===${bh}&&(${a}>>>0)<(${b}>>>0))`; break;
            default: cond = `!((${ah}>>>0)<(${bh}>>>0)||(${ah}===${bh}&&(${a}>>>0)<(${b}>>>0)))`;
          }
          const [tl, th] = add64c(pl, ph, immB(w));
          if (tl & 3) out.push(`if(${cond}){cpu.fault(0,${tl},${th});${faultExit}}`);
          else out.push(`if(${cond})${goTo(tl, th, cost.branchTaken)}`);
          out.push(goTo(nl, nh, 0));
          break;
        }
        case Op.CSRRS: // rdtime (isInlineCsr), a block of its own: k = 0, c = the cycles before it
          if (!isInlineCsr(w)) throw new Error(`codegen: system instruction 0x${(w >>> 0).toString(16)} in a block`);
          out.push(`v=cpu.rdtime(c,${w});if(cpu.sx===1)${faultExit}`, setRd(d, 'v', 'cpu.rhi'));
          break;
        default:
          throw new Error(`codegen: unexpected op ${op} in a block`);
      }
    }
    if (!isControl(last)) {
      const [el, eh] = add64c(pcLo, pcHi, 4 * n);
      out.push(goTo(el, eh, 0));
    }
    out.push('}');
    if (selfEdge) { out[start] = `case ${bi}:for(;;){`; }
  });

  let body = `"use strict";var x=cpu.x,TB=cpu.tlbBase,TM=cpu.tlbMask;var ${decl.join(',')};` +
    'var xl=0,xh=0,xe=-1;R:{';
  // (a region of several blocks needs the switch even without internal edges: a block after a
  // call is only an entry point while no return in the region leads to it)
  if (blocks.length === 1 && internalEdges === 0) body += out.slice(1, -1).join('\n'); // no state machine
  else if (blocks.length === 1) body += `var CL=cpu.cycleLimit-cpu.cycles;for(;;){${out.slice(1, -1).join('\n')}}`;
  else body += `var CL=cpu.cycleLimit-cpu.cycles;L:for(;;){switch(st){${out.join('\n')}}}`;
  body += `}${wb}cpu.pcLo=xl;cpu.pcHi=xh;cpu.instret+=n;cpu.cycles+=c;${countAccesses ? 'cpu.tlbAcc+=m;' : ''}return xe;`;
  return { body, exits };
}
