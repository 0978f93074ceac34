// The MMIO bus: the part of the physical (machine) address space that is not RAM. Regions
// (base, size, handler) dispatch loads and stores of 1, 2, 4 or 8 bytes to device models.
//
// How the CPU reaches it: a Translator that resolves an address outside RAM to a machine address
// the bus covers returns MMIO_ACCESS and leaves that address in its `mmioAddr`; the soft-MMU's
// slow path then calls the bus. MMIO pages never enter the soft-TLB (so every access reaches the
// device, and the RAM fast path is unchanged). At PL2 with stage 2 on, the stage-2 leaf decides:
// a GPA mapped to a device's machine address reaches the device, an unmapped one is a
// guest-page fault as for RAM. Accesses must be naturally aligned (RISC-V lets I/O regions
// refuse misaligned accesses and AMOs: both are access faults, cause 5 / 7).
//
// 8-byte values travel as (lo, hi) int32 halves; nothing allocates per access.

/** Translator result for an address that is MMIO: the machine address is in `mmioAddr`. */
export const MMIO_ACCESS = -4096;

/** The result slot of a read: the handler writes `lo` (and `hi` for 8-byte reads). */
export interface MmioValue {
  lo: number;
  hi: number;
}

/** A device's registers. Offsets are from the region's base; sizes 1, 2, 4 or 8. */
export interface MmioHandler {
  /**
   * Reads `size` bytes at `offset` into `out.lo` (zero-extended for sizes 1 and 2) and, for
   * size 8, `out.hi` (the bus clears both first). Must not throw for guest input.
   */
  read(offset: number, size: number, out: MmioValue): void;
  /** Writes the low `size` bytes of (lo, hi). Must not throw for guest input. */
  write(offset: number, size: number, lo: number, hi: number): void;
}

/** A handler with 32-bit registers: 8-byte accesses become two 4-byte ones (low half first). */
export abstract class Mmio32Handler implements MmioHandler {
  /** The 32-bit register at 4-byte aligned `offset` (unsigned or int32). */
  protected abstract read32(offset: number): number;
  protected abstract write32(offset: number, value: number): void;
  /**
   * A narrower write: by default a read-modify-write of the containing register (override for
   * registers where that has side effects).
   */
  protected writeNarrow(offset: number, size: number, value: number): void {
    const base = offset & ~3;
    const sh = (offset & 3) * 8;
    const mask = (size === 1 ? 0xff : 0xffff) << sh;
    this.write32(base, (this.read32(base) & ~mask) | ((value << sh) & mask));
  }

  read(offset: number, size: number, out: MmioValue): void {
    if (size === 8) { out.lo = this.read32(offset) | 0; out.hi = this.read32(offset + 4) | 0; return; }
    const v = this.read32(offset & ~3) >>> ((offset & 3) * 8);
    out.lo = size === 4 ? v | 0 : size === 2 ? v & 0xffff : v & 0xff;
  }

  write(offset: number, size: number, lo: number, hi: number): void {
    if (size === 8) { this.write32(offset, lo | 0); this.write32(offset + 4, hi | 0); return; }
    if (size === 4) this.write32(offset, lo | 0);
    else this.writeNarrow(offset, size, lo);
  }
}

export interface MmioRegion {
  readonly base: number;
  readonly size: number;
  readonly handler: MmioHandler;
  /** For messages and listings. */
  readonly name: string;
}

export interface MmioBusOptions {
  /** Simulated cycles a load from a device takes (a non-posted PCIe read round trip). */
  readCycles?: number;
  /** Simulated cycles a store takes (posted). */
  writeCycles?: number;
}

/**
 * Default costs: an uncached MMIO read waits for the completion (~0.5-1 us on real PCIe, here
 * 500 cycles); a write is posted (50 cycles). Parameters, not measurements.
 */
export const DEFAULT_MMIO_READ_CYCLES = 500;
export const DEFAULT_MMIO_WRITE_CYCLES = 50;

const SIZES = [1, 2, 4, 8];

export class MmioBus {
  readCycles: number;
  writeCycles: number;
  /** Accesses served (plain counters: stats read them). */
  reads = 0;
  writes = 0;
  /** Accesses that hit no region or were misaligned (the CPU raised an access fault). */
  faults = 0;
  /** The last read's value (the CPU's result slot). */
  readonly value: MmioValue = { lo: 0, hi: 0 };
  /** Sorted by base, non-overlapping. */
  private regions: MmioRegion[] = [];
  /** Region of the last hit (a device's registers are usually hit in runs). */
  private last: MmioRegion | null = null;

  constructor(opts: MmioBusOptions = {}) {
    this.readCycles = opts.readCycles ?? DEFAULT_MMIO_READ_CYCLES;
    this.writeCycles = opts.writeCycles ?? DEFAULT_MMIO_WRITE_CYCLES;
  }

  /** Adds a region; throws (a host-assembly bug) when it overlaps another or is malformed. */
  add(base: number, size: number, handler: MmioHandler, name = 'mmio'): MmioRegion {
    if (!Number.isInteger(base) || !Number.isInteger(size) || base < 0 || size <= 0 || base + size > 2 ** 53) {
      throw new RangeError(`MMIO region ${name}: bad range base ${base} size ${size}`);
    }
    for (const r of this.regions) {
      if (base < r.base + r.size && r.base < base + size) {
        throw new RangeError(`MMIO region ${name} [0x${base.toString(16)}, +0x${size.toString(16)}) overlaps ${r.name} [0x${r.base.toString(16)}, +0x${r.size.toString(16)})`);
      }
    }
    const region: MmioRegion = { base, size, handler, name };
    this.regions.push(region);
    this.regions.sort((a, b) => a.base - b.base);
    return region;
  }

  /** As add(), but returns null instead of throwing when the range overlaps a region. */
  tryAdd(base: number, size: number, handler: MmioHandler, name = 'mmio'): MmioRegion | null {
    for (const r of this.regions) if (base < r.base + r.size && r.base < base + size) return null;
    return this.add(base, size, handler, name);
  }

  /** Removes a region (a BAR moved or was disabled). False when it is not on the bus. */
  remove(region: MmioRegion): boolean {
    const i = this.regions.indexOf(region);
    if (i < 0) return false;
    this.regions.splice(i, 1);
    if (this.last === region) this.last = null;
    return true;
  }

  /** The regions, by base. */
  list(): readonly MmioRegion[] {
    return this.regions;
  }

  /** The region holding machine address `ma`, or null. */
  find(ma: number): MmioRegion | null {
    const l = this.last;
    if (l !== null && ma >= l.base && ma < l.base + l.size) return l;
    const rs = this.regions;
    let lo = 0, hi = rs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const r = rs[mid]!;
      if (ma < r.base) hi = mid - 1;
      else if (ma >= r.base + r.size) lo = mid + 1;
      else { this.last = r; return r; }
    }
    return null;
  }

  /**
   * True when the 4 KiB page of `ma` holds any region (what a translator asks: the page is
   * device space, so the access goes to the bus, which decides byte by byte).
   */
  coversPage(ma: number): boolean {
    const page = ma - (ma % 4096);
    if (this.find(ma) !== null) return true;
    for (const r of this.regions) if (r.base < page + 4096 && page < r.base + r.size) return true;
    return false;
  }

  /**
   * A load of `size` bytes at `ma` into `value`. False (nothing read) when no region holds the
   * whole access, or it is misaligned or of a bad size.
   */
  read(ma: number, size: number): boolean {
    const r = this.check(ma, size);
    const v = this.value;
    v.lo = 0; v.hi = 0;
    if (r === null) return false;
    r.handler.read(ma - r.base, size, v);
    if (size < 8) v.hi = 0;
    if (size === 1) v.lo &= 0xff; // the bus, not each handler, guarantees zero extension
    else if (size === 2) v.lo &= 0xffff;
    this.reads++;
    return true;
  }

  /** A store of the low `size` bytes of (lo, hi) at `ma`; false as for read(). */
  write(ma: number, size: number, lo: number, hi: number): boolean {
    const r = this.check(ma, size);
    if (r === null) return false;
    r.handler.write(ma - r.base, size, lo, hi);
    this.writes++;
    return true;
  }

  private check(ma: number, size: number): MmioRegion | null {
    if (SIZES.indexOf(size) < 0 || ma % size !== 0) { this.faults++; return null; }
    const r = this.find(ma);
    if (r === null || ma + size > r.base + r.size) { this.faults++; return null; }
    return r;
  }
}
