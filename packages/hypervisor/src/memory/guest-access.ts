/**
 * Guest memory access for hypercall handlers (Xen's copy_from_guest / copy_to_guest): a domain's
 * guest-physical addresses, translated page by page through its P2M. The interface belongs to
 * the consumer (the rust-vmm GuestMemory lesson): handlers see `GuestAccess` and cannot tell a
 * P2M domain from the bare identity mapping.
 *
 * Nothing here throws for guest input. Every call returns 0 (or a value) on success and
 * -EFAULT when any byte of the range is unmapped, not owned by the domain, lacks the permission
 * (R for reads, W for writes), or the range is malformed (negative, fractional, or past 2^53).
 * Use `checkRange(gpa, len, true)` on OUT buffers *before* any side effect, so a handler never
 * has to undo work because the copy-out failed.
 */
import { Errno } from '@tachyxx/abi';
import type { PhysMemory } from '@tachyxx/isa';
import type { MachineMemory } from './machine-memory.js';
import { PAGE_SIZE } from './frame-table.js';
import { P2M_INVALID_MFN, P2M_R, P2M_W, type P2m } from './p2m.js';

const EFAULT = -Errno.EFAULT;
const TWO53 = 2 ** 53;
const TWO32 = 4294967296;

/** A struct layout as `abi` describes it: a size and fields `{ offset, size }` (1, 2, 4, 8). */
export type AbiLayout = { readonly size: number } & { readonly [field: string]: { readonly offset: number; readonly size: number } | number };
/** The fields of a layout read as numbers (8-byte fields: exact below 2^53, else rounded but still >= 2^53). */
export type StructValue<L> = { -readonly [K in keyof L as K extends 'size' ? never : K]: number };

export interface GuestAccess {
  /** The domain whose memory this is (0 in bare mode). */
  readonly domid: number;
  /** True when every byte of [gpa, gpa+len) may be read (or written, with `write`). */
  checkRange(gpa: number, len: number, write: boolean): boolean;
  /** Copies guest memory into `dst`. 0 or -EFAULT (then `dst` may be partly written). */
  read(gpa: number, dst: Uint8Array): number;
  /** Copies `src` into guest memory. 0 or -EFAULT; checks the whole range first, so a fault writes nothing. */
  write(gpa: number, src: Uint8Array): number;
  /** Little-endian loads: the value (>= 0) or -EFAULT. */
  readU8(gpa: number): number;
  readU16(gpa: number): number;
  readU32(gpa: number): number;
  /** Exact below 2^53; larger values come back rounded (still >= 2^53) so range checks reject them. */
  readU64(gpa: number): number;
  /** Stores: 0 or -EFAULT. `writeU64` takes a non-negative integer < 2^53. */
  writeU8(gpa: number, v: number): number;
  writeU16(gpa: number, v: number): number;
  writeU32(gpa: number, v: number): number;
  writeU64(gpa: number, v: number): number;
  /**
   * The hypercall argument marshaller (copy_from_guest of an op struct): reads every field of an
   * abi layout into `into` (reuse one object per layout on hot paths: nothing is allocated) or a
   * new object. The object, or -EFAULT.
   */
  readStruct<L extends AbiLayout>(gpa: number, layout: L, into?: StructValue<L>): StructValue<L> | number;
  /** Stores field `name` of the struct at `gpa` with the layout's width: 0 or -EFAULT. */
  writeField<L extends AbiLayout>(gpa: number, layout: L, name: keyof StructValue<L> & string, v: number): number;
}

interface MarshalField { readonly name: string; readonly offset: number; readonly size: number }
/** Each layout's fields in declaration order, compiled once (the marshaller's table). */
const compiled = new WeakMap<AbiLayout, readonly MarshalField[]>();

/** The fields of an abi layout as the marshaller walks them; widths other than 1, 2, 4, 8 are a layout bug. */
export function layoutFields(layout: AbiLayout): readonly MarshalField[] {
  let fields = compiled.get(layout);
  if (!fields) {
    const list: MarshalField[] = [];
    for (const [name, f] of Object.entries(layout)) {
      if (typeof f === 'number') continue;
      if (f.size !== 1 && f.size !== 2 && f.size !== 4 && f.size !== 8) throw new Error(`abi layout field '${name}' has width ${f.size} (1, 2, 4 or 8)`);
      if (f.offset < 0 || f.offset + f.size > layout.size) throw new Error(`abi layout field '${name}' at ${f.offset}+${f.size} lies outside the struct (${layout.size} bytes)`);
      list.push({ name, offset: f.offset, size: f.size });
    }
    compiled.set(layout, (fields = list));
  }
  return fields;
}

/** Shared code: subclasses say how a guest page becomes a buffer offset. */
abstract class PagedAccess implements GuestAccess {
  abstract readonly domid: number;
  protected abstract readonly mem: PhysMemory;
  /** Buffer offset of the first byte of guest page `gfn`, or -1 when not accessible. */
  protected abstract pageOffset(gfn: number, write: boolean): number;

  /** Buffer offset of `gpa` when [gpa, gpa+len) is accessible and within one page, else -1. */
  private single(gpa: number, len: number, write: boolean): number {
    if (!(gpa >= 0 && gpa + len <= TWO53) || !Number.isInteger(gpa)) return -1;
    const inPage = gpa % PAGE_SIZE;
    if (inPage + len > PAGE_SIZE) return -1;
    const base = this.pageOffset((gpa - inPage) / PAGE_SIZE, write);
    return base < 0 ? -1 : base + inPage;
  }

  checkRange(gpa: number, len: number, write: boolean): boolean {
    if (!Number.isInteger(gpa) || !Number.isInteger(len) || gpa < 0 || len < 0 || gpa + len > TWO53) return false;
    if (len === 0) return true;
    const first = Math.floor(gpa / PAGE_SIZE), last = Math.floor((gpa + len - 1) / PAGE_SIZE);
    for (let g = first; g <= last; g++) if (this.pageOffset(g, write) < 0) return false;
    return true;
  }

  read(gpa: number, dst: Uint8Array): number {
    return this.copy(gpa, dst, false);
  }

  write(gpa: number, src: Uint8Array): number {
    if (!this.checkRange(gpa, src.length, true)) return EFAULT;
    return this.copy(gpa, src, true);
  }

  private copy(gpa: number, buf: Uint8Array, write: boolean): number {
    const len = buf.length;
    if (!Number.isInteger(gpa) || gpa < 0 || gpa + len > TWO53) return EFAULT;
    let done = 0;
    while (done < len) {
      const a = gpa + done;
      const inPage = a % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - inPage, len - done);
      const base = this.pageOffset((a - inPage) / PAGE_SIZE, write);
      if (base < 0) return EFAULT;
      const off = base + inPage;
      if (write) {
        this.mem.u8.set(buf.subarray(done, done + n), off);
        this.mem.notifyWrite(off, n);
      } else buf.set(this.mem.u8.subarray(off, off + n), done);
      done += n;
    }
    return 0;
  }

  private readonly scratch = new Uint8Array(8);
  private readonly scratchView = new DataView(this.scratch.buffer);

  readU8(gpa: number): number { const o = this.single(gpa, 1, false); return o < 0 ? this.slowRead(gpa, 1) : this.mem.u8[o]!; }
  readU16(gpa: number): number { const o = this.single(gpa, 2, false); return o < 0 ? this.slowRead(gpa, 2) : this.mem.view.getUint16(o, true); }
  readU32(gpa: number): number { const o = this.single(gpa, 4, false); return o < 0 ? this.slowRead(gpa, 4) : this.mem.view.getUint32(o, true); }
  readU64(gpa: number): number {
    const o = this.single(gpa, 8, false);
    if (o < 0) return this.slowRead(gpa, 8);
    return this.mem.view.getUint32(o + 4, true) * TWO32 + this.mem.view.getUint32(o, true);
  }

  /** A load that crosses a page (or faults): through the scratch buffer. */
  private slowRead(gpa: number, size: number): number {
    const dst = this.scratch.subarray(0, size);
    if (this.copy(gpa, dst, false) < 0) return EFAULT;
    const v = this.scratchView;
    switch (size) {
      case 1: return v.getUint8(0);
      case 2: return v.getUint16(0, true);
      case 4: return v.getUint32(0, true);
      default: return v.getUint32(4, true) * TWO32 + v.getUint32(0, true);
    }
  }

  // (within one page, as almost every store is: straight into RAM; across a page or faulting:
  // through the scratch buffer and write's checks)
  writeU8(gpa: number, val: number): number {
    const o = this.single(gpa, 1, true);
    if (o < 0) { this.scratchView.setUint8(0, val); return this.write(gpa, this.scratch.subarray(0, 1)); }
    this.mem.u8[o] = val; this.mem.notifyWrite(o, 1); return 0;
  }
  writeU16(gpa: number, val: number): number {
    const o = this.single(gpa, 2, true);
    if (o < 0) { this.scratchView.setUint16(0, val, true); return this.write(gpa, this.scratch.subarray(0, 2)); }
    this.mem.view.setUint16(o, val, true); this.mem.notifyWrite(o, 2); return 0;
  }
  writeU32(gpa: number, val: number): number {
    const o = this.single(gpa, 4, true);
    if (o < 0) { this.scratchView.setUint32(0, val >>> 0, true); return this.write(gpa, this.scratch.subarray(0, 4)); }
    this.mem.view.setUint32(o, val >>> 0, true); this.mem.notifyWrite(o, 4); return 0;
  }
  writeU64(gpa: number, val: number): number {
    if (!Number.isInteger(val) || val < 0 || val >= TWO53) throw new RangeError(`writeU64: ${val} is not an integer in [0, 2^53)`);
    const o = this.single(gpa, 8, true);
    if (o < 0) {
      this.scratchView.setUint32(0, val >>> 0, true);
      this.scratchView.setUint32(4, Math.floor(val / TWO32), true);
      return this.write(gpa, this.scratch.subarray(0, 8));
    }
    this.mem.view.setUint32(o, val >>> 0, true);
    this.mem.view.setUint32(o + 4, Math.floor(val / TWO32), true);
    this.mem.notifyWrite(o, 8);
    return 0;
  }

  readStruct<L extends AbiLayout>(gpa: number, layout: L, into?: StructValue<L>): StructValue<L> | number {
    if (!this.checkRange(gpa, layout.size, false)) return EFAULT;
    const out = (into ?? {}) as Record<string, number>;
    for (const f of layoutFields(layout)) {
      const a = gpa + f.offset;
      out[f.name] = f.size === 1 ? this.readU8(a) : f.size === 2 ? this.readU16(a) : f.size === 4 ? this.readU32(a) : this.readU64(a);
    }
    return out as StructValue<L>;
  }

  writeField<L extends AbiLayout>(gpa: number, layout: L, name: keyof StructValue<L> & string, v: number): number {
    const f = layout[name] as { readonly offset: number; readonly size: number };
    const a = gpa + f.offset;
    switch (f.size) {
      case 1: return this.writeU8(a, v);
      case 2: return this.writeU16(a, v);
      case 4: return this.writeU32(a, v);
      case 8: return this.writeU64(a, v);
      default: throw new Error(`abi layout field '${name}' has width ${f.size} (1, 2, 4 or 8)`);
    }
  }
}

/**
 * A domain's memory through its P2M. A page is accessible when the P2M maps it with the needed
 * permission and the frame is owned by the domain, or the leaf is a grant mapping
 * (P2M_FOREIGN) of a frame that still holds a map reference (the granter's page, kept alive by
 * the mapping; read-only grants are mapped without W, so writes fault).
 */
export class P2mGuestAccess extends PagedAccess {
  protected readonly mem: PhysMemory;
  constructor(private readonly machine: MachineMemory, private readonly p2m: P2m, readonly domid: number) {
    super();
    this.mem = machine.mem;
  }
  protected pageOffset(gfn: number, write: boolean): number {
    const mfn = this.p2m.lookup(gfn);
    if (mfn === P2M_INVALID_MFN) return -1;
    if ((this.p2m.permsOf(gfn) & (write ? P2M_W : P2M_R)) === 0) return -1;
    if (this.machine.ownerOf(mfn) !== this.domid && !(this.machine.mapRefsOf(mfn) > 0 && this.p2m.isForeign(gfn))) return -1;
    return this.machine.offsetOf(mfn);
  }
}

/**
 * The bare-mode identity mapping (GPA = MA), so the same handlers serve the PL0 firmware: any
 * page of RAM, or with `machine` and `owner`, only the frames that owner holds (a dom0 with
 * stage 2 off).
 */
export class IdentityGuestAccess extends PagedAccess {
  constructor(protected readonly mem: PhysMemory, readonly domid = 0, private readonly frames?: { machine: MachineMemory; owner: number }) {
    super();
  }
  protected pageOffset(gfn: number, _write: boolean): number {
    const pa = gfn * PAGE_SIZE;
    if (!this.mem.contains(pa, PAGE_SIZE)) return -1;
    if (this.frames && this.frames.machine.ownerOf(gfn) !== this.frames.owner) return -1;
    return pa - this.mem.base;
  }
}

/**
 * A reusable marshalling target for `layout`, every field 0 (one fixed shape): pass it to
 * readStruct on a hot path so that reading an op struct allocates nothing.
 */
export function structBuffer<L extends AbiLayout>(layout: L): StructValue<L> {
  const o: Record<string, number> = {};
  for (const f of layoutFields(layout)) o[f.name] = 0;
  return o as StructValue<L>;
}
