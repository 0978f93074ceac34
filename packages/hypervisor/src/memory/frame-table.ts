/**
 * The frame table: one entry per 4 KiB machine frame of RAM (Xen's `frame_table` of
 * `struct page_info`, reduced to what we need). Everything is typed arrays indexed by the frame
 * index `mfn - baseMfn`: the owner (a domid, DOMID_XEN, or FRAME_FREE), the NUMA node, and a
 * free bitmap for the allocator. Counts per owner and per node are kept up to date on every
 * change, so reading them is O(1).
 */
import { DOMID_XEN } from '@tachyxx/abi';

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
/** Owner value of a free frame (no domid can be 0xffff: DOMID_MASK is 0x7fff). */
export const FRAME_FREE = 0xffff;
/** Owner of hypervisor frames (P2M tables, Xen heap). */
export const FRAME_XEN = DOMID_XEN;

export class FrameTable {
  /** mfn of the first frame of RAM. */
  readonly baseMfn: number;
  /** Number of frames. */
  readonly frames: number;
  /** Owner of each frame: a domid (0..0x7fef), DOMID_XEN, or FRAME_FREE. */
  readonly owner: Uint16Array;
  /** NUMA node of each frame. */
  readonly node: Uint8Array;
  /** Bit i of word w set = frame w*32+i is free. */
  readonly freeBits: Int32Array;
  /** Frames held per owner id (index FRAME_FREE = all free frames). */
  private readonly perOwner = new Int32Array(0x10000);
  /** Free frames per node. */
  readonly freePerNode: Int32Array;
  /**
   * Grant-mapping references per frame (Xen's extra page references taken by map_grant_ref):
   * while non-zero the frame is mapped into another domain (or a dom0 backend's view) and must
   * not return to the free pool. Maintained by MachineMemory.getMapRef / putMapRef.
   */
  readonly mapRefs: Uint16Array;

  constructor(baseMfn: number, frames: number, nodeOf: (frame: number) => number, nodes: number) {
    if (frames % 32 !== 0) throw new RangeError(`the frame count must be a multiple of 32, got ${frames}`);
    this.baseMfn = baseMfn;
    this.frames = frames;
    this.owner = new Uint16Array(frames).fill(FRAME_FREE);
    this.node = new Uint8Array(frames);
    this.freeBits = new Int32Array(frames / 32).fill(-1);
    this.freePerNode = new Int32Array(nodes);
    this.mapRefs = new Uint16Array(frames);
    for (let f = 0; f < frames; f++) {
      const n = nodeOf(f);
      this.node[f] = n;
      this.freePerNode[n]!++;
    }
    this.perOwner[FRAME_FREE] = frames;
  }

  /** Frames held by `owner` (FRAME_FREE: all free frames). */
  countOf(owner: number): number { return this.perOwner[owner & 0xffff]!; }

  /** True when `mfn` is a frame of RAM. */
  valid(mfn: number): boolean {
    const f = mfn - this.baseMfn;
    return Number.isInteger(f) && f >= 0 && f < this.frames;
  }

  /** Owner of `mfn`, or -1 when `mfn` is not RAM. */
  ownerOf(mfn: number): number {
    const f = mfn - this.baseMfn;
    return f >= 0 && f < this.frames ? this.owner[f]! : -1;
  }

  isFree(frame: number): boolean { return (this.freeBits[frame >>> 5]! & (1 << (frame & 31))) !== 0; }

  /** Gives free frames [frame, frame+count) to `owner`. The caller has checked they are free. */
  take(frame: number, count: number, owner: number): void {
    for (let f = frame; f < frame + count; f++) {
      if (this.owner[f] !== FRAME_FREE) throw new Error(`frame ${this.baseMfn + f} already owned by ${this.owner[f]}`);
      this.owner[f] = owner;
      this.freeBits[f >>> 5]! &= ~(1 << (f & 31));
      this.freePerNode[this.node[f]!]!--;
    }
    this.perOwner[FRAME_FREE]! -= count;
    this.perOwner[owner]! += count;
  }

  /** Returns frames [frame, frame+count) to the free pool. Each must be owned by `owner`. */
  release(frame: number, count: number, owner: number): void {
    for (let f = frame; f < frame + count; f++) {
      if (this.owner[f] !== owner) {
        throw new Error(`frame ${this.baseMfn + f} is owned by ${this.owner[f] === FRAME_FREE ? 'nobody' : this.owner[f]}, not ${owner}`);
      }
      this.owner[f] = FRAME_FREE;
      this.freeBits[f >>> 5]! |= 1 << (f & 31);
      this.freePerNode[this.node[f]!]!++;
    }
    this.perOwner[owner]! -= count;
    this.perOwner[FRAME_FREE]! += count;
  }

  /** Moves one owned frame to another owner (for later use by grant transfer / toolstack). */
  reassign(frame: number, from: number, to: number): void {
    if (this.owner[frame] !== from) throw new Error(`frame ${this.baseMfn + frame} is not owned by ${from}`);
    this.owner[frame] = to;
    this.perOwner[from]!--;
    this.perOwner[to]!++;
  }
}
