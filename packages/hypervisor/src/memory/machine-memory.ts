/**
 * Machine memory: the host's RAM (one PhysMemory, by default at MA 0x8000_0000), cut into 4 KiB
 * frames with an owner each, NUMA nodes, a deterministic frame allocator per node, scrubbing on
 * free, and the global M2P.
 *
 * The allocator is lowest-address-first within a node: an extent of 2^order frames is the
 * lowest free, naturally aligned (by machine frame number) block of the node. So the result of a
 * sequence of calls depends on nothing but that sequence. Without a node, the node with the most
 * free frames is tried first (ties: lowest id); a node that cannot serve falls back to the other
 * nodes by distance (Xen's alloc_heap_pages without MEMF_exact_node), unless `exact`.
 */
import { PhysMemory } from '@tachyxx/isa';
import { FrameTable, FRAME_FREE, FRAME_XEN, PAGE_SIZE } from './frame-table.js';
import { M2p } from './m2p.js';
import { NumaLayout, type NumaConfig } from './numa.js';

export interface MachineMemoryOptions {
  /** The RAM to manage. Default: a new PhysMemory of `memoryMiB` at `base`. */
  readonly mem?: PhysMemory;
  /** Host memory in MiB when `mem` is not given (at most 4096: PhysMemory's limit). */
  readonly memoryMiB?: number;
  /** Machine address of RAM when `mem` is not given. Default 0x8000_0000. */
  readonly base?: number;
  /** Number of pCPUs (for the NUMA layout). Default 1. */
  readonly pcpus?: number;
  /** NUMA nodes (host config `numa`). Default: one node with everything. */
  readonly numa?: NumaConfig;
  /** Zero frames when they are freed (default true): no guest ever sees another's data. */
  readonly scrub?: boolean;
  /**
   * Bytes reserved behind RAM for the pCPUs' wasm-engine areas (PhysMemoryConfig.engineArea:
   * RAM becomes the start of a WebAssembly.Memory) when `mem` is not given. Default 0. The
   * reserve is never RAM: no frame, no MFN, no view of RAM covers it.
   */
  readonly engineArea?: number;
}

export interface AllocOptions {
  /** Preferred node. Default: the node with the most free frames. */
  readonly node?: number;
  /** Only `node`, no fallback (XENMEMF_exact_node_request). */
  readonly exact?: boolean;
  /** Allocate in naturally aligned contiguous extents of 2^order frames. Default 0. */
  readonly contiguousOrder?: number;
}

/** Called after a stage-2 mapping was removed or changed: flush `bytes` at `gpa` of `vmid`. */
export type UnmapHook = (vmid: number, gpa: number, bytes: number) => void;
/**
 * Called after a stage-2 mapping was added: `pages` 4 KiB pages from `gfn` now map the frames
 * from `mfn` with `perms` (P2M_R/W/X, P2M_FOREIGN) in `vmid`. A replaced mapping was reported to
 * the unmap hooks first. With the unmap hooks this sees every P2M change (populate, balloon,
 * add_to_physmap, grant map/unmap): an agent keeping its own copy of the P2M (the IOMMU's
 * private I/O page tables) follows it here instead of hooking each caller.
 */
export type MapHook = (vmid: number, gfn: number, mfn: number, perms: number, pages: number) => void;

/** Largest extent order the allocator serves (2^18 frames = 1 GiB). */
export const MAX_ALLOC_ORDER = 18;

export interface MachineMemoryCounters {
  allocCalls: number;
  allocFailures: number;
  framesAllocated: number;
  framesFreed: number;
  framesScrubbed: number;
  /** Extents that came from a node other than the preferred one. */
  fallbackExtents: number;
  /** Frames whose owner freed them while they were grant-mapped (freed later, on the last put). */
  framesDeferred: number;
}

/** Most grant-mapping references one frame can hold (the frame table's counter is 16 bits). */
export const MAX_MAP_REFS = 0xffff;

const ZERO_PAGE = Buffer.alloc(PAGE_SIZE);

export class MachineMemory {
  readonly mem: PhysMemory;
  readonly frames: FrameTable;
  readonly numa: NumaLayout;
  readonly m2p: M2p;
  readonly baseMfn: number;
  readonly scrubOnFree: boolean;
  readonly counters: MachineMemoryCounters = {
    allocCalls: 0, allocFailures: 0, framesAllocated: 0, framesFreed: 0, framesScrubbed: 0, fallbackExtents: 0,
    framesDeferred: 0,
  };
  /** Lowest frame index of each node that may be free (a search hint; never past a free frame). */
  private readonly hint: Int32Array;
  private readonly unmapHooks: UnmapHook[] = [];
  private readonly mapHooks: MapHook[] = [];
  /** Sum of all frames' map references (0 = the fast free path). */
  private mapRefTotal = 0;
  /** Frames freed by their owner while still mapped (still the owner's, or DOMID_XEN's once it died), freed on the last put. */
  private readonly deferred = new Set<number>();

  constructor(opts: MachineMemoryOptions) {
    this.mem = opts.mem ?? new PhysMemory({ base: opts.base ?? 0x8000_0000, size: (opts.memoryMiB ?? 256) * 1024 * 1024, engineArea: opts.engineArea ?? 0 });
    if (this.mem.base % PAGE_SIZE !== 0) throw new RangeError('machine RAM must be 4 KiB aligned');
    const total = this.mem.size / PAGE_SIZE;
    this.baseMfn = this.mem.base / PAGE_SIZE;
    this.numa = new NumaLayout(total, opts.pcpus ?? 1, opts.numa);
    this.frames = new FrameTable(this.baseMfn, total, (f) => this.numa.nodeOfFrame(f), this.numa.nodeCount);
    this.m2p = new M2p(this.baseMfn, total);
    this.scrubOnFree = opts.scrub ?? true;
    this.hint = new Int32Array(this.numa.nodes.map((n) => n.firstFrame));
  }

  /** Total frames of RAM. */
  get totalFrames(): number { return this.frames.frames; }
  /** Highest mfn of RAM (XENMEM_maximum_ram_page reports max_page = this + 1). */
  get maxMfn(): number { return this.baseMfn + this.frames.frames - 1; }

  freeFrames(node?: number): number {
    return node === undefined ? this.frames.countOf(FRAME_FREE) : this.frames.freePerNode[node] ?? 0;
  }
  usedFrames(node?: number): number {
    if (node === undefined) return this.totalFrames - this.freeFrames();
    const n = this.numa.nodes[node];
    return n ? n.frames - this.freeFrames(node) : 0;
  }
  /** Frames owned by `owner` (a domid or DOMID_XEN). */
  framesOwnedBy(owner: number): number { return this.frames.countOf(owner); }
  ownerOf(mfn: number): number { return this.frames.ownerOf(mfn); }
  nodeOfMfn(mfn: number): number { return this.frames.valid(mfn) ? this.frames.node[mfn - this.baseMfn]! : -1; }
  /** Machine address of `mfn`'s first byte. */
  maOf(mfn: number): number { return mfn * PAGE_SIZE; }
  /** Offset of `mfn` in `mem`'s buffer. */
  offsetOf(mfn: number): number { return (mfn - this.baseMfn) * PAGE_SIZE; }

  /**
   * One naturally aligned extent of 2^order frames for `owner`. Returns its first mfn, or -1
   * when no allowed node has one.
   */
  allocExtent(owner: number, order = 0, opts: AllocOptions = {}): number {
    this.counters.allocCalls++;
    const mfn = this.allocExtentInner(owner, order, opts);
    if (mfn < 0) this.counters.allocFailures++;
    return mfn;
  }

  /**
   * `count` frames for `owner` in extents of 2^contiguousOrder (count must be a multiple).
   * All or nothing: returns every frame's mfn in allocation order, or null (nothing allocated).
   */
  alloc(owner: number, count: number, opts: AllocOptions = {}): Float64Array | null {
    const order = opts.contiguousOrder ?? 0;
    const per = 2 ** order;
    if (!Number.isInteger(count) || count < 0 || count % per !== 0) throw new RangeError(`cannot allocate ${count} frames in extents of ${per}`);
    this.counters.allocCalls++;
    const out = new Float64Array(count);
    for (let i = 0; i < count; i += per) {
      const mfn = this.allocExtentInner(owner, order, opts);
      if (mfn < 0) {
        for (let j = 0; j < i; j += per) this.free(out[j]!, per, owner);
        this.counters.allocFailures++;
        return null;
      }
      for (let k = 0; k < per; k++) out[i + k] = mfn + k;
    }
    return out;
  }

  /** Takes specific free frames [mfn, mfn+count) for `owner` (e.g. a direct-mapped image). */
  claim(owner: number, mfn: number, count: number): boolean {
    const f = mfn - this.baseMfn;
    if (!Number.isInteger(f) || f < 0 || count < 0 || f + count > this.totalFrames) return false;
    for (let i = f; i < f + count; i++) if (this.frames.owner[i] !== FRAME_FREE) return false;
    this.frames.take(f, count, owner);
    this.counters.framesAllocated += count;
    this.rewindHints(f, count);
    return true;
  }

  /**
   * Frees [mfn, mfn+count), which must all be owned by `owner` (anything else is a hypervisor
   * bug and throws). Scrubs them (zeroes, and tells the CPUs so compiled code there is dropped)
   * and clears their M2P entries.
   *
   * A frame that is still grant-mapped (a map reference) is not freed yet (Xen: the page keeps a
   * reference and outlives its owner's put): it stays its owner's - counted in the owner's
   * frames, and by the domain table in its tot_pages, as in Xen until free_domheap_pages - and
   * is freed on the last `putMapRef`, which tells the `onDeferredRelease` hooks. With
   * `orphan` (the owner is being destroyed) such frames pass to DOMID_XEN instead.
   */
  free(mfn: number, count: number, owner: number, orphan = false): void {
    const f = mfn - this.baseMfn;
    if (!Number.isInteger(f) || f < 0 || f + count > this.totalFrames) throw new RangeError(`mfn ${mfn}+${count} is not RAM`);
    if (this.mapRefTotal > 0) {
      let run = f;
      for (let i = f; i <= f + count; i++) {
        if (i < f + count && this.frames.mapRefs[i] === 0) continue;
        if (i > run) this.releaseFrames(run, i - run, owner);
        if (i < f + count) {
          if (this.frames.owner[i] !== owner) throw new Error(`frame ${this.baseMfn + i} is owned by ${this.frames.owner[i]}, not ${owner}`);
          if (orphan || owner === FRAME_XEN) this.frames.reassign(i, owner, FRAME_XEN);
          this.m2p.clear(this.baseMfn + i, 1);
          if (!this.deferred.has(this.baseMfn + i)) {
            this.deferred.add(this.baseMfn + i);
            this.counters.framesDeferred++;
          }
        }
        run = i + 1;
      }
      return;
    }
    this.releaseFrames(f, count, owner);
  }

  /** Called when a frame freed while grant-mapped is finally released (its last map reference went). */
  onDeferredRelease(hook: (owner: number, frames: number) => void): void { this.deferredHooks.push(hook); }
  private readonly deferredHooks: ((owner: number, frames: number) => void)[] = [];

  /** A Buffer view of all of RAM (for native compares), made on first use. */
  private ramBytes: Buffer | undefined;

  private releaseFrames(f: number, count: number, owner: number): void {
    const mfn = this.baseMfn + f;
    this.frames.release(f, count, owner);
    this.m2p.clear(mfn, count);
    if (this.scrubOnFree) {
      // Zero only frames that hold something: reading a never-written frame costs no host memory
      // (the OS maps its zero page), writing zeros to it would commit it.
      // (memcmp against a zero page: native, no allocation per frame)
      // (RAM only: with the wasm engine the buffer goes on with the harts' engine areas)
      const ram = this.ramBytes ??= Buffer.from(this.mem.buffer, 0, this.mem.size);
      for (let k = 0; k < count; k++) {
        const off = (f + k) * PAGE_SIZE;
        if (ZERO_PAGE.compare(ram, off, off + PAGE_SIZE) === 0) continue;
        this.mem.u8.fill(0, off, off + PAGE_SIZE);
        this.mem.notifyWrite(off, PAGE_SIZE);
        this.counters.framesScrubbed++;
      }
    }
    this.counters.framesFreed += count;
    this.rewindHints(f, count);
  }

  /**
   * Takes a grant-mapping reference on an allocated frame (Xen's get_page in map_grant_ref):
   * the frame stays allocated until the matching `putMapRef`, even if its owner frees it or
   * dies. False when `mfn` is not RAM, is free, or already holds MAX_MAP_REFS references.
   */
  getMapRef(mfn: number): boolean {
    const f = mfn - this.baseMfn;
    if (!Number.isInteger(f) || f < 0 || f >= this.totalFrames) return false;
    if (this.frames.owner[f] === FRAME_FREE || this.frames.mapRefs[f] === MAX_MAP_REFS) return false;
    this.frames.mapRefs[f]!++;
    this.mapRefTotal++;
    return true;
  }

  /** Drops a reference taken by `getMapRef`; the last one frees a frame its owner already freed. */
  putMapRef(mfn: number): void {
    const f = mfn - this.baseMfn;
    if (!Number.isInteger(f) || f < 0 || f >= this.totalFrames || this.frames.mapRefs[f] === 0) {
      throw new Error(`putMapRef(${mfn}): the frame holds no map reference (hypervisor bug)`);
    }
    this.mapRefTotal--;
    if (--this.frames.mapRefs[f]! === 0 && this.deferred.delete(mfn)) {
      const owner = this.frames.owner[f]!;
      this.releaseFrames(f, 1, owner);
      for (const h of this.deferredHooks) h(owner, 1);
    }
  }

  /** Grant-mapping references `mfn` holds (0 when not RAM). */
  mapRefsOf(mfn: number): number {
    const f = mfn - this.baseMfn;
    return Number.isInteger(f) && f >= 0 && f < this.totalFrames ? this.frames.mapRefs[f]! : 0;
  }

  /** Frames freed by their owner that wait for their last map reference to go. */
  get deferredFrames(): number { return this.deferred.size; }

  /** Frees every frame `owner` holds (domain teardown). Returns how many. */
  freeAllOwnedBy(owner: number): number {
    const own = this.frames.owner;
    let total = 0;
    for (let f = 0; f < this.totalFrames; f++) {
      if (own[f] !== owner) continue;
      let e = f + 1;
      while (e < this.totalFrames && own[e] === owner) e++;
      this.free(this.baseMfn + f, e - f, owner, true);
      total += e - f;
      f = e - 1;
    }
    return total;
  }

  /** Registers a stage-2 flush hook (the run loop connects the MMUs). Returns an unsubscribe. */
  onUnmap(hook: UnmapHook): () => void {
    this.unmapHooks.push(hook);
    return () => { const i = this.unmapHooks.indexOf(hook); if (i >= 0) this.unmapHooks.splice(i, 1); };
  }

  /** Tells every hook that `bytes` at `gpa` of `vmid` lost or changed their translation. */
  notifyUnmap(vmid: number, gpa: number, bytes: number): void {
    for (const h of this.unmapHooks) h(vmid, gpa, bytes);
  }

  /** Registers a hook on every stage-2 mapping added (see MapHook). Returns an unsubscribe. */
  onMap(hook: MapHook): () => void {
    this.mapHooks.push(hook);
    return () => { const i = this.mapHooks.indexOf(hook); if (i >= 0) this.mapHooks.splice(i, 1); };
  }

  /** Tells every map hook that `pages` at `gfn` of `vmid` now map `mfn`... with `perms`. */
  notifyMap(vmid: number, gfn: number, mfn: number, perms: number, pages: number): void {
    for (let i = 0; i < this.mapHooks.length; i++) this.mapHooks[i]!(vmid, gfn, mfn, perms, pages);
  }

  /** Per-node and per-owner usage, as plain data. */
  usage(): { nodes: { node: number; frames: number; free: number }[]; xenFrames: number; freeFrames: number } {
    return {
      nodes: this.numa.nodes.map((n) => ({ node: n.id, frames: n.frames, free: this.freeFrames(n.id) })),
      xenFrames: this.framesOwnedBy(FRAME_XEN),
      freeFrames: this.freeFrames(),
    };
  }

  // -- allocator internals ----------------------------------------------------------------

  private allocExtentInner(owner: number, order: number, opts: AllocOptions): number {
    if (!Number.isInteger(order) || order < 0 || order > MAX_ALLOC_ORDER) return -1;
    if (owner === FRAME_FREE) throw new Error('cannot allocate frames to FRAME_FREE');
    const nodes = this.numa.nodes;
    let preferred = opts.node;
    if (preferred !== undefined && (preferred < 0 || preferred >= nodes.length || !Number.isInteger(preferred))) {
      if (opts.exact) return -1;
      preferred = undefined;
    }
    if (preferred === undefined) {
      preferred = 0;
      for (let n = 1; n < nodes.length; n++) if (this.freeFrames(n) > this.freeFrames(preferred)) preferred = n;
    }
    const order_ = this.numa.fallback[preferred]!;
    for (let i = 0; i < order_.length; i++) {
      const n = order_[i]!;
      if (i > 0 && opts.exact) break;
      const f = this.findInNode(n, order);
      if (f >= 0) {
        const count = 2 ** order;
        this.frames.take(f, count, owner);
        this.counters.framesAllocated += count;
        if (i > 0) this.counters.fallbackExtents++;
        return this.baseMfn + f;
      }
    }
    return -1;
  }

  /** Lowest naturally aligned free block of 2^order frames in node `n`, or -1. */
  private findInNode(n: number, order: number): number {
    const node = this.numa.nodes[n]!;
    const count = 2 ** order;
    if (this.freeFrames(n) < count) return -1;
    const end = node.firstFrame + node.frames;
    const bits = this.frames.freeBits;
    if (order === 0) {
      for (let w = this.hint[n]! >>> 5; w < end >>> 5; w++) {
        const v = bits[w]!;
        if (v !== 0) {
          const f = (w << 5) + (31 - Math.clz32(v & -v));
          this.hint[n] = f + 1;
          return f;
        }
      }
      return -1;
    }
    // Align by absolute mfn so that extents are superpage-aligned in machine addresses.
    let f = alignUp(this.baseMfn + this.hint[n]!, count) - this.baseMfn;
    if (order < 5) {
      const mask = ((1 << count) - 1) | 0;
      for (; f + count <= end; f += count) {
        const m = (mask << (f & 31)) | 0;
        if ((bits[f >>> 5]! & m) === m) return f;
      }
      return -1;
    }
    const words = count >>> 5;
    outer: for (; f + count <= end; f += count) {
      const w0 = f >>> 5;
      for (let w = w0; w < w0 + words; w++) if (bits[w] !== -1) continue outer;
      return f;
    }
    return -1;
  }

  private rewindHints(frame: number, _count: number): void {
    const n = this.frames.node[frame]!;
    if (frame < this.hint[n]!) this.hint[n] = frame;
  }
}

function alignUp(x: number, a: number): number { return Math.ceil(x / a) * a; }

export { PAGE_SIZE };
