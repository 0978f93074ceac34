/**
 * The dom0 enumerator: what a kernel's PCI core does at boot (Linux pci_scan_child_bus,
 * pci_read_bases, pci_assign_unassigned_resources), through config reads and writes only:
 * walks each segment's buses depth first, gives every bridge its secondary / subordinate bus
 * numbers, sizes every BAR (write all ones, read back, restore) with memory decoding off, assigns
 * naturally aligned addresses inside the channel's MMIO window, programs the bridges' memory
 * windows (1 MiB granular), enables ARI forwarding on a port whose device below has ARI, and turns
 * on Memory Space (and Bus Master on the bridges, so DMA can flow upstream). Endpoints' Bus
 * Master stays off: their driver sets it (as Linux's pci_set_master).
 */
import {
  PCI_BASE_ADDRESS_0, PCI_COMMAND, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY, PCI_HEADER_TYPE, PCI_MEMORY_BASE,
  PCI_MEMORY_LIMIT, PCI_PREF_BASE_UPPER32, PCI_PREF_LIMIT_UPPER32, PCI_PREF_MEMORY_BASE, PCI_PREF_MEMORY_LIMIT,
  PCI_PRIMARY_BUS, PCI_IO_BASE, PCI_SECONDARY_BUS, PCI_SUBORDINATE_BUS, PCI_VENDOR_ID, PCI_STATUS, PCI_STATUS_CAP_LIST, PCI_CAPABILITY_LIST,
} from './config-space.js';
import {
  PCI_CAP_ID_EXP, PCI_EXP_DEVCAP2, PCI_EXP_DEVCAP2_ARI, PCI_EXP_DEVCTL2, PCI_EXP_DEVCTL2_ARI, PCI_EXT_CAP_ID_ARI, PCI_EXT_CAP_ID_SRIOV,
  PCI_SRIOV_BAR, PCI_SRIOV_CTRL, PCI_SRIOV_CTRL_ARI, PCI_SRIOV_TOTAL_VF,
} from './capabilities.js';

/** Config access as software has it (ECAM through MMIO, or a direct path). */
export interface ConfigAccess {
  read(segment: number, bus: number, devfn: number, off: number, size: number): number;
  write(segment: number, bus: number, devfn: number, off: number, size: number, value: number): void;
}

export interface EnumeratedBar {
  bar: number;
  addr: number;
  size: number;
  is64: boolean;
  prefetch: boolean;
}

export interface EnumeratedFunction {
  segment: number;
  bus: number;
  devfn: number;
  vendorId: number;
  deviceId: number;
  bridge: boolean;
  bars: EnumeratedBar[];
  /** SR-IOV PFs: the VF BARs (addr = VF 1's BAR, size = one VF's; TotalVFs of them follow each other). */
  vfBars?: EnumeratedBar[];
  /** For bridges: the buses below and the memory window (null when empty). */
  secondary?: number;
  subordinate?: number;
  window?: { base: number; limit: number } | null;
}

export interface SegmentWindow {
  segment: number;
  mmioBase: number;
  mmioSize: number;
}

/** Bridge memory windows are 1 MiB granular (PCI-to-PCI Bridge 1.2, Memory Base/Limit bits 15:4 = A31:20). */
export const BRIDGE_WINDOW_ALIGN = 1 << 20;

export class EnumerationError extends Error {}

export function enumerate(cfg: ConfigAccess, segments: readonly SegmentWindow[]): EnumeratedFunction[] {
  const out: EnumeratedFunction[] = [];
  for (const seg of segments) new SegmentWalk(cfg, seg, out).run();
  return out;
}

class SegmentWalk {
  private nextBus = 1;
  private cursor: number;
  private readonly end: number;
  constructor(private readonly cfg: ConfigAccess, private readonly seg: SegmentWindow, private readonly out: EnumeratedFunction[]) {
    this.cursor = seg.mmioBase;
    this.end = seg.mmioBase + seg.mmioSize;
  }

  private r(bus: number, devfn: number, off: number, size: number): number { return this.cfg.read(this.seg.segment, bus, devfn, off, size); }
  private w(bus: number, devfn: number, off: number, size: number, v: number): void { this.cfg.write(this.seg.segment, bus, devfn, off, size, v); }

  run(): void {
    this.scanBus(0, false);
  }

  /** The bus being scanned sits below a port with ARI forwarding on. */
  private ariBelow = false;

  /** Scans `bus`; `ari` = the port above has ARI forwarding on (devfn is a function number). */
  private scanBus(bus: number, ari: boolean): void {
    const outer = this.ariBelow;
    this.ariBelow = ari;
    try { this.scanBusIn(bus, ari); } finally { this.ariBelow = outer; }
  }

  private scanBusIn(bus: number, ari: boolean): void {
    if (ari) {
      // ARI: follow the Next Function Number chain from function 0 (Linux next_ari_fn).
      for (let fn = 0, n = 0; n < 256; n++) {
        if (this.r(bus, fn, PCI_VENDOR_ID, 2) === 0xffff) break;
        this.scanFunction(bus, fn);
        const cap = this.findExtCap(bus, fn, PCI_EXT_CAP_ID_ARI);
        const next = cap === 0 ? 0 : (this.r(bus, fn, cap + 4, 2) >>> 8) & 0xff;
        if (next <= fn) break;
        fn = next;
      }
      return;
    }
    for (let dev = 0; dev < 32; dev++) {
      const fn0 = dev << 3;
      if (this.r(bus, fn0, PCI_VENDOR_ID, 2) === 0xffff) continue;
      const multi = (this.r(bus, fn0, PCI_HEADER_TYPE, 1) & 0x80) !== 0;
      for (let fn = 0; fn < (multi ? 8 : 1); fn++) {
        const devfn = fn0 | fn;
        if (fn > 0 && this.r(bus, devfn, PCI_VENDOR_ID, 2) === 0xffff) continue;
        this.scanFunction(bus, devfn);
      }
    }
  }

  private scanFunction(bus: number, devfn: number): void {
    const vendorId = this.r(bus, devfn, PCI_VENDOR_ID, 2), deviceId = this.r(bus, devfn, 2, 2);
    const type = this.r(bus, devfn, PCI_HEADER_TYPE, 1) & 0x7f;
    const cmd = this.r(bus, devfn, PCI_COMMAND, 2);
    this.w(bus, devfn, PCI_COMMAND, 2, cmd & ~(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)); // no decoding while sizing
    if (type === 1) { this.scanBridge(bus, devfn, vendorId, deviceId); return; }
    const bars = this.sizeAndAssignBars(bus, devfn, PCI_BASE_ADDRESS_0, 1);
    const rec: EnumeratedFunction = { segment: this.seg.segment, bus, devfn, vendorId, deviceId, bridge: false, bars };
    // SR-IOV PF: size the VF BARs and reserve TotalVFs of each, as Linux's sriov_init /
    // pci_iov_resource_size do (the VFs appear only when the PF driver sets VF Enable); ARI Capable
    // Hierarchy when the port above forwards ARI (Linux: pci_ari_enabled(bus) -> PCI_SRIOV_CTRL_ARI).
    const sriov = this.findExtCap(bus, devfn, PCI_EXT_CAP_ID_SRIOV);
    if (sriov !== 0) {
      const total = this.r(bus, devfn, sriov + PCI_SRIOV_TOTAL_VF, 2);
      if (total > 0) rec.vfBars = this.sizeAndAssignBars(bus, devfn, sriov + PCI_SRIOV_BAR, total);
      if (this.ariBelow) this.w(bus, devfn, sriov + PCI_SRIOV_CTRL, 2, this.r(bus, devfn, sriov + PCI_SRIOV_CTRL, 2) | PCI_SRIOV_CTRL_ARI);
    }
    this.out.push(rec);
    this.w(bus, devfn, PCI_COMMAND, 2, (cmd & ~PCI_COMMAND_MASTER) | PCI_COMMAND_MEMORY);
  }

  private scanBridge(bus: number, devfn: number, vendorId: number, deviceId: number): void {
    if (this.nextBus > 255) throw new EnumerationError(`segment ${this.seg.segment}: out of bus numbers at ${bus}:${devfn >> 3}.${devfn & 7}`);
    const sec = this.nextBus++;
    this.w(bus, devfn, PCI_PRIMARY_BUS, 1, bus);
    this.w(bus, devfn, PCI_SECONDARY_BUS, 1, sec);
    this.w(bus, devfn, PCI_SUBORDINATE_BUS, 1, 0xff);
    const rec: EnumeratedFunction = { segment: this.seg.segment, bus, devfn, vendorId, deviceId, bridge: true, bars: [], secondary: sec };
    this.out.push(rec);
    // ARI: enable forwarding when the port supports it and function 0 below has the ARI capability.
    const exp = this.findCap(bus, devfn, PCI_CAP_ID_EXP);
    let ari = false;
    if (exp !== 0 && (this.r(bus, devfn, exp + PCI_EXP_DEVCAP2, 4) & PCI_EXP_DEVCAP2_ARI) !== 0
      && this.r(sec, 0, PCI_VENDOR_ID, 2) !== 0xffff && this.findExtCap(sec, 0, PCI_EXT_CAP_ID_ARI) !== 0) {
      this.w(bus, devfn, exp + PCI_EXP_DEVCTL2, 2, this.r(bus, devfn, exp + PCI_EXP_DEVCTL2, 2) | PCI_EXP_DEVCTL2_ARI);
      ari = true;
    }
    this.cursor = alignUp(this.cursor, BRIDGE_WINDOW_ALIGN);
    const start = this.cursor;
    this.scanBus(sec, ari);
    this.w(bus, devfn, PCI_SUBORDINATE_BUS, 1, this.nextBus - 1);
    rec.subordinate = this.nextBus - 1;
    this.cursor = alignUp(this.cursor, BRIDGE_WINDOW_ALIGN);
    if (this.cursor > start) {
      this.w(bus, devfn, PCI_MEMORY_BASE, 2, (start >>> 16) & 0xfff0);
      this.w(bus, devfn, PCI_MEMORY_LIMIT, 2, ((this.cursor - 1) >>> 16) & 0xfff0);
      rec.window = { base: start, limit: this.cursor - 1 };
    } else {
      this.w(bus, devfn, PCI_MEMORY_BASE, 2, 0xfff0); // base > limit: window closed
      this.w(bus, devfn, PCI_MEMORY_LIMIT, 2, 0);
      rec.window = null;
    }
    // No I/O window (base 0xf0 > limit 0x00) and no prefetchable window (every BAR is assigned in the non-prefetchable window).
    this.w(bus, devfn, PCI_IO_BASE, 2, 0x00f0);
    this.w(bus, devfn, PCI_PREF_MEMORY_BASE, 2, 0xfff0);
    this.w(bus, devfn, PCI_PREF_MEMORY_LIMIT, 2, 0);
    this.w(bus, devfn, PCI_PREF_BASE_UPPER32, 4, 0);
    this.w(bus, devfn, PCI_PREF_LIMIT_UPPER32, 4, 0);
    this.w(bus, devfn, PCI_COMMAND, 2, this.r(bus, devfn, PCI_COMMAND, 2) | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
  }

  /**
   * Sizes six BARs at `first` (write all ones, read back, restore), then assigns them biggest
   * first; `count` copies of each (SR-IOV VF BARs: TotalVFs, aligned to one VF's size).
   */
  private sizeAndAssignBars(bus: number, devfn: number, first: number, count: number): EnumeratedBar[] {
    const bars: EnumeratedBar[] = [];
    for (let i = 0; i < 6; i++) {
      const off = first + 4 * i;
      const orig = this.r(bus, devfn, off, 4);
      this.w(bus, devfn, off, 4, 0xffffffff);
      const v = this.r(bus, devfn, off, 4);
      this.w(bus, devfn, off, 4, orig);
      if (v === 0 || (v & 1) !== 0) continue; // unimplemented, or an I/O BAR (we assign no I/O space)
      const is64 = (v & 6) === 4, prefetch = (v & 8) !== 0;
      let size: number;
      if (is64) {
        if (i === 5) continue;
        const origHi = this.r(bus, devfn, off + 4, 4);
        this.w(bus, devfn, off + 4, 4, 0xffffffff);
        const hi = this.r(bus, devfn, off + 4, 4);
        this.w(bus, devfn, off + 4, 4, origHi);
        size = hi === 0xffffffff ? ((~(v & 0xfffffff0)) >>> 0) + 1 : (((~hi) >>> 0) + 1) * 2 ** 32;
      } else size = ((~(v & 0xfffffff0)) >>> 0) + 1;
      bars.push({ bar: i, addr: 0, size, is64, prefetch });
      if (is64) i++;
    }
    for (const b of [...bars].sort((a, b) => b.size - a.size || a.bar - b.bar)) {
      const addr = alignUp(this.cursor, b.size);
      const span = b.size * count;
      if (addr + span > this.end || (!b.is64 && addr + span > 2 ** 32)) {
        throw new EnumerationError(`segment ${this.seg.segment} ${bus}:${devfn >> 3}.${devfn & 7} ${count > 1 ? 'VF ' : ''}BAR${b.bar}: ${span} bytes do not fit the MMIO window [0x${this.seg.mmioBase.toString(16)}, 0x${this.end.toString(16)})`);
      }
      b.addr = addr;
      this.cursor = addr + span;
      const off = first + 4 * b.bar;
      this.w(bus, devfn, off, 4, (addr % 2 ** 32) >>> 0);
      if (b.is64) this.w(bus, devfn, off + 4, 4, Math.floor(addr / 2 ** 32));
    }
    return bars.sort((a, b) => a.bar - b.bar);
  }

  private findCap(bus: number, devfn: number, id: number): number {
    if ((this.r(bus, devfn, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST) === 0) return 0;
    let off = this.r(bus, devfn, PCI_CAPABILITY_LIST, 1) & ~3;
    for (let n = 0; off >= 0x40 && n < 48; n++) {
      if (this.r(bus, devfn, off, 1) === id) return off;
      off = this.r(bus, devfn, off + 1, 1) & ~3;
    }
    return 0;
  }

  private findExtCap(bus: number, devfn: number, id: number): number {
    let off = 0x100;
    for (let n = 0; off >= 0x100 && n < 1024; n++) {
      const h = this.r(bus, devfn, off, 4);
      if (h === 0 || h === 0xffffffff) return 0;
      if ((h & 0xffff) === id) return off;
      off = (h >>> 20) & ~3;
    }
    return 0;
  }
}

function alignUp(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}

/** Config access through the host's MMIO bus and the segments' ECAM windows (as dom0 does it). */
export function ecamAccess(bus: { read(ma: number, size: number): boolean; write(ma: number, size: number, lo: number, hi: number): boolean; readonly value: { lo: number } }, ecamBaseOf: (segment: number) => number): ConfigAccess {
  const addr = (s: number, b: number, df: number, off: number) => ecamBaseOf(s) + b * (1 << 20) + df * 4096 + off;
  return {
    read(s, b, df, off, size) {
      if (!bus.read(addr(s, b, df, off), size)) return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
      return size === 4 ? bus.value.lo >>> 0 : bus.value.lo;
    },
    write(s, b, df, off, size, v) { bus.write(addr(s, b, df, off), size, v | 0, 0); },
  };
}
