// The translation cache: regions of basic blocks compiled per host page with codegen.ts, looked up
// by host offset and checked against the virtual PC, chained through per-exit links (valid while
// linkEpoch / linkBank match), single-step blocks, breakpoint blocks, and invalidation on writes
// to code (markCode keeps write-TLB entries off code pages; invalidateCodePage / flushCode).

import { Op, decode, immB, immJ, rd as rdOf } from '../decode.js';
import { GEN_PARAMS, add64c, constJalrTarget, generateRegion, isControl, isInlineCsr, isSystem, type RegionBlock, type RegionSource } from './codegen.js';
import { PAGE_SHIFT, chunkMask } from './memory.js';
import { type Block, type BlockFn, TLB_INVALID, TWO32, WASM_SHORT_RUN } from './state.js';
import type { Cpu } from './cpu.js';
import { compileWasmRegion, describeRegion, invalidateDesc, resetHub } from './wasm-engine.js';

/** Drop every compiled block of this hart (fence.i). */
export function flushCode(c: Cpu): void {
  c.linkEpoch++;
  for (const pg of c.codePages) {
    const pb = c.pageBlocks[pg], sb = c.stepBlocks[pg];
    if (pb !== undefined) for (const b of pb) if (b !== undefined) invalidate(c, b);
    if (sb !== undefined) for (const b of sb) if (b !== undefined) invalidate(c, b);
    c.pageBlocks[pg] = undefined;
    c.stepBlocks[pg] = undefined;
    c.spanBlocks[pg] = undefined;
  }
  c.codePages.clear();
  resetHub(c);
  c.stats.codeFlushes++;
}

/** MemoryWriteListener: drop compiled code of host page `page`. */
export function invalidateCodePage(c: Cpu, page: number): void {
  const pb = c.pageBlocks[page], sb = c.stepBlocks[page], xb = c.spanBlocks[page];
  if (pb !== undefined || sb !== undefined || xb !== undefined) {
    if (pb !== undefined) for (const b of pb) if (b !== undefined) invalidate(c, b);
    if (sb !== undefined) for (const b of sb) if (b !== undefined) invalidate(c, b);
    if (xb !== undefined) for (const b of xb) invalidate(c, b);
    c.pageBlocks[page] = undefined;
    c.stepBlocks[page] = undefined;
    c.spanBlocks[page] = undefined;
    c.codePages.delete(page);
    c.stats.blockInvalidations++;
  }
}

function invalidate(c: Cpu, b: Block): void {
  b.valid = false;
  if (b.wd !== 0) invalidateDesc(c, b);
}

/** Decode the basic block at host offset `off` (stops at a control instruction, before a system one, at the page end). */
export function scanBlock(c: Cpu, off: number, max: number, bpOffs?: Set<number>): { words: number[]; sys: boolean; bp?: boolean } {
  const i32 = c.mem.i32;
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
    // rdtime: compiled, but a block of its own like a system instruction (codegen isInlineCsr)
    if (isInlineCsr(w)) return i === 0 ? { words: [w], sys: false } : { words, sys: false };
    if (isSystem(op)) return i === 0 ? { words: [w], sys: true } : { words, sys: false };
    words.push(w);
    if (isControl(op)) break;
  }
  return { words, sys: false };
}

/**
 * The blocks of the region entered at host offset `off` (virtual pcLo/pcHi, first block `words`),
 * in the order a region is cut in (fitSource keeps a prefix): first the path a static prediction
 * expects (a backward branch taken, a forward one not; into a call, and at its return on to the
 * code after the call), then the other successors breadth-first, until maxRegionBlocks /
 * maxRegionInsns. Blocks of a `hot` region (formed again: tierUp) may lie on up to maxRegionPages
 * virtual pages: the entry's, and pages the exec soft-TLB maps now (compiling never translates:
 * that would touch modelled TLB state); a region formed for the first time stays on its entry
 * page. `missed`: a successor on another page was left out that forming it again may take in.
 */
function formRegion(c: Cpu, off: number, pcLo: number, pcHi: number, words: number[], max: number, bpOffs: Set<number> | undefined, hot: boolean):
  { blocks: RegionBlock[]; offs: number[]; missed: boolean } {
  const blocks: RegionBlock[] = [{ words, pcLo, pcHi, host: off }];
  const offs = [off];
  const seen = new Set<string>([`${pcLo}:${pcHi}`]);
  // virtual pages in the region (the entry's first) and their host page offsets
  const vpages = [pcLo & -4096], vhis = [pcHi], hpages = [off - (off & 4095)];
  // a region formed for the first time (cold code: compiling it cheaply matters more) and one
  // with debugger breakpoints (bpOffs is its entry page's) stay on the entry page
  const maxPages = c.bps === undefined && hot ? c.maxRegionPages : 1;
  let total = words.length, est = sourceEstimate(words);
  let missed = false;
  /** Index in vpages of the page of virtual (tl, th), or -1. */
  const pageOf = (tl: number, th: number): number => {
    for (let p = 0; p < vpages.length; p++) if (vpages[p] === (tl & -4096) && vhis[p] === th) return p;
    return -1;
  };
  /** Host offset of virtual (tl, th) on a page of the region or one the exec soft-TLB maps now, else -1. */
  const hostOf = (tl: number, th: number): number => {
    const p = pageOf(tl, th);
    if (p >= 0) return hpages[p]! + (tl & 4095);
    const ti = ((tl >>> 12) & c.tlbMask) + c.tlbBase;
    return c.XT[2 * ti] === (tl & -4096) && c.XT[2 * ti + 1] === th ? (c.XO[ti]! + (tl & 4095)) >>> 0 : -1;
  };
  /** Add the block at virtual (tl, th); its index, or -1 (seen, not mapped, system, too long). */
  const add = (tl: number, th: number): number => {
    const key = `${tl}:${th}`;
    if ((tl & 3) !== 0 || seen.has(key)) return -1;
    seen.add(key);
    const p = pageOf(tl, th);
    if (p < 0 && vpages.length >= maxPages) { missed ||= !hot && c.bps === undefined && c.maxRegionPages > 1; return -1; }
    const host = hostOf(tl, th);
    if (host < 0) { missed = true; return -1; }
    if (p < 0) { vpages.push(tl & -4096); vhis.push(th); hpages.push(host - (host & 4095)); }
    const sb = scanBlock(c, host, max, p === 0 ? bpOffs : undefined);
    if (sb.sys || sb.words.length === 0 || total + sb.words.length > c.maxRegionInsns) return -1;
    // (stop near MAX_REGION_SOURCE here: generating a far longer region only to cut it costs start-up)
    const e = sourceEstimate(sb.words);
    if (est + e > MAX_REGION_SOURCE) return -1;
    total += sb.words.length; est += e;
    blocks.push({ words: sb.words, pcLo: tl, pcHi: th, host });
    offs.push(host);
    return blocks.length - 1;
  };
  const later: [number, number][] = []; // successors off the predicted path, breadth-first
  const returns: [number, number][] = []; // the code after each call on the path (innermost last)
  for (let cur = 0; blocks.length < c.maxRegionBlocks;) {
    const blk = blocks[cur]!;
    const n = blk.words.length;
    const lastW = blk.words[n - 1]!, op = decode(lastW);
    const [ll, lh] = add64c(blk.pcLo, blk.pcHi, 4 * (n - 1));
    let next = -1;
    if (op >= Op.BEQ && op <= Op.BGEU) {
      const taken = add64c(ll, lh, immB(lastW)), fall = add64c(ll, lh, 4);
      const [pred, other] = immB(lastW) < 0 ? [taken, fall] : [fall, taken];
      next = add(pred[0], pred[1]);
      later.push(other);
    } else if (op === Op.JAL) {
      if (rdOf(lastW) !== 0) returns.push(add64c(ll, lh, 4)); // a call: a return comes back there
      next = add(...add64c(ll, lh, immJ(lastW)));
    } else if (op === Op.JALR) {
      const ct = constJalrTarget(blk.words, n - 1, blk.pcLo, blk.pcHi);
      if (ct !== undefined) { // auipc + jalr: a call or jump like jal
        const call = rdOf(lastW) !== 0;
        // into a call (and on after it) only when the callee is a small leaf (see smallLeaf)
        const h = call ? hostOf(ct[0], ct[1]) : 0;
        if (!call || (h >= 0 && smallLeaf(c, h, max))) {
          if (call) returns.push(add64c(ll, lh, 4));
          next = add(ct[0], ct[1]);
        }
      } else {
        const r = returns.pop(); // a return (or another indirect jump): on after the innermost call
        if (r !== undefined) next = add(r[0], r[1]);
      }
    } else next = add(...add64c(ll, lh, 4));
    // the path ended (a block seen, not available, or a jalr): the pending returns, then the rest
    while (next < 0 && returns.length > 0) { const r = returns.pop()!; next = add(r[0], r[1]); }
    while (next < 0 && later.length > 0) { const r = later.shift()!; next = add(r[0], r[1]); }
    if (next < 0) break;
    cur = next;
  }
  return { blocks, offs, missed };
}

/** Instructions a callee may have to be taken into its caller's region (smallLeaf). */
const LEAF_INSNS = 32;

/**
 * Whether the function at host offset `off` is a small leaf: from its entry, straight-line code and
 * forward branches on its own page (no loop), no call, every path ending in a `jalr` (its return)
 * within LEAF_INSNS instructions. A call through `auipc` + `jalr` is followed into the callee only
 * then: taking bigger callees (with loops) into the caller's wasm function made bench-bignum ~10 %
 * slower (more i64 locals live across the region's block dispatch), where small leaves are what
 * call-heavy code (bench-calls: 1.4-1.6x) gains from.
 */
function smallLeaf(c: Cpu, off: number, max: number): boolean {
  const pending = [off], seen = new Set<number>();
  const samePage = (t: number): boolean => t >= 0 && (t >>> 12) === (off >>> 12);
  let n = 0;
  while (pending.length > 0) {
    const o = pending.pop()!;
    if (seen.has(o)) continue;
    seen.add(o);
    const sb = scanBlock(c, o, max);
    if (sb.sys || sb.words.length === 0 || (n += sb.words.length) > LEAF_INSNS) return false;
    const last = sb.words[sb.words.length - 1]!, op = decode(last), lo = o + 4 * (sb.words.length - 1);
    if (op === Op.JALR) { if (rdOf(last) !== 0) return false; continue; } // its return
    if (op === Op.JAL) {
      if (rdOf(last) !== 0 || immJ(last) <= 0 || !samePage(lo + immJ(last))) return false;
      pending.push(lo + immJ(last));
    } else if (op >= Op.BEQ && op <= Op.BGEU) {
      if (immB(last) <= 0 || !samePage(lo + immB(last)) || !samePage(lo + 4)) return false;
      pending.push(lo + immB(last), lo + 4);
    } else {
      if (!samePage(lo + 4)) return false;
      pending.push(lo + 4);
    }
  }
  return true;
}

/**
 * Compile the region entered at host offset `off` (virtual pcLo/pcHi): the entry block plus the
 * blocks reachable from it through constant jumps, branches, fall-throughs and (for the return)
 * the code after calls, on up to maxRegionPages virtual pages the exec soft-TLB maps.
 */
export function compile(c: Cpu, off: number, pcLo: number, pcHi: number, max: number, tierUp = false): Block {
  const bpOffs = c.bps === undefined ? undefined : bpOffsets(c, pcLo & -4096, pcHi);
  const entry = scanBlock(c, off, max, bpOffs);
  let b: Block;
  if (entry.sys) {
    b = makeBlock(c, [{ words: entry.words, pcLo, pcHi }], [off], true);
    b.bp = entry.bp === true;
  }
  else {
    const { blocks, offs, missed } = formRegion(c, off, pcLo, pcHi, entry.words, max, bpOffs, tierUp);
    // engine wasm: to wasm at once, or (tier-up) as JS first and to wasm once hot
    const toWasm = c.engine === 'wasm' && (tierUp || c.wasmTierUp === 0);
    // Both engines cut regions alike (the same blocks, the same counters; see MAX_REGION_SOURCE).
    const src = fitSource(c, blocks, offs);
    b = makeBlock(c, blocks, offs, false, toWasm, tierUp, toWasm ? undefined : src);
    // The region's other blocks become entry points of the same function: a slice that ends
    // (budget / cycle limit) inside a region resumes in it instead of compiling (and warming
    // up) a new overlapping region at that PC.
    const wasmSlot = c.wasmSlot;
    const placed: Block[] = [b], placedOffs: number[] = [off];
    for (let i = 1; i < blocks.length; i++) {
      const pb = c.pageBlocks[offs[i]! >>> 12] ??= new Array(1024);
      const k = (offs[i]! & 4095) >>> 2;
      if (pb[k] === undefined || !pb[k]!.valid) {
        pb[k] = newBlock(c, b.fn, i, blocks[i]!, b.links.length);
        placed.push(pb[k]!); placedOffs.push(offs[i]!);
      }
    }
    // A region on several pages: a write to any of them drops all its entry points.
    const hostPages = new Set(offs.map((o) => o >>> 12));
    if (hostPages.size > 1) {
      for (const pg of hostPages) {
        const list = c.spanBlocks[pg] ??= [];
        if (list.length > 256) { const live = list.filter((x) => x.valid); list.length = 0; list.push(...live); }
        list.push(...placed);
        c.codePages.add(pg);
      }
    }
    if (wasmSlot >= 0) describeRegion(c, placed, placedOffs, wasmSlot);
    else if (c.engine === 'wasm' || (missed && !tierUp)) {
      // engine wasm: to wasm once hot; engine js: formed once more when warm (the pages it left
      // out have usually run by then)
      b.home = b; b.heat = c.engine === 'wasm' ? c.wasmTierUp : c.regionReformHeat; b.hostOff = off; b.subs = placed.slice(1);
      for (const sb of b.subs) sb.home = b;
    }
  }
  const pg = off >>> 12;
  (c.pageBlocks[pg] ??= new Array(1024))[(off & 4095) >>> 2] = b;
  c.codePages.add(pg);
  return b;
}

/**
 * Generated source (characters) a JS region may have; more, and trailing blocks are left out
 * (they become regions of their own). V8 (11.3, Node 20) optimizes a function only after
 * 3 + bytecodeLength / 150 profiler ticks (--ticks-before-optimization,
 * --bytecode-size-allowance-per-tick) and starts counting again whenever one of its ICs
 * changes: a region of 512 instructions (~50 KB of source, about as much bytecode) that is
 * entered for a few dozen instructions at a time stayed in the baseline tier for good, and a
 * guest whose hot code sat in such regions ran at half speed (docs/benchmarks.md, PV network).
 * Where a region ends changes no simulated count (exits are exact at every block).
 */
export const MAX_REGION_SOURCE = 16 * 1024;

/**
 * About how many characters of JS source codegen.ts generates for a block of `words` (a load or
 * store with its inline soft-TLB probe and slow path is long, ALU instructions short); formRegion
 * stops adding blocks near MAX_REGION_SOURCE with it, fitSource then enforces the limit exactly.
 */
function sourceEstimate(words: number[]): number {
  let n = 80;
  for (const w of words) {
    const op = decode(w);
    n += op >= Op.LB && op <= Op.SD ? 360 : op >= Op.LR_W && op <= Op.AMOMAXU_D ? 200 : isControl(op) ? 200 : 95;
  }
  return n;
}

/**
 * Drops trailing blocks of a region (their offsets too) until its source fits MAX_REGION_SOURCE
 * (the entry block always stays); returns the source of what is kept.
 */
function fitSource(c: Cpu, blocks: RegionBlock[], offs: number[]): RegionSource {
  for (;;) {
    const src = generateRegion(blocks, c.cost, c.mmuCtl !== undefined);
    if (src.body.length <= MAX_REGION_SOURCE || blocks.length === 1) return src;
    // keep about the share that fits (blocks are in formRegion's order: the predicted path first)
    const keep = Math.max(1, Math.min(blocks.length - 1, Math.floor(blocks.length * MAX_REGION_SOURCE / src.body.length * 0.9)));
    blocks.length = keep;
    offs.length = keep;
  }
}

/**
 * The JS region whose entry block is `h` is hot: engine wasm recompiles it to wasm (a region of
 * short runs that mostly end at a system instruction stays JS instead: WASM_SHORT_RUN), engine js
 * forms it once more (it left out a page the exec soft-TLB did not map yet: REGION_REFORM_HEAT).
 * Its old blocks go invalid (links to them die; the block cache gets the new ones), like a
 * recompilation after an invalidation, but without a code-page invalidation: the code is unchanged.
 */
export function tierUp(c: Cpu, h: Block): void {
  h.home = undefined;
  if (!h.valid) return; // its code was overwritten meanwhile: recompiled when next reached
  if (c.engine === 'wasm' && 2 * h.sysExits >= h.runs && c.wasmTierUp - h.heat < WASM_SHORT_RUN * h.runs) {
    // short runs into a system instruction: wasm would only add its boundary (WASM_SHORT_RUN)
    for (const sb of h.subs!) sb.home = undefined;
    c.stats.wasmKeptJs++;
    return;
  }
  invalidate(c, h);
  for (const sb of h.subs!) { sb.home = undefined; invalidate(c, sb); }
  compile(c, h.hostOff, h.vpcLo, h.vpcHi, c.maxBlock, true);
}

/** Page offsets of the breakpoints on the virtual page at (pageLo, hi), or undefined when none. */
export function bpOffsets(c: Cpu, pageLo: number, hi: number): Set<number> | undefined {
  let r: Set<number> | undefined;
  const base = hi * TWO32 + (pageLo >>> 0);
  for (const a of c.bps!) if (a >= base && a < base + 4096) (r ??= new Set()).add(a - base);
  return r;
}

/** The single-instruction block at `off`; `raw`: never a breakpoint block (to execute it). */
export function stepBlock(c: Cpu, off: number, pcLo: number, pcHi: number, raw = false): Block {
  if (!raw && c.bps !== undefined && c.bps.has(pcHi * TWO32 + (pcLo >>> 0))) {
    const bb = newBlock(c, undefined, 0, { words: [c.mem.i32[off >>> 2]!], pcLo, pcHi }, 0);
    bb.bp = true;
    return bb;
  }
  const pg = off >>> 12;
  const arr = c.stepBlocks[pg];
  const b0 = arr === undefined ? undefined : arr[(off & 4095) >>> 2];
  if (b0 !== undefined && b0.vpcLo === pcLo && b0.vpcHi === pcHi) return b0;
  const w = c.mem.i32[off >>> 2]!;
  const b = makeBlock(c, [{ words: [w], pcLo, pcHi }], [off], isSystem(decode(w)));
  (c.stepBlocks[pg] ??= new Array(1024))[(off & 4095) >>> 2] = b;
  c.codePages.add(pg);
  return b;
}

/**
 * Compile `blocks` into a Block: a JS function, or with `toWasm` (engine wasm: a region from
 * compile()) a wasm one. Single-step blocks are always JS functions (both engines' code runs on
 * the same state, and a JS function is far cheaper to build than a wasm module for one
 * instruction). `tierUp`: a recompilation of a hot JS region (counted in wasmTierUps, not
 * blocksCompiled).
 */
export function makeBlock(c: Cpu, blocks: RegionBlock[], offs: number[], sys: boolean, toWasm = false, tierUp = false, jsSource?: RegionSource): Block {
  blocks.forEach((blk, i) => markCode(c, offs[i]!, blk.words.length * 4));
  if (!tierUp) c.stats.blocksCompiled++;
  else if (c.engine === 'wasm') c.stats.wasmTierUps++;
  else c.stats.regionReforms++;
  if (sys) return newBlock(c, undefined, 0, blocks[0]!, 1); // links[0]: the block after it
  c.wasmSlot = -1;
  if (toWasm) {
    const r = compileWasmRegion(c, blocks, c.mmuCtl !== undefined);
    c.wasmSlot = r.slot;
    return newBlock(c, r.fn, 0, blocks[0]!, r.exits);
  }
  const src = jsSource ?? generateRegion(blocks, c.cost, c.mmuCtl !== undefined);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const factory = new Function(...GEN_PARAMS, `return function blk(cpu,budget,st){${src.body}\n};`) as
    (...a: unknown[]) => BlockFn;
  return newBlock(c, factory(...c.genArgs), 0, blocks[0]!, src.exits);
}

/** A block-cache entry (one object shape for all). */
export function newBlock(c: Cpu, fn: BlockFn | undefined, entry: number, blk: RegionBlock, exits: number): Block {
  return {
    fn, entry, len: blk.words.length, vpcLo: blk.pcLo, vpcHi: blk.pcHi, insn: blk.words[0]!, valid: true, bp: false,
    links: new Array<Block | undefined>(exits).fill(undefined), linkEpoch: c.linkEpoch, linkBank: c.linkBank, wd: 0,
    home: undefined, heat: 0, hostOff: 0, subs: undefined, runs: 0, sysExits: 0,
  };
}

/** Record code at host [off, off+len) and keep write-TLB entries off that page. */
export function markCode(c: Cpu, off: number, len: number): void {
  const pg = off >>> 12;
  const mask = c.mem.codeMask;
  const bits = chunkMask(off & 4095, len);
  if ((mask[pg]! & bits) === bits) return;
  const wasCode = mask[pg] !== 0;
  mask[pg]! |= bits;
  if (!wasCode) {
    // evict write-TLB entries that map this host page
    // (only the in-use part of each level's section holds entries: softmmu.ts resizeTlb)
    const WT = c.WT, WO = c.WO, pageOff = (pg << PAGE_SHIFT) | 0, n = c.tlbMask + 1;
    for (let l = 0; l < 4; l++) {
      for (let i = l * c.tlbEntries, e = i + n; i < e; i++) if (WT[2 * i] !== TLB_INVALID && WO[i] === pageOff) WT[2 * i] = TLB_INVALID;
    }
  }
}
