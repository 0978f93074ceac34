// The soft-MMU: QEMU-style software TLB per privilege level (read / write / exec sections of
// RL/RH/RO, WL/WH/WO, XL/XH/XO), filled from the Translator (or an attached MMU, which invalidates
// pages through the CPU as its SoftTlbInvalidator). Slow paths for loads, stores and AMOs called
// by generated code (cpu.ld / st / amo): misaligned and page-crossing accesses, stores that hit
// compiled code (sx = 2), watched pages (never filled, so every access reaches watchAccess), the
// LR/SC reservation. Soft-TLB hits are counted cheaply (tlbAcc, syncMmuStats).

import { Op } from '../decode.js';
import { chunkMask } from './memory.js';
import { Access, BareTranslator, type TranslationControl } from './translator.js';
import { R64, TLB_INITIAL_ENTRIES, TLB_INVALID } from './state.js';
import { IO } from './wasmgen.js';
import { flushCode } from './blockcache.js';
import { watchAccess, watchedPage } from './debug.js';
import { r64Set } from './priv.js';
import { MMIO_ACCESS } from './mmio.js';
import type { Cpu } from './cpu.js';

/**
 * Use `mmu` for translation from now on: it becomes the translator, gets the CPU as its
 * soft-TLB invalidator, receives the current sstatus / p1gatp / satp (values it rejects read
 * as 0 afterwards), and every later satp / p1gatp / sstatus write, trap entry / return and
 * sfence.vma goes through it. Drops the soft-TLB and all compiled code (regions are recompiled
 * with soft-TLB hit counting).
 */
export function attachMmu(c: Cpu, mmu: TranslationControl): void {
  syncMmuStats(c);
  c.mmuCtl = mmu;
  c.translator = mmu;
  mmu.setInvalidator(c);
  mmu.writeSstatus(c.sstatus);
  pushTranslationRegs(c, c.r64[2 * R64.p1gatp]!, c.r64[2 * R64.p1gatp + 1]!,
    c.r64[2 * R64.satp]!, c.r64[2 * R64.satp + 1]!, true);
  flushTlb(c);
  flushCode(c);
  c.tlbAcc = 0;
  c.tlbMissBase = c.stats.tlbMisses;
}

/**
 * Load p1gatp then satp into the MMU (context load / attach); rejected values become 0 (Bare).
 * `onlyChanged` (attach): skip a register the MMU already holds (no spurious untagged flush).
 */
export function pushTranslationRegs(c: Cpu, gLo: number, gHi: number, sLo: number, sHi: number, onlyChanged = false): void {
  const m = c.mmuCtl;
  if (m === undefined) {
    if ((gHi >>> 28) !== 0) { gLo = 0; gHi = 0; }
    if ((sHi >>> 28) !== 0) { sLo = 0; sHi = 0; }
    r64Set(c, R64.p1gatp, gLo, gHi);
    r64Set(c, R64.satp, sLo, sHi);
    return;
  }
  if (!(onlyChanged && gLo === m.p1gatpLo && gHi === m.p1gatpHi) && !m.writeP1gatp(gLo, gHi)) m.writeP1gatp(0, 0);
  r64Set(c, R64.p1gatp, m.p1gatpLo, m.p1gatpHi);
  if (!(onlyChanged && sLo === m.satpLo && sHi === m.satpHi) && !m.writeSatp(sLo, sHi)) m.writeSatp(0, 0);
  r64Set(c, R64.satp, m.satpLo, m.satpHi);
}

/**
 * Report the accesses the soft-TLB served since the last call to the MMU (addSoftTlbHits), when
 * they were made at PL2/PL3 with translation on. Called automatically before every level change,
 * satp / p1gatp write and context save / load, and by engineStats(); call it before reading the
 * MMU's stats. Accounting: lookups = one instruction fetch per basic block executed (a compiled
 * block, a single-stepped instruction or a system instruction: the modelled ITLB is consulted
 * once per block, not per instruction), plus one per load / store / AMO, plus one more for an
 * access that crosses a page; soft-TLB hits = lookups - translate() calls. So the MMU's
 * tlbHits + softTlbHits + tlbMisses equals that lookup count exactly.
 */
export function syncMmuStats(c: Cpu): void {
  const m = c.mmuCtl;
  if (m === undefined) return;
  const hits = c.tlbAcc - (c.stats.tlbMisses - c.tlbMissBase);
  if (hits !== 0 && c.lvl >= 2 && ((m.satpHi >>> 28) !== 0 || (m.p1gatpHi >>> 28) !== 0)) m.addSoftTlbHits(hits);
  c.tlbAcc = 0;
  c.tlbMissBase = c.stats.tlbMisses;
}

/** SoftTlbInvalidator: drop the soft-TLB entries of the page holding (lo, hi) at every level; drops chained links. */
export function invalidatePage(c: Cpu, lo: number, hi: number): void {
  const tag = lo & -4096;
  hi |= 0;
  const j = (lo >>> 12) & c.tlbMask;
  const RT = c.RT, WT = c.WT, XT = c.XT;
  for (let l = 0; l < 4; l++) {
    const i = 2 * (j + l * c.tlbEntries);
    if (RT[i] === tag && RT[i + 1] === hi) RT[i] = TLB_INVALID;
    if (WT[i] === tag && WT[i + 1] === hi) WT[i] = TLB_INVALID;
    if (XT[i] === tag && XT[i + 1] === hi) XT[i] = TLB_INVALID;
  }
  // A link into a block of this page would bypass the (now missing) exec translation.
  if (c.execPages[(lo >>> 12) & 4095] !== 0) c.linkEpoch++;
}

/**
 * Invalidate every software-TLB entry (all levels). The soft-TLB takes its new size here
 * (`entries`; by default it halves when this flush interval filled fewer than a quarter of its
 * entries, as QEMU shrinks a little-used soft-TLB at a flush: tlb_mmu_resize_locked in
 * accel/tcg/cputlb.c), so a flush costs what the soft-TLB was used for.
 */
export function flushTlb(c: Cpu, entries = shrunk(c)): void {
  resizeTlb(c, entries);
  c.stats.tlbFlushes++;
  c.linkEpoch++;
  c.bareXlate = c.translator instanceof BareTranslator; // (translator may have been replaced)
  c.linkBank = c.bareXlate ? 0 : c.tlbBase;
}

function shrunk(c: Cpu): number {
  const n = c.tlbMask + 1;
  if (!tlbUnmodelled(c)) return Math.min(c.tlbEntries, TLB_INITIAL_ENTRIES);
  return n > TLB_INITIAL_ENTRIES && c.tlbFills < n >>> 2 ? n >>> 1 : n;
}

/**
 * No modelled TLB stands behind the soft-TLB: no MMU, or an MMU with both stages in Bare mode
 * (translate() then charges no cycles and syncMmuStats reports no soft-TLB hits). Only then may
 * the soft-TLB grow: its size changes wall time only, never instret, cycles or the MMU's stats.
 * A satp / p1gatp write that turns translation on invalidates the soft-TLB (the MMU's switch
 * policy), and that flush takes it back to the initial size.
 */
function tlbUnmodelled(c: Cpu): boolean {
  const m = c.mmuCtl;
  return m === undefined || ((m.satpHi >>> 28) === 0 && (m.p1gatpHi >>> 28) === 0);
}

/**
 * Invalidate every entry and use `entries` (a power of two <= tlbEntries) per level from now on.
 * Entries from the in-use size up to tlbHigh stay invalid (code compiled under a larger size may
 * still index them until its next run; a fill always uses the current size, so an entry sits only
 * at its page's index and invalidatePage finds it); indexes at or above tlbHigh are never used.
 */
function resizeTlb(c: Cpu, entries: number): void {
  const old = c.tlbMask + 1;
  if (entries !== old) {
    c.tlbMask = entries - 1;
    c.stats.tlbResizes++;
    if (entries > c.tlbHigh) c.tlbHigh = entries;
  }
  const span = entries > old ? entries : old, stride = c.tlbEntries;
  for (let l = 0; l < 4; l++) {
    const a = l * stride, b = a + span;
    // (lo and hi alike: an entry is empty by its lo)
    c.RT.fill(TLB_INVALID, 2 * a, 2 * b); c.WT.fill(TLB_INVALID, 2 * a, 2 * b); c.XT.fill(TLB_INVALID, 2 * a, 2 * b);
  }
  c.wio[IO.tmask] = c.tlbMask; // (engine wasm: the generated code reads the mask from here)
  c.execPages.fill(0);
  c.tlbEvictions = 0;
  c.tlbFills = 0;
}

/**
 * The soft-TLB index for a refill of the page of `lo` in the section of tags `T` (RT / WT / XT) at the
 * current level. With no modelled TLB behind the soft-TLB (tlbUnmodelled), a refill that evicts another page's live entry counts as
 * pressure; once the evictions since the last resize exceed the entries in use (the working set
 * does not fit), the soft-TLB doubles up to tlbEntries: every entry is dropped (as by a flush,
 * chained links included) and the index is that of the new size.
 */
export function tlbSlot(c: Cpu, lo: number, hi: number, T: Int32Array): number {
  let i = ((lo >>> 12) & c.tlbMask) + c.tlbBase;
  c.tlbFills++;
  const t = T[2 * i]!;
  if (t !== TLB_INVALID && (t !== (lo & -4096) || hi !== T[2 * i + 1])
    && ++c.tlbEvictions > c.tlbMask && c.tlbMask + 1 < c.tlbEntries && tlbUnmodelled(c)) {
    resizeTlb(c, (c.tlbMask + 1) * 2);
    c.linkEpoch++; // (execPages were cleared: a link into a dropped exec page must not be followed)
    i = ((lo >>> 12) & c.tlbMask) + c.tlbBase;
  }
  return i;
}

/** MemoryWriteListener: another agent wrote [off, off+len): clears an overlapping reservation. */
export function externalWrite(c: Cpu, off: number, len: number): void {
  if (c.resValid && off < c.resOff + c.resSize && c.resOff < off + len) c.resValid = false;
}

/** Drop the soft-TLB without counting a flush (a debugger action, not the guest's). */
export function flushTlbQuiet(c: Cpu): void {
  const n = c.stats.tlbFlushes;
  flushTlb(c);
  c.stats.tlbFlushes = n;
}

export function xlate(c: Cpu, lo: number, hi: number, access: Access): number {
  c.stats.tlbMisses++;
  const r = c.translator.translate(lo, hi, access, c.lvl);
  const m = c.mmuCtl;
  if (m !== undefined) c.cycles += m.lastCycles;
  return r;
}

/** Translate a fetch and fill the exec TLB. Returns host offset or -cause. */
export function fillExec(c: Cpu, lo: number, hi: number): number {
  let off = xlate(c, lo, hi, Access.EXEC);
  if (off < 0) {
    if (off === MMIO_ACCESS) off = -1; // device space is not executable: instruction access fault
    setGuestPageTval(c, -off);
    return off;
  }
  const i = tlbSlot(c, lo, hi, c.XT);
  c.XT[2 * i] = lo & -4096; c.XT[2 * i + 1] = hi; c.XO[i] = (off - (lo & 4095)) | 0;
  c.execPages[(lo >>> 12) & 4095] = 1;
  return off;
}

export function recordFault(c: Cpu, cause: number, lo: number, hi: number): void {
  c.excCause = cause; c.excTvalLo = lo; c.excTvalHi = hi; c.sx = 1;
  setGuestPageTval(c, cause);
}

/** For a guest-page fault (20/21/23): p1tval2 <- the translator's faulting GPA. */
export function setGuestPageTval(c: Cpu, cause: number): void {
  if (cause === 20 || cause === 21 || cause === 23) {
    r64Set(c, R64.p1tval2, c.translator.faultGpaLo ?? 0, c.translator.faultGpaHi ?? 0);
  }
}

/**
 * Translate [addr, addr+size) for access; returns host offset of the first byte, or -1 after
 * recording the fault. For an access crossing a page, `c.off2` gets the host offset of the
 * second page's first byte.
 */
export function access(c: Cpu, lo: number, hi: number, size: number, acc: Access): number {
  const r = xlate(c, lo, hi, acc);
  if (r < 0) {
    if (r === MMIO_ACCESS) return r; // the caller goes to the MMIO bus (the page is never cached)
    recordFault(c, -r, lo, hi);
    return -1;
  }
  if ((lo & 4095) + size > 4096) {
    const nlo = ((lo & -4096) + 4096) | 0;
    const nhi = (hi + (nlo === 0 ? 1 : 0)) | 0;
    c.tlbAcc++; // the second page is a second lookup
    const r2 = xlate(c, nlo, nhi, acc);
    if (r2 < 0) { recordFault(c, -r2, lo, hi); return -1; }
    c.off2 = r2;
  }
  return r;
}

/** Slow-path load (TLB miss, misaligned). Returns low half; high half in rhi; sx=1 on fault. */
export function ld(c: Cpu, lo: number, hi: number, op: number): number {
  const size = op === Op.LB || op === Op.LBU ? 1 : op === Op.LH || op === Op.LHU ? 2 : op === Op.LD ? 8 : 4;
  const off = access(c, lo, hi, size, Access.READ);
  if (off < 0) return off === MMIO_ACCESS ? mmioLoad(c, lo, hi, size, op) : 0;
  const po = lo & 4095;
  let vlo: number, vhi: number;
  if (po + size <= 4096) {
    if ((lo & (size - 1)) === 0) {
      if (!watchedPage(c, lo, hi)) {
        const i = tlbSlot(c, lo, hi, c.RT);
        c.RT[2 * i] = lo & -4096; c.RT[2 * i + 1] = hi; c.RO[i] = (off - po) | 0; c.stats.tlbRefills++;
      }
    } else c.cycles += c.cost.misaligned;
    const dv = c.mem.view;
    switch (size) {
      case 1: vlo = c.mem.u8[off]!; vhi = 0; break;
      case 2: vlo = dv.getUint16(off, true); vhi = 0; break;
      case 4: vlo = dv.getInt32(off, true); vhi = 0; break;
      default: vlo = dv.getInt32(off, true); vhi = dv.getInt32(off + 4, true);
    }
  } else {
    c.cycles += c.cost.misaligned;
    const u8 = c.mem.u8;
    const n1 = 4096 - po;
    vlo = 0; vhi = 0;
    for (let k = size - 1; k >= 0; k--) {
      const byte = k < n1 ? u8[off + k]! : u8[c.off2 + k - n1]!;
      vhi = (vhi << 8) | (vlo >>> 24);
      vlo = (vlo << 8) | byte;
    }
    if (size < 8) vhi = 0;
  }
  switch (op) {
    case Op.LB: vlo = (vlo << 24) >> 24; vhi = vlo >> 31; break;
    case Op.LH: vlo = (vlo << 16) >> 16; vhi = vlo >> 31; break;
    case Op.LW: vlo |= 0; vhi = vlo >> 31; break;
    case Op.LWU: vlo |= 0; vhi = 0; break;
    default: vlo |= 0;
  }
  c.rhi = vhi;
  if (c.watches !== undefined) watchAccess(c, lo, hi, size, 0);
  return vlo;
}

/**
 * A load from device space (the translator returned MMIO_ACCESS): the MMIO bus reads it, or a
 * load access fault (cause 5) when no region holds it or it is misaligned. Costs the bus's
 * readCycles. Returns the low half, high half in rhi, as ld().
 */
function mmioLoad(c: Cpu, lo: number, hi: number, size: number, op: number): number {
  const bus = c.mem.mmio;
  if (bus === null || !bus.read(c.translator.mmioAddr ?? -1, size)) { recordFault(c, 5, lo, hi); return 0; }
  c.cycles += bus.readCycles;
  let vlo = bus.value.lo, vhi = bus.value.hi;
  switch (op) {
    case Op.LB: vlo = (vlo << 24) >> 24; vhi = vlo >> 31; break;
    case Op.LH: vlo = (vlo << 16) >> 16; vhi = vlo >> 31; break;
    case Op.LW: vlo |= 0; vhi = vlo >> 31; break;
    case Op.LBU: vlo &= 0xff; vhi = 0; break;
    case Op.LHU: vlo &= 0xffff; vhi = 0; break;
    case Op.LWU: vlo |= 0; vhi = 0; break;
    default: vlo |= 0; vhi |= 0;
  }
  c.rhi = vhi;
  if (c.watches !== undefined) watchAccess(c, lo, hi, size, 0);
  return vlo;
}

/** A store to device space: store/AMO access fault (cause 7) as for mmioLoad. */
function mmioStore(c: Cpu, lo: number, hi: number, vlo: number, vhi: number, size: number): void {
  const bus = c.mem.mmio;
  if (bus === null || !bus.write(c.translator.mmioAddr ?? -1, size, vlo, vhi)) { recordFault(c, 7, lo, hi); return; }
  c.cycles += bus.writeCycles;
  if (c.watches !== undefined) watchAccess(c, lo, hi, size, 1);
}

/** Slow-path store. sx=1 on fault (nothing written), sx=2 when it overwrote compiled code. */
export function st(c: Cpu, lo: number, hi: number, vlo: number, vhi: number, op: number): void {
  const size = op === Op.SB ? 1 : op === Op.SH ? 2 : op === Op.SW ? 4 : 8;
  const off = access(c, lo, hi, size, Access.WRITE);
  if (off < 0) { if (off === MMIO_ACCESS) mmioStore(c, lo, hi, vlo, vhi, size); return; }
  const po = lo & 4095;
  if (po + size <= 4096) {
    checkCode(c, off, size);
    const dv = c.mem.view;
    switch (size) {
      case 1: c.mem.u8[off] = vlo; break;
      case 2: dv.setUint16(off, vlo & 0xffff, true); break;
      case 4: dv.setInt32(off, vlo, true); break;
      default: dv.setInt32(off, vlo, true); dv.setInt32(off + 4, vhi, true);
    }
    if ((lo & (size - 1)) === 0) {
      if (c.mem.codeMask[off >>> 12] === 0 && !watchedPage(c, lo, hi)) {
        const i = tlbSlot(c, lo, hi, c.WT);
        c.WT[2 * i] = lo & -4096; c.WT[2 * i + 1] = hi; c.WO[i] = (off - po) | 0; c.stats.tlbRefills++;
      }
    } else c.cycles += c.cost.misaligned;
  } else {
    c.cycles += c.cost.misaligned;
    const n1 = 4096 - po;
    checkCode(c, off, n1);
    checkCode(c, c.off2, size - n1);
    const u8 = c.mem.u8;
    let l = vlo, h = vhi;
    for (let k = 0; k < size; k++) {
      if (k < n1) u8[off + k] = l & 255; else u8[c.off2 + k - n1] = l & 255;
      l = (l >>> 8) | (h << 24); h >>>= 8;
    }
  }
  if (c.watches !== undefined) watchAccess(c, lo, hi, size, 1);
}

/** A CPU store is about to write host [off, off+len) (within one page). */
export function checkCode(c: Cpu, off: number, len: number): void {
  const pg = off >>> 12;
  const m = c.mem.codeMask[pg]!;
  if (m !== 0 && (m & chunkMask(off & 4095, len)) !== 0) {
    c.mem.invalidateCodePage(pg);
    c.sx = 2;
  }
}

/** LR / SC / AMO. Returns the old value (low half; high in rhi); sx=1 on fault, 2 on code hit. */
export function amo(c: Cpu, lo: number, hi: number, vlo: number, vhi: number, op: number): number {
  const isD = op >= Op.LR_D;
  const size = isD ? 8 : 4;
  const base = isD ? Op.LR_D : Op.LR_W;
  const kind = op - base; // 0 lr, 1 sc, 2 swap, 3 add, 4 xor, 5 and, 6 or, 7 min, 8 max, 9 minu, 10 maxu
  if ((lo & (size - 1)) !== 0) { recordFault(c, 6, lo, hi); return 0; }
  c.tlbAcc++; // AMOs always translate (no soft-TLB fast path)
  const r = xlate(c, lo, hi, kind === 0 ? Access.READ : Access.WRITE);
  if (r < 0) { recordFault(c, r === MMIO_ACCESS ? (kind === 0 ? 5 : 7) : -r, lo, hi); return 0; } // no AMOs on device space
  const i32 = c.mem.i32;
  const wi = r >>> 2;
  const olo = i32[wi]!;
  const ohi = isD ? i32[wi + 1]! : olo >> 31;
  if (c.watches !== undefined) watchAccess(c, lo, hi, size, kind === 0 ? 0 : 1);
  if (kind === 0) {
    c.resValid = true; c.resOff = r; c.resSize = size; c.resLo = olo; c.resHi = isD ? ohi : 0;
    c.rhi = ohi; return olo;
  }
  if (kind === 1) {
    const ok = c.resValid && c.resOff === r && c.resSize === size && c.resLo === olo
      && (!isD || c.resHi === ohi);
    c.resValid = false;
    if (!ok) { c.rhi = 0; return 1; }
    checkCode(c, r, size);
    i32[wi] = vlo; if (isD) i32[wi + 1] = vhi;
    c.rhi = 0; return 0;
  }
  let nlo: number, nhi: number;
  if (!isD) vhi = vlo >> 31;
  switch (kind) {
    case 2: nlo = vlo; nhi = vhi; break;
    case 3: nlo = (olo + vlo) | 0; nhi = (ohi + vhi + ((nlo >>> 0) < (olo >>> 0) ? 1 : 0)) | 0; break;
    case 4: nlo = olo ^ vlo; nhi = ohi ^ vhi; break;
    case 5: nlo = olo & vlo; nhi = ohi & vhi; break;
    case 6: nlo = olo | vlo; nhi = ohi | vhi; break;
    default: {
      const lt = kind === 7 || kind === 8
        ? (ohi < vhi || (ohi === vhi && (olo >>> 0) < (vlo >>> 0)))
        : ((ohi >>> 0) < (vhi >>> 0) || (ohi === vhi && (olo >>> 0) < (vlo >>> 0)));
      const takeOld = (kind === 7 || kind === 9) ? lt : !lt;
      if (takeOld) { nlo = olo; nhi = ohi; } else { nlo = vlo; nhi = vhi; }
    }
  }
  checkCode(c, r, size);
  i32[wi] = nlo; if (isD) i32[wi + 1] = nhi;
  c.rhi = ohi;
  return olo;
}
