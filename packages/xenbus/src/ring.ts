/**
 * A backend's typed shared ring over a grant mapping (Linux's xenbus_map_ring_valloc + the
 * BACK_RING macros of xen/include/public/io/ring.h), with the frontend treated as hostile:
 *   - the ring page is the frontend's granted frame, mapped with `GrantTables.mapForeign`;
 *   - every store into it goes through the mapping's `write()` (which notifies the machine's
 *     write listeners, as PhysMemory/guest-access do): the page is only ever *read* through the
 *     DataView, never written, so JIT'd code and write watchers see every backend store;
 *   - `req_prod` is read once per batch and checked (RING_REQUEST_PROD_OVERFLOW, Linux blkback's
 *     "Frontend provided bogus ring requests"): a bad one sets `fault` and the ring stops; the
 *     caller (the xenbus device) disables the device with a log line;
 *   - a request is copied out of its slot into a caller-owned object (RING_COPY_REQUEST) before
 *     the backend looks at any field, so the frontend cannot change it under the backend's feet.
 * Nothing here allocates per request.
 */
import {
  BackRing, Errno, Gntst, RING_NEED_NOTIFY, requestProducerFault, SharedRing, SRING_HEADER_SIZE,
  type RING_IDX, type RingType,
} from '@tachyxx/abi';
import type { ForeignMapping, GrantTables } from '@tachyxx/grant';

/** Byte offsets of the shared-ring header fields (xen/include/public/io/ring.h). */
const REQ_PROD = 0;
const REQ_EVENT = 4;
const RSP_PROD = 8;
const RSP_EVENT = 12;

/** What a backend needs from the grant tables (GrantTables fits). */
export type RingGrantTables = Pick<GrantTables, 'mapForeign' | 'unmapForeign'>;

/** Pages of a multi-page ring, at most (Linux's XENBUS_MAX_RING_GRANTS: 1 << XENBUS_MAX_RING_GRANT_ORDER). */
export const XENBUS_MAX_RING_GRANT_ORDER = 4;
export const XENBUS_MAX_RING_GRANTS = 1 << XENBUS_MAX_RING_GRANT_ORDER;
const PAGE = 4096;

/**
 * Maps the frontend's ring grant(s) of `domid` read-write as domain `as` and returns a back ring
 * over them (Linux's xenbus_map_ring_valloc: `refs` are the pages in order, ring-ref0.. of a
 * multi-page ring), or the GNTST_* status (negative) when one cannot be mapped (an unknown ref, a
 * grant to another domain, a read-only grant, a dead domain): then nothing stays mapped.
 */
export function mapBackRing<Req, Rsp>(gnt: RingGrantTables, domid: number, refs: number | readonly number[], type: RingType<Req, Rsp>, as = 0): GrantBackRing<Req, Rsp> | number {
  const list = typeof refs === 'number' ? [refs] : refs;
  if (list.length < 1 || list.length > XENBUS_MAX_RING_GRANTS || (list.length & (list.length - 1)) !== 0) return Gntst.general_error;
  const maps: ForeignMapping[] = [];
  const undo = (st: number) => { for (const m of maps) gnt.unmapForeign(m.handle, as); return st; };
  for (const ref of list) {
    if (!Number.isInteger(ref) || ref < 0 || ref > 0xffff_ffff) return undo(Gntst.bad_gntref);
    const m = gnt.mapForeign(domid, ref, { as });
    if ('status' in m) return undo(m.status);
    maps.push(m);
    if (m.readonly) return undo(Gntst.permission_denied);
  }
  return new GrantBackRing(gnt, maps, type, as);
}

export class GrantBackRing<Req = unknown, Rsp = unknown> {
  /** The backend's private indexes (rsp_prod_pvt, req_cons). */
  readonly back: BackRing<Req, Rsp>;
  /**
   * The ring's geometry (nr_ents, slot offsets). For a one-page ring its view is the shared page
   * (read only through it); for a multi-page ring it is not the shared memory: read the header
   * with `header()`.
   */
  readonly sring: SharedRing<Req, Rsp>;
  /** The first page's mapping (the header's). */
  readonly mapping: ForeignMapping;
  /** Pages in the ring (1, 2, 4, 8 or 16). */
  readonly pages: number;
  /** Why the ring stopped (a bogus index, a failed write, unmapped), or null while it works. */
  fault: string | null = null;
  private readonly mappings: readonly ForeignMapping[];
  private readonly view: DataView;
  private readonly scratch: Uint8Array;
  private readonly scratchView: DataView;
  /** A response is built here: only its fields are ever written, so its padding stays zero. */
  private readonly rspScratch: Uint8Array;
  private readonly rspView: DataView;
  private readonly u32 = new Uint8Array(4);
  private readonly u32View = new DataView(this.u32.buffer);
  private mapped = true;

  constructor(private readonly gnt: RingGrantTables, mappings: ForeignMapping | readonly ForeignMapping[], readonly type: RingType<Req, Rsp>, private readonly as = 0) {
    this.mappings = Array.isArray(mappings) ? mappings : [mappings as ForeignMapping];
    this.mapping = this.mappings[0]!;
    this.pages = this.mappings.length;
    const b = this.mapping.bytes;
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    this.sring = this.pages === 1 ? new SharedRing(this.view, type, 0, b.byteLength) : new SharedRing(new DataView(new ArrayBuffer(this.pages * PAGE)), type, 0, this.pages * PAGE);
    this.back = new BackRing(this.sring, 0);
    this.scratch = new Uint8Array(type.entrySize);
    this.scratchView = new DataView(this.scratch.buffer);
    this.rspScratch = new Uint8Array(type.entrySize);
    this.rspView = new DataView(this.rspScratch.buffer);
  }

  get nrEnts(): number { return this.back.nr_ents; }
  get isMapped(): boolean { return this.mapped; }

  /**
   * Requests the backend may consume now: `req_prod` read once and checked; -1 (and `fault` set)
   * when the frontend published an index past the ring (or the ring is unmapped/faulted).
   * The count is XEN_RING_NR_UNCONSUMED_REQUESTS: never more than the free slots.
   */
  available(): number {
    if (this.fault !== null || !this.mapped) return -1;
    const prod = this.view.getUint32(REQ_PROD, true);
    const why = requestProducerFault(this.back, prod);
    if (why !== undefined) { this.fault = why; return -1; }
    const b = this.back;
    const req = (prod - b.req_cons) >>> 0;
    const rsp = (b.nr_ents - ((b.req_cons - b.rsp_prod_pvt) >>> 0)) >>> 0;
    return req < rsp ? req : rsp;
  }

  /** RING_COPY_REQUEST of slot req_cons into `out`, then req_cons++. Call only after `available() > 0`. */
  takeRequest(out: Req): Req {
    this.takeRequestBytes(this.scratch);
    this.type.req.read(this.scratchView, 0, out);
    return out;
  }

  /**
   * RING_COPY_REQUEST of slot req_cons as raw bytes into `out` (at least the slot size), then
   * req_cons++: for a protocol whose slot is a union decoded by its first byte (blkif's
   * discard/indirect requests). Call only after `available() > 0`. A slot of a multi-page ring
   * may straddle two pages: it is copied from both.
   */
  takeRequestBytes(out: Uint8Array): void {
    const b = this.back;
    const off = this.sring.entry(b.req_cons);
    const n = this.type.entrySize;
    let page = off >> 12;
    let src = this.mappings[page]!.bytes;
    let o = off & (PAGE - 1);
    for (let i = 0; i < n; i++, o++) {
      if (o === PAGE) { src = this.mappings[++page]!.bytes; o = 0; }
      out[i] = src[o]!;
    }
    b.req_cons = (b.req_cons + 1) >>> 0;
  }

  /** Writes `rsp` into slot rsp_prod_pvt (through the mapping) and advances it. False on a fault. */
  putResponse(rsp: Rsp): boolean {
    if (this.fault !== null || !this.mapped) return false;
    const b = this.back;
    this.type.rsp.write(this.rspView, 0, rsp);
    if (!this.store(this.sring.entry(b.rsp_prod_pvt), this.rspScratch, this.type.rsp.layout.sizeof)) return false;
    b.rsp_prod_pvt = (b.rsp_prod_pvt + 1) >>> 0;
    return true;
  }

  /** RING_PUSH_RESPONSES_AND_CHECK_NOTIFY: publishes rsp_prod_pvt; true = notify the frontend. */
  pushResponses(): boolean {
    if (this.fault !== null || !this.mapped) return false;
    const old = this.view.getUint32(RSP_PROD, true);
    const now = this.back.rsp_prod_pvt;
    if (!this.storeU32(RSP_PROD, now)) return false;
    return RING_NEED_NOTIFY(now, old, this.view.getUint32(RSP_EVENT, true));
  }

  /**
   * RING_FINAL_CHECK_FOR_REQUESTS: requests waiting, or (none) req_event = req_cons + 1 and check
   * again. -1 on a fault.
   */
  finalCheckForRequests(): number {
    const n = this.available();
    if (n !== 0) return n;
    if (!this.storeU32(REQ_EVENT, (this.back.req_cons + 1) >>> 0)) return -1;
    return this.available();
  }

  /**
   * Writes req_event (Linux netback's xenvif_rx_ring_slots_available: `req_event = prod + 1` so the
   * frontend notifies when it posts more buffers). False on a fault.
   */
  setRequestEvent(idx: RING_IDX): boolean {
    if (this.fault !== null || !this.mapped) return false;
    return this.storeU32(REQ_EVENT, idx >>> 0);
  }

  /** req_prod as the page holds it now (unchecked: for a consumer that checks it, as `available` does). */
  peekRequestProducer(): RING_IDX {
    return this.view.getUint32(REQ_PROD, true);
  }

  /** Unmaps the grants (idempotent); the ring is unusable afterwards. Returns the GNTST status of the first failed unmap (0 when all went, or already unmapped). */
  unmap(): number {
    if (!this.mapped) return Gntst.okay;
    this.mapped = false;
    if (this.fault === null) this.fault = 'ring unmapped';
    let st: number = Gntst.okay;
    for (const m of this.mappings) {
      const r = this.gnt.unmapForeign(m.handle, this.as);
      if (r !== Gntst.okay && st === Gntst.okay) st = r;
    }
    return st;
  }

  /** Header values as the page holds them now (for logs and tests). */
  header(): { req_prod: RING_IDX; req_event: RING_IDX; rsp_prod: RING_IDX; rsp_event: RING_IDX } {
    const v = this.view;
    return { req_prod: v.getUint32(REQ_PROD, true), req_event: v.getUint32(REQ_EVENT, true), rsp_prod: v.getUint32(RSP_PROD, true), rsp_event: v.getUint32(RSP_EVENT, true) };
  }

  private storeU32(off: number, v: number): boolean {
    this.u32View.setUint32(0, v >>> 0, true);
    return this.store(off, this.u32, 4);
  }

  /** Stores `src[0, len)` at ring offset `off` through the page mapping(s) it falls in (no subarray: per response). */
  private store(off: number, src: Uint8Array, len: number): boolean {
    const page = off >> 12;
    const o = off & (PAGE - 1);
    const first = Math.min(len, PAGE - o);
    let rc = this.mappings[page]!.write(o, src, 0, first);
    if (rc === 0 && first < len) rc = this.mappings[page + 1]!.write(0, src, first, len - first);
    if (rc === 0) return true;
    this.fault = `store at ring offset ${off} failed: ${rc === -Errno.ENOENT ? 'grant unmapped' : `errno ${rc}`}`;
    return false;
  }
}

/** Bytes of the ring header (for callers sizing things). */
export const RING_HEADER_BYTES = SRING_HEADER_SIZE;
