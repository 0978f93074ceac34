// The privileged architecture: system instructions (execSystem: CSR access, ecall, ebreak, xret,
// wfi, fences), CSR read / write with WARL rules, the timer (stimecmp / p1timedelta), interrupt
// selection, trap entry and return, and the API for TypeScript trap handlers. What a sensitive
// instruction at PL2 does is the variant's SensitiveInstructionPolicy (sensitive.ts).

import { Op, csrNum, decode, rd as fRd, rs1 as fRs1, rs2 as fRs2 } from '../decode.js';
import { CSR, CSR_NUMBERS, EDELEG_MASK, IP_WRITABLE, IRQ_PRIORITY, IRQ_VISIBLE, MIDELEG_MASK, P1IDELEG_MASK, SST_HI, SST_SIE, SST_SPIE, SST_SPP, SST_WMASK, ST_IE, ST_PIE, ST_PPL, ST_PPL_SHIFT, ST_TW, ST_WMASK } from './csr.js';
import { R64, R64_OF, TWO32 } from './state.js';
import { flushTlb, recordFault, syncMmuStats } from './softmmu.js';
import { flushCode } from './blockcache.js';
import type { Cpu } from './cpu.js';

const RETURN_OPS = [Op.SRET, Op.HRET, Op.MRET];
/** The encoding of ecall. */
const ECALL_INSN = 0x00000073;
/** The register that selects the call of an ecall (the fast path's numbers). */
const A7 = 17;
/** medeleg / p1edeleg bit of cause 9, ecall from PL2. */
const ECALL_FROM_PL2 = 1 << 9;

export function retire(c: Cpu, cycles: number): void {
  c.instret++;
  c.cycles += cycles;
  if (c.pcLo === -4) c.pcHi = (c.pcHi + 1) | 0;
  c.pcLo = (c.pcLo + 4) | 0;
}

/** Execute one system instruction at the current PC (retire or trap). */
export function execSystem(c: Cpu, insn: number): void {
  const op = insn === ECALL_INSN ? Op.ECALL : decode(insn); // ecall first: every hypercall
  const lvl = c.lvl;
  switch (op) {
    case Op.ECALL:
      c.cycles += c.cost.system;
      // from PL2 to PL1 with one of the fast path's call numbers in a7: the fast path first
      if (lvl === 2 && c.fastEcall !== undefined && fastEcallNr(c) && (c.medeleg & ECALL_FROM_PL2) !== 0
        && (c.p1edeleg & ECALL_FROM_PL2) === 0 && c.fastEcall(c)) return;
      trapNow(c, 11 - lvl, 0, 0); return;
    case Op.EBREAK: c.cycles += c.cost.system; trapNow(c, 3, 0, 0); return;
    case Op.FENCE_I: flushCode(c); retire(c, c.cost.fenceI); return;
    case Op.SFENCE_VMA:
      if (lvl === 3) { trapNow(c, 2, insn, 0); return; }
      if (c.mmuCtl === undefined) flushTlb(c);
      else {
        // The MMU drops the matching modelled entries and, through invalidatePage/All, the
        // soft-TLB pages they cover (the soft-TLB only holds pages of the modelled TLB).
        const r1 = fRs1(insn), r2 = fRs2(insn);
        c.mmuCtl.sfenceVma(c.x[2 * r1]!, c.x[2 * r1 + 1]!, c.x[2 * r2]! & 0xffff, r1 === 0, r2 === 0);
      }
      retire(c, c.cost.system); return;
    case Op.WFI: {
      let force = -1;
      if (lvl === 3) { trapNow(c, 2, insn, 0); return; }
      if (lvl === 2) {
        if (c.mstatus & ST_TW) force = 0; else if (c.p1status & ST_TW) force = 1;
        if (force >= 0) {
          if (c.sensitive.onSensitive('wfi') === 'silent') { retire(c, c.cost.system); return; }
          trap(c, 22, false, insn, 0, c.pcLo, c.pcHi, force); return;
        }
      } else if (lvl === 1 && (c.mstatus & ST_TW)) { trap(c, 2, false, insn, 0, c.pcLo, c.pcHi, 0); return; }
      retire(c, c.cost.system);
      updateTimer(c);
      if (!wakeable(c)) c.waiting = true;
      return;
    }
    case Op.SRET: case Op.HRET: case Op.MRET: {
      const bank = 2 - RETURN_OPS.indexOf(op); // sret -> 2, hret -> 1, mret -> 0
      if (lvl > bank) {
        if (lvl === 3) { trapNow(c, 2, insn, 0); return; }
        if (lvl === 2) {
          if (c.sensitive.onSensitive('xret') === 'silent') { retire(c, c.cost.trapReturn); return; }
          trapNow(c, 22, insn, 0); return;
        }
        trapNow(c, 2, insn, 0); return;
      }
      c.instret++;
      c.cycles += c.cost.trapReturn;
      xret(c, bank);
      return;
    }
    case Op.CSRRW: case Op.CSRRS: case Op.CSRRC: case Op.CSRRWI: case Op.CSRRSI: case Op.CSRRCI:
      execCsr(c, insn, op);
      return;
    default:
      trapNow(c, 2, insn, 0);
  }
}

export function execCsr(c: Cpu, insn: number, op: number): void {
  const n = csrNum(insn), d = fRd(insn), src = fRs1(insn);
  const lvl = c.lvl;
  const imm = op >= Op.CSRRWI;
  const kind = imm ? op - Op.CSRRWI : op - Op.CSRRW; // 0 write, 1 set, 2 clear
  const writes = kind === 0 || src !== 0;
  const reads = !(kind === 0 && d === 0);
  if (!CSR_NUMBERS.has(n)) { trapNow(c, 2, insn, 0); return; }
  const need = 3 - ((n >>> 8) & 3);
  let silent = false;
  if (lvl > need) {
    if (lvl === 2 && c.sensitive.onSensitive('csr') === 'silent') silent = true;
    else { trapNow(c, lvl === 2 ? 22 : 2, insn, 0); return; }
  }
  if (writes && (n >>> 10) === 3 && !silent) { trapNow(c, 2, insn, 0); return; }
  if (n >= CSR.cycle && n <= CSR.instret && !counterEnabled(c, 1 << (n - CSR.cycle))) { trapNow(c, lvl === 2 ? 22 : 2, insn, 0); return; }
  let olo = 0, ohi = 0;
  if (reads || kind !== 0) { olo = csrRead(c, n); ohi = c.csrHi; }
  if (writes && !silent) {
    let slo: number, shi: number;
    if (imm) { slo = src; shi = 0; } else { slo = c.x[2 * src]!; shi = c.x[2 * src + 1]!; if (src === 0) { slo = 0; shi = 0; } }
    let nlo: number, nhi: number;
    if (kind === 0) { nlo = slo; nhi = shi; } else if (kind === 1) { nlo = olo | slo; nhi = ohi | shi; } else { nlo = olo & ~slo; nhi = ohi & ~shi; }
    csrWrite(c, n, nlo, nhi);
  }
  if (d !== 0) { c.x[2 * d] = olo; c.x[2 * d + 1] = ohi; }
  retire(c, c.cost.csr);
  c.irqDirty = true;
}

/** Whether the counter `bit` (cycle 1, time 2, instret 4) may be read at the current level (the counteren chain). */
function counterEnabled(c: Cpu, bit: number): boolean {
  const lvl = c.lvl;
  return lvl === 0 || ((c.mcounteren & bit) !== 0 && (lvl < 2 || (c.p1counteren & bit) !== 0) && (lvl < 3 || (c.scounteren & bit) !== 0));
}

/**
 * `rdtime` (csrrs rd, time, x0) inside a compiled region, `delta` cycles after cpu.cycles (what the
 * region retired before it): the value execCsr reads (low half; high half in c.rhi). Where execCsr
 * would trap (counteren), the trap is recorded instead (sx = 1: the region exits before the
 * instruction and the run loop takes it, with the same cause and tval).
 */
export function rdtimeInline(c: Cpu, delta: number, insn: number): number {
  if (!counterEnabled(c, 2)) {
    recordFault(c, c.lvl === 2 ? 22 : 2, insn, 0);
    return 0;
  }
  c.cycles += delta;
  const lo = csrRead(c, CSR.time);
  c.cycles -= delta;
  c.rhi = c.csrHi;
  return lo;
}

export function csrRead(c: Cpu, n: number): number {
  c.csrHi = 0;
  switch (n) {
    case CSR.sstatus: c.csrHi = SST_HI; return c.sstatus;
    case CSR.mstatus: return c.mstatus;
    case CSR.p1status: return c.p1status;
    case CSR.medeleg: return c.medeleg;
    case CSR.mideleg: return c.mideleg;
    case CSR.p1edeleg: return c.p1edeleg;
    case CSR.p1ideleg: return c.p1ideleg;
    case CSR.mie: return c.mie;
    case CSR.p1ie: return c.p1ie;
    case CSR.sie: return c.sie;
    case CSR.mcounteren: return c.mcounteren;
    case CSR.p1counteren: return c.p1counteren;
    case CSR.scounteren: return c.scounteren;
    case CSR.mip: return pendingBits(c) & IRQ_VISIBLE[0];
    case CSR.p1ip: return pendingBits(c) & IRQ_VISIBLE[1];
    case CSR.sip: return pendingBits(c) & IRQ_VISIBLE[2];
    case CSR.mhartid: return c.hartId;
    case CSR.cycle: return numSplit(c, c.cycles);
    case CSR.instret: return numSplit(c, c.instret);
    case CSR.time: {
      const t = Math.floor(c.timeNs());
      let lo = t | 0, hi = Math.floor(t / TWO32) | 0;
      if (c.lvl >= 2) {
        const dl = c.r64[2 * R64.p1timedelta]!, dh = c.r64[2 * R64.p1timedelta + 1]!;
        const s = (lo >>> 0) + (dl >>> 0);
        lo = s | 0; hi = (hi + dh + (s >= TWO32 ? 1 : 0)) | 0;
      }
      c.csrHi = hi; return lo;
    }
    default: {
      const idx = R64_OF[n];
      if (idx === undefined) throw new Error(`csrRead: unhandled CSR 0x${n.toString(16)}`);
      c.csrHi = c.r64[2 * idx + 1]!;
      return c.r64[2 * idx]!;
    }
  }
}

export function numSplit(c: Cpu, v: number): number { c.csrHi = Math.floor(v / TWO32) | 0; return v | 0; }

export function csrWrite(c: Cpu, n: number, lo: number, hi: number): void {
  c.irqDirty = true;
  switch (n) {
    case CSR.sstatus: c.sstatus = lo & SST_WMASK; c.mmuCtl?.writeSstatus(c.sstatus); return;
    case CSR.mstatus: c.mstatus = lo & ST_WMASK; return;
    case CSR.p1status: c.p1status = lo & ST_WMASK; return;
    case CSR.medeleg: c.medeleg = lo & EDELEG_MASK; return;
    case CSR.p1edeleg: c.p1edeleg = lo & EDELEG_MASK; return;
    case CSR.mideleg: c.mideleg = lo & MIDELEG_MASK; return;
    case CSR.p1ideleg: c.p1ideleg = lo & P1IDELEG_MASK; return;
    case CSR.mie: c.mie = lo & IRQ_VISIBLE[0]; return;
    case CSR.p1ie: c.p1ie = lo & IRQ_VISIBLE[1]; return;
    case CSR.sie: c.sie = lo & IRQ_VISIBLE[2]; return;
    case CSR.mcounteren: c.mcounteren = lo & 7; return;
    case CSR.p1counteren: c.p1counteren = lo & 7; return;
    case CSR.scounteren: c.scounteren = lo & 7; return;
    case CSR.mip: writeIp(c, 0, lo); return;
    case CSR.p1ip: writeIp(c, 1, lo); return;
    case CSR.sip: writeIp(c, 2, lo); return;
    case CSR.mhartid: case CSR.cycle: case CSR.time: case CSR.instret: return; // read-only
    case CSR.mtvec: case CSR.p1tvec: case CSR.stvec:
      r64Set(c, R64_OF[n]!, lo & ~2, hi); return; // mode bit 1 is reserved (reads 0)
    case CSR.mepc: case CSR.p1epc: case CSR.sepc:
      r64Set(c, R64_OF[n]!, lo & ~3, hi); return;
    case CSR.satp: case CSR.p1gatp: {
      const m = c.mmuCtl;
      if (m === undefined) {
        if ((hi >>> 28) !== 0) return; // without an MMU only MODE 0 (Bare): WARL, write ignored
        r64Set(c, R64_OF[n]!, lo, hi); return;
      }
      syncMmuStats(c); // hits so far belong to the old address space / VMID
      if (n === CSR.satp) { if (m.writeSatp(lo, hi)) r64Set(c, R64.satp, m.satpLo, m.satpHi); }
      else if (m.writeP1gatp(lo, hi)) r64Set(c, R64.p1gatp, m.p1gatpLo, m.p1gatpHi);
      return;
    }
    case CSR.stimecmp: case CSR.p1timedelta:
      r64Set(c, R64_OF[n]!, lo, hi);
      c.stip = false;
      recomputeTimer(c);
      return;
    default: {
      const idx = R64_OF[n];
      if (idx === undefined) throw new Error(`csrWrite: unhandled CSR 0x${n.toString(16)}`);
      r64Set(c, idx, lo, hi);
    }
  }
}

export function r64Set(c: Cpu, idx: number, lo: number, hi: number): void { c.r64[2 * idx] = lo; c.r64[2 * idx + 1] = hi; }

export function writeIp(c: Cpu, level: 0 | 1 | 2, v: number): void {
  const m = IP_WRITABLE[level];
  c.ipSoft = (c.ipSoft & ~m) | (v & m);
}

export function pendingBits(c: Cpu): number {
  return c.ipSoft | c.ipLines | (c.stip ? 1 << 5 : 0);
}

export function recomputeTimer(c: Cpu): void {
  const cl = c.r64[2 * R64.stimecmp]!, ch = c.r64[2 * R64.stimecmp + 1]!;
  const dl = c.r64[2 * R64.p1timedelta]!, dh = c.r64[2 * R64.p1timedelta + 1]!;
  const cmp = (ch >>> 0) * TWO32 + (cl >>> 0);
  if (cmp >= 2 ** 53) c.timerDeadlineNs = Infinity;
  else c.timerDeadlineNs = cmp - (dh * TWO32 + (dl >>> 0));
  updateTimer(c);
}

/** Refresh STIP from the current time and the cycle limit for compiled loops. */
export function updateTimer(c: Cpu): void {
  const d = c.timerDeadlineNs;
  if (!c.stip && d !== Infinity && c.timeNs() >= d) { c.stip = true; c.irqDirty = true; }
  if (c.stip || d === Infinity) c.cycleLimit = Infinity;
  else c.cycleLimit = Math.max(c.cycles, Math.ceil((d - c.idleNs) * c.freqHz / 1e9));
  if (c.hostDeadlineCycles < c.cycleLimit) c.cycleLimit = c.hostDeadlineCycles;
}

export function irqTarget(c: Cpu, code: number): number {
  const bit = 1 << code;
  if ((c.mideleg & bit) === 0) return 0;
  return (c.p1ideleg & bit) === 0 ? 1 : 2;
}

export function ieOf(c: Cpu, level: number): number { return level === 0 ? c.mie : level === 1 ? c.p1ie : c.sie; }

export function irqEnabledAtTarget(c: Cpu, code: number): boolean {
  return (ieOf(c, irqTarget(c, code)) & (1 << code)) !== 0;
}

/** Some interrupt is pending and enabled in its target level's ie (ignoring global enables). */
export function wakeable(c: Cpu): boolean {
  const p = pendingBits(c);
  if (p === 0) return false;
  for (const code of IRQ_PRIORITY) if ((p & (1 << code)) !== 0 && irqEnabledAtTarget(c, code)) return true;
  return false;
}

export function globalIe(c: Cpu, level: number): boolean {
  return level === 0 ? (c.mstatus & ST_IE) !== 0 : level === 1 ? (c.p1status & ST_IE) !== 0 : (c.sstatus & SST_SIE) !== 0;
}

/** Take the highest-priority takeable interrupt, if any. */
export function takeInterrupt(c: Cpu): boolean {
  const p = pendingBits(c);
  if (p === 0) return false;
  // Nothing pending is enabled in its target level's ie (irqTarget by mideleg / p1ideleg): none
  // can be taken. (A line a guest keeps masked - its event-channel upcall while it runs with
  // sie = 0 - would otherwise cost the priority scan after every trap.)
  const md = c.mideleg, pd = c.p1ideleg;
  if (((p & ~md & c.mie) | (p & md & ~pd & c.p1ie) | (p & md & pd & c.sie)) === 0) return false;
  let best = -1, bestT = 4;
  const cur = c.lvl;
  for (const code of IRQ_PRIORITY) {
    if ((p & (1 << code)) === 0) continue;
    const t = irqTarget(c, code);
    if (t >= bestT) continue;
    if ((ieOf(c, t) & (1 << code)) === 0) continue;
    if (cur > t || (cur === t && globalIe(c, t))) { best = code; bestT = t; }
  }
  if (best < 0) return false;
  c.waiting = false;
  trap(c, best, true, 0, 0, c.pcLo, c.pcHi, bestT);
  return true;
}

/** Raise exception `cause` at the current PC with the given tval. */
export function trapNow(c: Cpu, cause: number, tvalLo: number, tvalHi: number): void {
  trap(c, cause, false, tvalLo, tvalHi, c.pcLo, c.pcHi, -1);
}

export function exceptionTarget(c: Cpu, cause: number, cur: number): number {
  const bit = 1 << cause;
  if (cur >= 1 && (c.medeleg & bit) !== 0) {
    if (cur >= 2 && (c.p1edeleg & bit) !== 0) return 2;
    return 1;
  }
  return 0;
}

/** Architectural trap entry; then the TS handler of the target level, if any. */
export function trap(c: Cpu, code: number, isInt: boolean, tvalLo: number, tvalHi: number, epcLo: number, epcHi: number,
  forceTarget: number, from = c.lvl): void {
  const t = forceTarget >= 0 ? forceTarget : exceptionTarget(c, code, from);
  if (isInt) c.stats.interrupts[code]!++; else c.stats.exceptions[code]!++;
  c.resValid = false;
  c.cycles += c.cost.trapEntry;
  const causeHi = isInt ? -2147483648 : 0;
  if (t === 2) {
    r64Set(c, R64.sepc, epcLo, epcHi); r64Set(c, R64.scause, code, causeHi); r64Set(c, R64.stval, tvalLo, tvalHi);
    let s = c.sstatus;
    s = (s & ~SST_SPIE) | ((s & SST_SIE) !== 0 ? SST_SPIE : 0);
    s &= ~SST_SIE;
    s = (s & ~SST_SPP) | (from === 2 ? SST_SPP : 0);
    c.sstatus = s;
    c.mmuCtl?.writeSstatus(s);
  } else {
    const b = t === 0 ? 0 : 1;
    r64Set(c, b === 0 ? R64.mepc : R64.p1epc, epcLo, epcHi);
    r64Set(c, b === 0 ? R64.mcause : R64.p1cause, code, causeHi);
    r64Set(c, b === 0 ? R64.mtval : R64.p1tval, tvalLo, tvalHi);
    let s = b === 0 ? c.mstatus : c.p1status;
    s = (s & ~ST_PIE) | ((s & ST_IE) !== 0 ? ST_PIE : 0);
    s &= ~ST_IE;
    s = (s & ~ST_PPL) | (from << ST_PPL_SHIFT);
    if (b === 0) c.mstatus = s; else c.p1status = s;
  }
  setLevel(c, t);
  c.midBlock = 0;
  const tv = t === 0 ? R64.mtvec : t === 1 ? R64.p1tvec : R64.stvec;
  let tlo = c.r64[2 * tv]!, thi = c.r64[2 * tv + 1]!;
  const mode = tlo & 3;
  tlo &= ~3;
  if (mode === 1 && isInt) { const s = (tlo >>> 0) + 4 * code; tlo = s | 0; if (s >= TWO32) thi = (thi + 1) | 0; }
  c.pcLo = tlo; c.pcHi = thi;
  c.irqDirty = true;
  if (t === 2 && c.dbgHooks !== undefined && c.dbgHooks.trap !== undefined && c.dbgHooks.trap(c, code, isInt)) {
    c.debugEvent = 'trap';
    c.stopRequested = true; // run() returns 'debug' at the handler's first instruction
  }
  if (t <= 1) {
    const f = c.csrHandlers[t];
    if (f !== undefined) f(c, code, isInt);
    else {
      const h = c.handlers[t];
      if (h !== undefined) h(c, code, isInt, tvalHi * TWO32 + (tvalLo >>> 0), epcHi * TWO32 + (epcLo >>> 0));
    }
  }
}

export function setLevel(c: Cpu, l: number): void {
  if (l !== c.lvl && c.mmuCtl !== undefined) syncMmuStats(c); // hits so far were made at the old level
  c.lvl = l;
  c.tlbBase = l * c.tlbEntries;
  // Chained links assume the same translation: one set per level's bank (the bare translator
  // is level-independent). Translation changes within a level bump linkEpoch (flushTlb,
  // invalidatePage), so a level change needs no epoch bump.
  c.linkBank = c.bareXlate ? 0 : c.tlbBase;
  c.irqDirty = true;
}

/** Return from a trap using bank `bank` (0 = mret, 1 = hret, 2 = sret). */
export function xret(c: Cpu, bank: number): void {
  c.resValid = false;
  let target: number;
  if (bank === 2) {
    const s = c.sstatus;
    target = (s & SST_SPP) !== 0 ? 2 : 3;
    c.sstatus = ((s & ~(SST_SIE | SST_SPP)) | ((s & SST_SPIE) !== 0 ? SST_SIE : 0)) | SST_SPIE;
    c.mmuCtl?.writeSstatus(c.sstatus);
    c.pcLo = c.r64[2 * R64.sepc]!; c.pcHi = c.r64[2 * R64.sepc + 1]!;
  } else {
    const s = bank === 0 ? c.mstatus : c.p1status;
    target = (s & ST_PPL) >>> ST_PPL_SHIFT;
    if (target < bank) target = bank;
    const ns = ((s & ~(ST_IE | ST_PPL)) | ((s & ST_PIE) !== 0 ? ST_IE : 0)) | ST_PIE | (3 << ST_PPL_SHIFT);
    const e = bank === 0 ? R64.mepc : R64.p1epc;
    if (bank === 0) c.mstatus = ns; else c.p1status = ns;
    c.pcLo = c.r64[2 * e]!; c.pcHi = c.r64[2 * e + 1]!;
  }
  setLevel(c, target);
}

/** Return from the trap in progress at `level` (0: like mret, 1: like hret). */
export function returnFromTrap(c: Cpu, level: 0 | 1): void { c.cycles += c.cost.trapReturn; xret(c, level); }

/**
 * The trapped instruction was emulated by the handler at `level`: count it as retired (once),
 * resume after it (epc + 4) and return from the trap.
 */
export function completeEmulated(c: Cpu, level: 0 | 1): void {
  c.instret++;
  c.trapsWithoutRetire = 0;
  c.cycles += c.cost.base;
  const e = level === 0 ? R64.mepc : R64.p1epc;
  const lo = c.r64[2 * e]!, hi = c.r64[2 * e + 1]!;
  r64Set(c, e, (lo + 4) | 0, lo === -4 ? (hi + 1) | 0 : hi);
  returnFromTrap(c, level);
}

/** a7 is one of the fast path's call numbers (0..63: fastEcallLo / fastEcallHi). */
function fastEcallNr(c: Cpu): boolean {
  const x = c.x, n = x[2 * A7]!;
  // (a shift count is taken mod 32: n >>> 0..63 picks the bit of either word)
  return x[2 * A7 + 1] === 0 && (n & ~63) === 0 && (((n < 32 ? c.fastEcallLo : c.fastEcallHi) >>> n) & 1) !== 0;
}

/**
 * The PL1 fast path (FastEcallHandler) takes an ecall from PL2: what the trap entry counts and
 * charges before the PL1 trap handler runs (trap(): the exception count, the LR reservation, cost.trapEntry).
 */
export function fastEcallEntry(c: Cpu): void {
  c.stats.exceptions[9]!++;
  c.resValid = false;
  c.cycles += c.cost.trapEntry;
}

/**
 * The PL1 fast path completed the ecall (`retire`: completeEmulated(1)) or left it to run again
 * (restartTrapped(1): a continuation): the state the trap entry to PL1, that call and the hret
 * leave, in one step. The trap CSRs hold what trap() wrote (p1epc: as completeEmulated left it);
 * p1status.IE went to PIE and back, PIE = 1, PPL = 3 (xret); the level is PL2 again, so the
 * soft-TLB bank and the chained links are the same, and the soft-TLB hits made at PL2 so far are
 * reported at the next level change (syncMmuStats: nothing was counted at PL1 in between).
 * Cycles are added in the same order as on that path (the same floating-point sum). Interrupts:
 * level, enables and p1status.IE are as before the ecall, so what can be taken changed only if
 * a pending line did, and that sets irqDirty itself (setInterruptPending, the timer): the run
 * loop's check after the instruction is the one the trap path would make.
 */
export function fastEcallReturn(c: Cpu, retire: boolean): void {
  const lo = c.pcLo, hi = c.pcHi;
  r64Set(c, R64.p1cause, 9, 0);
  r64Set(c, R64.p1tval, 0, 0);
  c.p1status = (c.p1status & ~ST_PPL) | ST_PIE | (3 << ST_PPL_SHIFT);
  c.trapsWithoutRetire = 0;
  if (retire) {
    c.instret++;
    c.cycles += c.cost.base;
    const nlo = (lo + 4) | 0, nhi = lo === -4 ? (hi + 1) | 0 : hi;
    r64Set(c, R64.p1epc, nlo, nhi);
    c.pcLo = nlo; c.pcHi = nhi;
  } else r64Set(c, R64.p1epc, lo, hi);
  c.cycles += c.cost.trapReturn;
  c.resValid = false;
  c.midBlock = 0;
}

/**
 * The handler at `level` made progress on the trapped instruction but did not finish it (a
 * preempted hypercall, Xen's hypercall continuation): return to it so that it executes again.
 * Nothing retires, but this is not a trap storm.
 */
export function restartTrapped(c: Cpu, level: 0 | 1): void {
  c.trapsWithoutRetire = 0;
  returnFromTrap(c, level);
}

/**
 * From a TS handler running at level L: unwind L's trap (restore its IE from PIE, level <- the
 * level it trapped from) and enter `targetLevel` exactly like a hardware trap taken there from
 * that level, with the given cause / tval / epc.
 */
export function injectTrap(c: Cpu, targetLevel: 0 | 1 | 2 = 2, cause: number, tval: number, epc: number, isInterrupt = false): void {
  const L = c.lvl;
  if (L > 1) throw new Error(`injectTrap must be called from a PL0/PL1 trap handler (level is ${L})`);
  const s = L === 0 ? c.mstatus : c.p1status;
  let from = (s & ST_PPL) >>> ST_PPL_SHIFT;
  if (from < L) from = L;
  if (targetLevel > from) throw new Error(`injectTrap: PL${targetLevel} is less privileged than the trapped level PL${from}`);
  const ns = ((s & ~(ST_IE | ST_PPL)) | ((s & ST_PIE) !== 0 ? ST_IE : 0)) | ST_PIE | (3 << ST_PPL_SHIFT);
  if (L === 0) c.mstatus = ns; else c.p1status = ns;
  setLevel(c, from);
  trap(c, cause, isInterrupt, tval | 0, Math.floor(tval / TWO32) | 0, epc | 0, Math.floor(epc / TWO32) | 0, targetLevel, from);
}
