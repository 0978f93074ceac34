// Debugger support (the gdb stub): breakpoints (blocks of their own, dispatched by the run loop),
// watchpoints (their pages never get soft-TLB entries), single step. Nothing here is on the normal
// path: without a debugger bps / watches / dbgHooks are undefined.

import { type CpuWatchpoint, type RunReason, TWO32 } from './state.js';
import { fillExec, flushTlbQuiet } from './softmmu.js';
import { flushCode } from './blockcache.js';
import { execOne } from './exec.js';
import { takeInterrupt, trapNow, updateTimer, wakeable } from './priv.js';
import type { Cpu } from './cpu.js';

/**
 * Set the breakpoint addresses (signed-number VAs, like cpu.pc). Drops compiled code when the
 * set changes: blocks are recompiled so that every breakpoint starts a block of its own.
 */
export function setBreakpoints(c: Cpu, addrs: Iterable<number>): void {
  const next = new Set<number>();
  for (const a of addrs) next.add(a);
  const cur = c.bps;
  const same = cur === undefined ? next.size === 0 : cur.size === next.size && [...next].every((a) => cur.has(a));
  c.bps = next.size === 0 ? undefined : next;
  if (!same) flushCode(c);
}

/**
 * Set the watched ranges. Their pages lose their soft-TLB entries and never get new ones, so
 * every access to them takes the slow path, which checks the ranges. (The modelled TLB and its
 * statistics are untouched: the soft-TLB only caches it.)
 */
export function setWatchpoints(c: Cpu, list: readonly CpuWatchpoint[]): void {
  if (list.length === 0) { c.watches = undefined; c.watchPages = undefined; flushTlbQuiet(c); return; }
  const pages = new Set<number>();
  for (const w of list) {
    if (!(w.len > 0)) throw new RangeError(`watchpoint length must be positive, got ${w.len}`);
    for (let p = Math.floor(w.addr / 4096); p <= Math.floor((w.addr + w.len - 1) / 4096); p++) pages.add(p);
  }
  c.watches = list.map((w) => ({ ...w }));
  c.watchPages = pages;
  flushTlbQuiet(c);
}

/**
 * Debugger single step: execute exactly one instruction, or take the exception it raises (pc is
 * then the handler's entry: a step over ecall stops at the PL2 handler, or after the hypercall
 * when a TypeScript PL0 / PL1 handler emulated it). Pending interrupts are taken (and the step
 * ends at their handler) only with `irqs` or while stalled in wfi (QEMU masks them by default
 * while stepping: SSTEP_NOIRQ). Returns 'debug' (debugEvent 'step', or 'watch' when the
 * instruction hit a watchpoint), or 'idle' when the hart is stalled in wfi with nothing
 * pending (advance time and step again).
 */
export function debugStep(c: Cpu, irqs = false): RunReason {
  c.stopRequested = false;
  c.debugEvent = '';
  c.bpSkip = false;
  if (c.cycles >= c.cycleLimit) updateTimer(c);
  if ((irqs || c.waiting) && c.irqDirty) {
    c.irqDirty = false;
    if (takeInterrupt(c)) { c.debugEvent = 'step'; return 'debug'; }
  }
  if (c.waiting) {
    updateTimer(c);
    if (!wakeable(c)) return 'idle';
    c.waiting = false;
    c.irqDirty = false;
    if (takeInterrupt(c)) { c.debugEvent = 'step'; return 'debug'; }
  }
  const pcLo = c.pcLo, pcHi = c.pcHi;
  const ti = ((pcLo >>> 12) & c.tlbMask) + c.tlbBase;
  let off: number;
  if ((pcLo & -4096) === c.XT[2 * ti] && pcHi === c.XT[2 * ti + 1]) off = (c.XO[ti]! + (pcLo & 4095)) >>> 0;
  else off = fillExec(c, pcLo, pcHi);
  if (off < 0) { c.tlbAcc++; trapNow(c, -off, pcLo, pcHi); }
  else execOne(c, off >>> 0, pcLo, pcHi);
  c.midBlock = 0;
  if (c.debugEvent === '') c.debugEvent = 'step';
  return 'debug';
}

/** At a breakpoint: pass it (resume / filtered by the hooks) or record the stop. */
export function breakHere(c: Cpu, pcLo: number, pcHi: number): boolean {
  if (c.bpSkip && pcLo === c.bpSkipLo && pcHi === c.bpSkipHi) { c.bpSkip = false; return false; }
  const pc = pcHi * TWO32 + (pcLo >>> 0);
  const h = c.dbgHooks;
  if (h === undefined || !h.breakpoint(c, pc)) return false;
  c.debugEvent = 'break';
  c.debugAddr = pc;
  return true;
}

/** Slow path: is the virtual page of (lo, hi) watched? */
export function watchedPage(c: Cpu, lo: number, hi: number): boolean {
  return c.watchPages !== undefined && c.watchPages.has(hi * 1048576 + (lo >>> 12));
}

/** Slow path, after an access of `size` bytes at (lo, hi): a watch hit stops after the instruction. */
export function watchAccess(c: Cpu, lo: number, hi: number, size: number, kind: 0 | 1): void {
  const ws = c.watches;
  if (ws === undefined || c.dbgHooks === undefined) return;
  const a = hi * TWO32 + (lo >>> 0);
  for (const w of ws) {
    if (a < w.addr + w.len && w.addr < a + size && (kind === 0 ? w.read : w.write)) {
      if (!c.dbgHooks.watch(c, a, size, kind)) return;
      c.debugEvent = 'watch';
      c.debugAddr = Math.max(a, w.addr);
      c.debugAccess = kind === 0 ? 'r' : 'w';
      c.stopRequested = true;
      if (c.sx === 0) c.sx = 2; // leave the compiled block after this instruction
      return;
    }
  }
}
