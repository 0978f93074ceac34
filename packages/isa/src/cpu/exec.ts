// The run loop: interrupts between regions, wfi stalls, exec soft-TLB -> block cache dispatch,
// chained block execution, slow-path exits (sx), trap storms, the traced single-step path.

import { decode } from '../decode.js';
import { isControl } from './codegen.js';
import { type Block, MAX_FN_BUDGET, type RunReason, TWO32 } from './state.js';
import { fillExec } from './softmmu.js';
import { compile, stepBlock, tierUp } from './blockcache.js';
import { breakHere } from './debug.js';
import { runHub } from './wasm-engine.js';
import { execSystem, takeInterrupt, trapNow, updateTimer, wakeable } from './priv.js';
import type { Cpu } from './cpu.js';

/**
 * Execute until exactly `maxInsns` more instructions have retired, or a stop / idle / deadlock.
 * Interrupts are taken between blocks and after every system instruction.
 */
export function run(c: Cpu, maxInsns: number, deadlineNs = Infinity): RunReason {
  c.stopRequested = false;
  c.debugEvent = '';
  if (c.dbgStopNow) { c.dbgStopNow = false; c.debugEvent = 'request'; return 'debug'; }
  // A host's time slice: compiled loops stop at the earlier of this and the timer deadline.
  const dl = deadlineNs === Infinity ? Infinity : Math.ceil((deadlineNs - c.idleNs) * c.freqHz / 1e9);
  if (dl !== c.hostDeadlineCycles) {
    c.hostDeadlineCycles = dl;
    updateTimer(c);
  }
  const target = c.instret + maxInsns;
  const XT = c.XT, XO = c.XO;
  let prev: Block | undefined, prevExit = -1;
  run: for (;;) {
    if (c.stopRequested) return c.debugEvent !== '' ? 'debug' : 'stopped';
    if (c.cycles >= c.cycleLimit) {
      updateTimer(c);
      if (c.cycles >= c.hostDeadlineCycles) return 'deadline';
    }
    if (c.irqDirty) {
      c.irqDirty = false;
      if (takeInterrupt(c)) { prev = undefined; if (trapStorm(c)) return 'trap-loop'; continue; }
    }
    if (c.waiting) {
      prev = undefined;
      const r = idle(c);
      if (r !== undefined) return r;
      continue;
    }
    let remaining = target - c.instret;
    if (remaining <= 0) return 'budget';
    if (c.traceHook !== undefined) { stepTraced(c); continue; }

    // fetch: exec TLB, then the block cache
    const pcLo = c.pcLo, pcHi = c.pcHi;
    const ti = ((pcLo >>> 12) & c.tlbMask) + c.tlbBase;
    let off: number;
    if ((pcLo & -4096) === XT[2 * ti] && pcHi === XT[2 * ti + 1]) off = (XO[ti]! + (pcLo & 4095)) >>> 0;
    else {
      off = fillExec(c, pcLo, pcHi);
      if (off < 0) {
        prev = undefined;
        c.tlbAcc++;
        trapNow(c, -off, pcLo, pcHi);
        if (trapStorm(c)) return 'trap-loop';
        continue;
      }
    }
    const page = c.pageBlocks[off >>> 12];
    const cached = page === undefined ? undefined : page[(off & 4095) >>> 2];
    // (valid: a block of a region spanning pages goes invalid when another of its pages is
    // written and stays in this page's slot: blockcache.ts spanBlocks)
    let b: Block = cached !== undefined && cached.valid && cached.vpcLo === pcLo && cached.vpcHi === pcHi ? cached
      : c.midBlock > 0 ? stepBlock(c, off, pcLo, pcHi) : compile(c, off, pcLo, pcHi, c.maxBlock);
    if (prev !== undefined && prevExit >= 0) {
      if (prev.linkEpoch !== c.linkEpoch || prev.linkBank !== c.linkBank) {
        prev.links.fill(undefined); prev.linkEpoch = c.linkEpoch; prev.linkBank = c.linkBank;
      }
      prev.links[prevExit] = b;
      // engine wasm, a JS region before its tier-up: this run of it ended at a system instruction
      if (b.fn === undefined && prev.home !== undefined) prev.home.sysExits++;
    }
    prev = undefined;
    if (b.len > remaining) { b = stepBlock(c, off, pcLo, pcHi); if (c.midBlock === 0) c.midBlock = c.maxBlock; }
    let before = c.instret;
    if (b.fn === undefined) {
      c.midBlock = 0;
      if (b.bp) {
        // a debugger breakpoint: stop before it, or execute the instruction on its own
        if (breakHere(c, pcLo, pcHi)) return 'debug';
        execOne(c, off, pcLo, pcHi);
      } else {
        c.tlbAcc++; // its fetch (compiled blocks count their own)
        execSystem(c, b.insn);
        prev = b; prevExit = 0; // the block after it gets linked (the chain loop follows that link)
      }
    } else if (b.wd !== 0 && c.midBlock === 0) {
      // engine 'wasm': the hub runs the chain (and the lookups this loop would do) in wasm
      const attn = runHub(c, b, remaining);
      if (c.sx !== 0) {
        const sx = c.sx;
        c.sx = 0;
        if (sx === 1) { c.stats.exitsFault++; trapNow(c, c.excCause, c.excTvalLo, c.excTvalHi); } else c.stats.exitsCodeWrite++;
      } else if (c.cycles >= c.cycleLimit) c.stats.exitsCycleLimit++;
      else {
        prev = c.hubLast; prevExit = c.hubExit;
        if (attn) c.stats.exitsAttention++; else c.stats.exitsLookup++;
      }
    } else {
      // run chained blocks while nothing needs the outer loop's attention
      for (;;) {
        const i0 = c.instret;
        let budget = remaining > MAX_FN_BUDGET ? MAX_FN_BUDGET : remaining | 0;
        // a JS region due for wasm returns by then (a loop inside it would otherwise keep it JS)
        if (b.home !== undefined && b.home.heat < budget) budget = b.home.heat > 0 ? b.home.heat : 1;
        const e = b.fn!(c, budget, b.entry);
        // engine wasm: a JS region counts down to its recompilation to wasm
        if (b.home !== undefined) {
          b.home.runs++;
          if ((b.home.heat -= c.instret - i0) <= 0) tierUp(c, b.home);
        }
        // still inside a basic block after a single step (see midBlock)?
        if (c.midBlock > 0) c.midBlock = b.len === 1 && !isControl(decode(b.insn)) ? c.midBlock - 1 : 0;
        if (c.sx !== 0) {
          const sx = c.sx;
          c.sx = 0;
          if (sx === 1) { c.stats.exitsFault++; c.midBlock = 0; trapNow(c, c.excCause, c.excTvalLo, c.excTvalHi); } else c.stats.exitsCodeWrite++;
          break;
        }
        if (c.cycles >= c.cycleLimit) { c.stats.exitsCycleLimit++; break; }
        // a slow path asked for this loop (an interrupt line moved, a stop): the region took no
        // further edge (codegen.ts slowCut), the loop above takes it (the hub stops alike: attn)
        if (c.irqDirty || c.stopRequested || c.waiting) { prev = b; prevExit = e; c.stats.exitsAttention++; break; }
        remaining = target - c.instret;
        const nb: Block | undefined = b.linkEpoch === c.linkEpoch && b.linkBank === c.linkBank ? b.links[e] : undefined;
        if (nb === undefined || !nb.valid || nb.vpcLo !== c.pcLo || nb.vpcHi !== c.pcHi
          || nb.len > remaining || nb.fn === undefined) {
          prev = b; prevExit = e;
          c.stats.exitsLookup++;
          // The run ended at a linked system instruction (ecall, a CSR access...) and the loop
          // above would do nothing before it (no stop, interrupt, wfi stall, budget end, trace;
          // its fetch hits the exec soft-TLB): execute it here, as the loop would, without the
          // round trip through the fetch and the block cache (a guest's hypercall path).
          if (nb === undefined || nb.fn !== undefined || !nb.valid || nb.bp || nb.vpcLo !== c.pcLo || nb.vpcHi !== c.pcHi
            || remaining <= 0 || c.stopRequested || c.irqDirty || c.waiting || c.midBlock !== 0 || c.traceHook !== undefined) break;
          const sl = c.pcLo, ti = ((sl >>> 12) & c.tlbMask) + c.tlbBase;
          if ((sl & -4096) !== XT[2 * ti] || c.pcHi !== XT[2 * ti + 1]) break;
          if (b.home !== undefined) b.home.sysExits++;
          if (endTurn(c, before)) return 'trap-loop'; // the region's turn ends here
          prev = undefined;
          before = c.instret;
          c.tlbAcc++; // its fetch
          execSystem(c, nb.insn);
          // Then the block after it (the guest's code after a hypercall the PL1 fast path
          // completed), straight through the system block's link when the loop above would do
          // nothing but its checks before it: they are made here, in its order, after the system
          // instruction's turn ends. A stop, the cycle limit, interrupts to look at (after a trap
          // taken: irqDirty), a wfi stall: the loop above handles them.
          if (c.stopRequested || c.cycles >= c.cycleLimit || c.irqDirty || c.waiting) break;
          if (endTurn(c, before)) return 'trap-loop';
          if (c.traceHook !== undefined) continue run;
          remaining = target - c.instret;
          if (remaining <= 0) continue run;
          const nx: Block | undefined = nb.linkEpoch === c.linkEpoch && nb.linkBank === c.linkBank ? nb.links[0] : undefined;
          if (nx === undefined || !nx.valid || nx.vpcLo !== c.pcLo || nx.vpcHi !== c.pcHi || nx.len > remaining
            || nx.fn === undefined || nx.wd !== 0) {
            prev = nb; prevExit = 0; // the loop above looks it up and links it
            continue run;
          }
          c.stats.chainHits++;
          before = c.instret;
          b = nx;
          continue;
        }
        // a wasm region with a descriptor is left to the hub: the loop above hands it over, and
        // the chain then runs in wasm instead of crossing JS <-> wasm per region
        if (nb.wd !== 0 && c.midBlock === 0) { prev = b; prevExit = e; c.stats.hubHandovers++; break; }
        c.stats.chainHits++;
        b = nb;
      }
    }
    if (endTurn(c, before)) return 'trap-loop';
  }
}

/**
 * The end of one turn of the run loop (a chain of regions, or one system instruction) that
 * started at instret `before`: a retired instruction ends a trap storm, none continues it. True
 * when the storm is too long ('trap-loop').
 */
function endTurn(c: Cpu, before: number): boolean {
  if (c.instret !== before) { c.trapsWithoutRetire = 0; return false; }
  return trapStorm(c);
}

export function trapStorm(c: Cpu): boolean {
  return ++c.trapsWithoutRetire > 100000;
}

export function idle(c: Cpu): RunReason | undefined {
  updateTimer(c);
  if (wakeable(c)) { c.waiting = false; return undefined; }
  const wake = c.nextWakeNs();
  if (wake === Infinity) return c.platformInterrupts ? 'idle' : 'deadlock';
  if (c.idleMode === 'advance') { c.advanceIdle(Math.max(0, wake - c.timeNs())); return undefined; }
  return 'idle';
}

export function stepTraced(c: Cpu): void {
  const pcLo = c.pcLo, pcHi = c.pcHi;
  let off = fillExec(c, pcLo, pcHi);
  if (off < 0) { c.tlbAcc++; trapNow(c, -off, pcLo, pcHi); return; }
  off >>>= 0;
  if (c.bps !== undefined && c.bps.has(pcHi * TWO32 + (pcLo >>> 0)) && breakHere(c, pcLo, pcHi)) {
    c.stopRequested = true; // run() returns 'debug'
    return;
  }
  const insn = c.mem.i32[off >>> 2]!;
  c.traceHook!(c.pc, insn >>> 0, c.lvl);
  execOne(c, off, pcLo, pcHi);
}

/** Execute the one instruction at host offset `off` (virtual pcLo/pcHi): retire it or trap. */
export function execOne(c: Cpu, off: number, pcLo: number, pcHi: number): void {
  const b = stepBlock(c, off, pcLo, pcHi, true);
  if (b.fn === undefined) { c.tlbAcc++; execSystem(c, b.insn); }
  else {
    b.fn(c, 1, b.entry);
    if (c.sx !== 0) { const sx = c.sx; c.sx = 0; if (sx === 1) trapNow(c, c.excCause, c.excTvalLo, c.excTvalHi); }
  }
}
