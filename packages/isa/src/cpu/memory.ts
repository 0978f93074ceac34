// Guest physical RAM: one ArrayBuffer (V8 allocates it zeroed and lazily) with typed-array views.
// RAM occupies [base, base + size); everything else is unmapped. Addresses are numbers (exact up to
// 2^53, which covers the 53-bit physical address space).
//
// The memory also tracks which parts of which pages hold code some CPU has compiled ("code
// chunks", 128 bytes each), so that a write there can invalidate that code (self-modifying code,
// loaders, DMA). CPUs register a listener; writes through this class's methods notify them.

import type { MmioBus } from './mmio.js';

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
/** Code is tracked in 128-byte chunks: 32 chunks per page, one bit each in `codeMask[page]`. */
export const CODE_CHUNK_SHIFT = 7;

export interface PhysMemoryConfig {
  /** Guest-physical address of the first RAM byte (default 0x8000_0000); 4 KiB aligned. */
  base?: number;
  /** RAM size in bytes: a multiple of 4 KiB, at most 4 GiB. */
  size: number;
}

/** Listener told about writes that did not come from the listener's own CPU stores. */
export interface MemoryWriteListener {
  /** Drop every cached translation of code on host page `page` (offset >>> 12). */
  invalidateCodePage(page: number): void;
  /** A write by another agent covered host offsets [off, off + len). */
  externalWrite(off: number, len: number): void;
}

const MAX_SIZE = 4 * 1024 * 1024 * 1024;

/** Bitmask of the code chunks covered by bytes [off, off+len) of one page (off within the page). */
export function chunkMask(pageOff: number, len: number): number {
  const first = pageOff >>> CODE_CHUNK_SHIFT;
  const last = (pageOff + len - 1) >>> CODE_CHUNK_SHIFT;
  const n = last - first + 1;
  return n >= 32 ? -1 : (((1 << n) - 1) << first) | 0;
}

export class PhysMemory {
  readonly base: number;
  readonly size: number;
  readonly buffer: ArrayBuffer;
  readonly u8: Uint8Array;
  readonly i8: Int8Array;
  readonly u16: Uint16Array;
  readonly i16: Int16Array;
  readonly i32: Int32Array;
  readonly view: DataView;
  /** Per host page: bit i set = chunk i (128 bytes) holds code some CPU has compiled. */
  readonly codeMask: Int32Array;
  private readonly listeners: MemoryWriteListener[] = [];
  /**
   * The device part of the physical address space (an MmioBus), or null: translators resolve an
   * address outside RAM that this covers to MMIO_ACCESS instead of an access fault.
   */
  mmio: MmioBus | null = null;

  /** `new PhysMemory(base, size)` or `new PhysMemory({ base?, size })`. */
  constructor(config: PhysMemoryConfig);
  constructor(base: number, size: number);
  constructor(a: PhysMemoryConfig | number, b?: number) {
    const config: PhysMemoryConfig = typeof a === 'number' ? { base: a, size: b ?? NaN } : a;
    const base = config.base ?? 0x8000_0000;
    const size = config.size;
    if (!Number.isInteger(size) || size <= 0 || size % PAGE_SIZE !== 0 || size > MAX_SIZE) {
      throw new RangeError(`RAM size must be a positive multiple of 4 KiB up to 4 GiB, got ${size}`);
    }
    if (!Number.isInteger(base) || base < 0 || base % PAGE_SIZE !== 0 || base + size > 2 ** 53) {
      throw new RangeError(`RAM base must be a 4 KiB aligned address below 2^53, got ${base}`);
    }
    if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('big-endian hosts are not supported');
    this.base = base;
    this.size = size;
    this.buffer = new ArrayBuffer(size);
    this.u8 = new Uint8Array(this.buffer);
    this.i8 = new Int8Array(this.buffer);
    this.u16 = new Uint16Array(this.buffer);
    this.i16 = new Int16Array(this.buffer);
    this.i32 = new Int32Array(this.buffer);
    this.view = new DataView(this.buffer);
    this.codeMask = new Int32Array(size / PAGE_SIZE);
  }

  /** Number of 4 KiB pages of RAM. */
  get pages(): number { return this.size / PAGE_SIZE; }

  addListener(l: MemoryWriteListener): void { this.listeners.push(l); }
  removeListener(l: MemoryWriteListener): void {
    const i = this.listeners.indexOf(l);
    if (i >= 0) this.listeners.splice(i, 1);
  }

  /** True when every byte of [pa, pa + len) is RAM. */
  contains(pa: number, len = 1): boolean {
    return Number.isFinite(pa) && pa >= this.base && len >= 0 && pa + len <= this.base + this.size;
  }

  /** True when `ma` is outside RAM and on a page the MMIO bus covers. */
  isMmio(ma: number): boolean {
    const m = this.mmio;
    return m !== null && (ma < this.base || ma >= this.base + this.size) && m.coversPage(ma);
  }

  /** Host offset (index into the buffer) of guest-physical `pa`, or -1 when `pa` is not RAM. */
  offsetOf(pa: number): number {
    return this.contains(pa, 1) ? pa - this.base : -1;
  }

  private range(pa: number, len: number): number {
    if (!this.contains(pa, len)) {
      throw new RangeError(`physical range 0x${pa.toString(16)}+${len} is outside RAM ` +
        `[0x${this.base.toString(16)}, 0x${(this.base + this.size).toString(16)})`);
    }
    return pa - this.base;
  }

  readBytes(pa: number, len: number): Uint8Array {
    const off = this.range(pa, len);
    return this.u8.slice(off, off + len);
  }

  writeBytes(pa: number, data: Uint8Array): void {
    const off = this.range(pa, data.length);
    this.u8.set(data, off);
    this.notifyWrite(off, data.length);
  }

  fill(pa: number, len: number, value = 0): void {
    const off = this.range(pa, len);
    this.u8.fill(value, off, off + len);
    this.notifyWrite(off, len);
  }

  readU8(pa: number): number { return this.u8[this.range(pa, 1)]!; }
  readU16(pa: number): number { return this.view.getUint16(this.range(pa, 2), true); }
  readU32(pa: number): number { return this.view.getUint32(this.range(pa, 4), true); }
  /** 64-bit read as a number; throws when the value is 2^53 or more (use readU32 twice). */
  readU64(pa: number): number {
    const off = this.range(pa, 8);
    const lo = this.view.getUint32(off, true), hi = this.view.getUint32(off + 4, true);
    if (hi >= 0x200000) throw new RangeError(`64-bit value at 0x${pa.toString(16)} is not exact as a number`);
    return hi * 4294967296 + lo;
  }
  writeU8(pa: number, v: number): void { const o = this.range(pa, 1); this.u8[o] = v; this.notifyWrite(o, 1); }
  writeU16(pa: number, v: number): void { const o = this.range(pa, 2); this.view.setUint16(o, v & 0xffff, true); this.notifyWrite(o, 2); }
  writeU32(pa: number, v: number): void { const o = this.range(pa, 4); this.view.setUint32(o, v >>> 0, true); this.notifyWrite(o, 4); }
  /** Write a 64-bit value given as a non-negative number < 2^53, or as (lo, hi) halves. */
  writeU64(pa: number, v: number, hi?: number): void {
    const o = this.range(pa, 8);
    let lo: number;
    if (hi === undefined) {
      if (!Number.isInteger(v) || v < 0 || v >= 2 ** 53) throw new RangeError(`writeU64 value ${v} is not an exact non-negative integer`);
      lo = v >>> 0; hi = Math.floor(v / 4294967296);
    } else lo = v;
    this.view.setUint32(o, lo >>> 0, true);
    this.view.setUint32(o + 4, hi >>> 0, true);
    this.notifyWrite(o, 8);
  }

  /**
   * Tell the CPUs that bytes [off, off + len) (host offsets) were written by something other than
   * a CPU store: invalidates compiled code there and clears LR reservations that cover it.
   */
  notifyWrite(off: number, len: number): void {
    if (len <= 0) return;
    for (const l of this.listeners) l.externalWrite(off, len);
    const first = off >>> PAGE_SHIFT, last = (off + len - 1) >>> PAGE_SHIFT;
    for (let p = first; p <= last; p++) {
      if (this.codeMask[p] !== 0) this.invalidateCodePage(p);
    }
  }

  /** Drop compiled code on host page `page` in every CPU and clear its code mask. */
  invalidateCodePage(page: number): void {
    this.codeMask[page] = 0;
    for (const l of this.listeners) l.invalidateCodePage(page);
  }
}
