// The Tachyxx MMU: the Translator the CPU calls on a soft-TLB miss. It models an architectural
// TLB (tagged by VMID + ASID, or untagged), stage-1 Sv48 and stage-2 Sv48x32 walks (a 2D walk
// when both are on), a page-walk cache per stage and a nested TLB (GPA -> MA), and counts every
// hit, miss, walk, PTE reference, flush and fault per VMID. See docs/mmu.md.
import { TLB_FLUSH, type EventBus, type SimClock, type TlbFlushEvent } from '@tachyxx/core';
import { Access, MMIO_ACCESS, type PhysMemory, type Translator } from '@tachyxx/isa';
import { AssocCache, F_GLOBAL, F_S1ON } from './cache.js';
import {
  PTE_A, PTE_D, PTE_G, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X,
  SATP_MODE_BARE, SATP_MODE_SV48, P1GATP_MODE_BARE, P1GATP_MODE_SV48X32, TWO32, TWO53,
} from './pte.js';
import { MmuStats, type VmidStats } from './stats.js';
import { S2_WALK_NOT_RAM, Stage2Walk, walkStage2 } from './stage2.js';

/**
 * Implemented by the CPU: drop host-side soft-TLB entries. The MMU calls it whenever a modelled
 * TLB entry of the current context is evicted or flushed (so that every access the soft-TLB
 * serves is a hit in the modelled TLB too), and on every change of satp, p1gatp, SUM or MXR.
 */
export interface SoftTlbInvalidator {
  /** Drop the entries (every level, every access kind) of the 4 KiB page holding (vaLo, vaHi). */
  invalidatePage(vaLo: number, vaHi: number): void;
  /** Drop every entry. */
  invalidateAll(): void;
}

/** Cycle costs charged per translate() call (into `lastCycles`). */
export interface MmuCosts {
  /** Fixed cycles per modelled-TLB miss (miss detection, walker start). */
  tlbMiss: number;
  /** Cycles per page-table memory reference (PTE read). */
  walkRef: number;
  /** Cycles per A/D update (a PTE write). */
  adUpdate: number;
}
export const DEFAULT_MMU_COSTS: Readonly<MmuCosts> = Object.freeze({ tlbMiss: 5, walkRef: 20, adUpdate: 20 });

export type AdMode = 'hardware' | 'fault';

/**
 * What a translation-register write (satp, p1gatp: an address-space or world switch) does to the
 * TLB: the variant strategy of the mmu component (plugins `tagged`, `untagged` bind one). Called
 * on register writes only, never on the lookup path.
 */
export interface TlbTagPolicy {
  readonly name: string;
  /** Entries carry VMID + ASID tags and survive switches. */
  readonly tagged: boolean;
  /** satp or p1gatp was written (`changed`: the value differs from the old one). */
  onSwitch(mmu: TlbSwitchTarget, changed: boolean): void;
}

/** The two things a TlbTagPolicy may do on a switch. */
export interface TlbSwitchTarget {
  /** Flush every TLB, walk-cache and nested-TLB entry (counted as a `switch` flush). */
  switchFlush(): void;
  /** Drop the CPU's soft-TLB (its entries were filled under the old registers). */
  invalidateSoftTlb(): void;
}

/** VMID + ASID tagged TLB: entries survive switches; only the CPU's soft-TLB is refilled. */
export const TAGGED_TLB: TlbTagPolicy = Object.freeze({
  name: 'tagged',
  tagged: true,
  onSwitch(mmu: TlbSwitchTarget, changed: boolean) {
    if (changed) mmu.invalidateSoftTlb();
  },
});

/** Untagged TLB: every satp / p1gatp write flushes everything (x86 before PCID/VPID). */
export const UNTAGGED_TLB: TlbTagPolicy = Object.freeze({
  name: 'untagged',
  tagged: false,
  onSwitch(mmu: TlbSwitchTarget) {
    mmu.switchFlush();
  },
});

export interface MmuOptions {
  /** What a satp / p1gatp write does to the TLB (default TAGGED_TLB). */
  policy?: TlbTagPolicy;
  /** Shorthand for `policy`: true = TAGGED_TLB, false = UNTAGGED_TLB (ignored when `policy` is given). */
  tagged?: boolean;
  /** Modelled TLB entries (default 64) and ways (default 4); entries / ways must be a power of two. */
  entries?: number;
  ways?: number;
  /** Page-walk caches (one per stage, caching non-leaf PTEs). Default true; entries per stage (default 32, 4 ways). */
  pageWalkCache?: boolean;
  pwcEntries?: number;
  /** Nested TLB caching GPA -> MA stage-2 translations. Default true; entries default 32 (4 ways). */
  nestedTlb?: boolean;
  nestedTlbEntries?: number;
  /** A/D handling: 'hardware' (Svadu: the walker sets A, and D on a store) or 'fault' (Svade: page fault). Default 'hardware'. */
  adMode?: AdMode;
  costs?: Partial<MmuCosts>;
  /** Stats root to fill (default: a new MmuStats, not mounted anywhere). */
  stats?: MmuStats;
  invalidator?: SoftTlbInvalidator;
  /** For TLB_FLUSH bus events. */
  bus?: EventBus;
  clock?: SimClock;
  hartId?: number;
}

const PAGE_FAULT = [13, 15, 12] as const; // by Access: READ, WRITE, EXEC
const GUEST_PAGE_FAULT = [21, 23, 20] as const;
const ACCESS_FAULT = [5, 7, 1] as const;
const SHIFT_POW = [2 ** 12, 2 ** 21, 2 ** 30, 2 ** 39] as const;
const TWO47 = 2 ** 47;
const NO_INVALIDATOR: SoftTlbInvalidator = { invalidatePage() {}, invalidateAll() {} };
/** Permission byte of a stage that is off: everything allowed. */
const ALL_PERM = 0xff;

export class Mmu implements Translator, TlbSwitchTarget {
  // ---- Translator outputs ----
  faultGpaLo = 0;
  faultGpaHi = 0;
  /** Machine address of the last MMIO_ACCESS result. */
  mmioAddr = 0;
  /** Cycles charged by the last translate() call (0 on a hit); the CPU adds them to its cycle count. */
  lastCycles = 0;
  /** Cycles charged since construction. */
  totalCycles = 0;

  // ---- translation state (pushed by the CPU) ----
  /** satp and p1gatp as last accepted (legalized), as int32 halves. */
  satpLo = 0; satpHi = 0;
  p1gatpLo = 0; p1gatpHi = 0;
  private s1on = false;
  private asid = 0;
  private s1Root = 0; // GPA of the stage-1 root table
  private s2on = false;
  private vmid = 0;
  private s2Root = 0; // MA of the stage-2 root table
  private sum = false;
  private mxr = false;

  readonly policy: TlbTagPolicy;
  readonly adMode: AdMode;
  readonly costs: Readonly<MmuCosts>;
  readonly stats: MmuStats;
  /** Stats of the current VMID. */
  private cur: VmidStats;
  readonly tlb: AssocCache;
  readonly nested: AssocCache | null;
  readonly pwc1: AssocCache | null;
  readonly pwc2: AssocCache | null;
  private inv: SoftTlbInvalidator;
  private readonly bus?: EventBus;
  private readonly clock?: SimClock;
  private readonly hartId: number;

  // walk scratch (fields, so the walk allocates nothing)
  private refs1 = 0;
  private refs2 = 0;
  private adWrites = 0;
  private s2Level = 0;
  private s2Perm = 0;
  private readonly s2walk = new Stage2Walk();

  constructor(private readonly mem: PhysMemory, opts: MmuOptions = {}) {
    this.policy = opts.policy ?? (opts.tagged === false ? UNTAGGED_TLB : TAGGED_TLB);
    this.adMode = opts.adMode ?? 'hardware';
    this.costs = Object.freeze({ ...DEFAULT_MMU_COSTS, ...opts.costs });
    this.stats = opts.stats ?? new MmuStats();
    this.cur = this.stats.forVmid(0);
    this.inv = opts.invalidator ?? NO_INVALIDATOR;
    this.bus = opts.bus;
    this.clock = opts.clock;
    this.hartId = opts.hartId ?? 0;
    this.tlb = new AssocCache(opts.entries ?? 64, Math.min(opts.ways ?? 4, opts.entries ?? 64), (i) => this.onTlbEvict(i));
    const pwcN = opts.pwcEntries ?? 32;
    const ntN = opts.nestedTlbEntries ?? 32;
    this.pwc1 = (opts.pageWalkCache ?? true) ? new AssocCache(pwcN, Math.min(4, pwcN)) : null;
    this.pwc2 = (opts.pageWalkCache ?? true) ? new AssocCache(pwcN, Math.min(4, pwcN)) : null;
    this.nested = (opts.nestedTlb ?? true) ? new AssocCache(ntN, Math.min(4, ntN)) : null;
  }

  /** Installs the CPU's soft-TLB invalidator (the CPU is usually built after its translator). */
  setInvalidator(inv: SoftTlbInvalidator | null): void {
    this.inv = inv ?? NO_INVALIDATOR;
  }

  /** The current VMID (p1gatp bits 57:44) and ASID (satp bits 59:44). */
  get currentVmid(): number { return this.vmid; }
  get currentAsid(): number { return this.asid; }

  // =====================================================================================
  // Translation-register hooks (the CPU calls these)
  // =====================================================================================

  /**
   * A write of satp. Returns false (and changes nothing) for an unsupported MODE — WARL: the CPU
   * then keeps the old satp. On success the legalized value is `satpLo/satpHi`.
   */
  writeSatp(lo: number, hi: number): boolean {
    const mode = hi >>> 28;
    if (mode !== SATP_MODE_BARE && mode !== SATP_MODE_SV48) return false;
    const changed = (lo | 0) !== this.satpLo || (hi | 0) !== this.satpHi;
    this.satpLo = lo | 0;
    this.satpHi = hi | 0;
    this.s1on = mode === SATP_MODE_SV48;
    this.asid = (hi >>> 12) & 0xffff;
    this.s1Root = ((hi & 0xfff) * TWO32 + (lo >>> 0)) * 4096;
    this.policy.onSwitch(this, changed);
    return true;
  }

  /**
   * A write of p1gatp (a world switch when the VMID changes). Returns false for an unsupported
   * MODE (WARL, unchanged). PPN bits 4:0 are forced to zero (the root is 128 KiB aligned).
   */
  writeP1gatp(lo: number, hi: number): boolean {
    const mode = hi >>> 28;
    if (mode !== P1GATP_MODE_BARE && mode !== P1GATP_MODE_SV48X32) return false;
    lo = (lo & ~31) | 0;
    hi = (hi & 0xf3ffffff) | 0; // bits 59:58 are zero (VMID is 14 bits)
    const changed = lo !== this.p1gatpLo || hi !== this.p1gatpHi;
    this.p1gatpLo = lo;
    this.p1gatpHi = hi;
    this.s2on = mode === P1GATP_MODE_SV48X32;
    this.vmid = (hi >>> 12) & 0x3fff;
    this.s2Root = ((hi & 0xfff) * TWO32 + (lo >>> 0)) * 4096;
    this.cur = this.stats.forVmid(this.vmid);
    this.policy.onSwitch(this, changed);
    return true;
  }

  /** sstatus changed: SUM (bit 18) and MXR (bit 19) feed the stage-1 permission check. */
  writeSstatus(sstatus: number): void {
    const sum = (sstatus & (1 << 18)) !== 0;
    const mxr = (sstatus & (1 << 19)) !== 0;
    if (sum !== this.sum || mxr !== this.mxr) {
      this.sum = sum;
      this.mxr = mxr;
      this.inv.invalidateAll(); // soft-TLB entries were filled under the old permissions
    }
  }

  /** The CPU reports `n` accesses (at PL2/PL3 with translation on) that hit in its soft-TLB. */
  addSoftTlbHits(n: number): void {
    this.cur.softTlbHits.value += n;
  }

  // =====================================================================================
  // Translator
  // =====================================================================================

  translate(vaLo: number, vaHi: number, access: Access, level: number): number {
    this.lastCycles = 0;
    if (level < 2 || (!this.s1on && !this.s2on)) {
      this.stats.bareTranslations.value++;
      return this.bare(vaLo, vaHi, access);
    }
    let key: number; // the TLB tag space: 48-bit VA (stage 1 on) or GPA (stage 1 off)
    if (this.s1on) {
      const top = (vaHi | 0) >> 15;
      if (top !== 0 && top !== -1) return this.fault(PAGE_FAULT[access]); // non-canonical
      key = (vaHi & 0xffff) * TWO32 + (vaLo >>> 0);
    } else {
      key = (vaHi | 0) * TWO32 + (vaLo >>> 0);
      if ((vaHi | 0) < 0 || (vaHi | 0) >= 0x200000) {
        this.faultGpaLo = vaLo | 0;
        this.faultGpaHi = vaHi | 0;
        return this.fault(GUEST_PAGE_FAULT[access]);
      }
    }
    const s1 = this.s1on ? F_S1ON : 0;
    const tlb = this.tlb;
    for (let k = 0; k < 4; k++) {
      const pow = SHIFT_POW[k]!;
      const tag = Math.floor(key / pow);
      const i = tlb.find(k, tag, this.vmid, this.asid, s1);
      if (i < 0) continue;
      if (this.permits(tlb.p1[i]!, tlb.p2[i]!, s1, access, level)) {
        tlb.touch(i);
        this.cur.tlbHits.value++;
        return this.ram(tlb.a[i]! + (key - tag * pow), access);
      }
      // An entry that does not permit this access (a store to a clean page, SUM changed, ...):
      // drop it and walk, so the fault (or the A/D update) comes from the page tables.
      this.dropTlb(i, true);
      break;
    }
    this.cur.tlbMisses.value++;
    return this.walk(key, access, level);
  }

  // =====================================================================================
  // Flushes
  // =====================================================================================

  /**
   * The guest's sfence.vma: `rs1Zero`/`rs2Zero` say the register operand was x0 (all addresses /
   * all address spaces). Flushes only within the current VMID. With an ASID, global entries stay.
   * With rs1 = x0 the stage-1 page-walk cache entries (of the ASID, or all) go too.
   */
  sfenceVma(vaLo: number, vaHi: number, asid: number, rs1Zero: boolean, rs2Zero: boolean): void {
    const tlb = this.tlb;
    const vmid = this.vmid;
    asid &= 0xffff;
    const key1 = (vaHi & 0xffff) * TWO32 + (vaLo >>> 0);
    const key0 = (vaHi | 0) * TWO32 + (vaLo >>> 0);
    let dropped = 0;
    for (let i = 0; i < tlb.entries; i++) {
      if (tlb.valid[i] === 0 || tlb.vmid[i] !== vmid) continue;
      const f = tlb.flags[i]!;
      if (!rs2Zero && ((f & F_GLOBAL) !== 0 || tlb.asid[i] !== asid)) continue;
      if (!rs1Zero && Math.floor(((f & F_S1ON) !== 0 ? key1 : key0) / SHIFT_POW[tlb.kind[i]!]!) !== tlb.tag[i]) continue;
      this.dropTlb(i, !rs1Zero);
      dropped++;
    }
    if (rs1Zero && this.pwc1 !== null) {
      const c = this.pwc1;
      for (let i = 0; i < c.entries; i++) {
        if (c.valid[i] !== 0 && c.vmid[i] === vmid && (rs2Zero || ((c.flags[i]! & F_GLOBAL) === 0 && c.asid[i] === asid))) c.invalidate(i);
      }
    }
    if (rs1Zero) this.inv.invalidateAll();
    const fl = this.cur.flushes;
    const kind = !rs1Zero ? fl.page : !rs2Zero ? fl.asid : fl.vmid;
    kind.value++;
    fl.dropped.value += dropped;
    this.publishFlush(!rs1Zero ? 'page' : !rs2Zero ? 'asid' : 'vmid', vmid, rs2Zero ? undefined : asid, rs1Zero ? undefined : key0, dropped);
  }

  /** Hypervisor: flush every TLB, page-walk-cache and nested-TLB entry of every VMID. */
  flushAll(): void {
    const n = this.clearEverything();
    this.cur.flushes.all.value++;
    this.cur.flushes.dropped.value += n;
    this.publishFlush('all', undefined, undefined, undefined, n);
  }

  /** Hypervisor: flush everything cached for `vmid` (TLB, both walk caches, nested TLB). */
  flushVmid(vmid: number): void {
    let n = 0;
    const tlb = this.tlb;
    for (let i = 0; i < tlb.entries; i++) if (tlb.valid[i] !== 0 && tlb.vmid[i] === vmid) { tlb.invalidate(i); n++; }
    for (const c of [this.pwc1, this.pwc2, this.nested]) {
      if (c === null) continue;
      for (let i = 0; i < c.entries; i++) if (c.valid[i] !== 0 && c.vmid[i] === vmid) c.invalidate(i);
    }
    if (vmid === this.vmid) this.inv.invalidateAll();
    const s = this.stats.forVmid(vmid);
    s.flushes.vmid.value++;
    s.flushes.dropped.value += n;
    this.publishFlush('vmid', vmid, undefined, undefined, n);
  }

  /**
   * Hypervisor: flush the leaf translations of guest-physical address `gpa` in `vmid` (after
   * changing its P2M entry): TLB entries whose GPA range holds it and nested-TLB entries. Like
   * RISC-V's HFENCE.GVMA with an address, cached non-leaf stage-2 entries stay: use flushVmid
   * after changing a non-leaf stage-2 PTE.
   */
  flushGpa(vmid: number, gpa: number): void {
    let n = 0;
    const tlb = this.tlb;
    for (let i = 0; i < tlb.entries; i++) {
      if (tlb.valid[i] === 0 || tlb.vmid[i] !== vmid) continue;
      const b = tlb.b[i]!;
      if (gpa >= b && gpa < b + SHIFT_POW[tlb.kind[i]!]!) { this.dropTlb(i, vmid === this.vmid); n++; }
    }
    const c = this.nested;
    if (c !== null) {
      for (let i = 0; i < c.entries; i++) {
        if (c.valid[i] !== 0 && c.vmid[i] === vmid && Math.floor(gpa / SHIFT_POW[c.kind[i]!]!) === c.tag[i]) c.invalidate(i);
      }
    }
    const s = this.stats.forVmid(vmid);
    s.flushes.gpa.value++;
    s.flushes.dropped.value += n;
    this.publishFlush('page', vmid, undefined, gpa, n);
  }

  // =====================================================================================
  // Internals
  // =====================================================================================

  /** Whether entries carry VMID + ASID tags (the policy's). */
  get tagged(): boolean {
    return this.policy.tagged;
  }

  /** Drops the CPU's soft-TLB (TlbSwitchTarget). */
  invalidateSoftTlb(): void {
    this.inv.invalidateAll();
  }

  /** Flushes everything on a switch (TlbSwitchTarget, the untagged policy). */
  switchFlush(): void {
    const n = this.clearEverything();
    this.cur.flushes.switch.value++;
    this.cur.flushes.dropped.value += n;
    this.publishFlush('all', undefined, undefined, undefined, n);
  }

  private clearEverything(): number {
    const n = this.tlb.clear();
    this.pwc1?.clear();
    this.pwc2?.clear();
    this.nested?.clear();
    this.inv.invalidateAll();
    return n;
  }

  private publishFlush(scope: TlbFlushEvent['scope'], vmid: number | undefined, asid: number | undefined, va: number | undefined, entries: number): void {
    const bus = this.bus;
    if (bus === undefined || !bus.hasSubscribers(TLB_FLUSH)) return;
    const ev: TlbFlushEvent = { time: this.clock?.now ?? 0, pcpu: this.hartId, scope, entries };
    if (vmid !== undefined) ev.vmid = vmid;
    if (asid !== undefined) ev.asid = asid;
    if (va !== undefined) ev.va = va;
    bus.publish(TLB_FLUSH, ev);
  }

  /** True when TLB entry `i` belongs to the current context (so the soft-TLB may hold its pages). */
  private isCurrent(i: number): boolean {
    const t = this.tlb;
    const f = t.flags[i]!;
    return t.vmid[i] === this.vmid && (f & F_S1ON) === (this.s1on ? F_S1ON : 0) && ((f & F_GLOBAL) !== 0 || t.asid[i] === this.asid);
  }

  private onTlbEvict(i: number): void {
    this.cur.tlbEvictions.value++;
    if (this.isCurrent(i)) this.softInvalidate(i);
  }

  /** Drops TLB entry i; with `soft`, also its pages from the CPU soft-TLB (when current). */
  private dropTlb(i: number, soft: boolean): void {
    if (soft && this.isCurrent(i)) this.softInvalidate(i);
    this.tlb.invalidate(i);
  }

  /** Invalidates the soft-TLB pages covered by TLB entry i. */
  private softInvalidate(i: number): void {
    const t = this.tlb;
    const k = t.kind[i]!;
    if (k >= 2) { this.inv.invalidateAll(); return; }
    let base = t.tag[i]! * SHIFT_POW[k]!;
    const s1 = (t.flags[i]! & F_S1ON) !== 0;
    const n = k === 0 ? 1 : 512;
    for (let p = 0; p < n; p++, base += 4096) {
      let hi = Math.floor(base / TWO32);
      if (s1 && base >= TWO47) hi = (hi | 0xffff0000) | 0; // sign-extend bit 47
      this.inv.invalidatePage((base % TWO32) | 0, hi | 0);
    }
  }

  private bare(vaLo: number, vaHi: number, access: Access): number {
    if ((vaHi | 0) < 0 || (vaHi | 0) >= 0x200000) return -ACCESS_FAULT[access];
    const pa = (vaHi | 0) * TWO32 + (vaLo >>> 0);
    const off = pa - this.mem.base;
    if (off < 0 || off >= this.mem.size) {
      if (access !== Access.EXEC && this.mem.isMmio(pa)) { this.mmioAddr = pa; return MMIO_ACCESS; }
      return -ACCESS_FAULT[access];
    }
    return off;
  }

  /**
   * Host offset of machine address `ma`; MMIO_ACCESS (with `mmioAddr`) for device space (a
   * stage-2 leaf onto a device's BAR, or stage 1 at PL1/dom0); else an access fault.
   */
  private ram(ma: number, access: Access): number {
    const off = ma - this.mem.base;
    if (off < 0 || off >= this.mem.size) {
      if (access !== Access.EXEC && this.mem.isMmio(ma)) { this.mmioAddr = ma; return MMIO_ACCESS; }
      return this.fault(ACCESS_FAULT[access]);
    }
    return off;
  }

  private fault(cause: number): number {
    this.cur.faults[cause]!.value++;
    return -cause;
  }

  private guestPageFault(gpa: number, access: Access): number {
    this.faultGpaLo = (gpa % TWO32) | 0;
    this.faultGpaHi = Math.floor(gpa / TWO32) | 0;
    return this.fault(GUEST_PAGE_FAULT[access]);
  }

  /** Stage-1 leaf permission (p1 = PTE bits 7:0) at `level` under SUM/MXR, ignoring A/D. */
  private s1Permits(p1: number, access: Access, level: number): boolean {
    if ((p1 & PTE_U) !== 0) {
      if (level === 2 && (access === Access.EXEC || !this.sum)) return false;
    } else if (level === 3) return false;
    if (access === Access.READ) return (p1 & PTE_R) !== 0 || (this.mxr && (p1 & PTE_X) !== 0);
    if (access === Access.WRITE) return (p1 & PTE_W) !== 0;
    return (p1 & PTE_X) !== 0;
  }

  /** Stage-2 leaf permission (R/W/X only; U and G ignored; MXR does not apply). */
  private static s2Permits(p2: number, access: Access): boolean {
    return (p2 & (access === Access.READ ? PTE_R : access === Access.WRITE ? PTE_W : PTE_X)) !== 0;
  }

  /** A cached entry allows the access when both stages do and, for a store, both D bits are set. */
  private permits(p1: number, p2: number, s1: number, access: Access, level: number): boolean {
    if (s1 !== 0 && !this.s1Permits(p1, access, level)) return false;
    if (!Mmu.s2Permits(p2, access)) return false;
    return access !== Access.WRITE || (p1 & p2 & PTE_D) !== 0;
  }

  /** Reads the PTE at machine address `ma` into (pteLo, pteHi); false when it is not RAM. */
  private pteLo = 0;
  private pteHi = 0;
  private readPte(ma: number): boolean {
    const off = ma - this.mem.base;
    if (off < 0 || off + 8 > this.mem.size) return false;
    const i32 = this.mem.i32;
    this.pteLo = i32[off >>> 2]!;
    this.pteHi = i32[(off >>> 2) + 1]!;
    return true;
  }

  /** Sets A (and D for a store) in the PTE at machine address `ma` (hardware A/D mode). */
  private writePteFlags(ma: number, lo: number): void {
    const off = ma - this.mem.base;
    this.mem.i32[off >>> 2] = lo;
    this.mem.notifyWrite(off, 4); // an agent other than the CPU's store path wrote memory
    this.adWrites++;
  }

  /**
   * Stage 2: GPA -> MA for an access needing `need` (R/W/X), faulting with the cause of the
   * original access `cause`. Returns the MA, or -cause (fault recorded). Leaves the leaf level in
   * s2Level and its permission byte in s2Perm.
   */
  private s2(gpa: number, need: Access, cause: Access): number {
    if (!this.s2on) {
      this.s2Level = 3;
      this.s2Perm = ALL_PERM;
      return gpa;
    }
    if (gpa >= TWO53) return this.guestPageFault(gpa, cause);
    const vmid = this.vmid;
    const nt = this.nested;
    if (nt !== null) {
      for (let k = 0; k < 4; k++) {
        const pow = SHIFT_POW[k]!;
        const tag = Math.floor(gpa / pow);
        const i = nt.find(k, tag, vmid, 0, 0);
        if (i < 0) continue;
        const p2 = nt.p2[i]!;
        if (Mmu.s2Permits(p2, need) && (need !== Access.WRITE || (p2 & PTE_D) !== 0)) {
          nt.touch(i);
          this.cur.nestedTlbHits.value++;
          this.s2Level = k;
          this.s2Perm = p2;
          return nt.a[i]! + (gpa - tag * pow);
        }
        nt.invalidate(i);
        break;
      }
      this.cur.nestedTlbMisses.value++;
    }
    const w = this.s2walk;
    const leaf = walkStage2(this.mem, this.s2Root, gpa, this.pwc2, vmid, w);
    this.refs2 += w.refs;
    if (w.pwc === 1) this.cur.pwcHits.value++;
    else if (w.pwc === 2) this.cur.pwcMisses.value++;
    if (leaf === S2_WALK_NOT_RAM) return this.fault(ACCESS_FAULT[cause]);
    if (leaf < 0) return this.guestPageFault(gpa, cause);
    let lo = w.pteLo;
    const l = w.level;
    if (!Mmu.s2Permits(lo, need)) return this.guestPageFault(gpa, cause);
    const want = need === Access.WRITE ? PTE_A | PTE_D : PTE_A;
    if ((lo & want) !== want) {
      if (this.adMode === 'fault') return this.guestPageFault(gpa, cause);
      lo |= want;
      this.writePteFlags(w.pteMa, lo);
    }
    const size = SHIFT_POW[l]!;
    if (leaf >= TWO53) return this.fault(ACCESS_FAULT[cause]); // MA beyond 53 bits: not RAM
    if (nt !== null) {
      const i = nt.insert(l, Math.floor(gpa / size), vmid, 0, F_GLOBAL);
      nt.a[i] = leaf;
      nt.p2[i] = lo & 0xff;
    }
    this.s2Level = l;
    this.s2Perm = lo & 0xff;
    return leaf + (gpa % size);
  }

  /** A full walk for `key` (48-bit VA, or GPA when stage 1 is off). Returns host offset or -cause. */
  private walk(key: number, access: Access, level: number): number {
    this.refs1 = 0;
    this.refs2 = 0;
    this.adWrites = 0;
    const cur = this.cur;
    cur.walks.value++;
    const r = this.walk2d(key, access, level);
    const refs = this.refs1 + this.refs2;
    cur.walkRefs.value += refs;
    cur.walkRefsS1.value += this.refs1;
    cur.walkRefsS2.value += this.refs2;
    cur.refsPerWalk.sample(refs);
    cur.adUpdates.value += this.adWrites;
    const cycles = this.costs.tlbMiss + refs * this.costs.walkRef + this.adWrites * this.costs.adUpdate;
    cur.walkCycles.value += cycles;
    this.lastCycles = cycles;
    this.totalCycles += cycles;
    return r;
  }

  private walk2d(key: number, access: Access, level: number): number {
    const vmid = this.vmid;
    const asid = this.asid;
    let gpa: number;
    let s1Level = 3;
    let p1 = ALL_PERM;
    let global = F_GLOBAL; // stage-1-off entries are not per address space
    if (this.s1on) {
      global = 0;
      let table = this.s1Root;
      let start = 3;
      const pwc = this.pwc1;
      if (pwc !== null) {
        for (let l = 1; l <= 3; l++) {
          const i = pwc.find(l, Math.floor(key / SHIFT_POW[l]!), vmid, asid, F_S1ON);
          if (i >= 0) { pwc.touch(i); table = pwc.a[i]!; global = pwc.flags[i]! & F_GLOBAL; start = l - 1; break; }
        }
        if (start < 3) this.cur.pwcHits.value++;
        else this.cur.pwcMisses.value++;
      }
      let leafBase = 0;
      for (let l = start; l >= 0; l--) {
        const vpn = Math.floor(key / SHIFT_POW[l]!);
        const pteGpa = table + (vpn & 511) * 8;
        const pteMa = this.s2(pteGpa, Access.READ, access);
        if (pteMa < 0) return pteMa;
        if (!this.readPte(pteMa)) return this.fault(ACCESS_FAULT[access]);
        this.refs1++;
        let lo = this.pteLo;
        const hi = this.pteHi;
        if ((lo & PTE_V) === 0 || (lo & (PTE_R | PTE_W)) === PTE_W || (hi >>> 22) !== 0) return this.fault(PAGE_FAULT[access]);
        if ((lo & PTE_G) !== 0) global = F_GLOBAL;
        const ppn = (hi & 0x3fffff) * 4194304 + (lo >>> 10);
        if ((lo & (PTE_R | PTE_X)) === 0) {
          if (l === 0) return this.fault(PAGE_FAULT[access]);
          table = ppn * 4096;
          if (pwc !== null) {
            const i = pwc.insert(l, vpn, vmid, asid, F_S1ON | global);
            pwc.a[i] = table;
          }
          continue;
        }
        // leaf
        if (l > 0 && ppn % (2 ** (9 * l)) !== 0) return this.fault(PAGE_FAULT[access]); // misaligned superpage
        if (!this.s1Permits(lo, access, level)) return this.fault(PAGE_FAULT[access]);
        const want = access === Access.WRITE ? PTE_A | PTE_D : PTE_A;
        if ((lo & want) !== want) {
          if (this.adMode === 'fault') return this.fault(PAGE_FAULT[access]);
          // The A/D write is an implicit store to the page table: under stage 2 it needs W there.
          const wMa = this.s2(pteGpa, Access.WRITE, access);
          if (wMa < 0) return wMa;
          lo |= want;
          this.writePteFlags(wMa, lo);
        }
        s1Level = l;
        p1 = lo & 0xff;
        leafBase = ppn * 4096;
        break;
      }
      gpa = leafBase + (key % SHIFT_POW[s1Level]!);
    } else {
      gpa = key;
    }
    const ma = this.s2(gpa, access, access);
    if (ma < 0) return ma;
    // Fill: the entry covers the smaller of the two leaves (a "splintered" superpage).
    const k = Math.min(s1Level, this.s2Level);
    const pow = SHIFT_POW[k]!;
    const within = key % pow;
    const i = this.tlb.insert(k, Math.floor(key / pow), vmid, this.s1on ? asid : 0, (this.s1on ? F_S1ON : 0) | global);
    const t = this.tlb;
    t.a[i] = ma - within;
    t.b[i] = gpa - within;
    t.p1[i] = p1;
    t.p2[i] = this.s2Perm;
    this.cur.tlbFills.value++;
    return this.ram(ma, access);
  }
}
