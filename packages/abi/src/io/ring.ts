/**
 * Xen's shared I/O rings (xen/include/public/io/ring.h), as pure functions over a DataView of the
 * ring page. A ring page is `struct <name>_sring`: a 64-byte header (req_prod, req_event, rsp_prod,
 * rsp_event, the 4-byte `pvt` union and 44 bytes of `__pad`) followed by
 * `union <name>_sring_entry ring[]`, as many entries as fit, rounded down to a power of two
 * (`__RING_SIZE`). The frontend produces requests and consumes responses through its private
 * `front_ring` (req_prod_pvt, rsp_cons); the backend consumes requests and produces responses
 * through its `back_ring` (rsp_prod_pvt, req_cons). Indexes are free-running u32 (RING_IDX) that
 * wrap at 2^32; a slot is `idx & (nr_ents - 1)`. The functions keep the macros' names and
 * formulas; none allocates (only `*Fault` messages, on the failure path, build a string).
 *
 * Memory ordering: TypeScript backends run on one thread between guest instructions, so the
 * macros' xen_wmb()/xen_mb() have nothing to order here; the C side (guests/xenlib/io/ring.h)
 * keeps them.
 */
import { PAGE_SIZE } from '../boot.js';
import { defineStruct, type StructCodec, type StructLayout } from './layout.js';

/** `typedef unsigned int RING_IDX`: a free-running u32 index. */
export type RING_IDX = number;

/** Bytes of the shared-ring header before `ring[]`. */
export const SRING_HEADER_SIZE = 64;

/** Field offsets of the header every `struct <name>_sring` starts with. */
export const SringHeader = {
  req_prod: { offset: 0, size: 4 },
  req_event: { offset: 4, size: 4 },
  rsp_prod: { offset: 8, size: 4 },
  rsp_event: { offset: 12, size: 4 },
  /** union { struct { uint8_t smartpoll_active; } netif; struct { uint8_t msg; } tapif_user; uint8_t pvt_pad[4]; } */
  pvt: { offset: 16, size: 4 },
  __pad: { offset: 20, size: 44 },
  ring: { offset: SRING_HEADER_SIZE, size: 0 },
} as const;

/** `__RD32(x)`: round a 32-bit unsigned value down to the nearest power of two (0 stays 0). */
export function __RD32(x: number): number {
  x >>>= 0;
  return x === 0 ? 0 : 2 ** (31 - Math.clz32(x));
}

/**
 * `__CONST_RING_SIZE(name, sz)` / `__RING_SIZE(s, sz)`: entries of `entrySize` bytes in a ring of
 * `bytes` bytes (one page unless the ring is multi-page), rounded down to a power of two.
 */
export function __CONST_RING_SIZE(entrySize: number, bytes: number = PAGE_SIZE): number {
  if (bytes < SRING_HEADER_SIZE + entrySize) return 0;
  return __RD32(Math.floor((bytes - SRING_HEADER_SIZE) / entrySize));
}

/** What `DEFINE_RING_TYPES(name, req_t, rsp_t)` declares, as data plus the two codecs. */
export interface RingType<Req, Rsp> {
  readonly name: string;
  readonly req: StructCodec<Req>;
  readonly rsp: StructCodec<Rsp>;
  /** `sizeof(union <name>_sring_entry)`: the larger of the two, rounded up to their alignment. */
  readonly entrySize: number;
  readonly entryAlign: number;
  /** `struct <name>_sring` (with its one-entry `ring[1]`), for the header checks. */
  readonly sring: StructLayout;
  /** `union <name>_sring_entry`. */
  readonly entry: StructLayout;
  /** Entries in a one-page ring (`__CONST_RING_SIZE(name, 4096)`). */
  readonly ringSize4k: number;
}

const roundUp = (n: number, a: number) => Math.ceil(n / a) * a;

/** DEFINE_RING_TYPES: the entry union and sring layouts of a request/response pair. */
export function defineRingTypes<Req, Rsp>(name: string, req: StructCodec<Req>, rsp: StructCodec<Rsp>): RingType<Req, Rsp> {
  const entryAlign = Math.max(req.layout.align, rsp.layout.align);
  const entrySize = roundUp(Math.max(req.layout.sizeof, rsp.layout.sizeof), entryAlign);
  const sringAlign = Math.max(4, entryAlign);
  return Object.freeze({
    name, req, rsp, entrySize, entryAlign,
    entry: defineStruct(`${name}_sring_entry`, entrySize, entryAlign, { req: [0, req.layout.sizeof], rsp: [0, rsp.layout.sizeof] }, { union: true }),
    sring: defineStruct(`${name}_sring`, roundUp(SRING_HEADER_SIZE + entrySize, sringAlign), sringAlign, {
      req_prod: [0, 4], req_event: [4, 4], rsp_prod: [8, 4], rsp_event: [12, 4], pvt: [16, 4], __pad: [20, 44],
      ring: [SRING_HEADER_SIZE, entrySize, 1],
    }),
    ringSize4k: __CONST_RING_SIZE(entrySize, PAGE_SIZE),
  });
}

/**
 * The shared page of one ring: `struct <name>_sring` at `base` in `view`, `bytes` long (a page, or
 * 2^order pages for a multi-page ring). Typed accessors for the header; `entry(idx)` is the byte
 * offset of `ring[idx & (nr_ents - 1)]`.
 */
export class SharedRing<Req = unknown, Rsp = unknown> {
  readonly nr_ents: number;
  constructor(
    readonly view: DataView,
    readonly type: RingType<Req, Rsp>,
    readonly base = 0,
    readonly bytes = PAGE_SIZE,
  ) {
    if (base < 0 || base + bytes > view.byteLength) throw new RangeError(`${type.name}_sring: [${base}, ${base + bytes}) outside a ${view.byteLength}-byte view`);
    this.nr_ents = __CONST_RING_SIZE(type.entrySize, bytes);
    if (this.nr_ents === 0) throw new RangeError(`${type.name}_sring: ${bytes} bytes hold no ${type.entrySize}-byte entry`);
  }
  get req_prod(): RING_IDX { return this.view.getUint32(this.base, true); }
  set req_prod(v: RING_IDX) { this.view.setUint32(this.base, v >>> 0, true); }
  get req_event(): RING_IDX { return this.view.getUint32(this.base + 4, true); }
  set req_event(v: RING_IDX) { this.view.setUint32(this.base + 4, v >>> 0, true); }
  get rsp_prod(): RING_IDX { return this.view.getUint32(this.base + 8, true); }
  set rsp_prod(v: RING_IDX) { this.view.setUint32(this.base + 8, v >>> 0, true); }
  get rsp_event(): RING_IDX { return this.view.getUint32(this.base + 12, true); }
  set rsp_event(v: RING_IDX) { this.view.setUint32(this.base + 12, v >>> 0, true); }
  /** `pvt.netif.smartpoll_active` / `pvt.tapif_user.msg` / `pvt.pvt_pad[0]`. */
  get pvt0(): number { return this.view.getUint8(this.base + 16); }
  /** Byte offset in `view` of `ring[idx & (nr_ents - 1)]`. */
  entry(idx: RING_IDX): number {
    return this.base + SRING_HEADER_SIZE + ((idx & (this.nr_ents - 1)) >>> 0) * this.type.entrySize;
  }
}

/** `struct <name>_front_ring`: the frontend's private indexes. */
export class FrontRing<Req = unknown, Rsp = unknown> {
  req_prod_pvt: RING_IDX;
  rsp_cons: RING_IDX;
  readonly nr_ents: number;
  constructor(readonly sring: SharedRing<Req, Rsp>, start: RING_IDX = 0) {
    this.req_prod_pvt = start >>> 0;
    this.rsp_cons = start >>> 0;
    this.nr_ents = sring.nr_ents;
  }
}

/** `struct <name>_back_ring`: the backend's private indexes. */
export class BackRing<Req = unknown, Rsp = unknown> {
  rsp_prod_pvt: RING_IDX;
  req_cons: RING_IDX;
  readonly nr_ents: number;
  constructor(readonly sring: SharedRing<Req, Rsp>, start: RING_IDX = 0) {
    this.rsp_prod_pvt = start >>> 0;
    this.req_cons = start >>> 0;
    this.nr_ents = sring.nr_ents;
  }
}

/** SHARED_RING_INIT: producers 0, events 1, pvt and __pad zeroed. */
export function SHARED_RING_INIT(s: SharedRing): void {
  s.req_prod = 0;
  s.rsp_prod = 0;
  s.req_event = 1;
  s.rsp_event = 1;
  for (let i = SringHeader.pvt.offset; i < SRING_HEADER_SIZE; i++) s.view.setUint8(s.base + i, 0);
}
/** FRONT_RING_ATTACH: a front ring whose private indexes start at `i` (reconnecting to a live ring). */
export function FRONT_RING_ATTACH<Req, Rsp>(s: SharedRing<Req, Rsp>, i: RING_IDX): FrontRing<Req, Rsp> { return new FrontRing(s, i); }
/** FRONT_RING_INIT: FRONT_RING_ATTACH at 0. */
export function FRONT_RING_INIT<Req, Rsp>(s: SharedRing<Req, Rsp>): FrontRing<Req, Rsp> { return new FrontRing(s, 0); }
/** XEN_FRONT_RING_INIT: SHARED_RING_INIT then FRONT_RING_INIT. */
export function XEN_FRONT_RING_INIT<Req, Rsp>(s: SharedRing<Req, Rsp>): FrontRing<Req, Rsp> { SHARED_RING_INIT(s); return new FrontRing(s, 0); }
/** BACK_RING_ATTACH. */
export function BACK_RING_ATTACH<Req, Rsp>(s: SharedRing<Req, Rsp>, i: RING_IDX): BackRing<Req, Rsp> { return new BackRing(s, i); }
/** BACK_RING_INIT: BACK_RING_ATTACH at 0. */
export function BACK_RING_INIT<Req, Rsp>(s: SharedRing<Req, Rsp>): BackRing<Req, Rsp> { return new BackRing(s, 0); }

/** RING_SIZE. */
export function RING_SIZE(r: FrontRing | BackRing): number { return r.nr_ents; }
/** RING_FREE_REQUESTS (front only): RING_SIZE - (req_prod_pvt - rsp_cons), u32. */
export function RING_FREE_REQUESTS(r: FrontRing): number { return (r.nr_ents - ((r.req_prod_pvt - r.rsp_cons) >>> 0)) >>> 0; }
/** RING_FULL. */
export function RING_FULL(r: FrontRing): boolean { return RING_FREE_REQUESTS(r) === 0; }
/** XEN_RING_NR_UNCONSUMED_RESPONSES: rsp_prod - rsp_cons, u32. */
export function XEN_RING_NR_UNCONSUMED_RESPONSES(r: FrontRing): number { return (r.sring.rsp_prod - r.rsp_cons) >>> 0; }
/**
 * XEN_RING_NR_UNCONSUMED_REQUESTS: min(req_prod - req_cons, RING_SIZE - (req_cons - rsp_prod_pvt)),
 * so a frontend's wild req_prod never yields more than the free slots.
 */
export function XEN_RING_NR_UNCONSUMED_REQUESTS(r: BackRing): number {
  const req = (r.sring.req_prod - r.req_cons) >>> 0;
  const rsp = (r.nr_ents - ((r.req_cons - r.rsp_prod_pvt) >>> 0)) >>> 0;
  return req < rsp ? req : rsp;
}
/** RING_HAS_UNCONSUMED_RESPONSES (the count, as Xen's default without XEN_RING_HAS_UNCONSUMED_IS_BOOL). */
export const RING_HAS_UNCONSUMED_RESPONSES = XEN_RING_NR_UNCONSUMED_RESPONSES;
/** RING_HAS_UNCONSUMED_REQUESTS (the count). */
export const RING_HAS_UNCONSUMED_REQUESTS = XEN_RING_NR_UNCONSUMED_REQUESTS;

/** RING_GET_REQUEST: byte offset (in the ring's view) of the request slot for `idx`. */
export function RING_GET_REQUEST(r: FrontRing | BackRing, idx: RING_IDX): number { return r.sring.entry(idx); }
/** RING_GET_RESPONSE: byte offset of the response slot for `idx` (the same slots). */
export function RING_GET_RESPONSE(r: FrontRing | BackRing, idx: RING_IDX): number { return r.sring.entry(idx); }
/** RING_COPY_REQUEST: copies request `idx` out of the shared page into `out` (then validate `out`). */
export function RING_COPY_REQUEST<Req, Rsp>(r: BackRing<Req, Rsp>, idx: RING_IDX, out: Req): Req {
  return r.sring.type.req.read(r.sring.view, r.sring.entry(idx), out);
}
/** RING_COPY_RESPONSE: copies response `idx` out into `out`. */
export function RING_COPY_RESPONSE<Req, Rsp>(r: FrontRing<Req, Rsp>, idx: RING_IDX, out: Rsp): Rsp {
  return r.sring.type.rsp.read(r.sring.view, r.sring.entry(idx), out);
}
/** Writes `req` into slot req_prod_pvt and advances req_prod_pvt (Xen: `*RING_GET_REQUEST(r, r->req_prod_pvt++) = req`; push with RING_PUSH_REQUESTS*). */
export function ringPutRequest<Req, Rsp>(r: FrontRing<Req, Rsp>, req: Req): void {
  r.sring.type.req.write(r.sring.view, r.sring.entry(r.req_prod_pvt), req);
  r.req_prod_pvt = (r.req_prod_pvt + 1) >>> 0;
}
/** Writes `rsp` into slot rsp_prod_pvt and advances rsp_prod_pvt (Xen: `*RING_GET_RESPONSE(r, r->rsp_prod_pvt++) = rsp`; push with RING_PUSH_RESPONSES*). */
export function ringPutResponse<Req, Rsp>(r: BackRing<Req, Rsp>, rsp: Rsp): void {
  r.sring.type.rsp.write(r.sring.view, r.sring.entry(r.rsp_prod_pvt), rsp);
  r.rsp_prod_pvt = (r.rsp_prod_pvt + 1) >>> 0;
}

/** RING_REQUEST_CONS_OVERFLOW: would consuming `cons` overrun the responses not yet produced? */
export function RING_REQUEST_CONS_OVERFLOW(r: BackRing, cons: RING_IDX): boolean {
  return ((cons - r.rsp_prod_pvt) >>> 0) >= r.nr_ents;
}
/** RING_REQUEST_PROD_OVERFLOW: can there be this many requests? (ill-behaved frontend) */
export function RING_REQUEST_PROD_OVERFLOW(r: BackRing, prod: RING_IDX): boolean {
  return ((prod - r.rsp_prod_pvt) >>> 0) > r.nr_ents;
}
/** RING_RESPONSE_PROD_OVERFLOW: can there be this many responses? (ill-behaved backend) */
export function RING_RESPONSE_PROD_OVERFLOW(r: FrontRing, prod: RING_IDX): boolean {
  return ((prod - r.rsp_cons) >>> 0) > r.nr_ents;
}

/**
 * A backend's check of a `req_prod` it read from the page (read it once, check, then use that
 * value): undefined when fine, else a one-line reason naming the indexes, after which the backend
 * disables the device (Linux blkback: "Frontend provided bogus ring requests (%d - %d = %d)").
 */
export function requestProducerFault(r: BackRing, prod: RING_IDX): string | undefined {
  if (!RING_REQUEST_PROD_OVERFLOW(r, prod)) return undefined;
  return `${r.sring.type.name}: bogus ring requests: req_prod ${prod >>> 0} - rsp_prod_pvt ${r.rsp_prod_pvt} = ${(prod - r.rsp_prod_pvt) >>> 0} > ring size ${r.nr_ents}`;
}
/** A frontend's check of a `rsp_prod` it read: undefined when fine, else the reason. */
export function responseProducerFault(r: FrontRing, prod: RING_IDX): string | undefined {
  if (!RING_RESPONSE_PROD_OVERFLOW(r, prod)) return undefined;
  return `${r.sring.type.name}: bogus ring responses: rsp_prod ${prod >>> 0} - rsp_cons ${r.rsp_cons} = ${(prod - r.rsp_cons) >>> 0} > ring size ${r.nr_ents}`;
}

/** RING_PUSH_REQUESTS: publish req_prod_pvt. */
export function RING_PUSH_REQUESTS(r: FrontRing): void { r.sring.req_prod = r.req_prod_pvt; }
/** RING_PUSH_RESPONSES: publish rsp_prod_pvt. */
export function RING_PUSH_RESPONSES(r: BackRing): void { r.sring.rsp_prod = r.rsp_prod_pvt; }

/**
 * The notify decision of RING_PUSH_*_AND_CHECK_NOTIFY: the peer asked to be woken at `event`;
 * notify iff `event` lies in (old, new], i.e. `(RING_IDX)(new - event) < (RING_IDX)(new - old)`.
 */
export function RING_NEED_NOTIFY(newProd: RING_IDX, oldProd: RING_IDX, event: RING_IDX): boolean {
  return ((newProd - event) >>> 0) < ((newProd - oldProd) >>> 0);
}
/** RING_PUSH_REQUESTS_AND_CHECK_NOTIFY: publish req_prod_pvt; true = send the event. */
export function RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(r: FrontRing): boolean {
  const old = r.sring.req_prod;
  const now = r.req_prod_pvt;
  r.sring.req_prod = now;
  return RING_NEED_NOTIFY(now, old, r.sring.req_event);
}
/** RING_PUSH_RESPONSES_AND_CHECK_NOTIFY: publish rsp_prod_pvt; true = send the event. */
export function RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(r: BackRing): boolean {
  const old = r.sring.rsp_prod;
  const now = r.rsp_prod_pvt;
  r.sring.rsp_prod = now;
  return RING_NEED_NOTIFY(now, old, r.sring.rsp_event);
}
/**
 * RING_FINAL_CHECK_FOR_REQUESTS: unconsumed requests, or (when none) set req_event = req_cons + 1
 * so the frontend notifies on the next one, and check again (closes the race with a request
 * pushed in between). Returns the count (0 = sleep until notified).
 */
export function RING_FINAL_CHECK_FOR_REQUESTS(r: BackRing): number {
  const work = RING_HAS_UNCONSUMED_REQUESTS(r);
  if (work) return work;
  r.sring.req_event = (r.req_cons + 1) >>> 0;
  return RING_HAS_UNCONSUMED_REQUESTS(r);
}
/** RING_FINAL_CHECK_FOR_RESPONSES: the frontend's counterpart (rsp_event = rsp_cons + 1). */
export function RING_FINAL_CHECK_FOR_RESPONSES(r: FrontRing): number {
  const work = RING_HAS_UNCONSUMED_RESPONSES(r);
  if (work) return work;
  r.sring.rsp_event = (r.rsp_cons + 1) >>> 0;
  return RING_HAS_UNCONSUMED_RESPONSES(r);
}

/** XEN_PAGE_SHIFT: ring protocols always use 4 KiB pages. */
export const XEN_PAGE_SHIFT = 12;
/** XEN_FLEX_RING_SIZE(order): bytes of each direction of a flex ring of 2^order pages. */
export function XEN_FLEX_RING_SIZE(order: number): number { return 2 ** (order + XEN_PAGE_SHIFT - 1); }
