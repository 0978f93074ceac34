/**
 * The guest transport: `struct xenstore_domain_interface` on a page the guest shares with
 * xenstored, plus an event channel. The guest produces requests into `req` and consumes replies
 * and watch events from `rsp`; xenstored does the opposite. Every index the guest controls is
 * validated (prod - cons <= XENSTORE_RING_SIZE) before use; a bad one sets the page's `error`
 * field (XENSTORE_ERROR_RINGIDX) and xenstored ignores the connection from then on, as C
 * xenstored does. Work per `processRing()` is bounded by the ring size.
 */
import {
  XENSTORE_CONNECTED,
  XENSTORE_DOMAIN_INTERFACE as XDI,
  XENSTORE_ERROR_PROTO,
  XENSTORE_ERROR_RINGIDX,
  XENSTORE_RECONNECT,
  XENSTORE_RING_SIZE,
  XENSTORE_SERVER_FEATURE_ERROR,
  XENSTORE_SERVER_FEATURE_RECONNECTION,
} from '@tachyxx/abi';
import { XsDecoder } from './codec.js';
import { XsConnection } from './connection.js';
import type { Xenstored } from './xenstored.js';

/** Byte access to the guest's ring frame (offsets within the page). Never throws for offsets < 4096. */
export interface RingPage {
  read(off: number, dst: Uint8Array): void;
  write(off: number, src: Uint8Array): void;
}

/** Offers a plain Uint8Array (e.g. a test page, or a frame view) as a RingPage. */
export function ringPageOf(bytes: Uint8Array): RingPage {
  return {
    read: (off, dst) => dst.set(bytes.subarray(off, off + dst.length)),
    write: (off, src) => bytes.set(src, off),
  };
}

/** Output the connection may hold before it stops taking requests (the guest must read first). */
const OUTPUT_HIGH_WATER = 64 * 1024;

export class XsRingConnection extends XsConnection {
  readonly kind = 'ring' as const;
  private decoder: XsDecoder;
  private readonly u32 = new Uint8Array(4);
  private readonly u32v = new DataView(this.u32.buffer);
  private readonly chunk = new Uint8Array(XENSTORE_RING_SIZE);
  /** Bytes of the head output message already in the ring. */
  private headSent = 0;
  private inProcess = false;
  private produced = false;
  /** Set once the guest broke the protocol; the connection then does nothing. */
  ignored = false;
  readonly features = XENSTORE_SERVER_FEATURE_RECONNECTION | XENSTORE_SERVER_FEATURE_ERROR;

  constructor(
    private readonly xs: Xenstored,
    domid: number,
    private readonly page: RingPage,
    private readonly notify: () => void,
  ) {
    super(domid);
    this.decoder = this.newDecoder();
    this.writeU32(XDI.server_features, this.features);
  }

  private newDecoder(): XsDecoder {
    return new XsDecoder((m) => this.xs.handle(this, m));
  }

  private readU32(off: number): number {
    this.page.read(off, this.u32);
    return this.u32v.getUint32(0, true);
  }

  private writeU32(off: number, v: number): void {
    this.u32v.setUint32(0, v >>> 0, true);
    this.page.write(off, this.u32);
  }

  /** Call when the guest notifies the event channel: consumes requests, writes replies, notifies back. */
  processRing(): void {
    if (this.closed || this.ignored) return;
    if (this.readU32(XDI.connection) === XENSTORE_RECONNECT) {
      this.reconnect();
      return;
    }
    this.inProcess = true;
    this.produced = false;
    let consumed = false;
    try {
      this.flush();
      if (this.closed) return;
      let cons = this.readU32(XDI.req_cons);
      const prod = this.readU32(XDI.req_prod);
      let avail = (prod - cons) >>> 0;
      if (avail > XENSTORE_RING_SIZE) return this.fail(XENSTORE_ERROR_RINGIDX, `bad request ring indexes cons=${cons} prod=${prod}`);
      // One message at a time, and only while the guest reads its replies: C xenstored's
      // domain_can_read() stops at quota "outstanding" (replies not yet in the ring).
      while (avail > 0 && !this.closed && this.outBytes < OUTPUT_HIGH_WATER && (this.privileged || this.queued < this.xs.quotas.outstandingPerDomain)) {
        const n = Math.min(avail, this.decoder.bytesWanted);
        const start = cons & (XENSTORE_RING_SIZE - 1);
        const first = Math.min(n, XENSTORE_RING_SIZE - start);
        const buf = this.chunk.subarray(0, n);
        this.page.read(XDI.req + start, buf.subarray(0, first));
        if (n > first) this.page.read(XDI.req, buf.subarray(first));
        cons = (cons + n) >>> 0;
        avail -= n;
        this.writeU32(XDI.req_cons, cons);
        consumed = true;
        const err = this.decoder.push(buf);
        if (err) return this.fail(XENSTORE_ERROR_PROTO, `message too long (${err.len} bytes)`);
      }
    } finally {
      this.inProcess = false;
    }
    if (consumed || this.produced) this.notify();
  }

  /** The guest asked for a fresh connection: forget watches, transactions and queued output. */
  private reconnect(): void {
    this.watches.length = 0;
    this.transactions.clear();
    this.clearOut();
    this.headSent = 0;
    this.decoder = this.newDecoder();
    for (const off of [XDI.req_cons, XDI.req_prod, XDI.rsp_cons, XDI.rsp_prod]) this.writeU32(off, 0);
    this.writeU32(XDI.connection, XENSTORE_CONNECTED);
    this.notify();
  }

  private fail(error: number, reason: string): void {
    this.writeU32(XDI.error, error);
    this.ignored = true;
    this.xs.drop(this, reason);
  }

  protected transmit(): void {
    if (this.closed || this.ignored) return;
    this.flush();
    if (this.produced && !this.inProcess) {
      this.produced = false;
      this.notify();
    }
  }

  /** Copies queued output into the response ring as far as the guest left room. */
  private flush(): void {
    if (this.queued === 0) return;
    const cons = this.readU32(XDI.rsp_cons);
    let prod = this.readU32(XDI.rsp_prod);
    const used = (prod - cons) >>> 0;
    if (used > XENSTORE_RING_SIZE) return this.fail(XENSTORE_ERROR_RINGIDX, `bad response ring indexes cons=${cons} prod=${prod}`);
    let space = XENSTORE_RING_SIZE - used;
    let item = this.peekOut();
    while (item && space > 0) {
      const start = prod & (XENSTORE_RING_SIZE - 1);
      const n = Math.min(space, XENSTORE_RING_SIZE - start, item.bytes.length - this.headSent);
      this.page.write(XDI.rsp + start, item.bytes.subarray(this.headSent, this.headSent + n));
      this.headSent += n;
      prod = (prod + n) >>> 0;
      space -= n;
      if (this.headSent === item.bytes.length) {
        this.shiftOut();
        this.headSent = 0;
        item = this.peekOut();
      }
    }
    this.writeU32(XDI.rsp_prod, prod);
    this.produced = true;
  }

  shutdown(reason: string): void {
    this.closed = true;
    this.dropReason ??= reason;
    this.clearOut();
  }
}
