// The guest's side of a xenstore ring (what mini-OS's or Linux's xenbus driver does), over a plain
// page: for tests, benchmarks and TS-simulated frontends that talk to xenstored the way a domain
// does. Indexes are free-running u32s masked into the 1 KiB rings (io/xs_wire.h).
import { XENSTORE_DOMAIN_INTERFACE as XDI, XENSTORE_RING_SIZE } from '@tachyxx/abi';
import { XsDecoder, type XsMessage } from './codec.js';

export class XsRingFrontend {
  readonly page = new Uint8Array(4096);
  private readonly v = new DataView(this.page.buffer);
  /** Every reply and watch event received, in order. */
  readonly received: XsMessage[] = [];
  private readonly decoder = new XsDecoder((m) => this.received.push(m));
  /** Notifications from xenstored (pass `() => f.notified++` as introduceRing's notify). */
  notified = 0;

  /** A u32 field of struct xenstore_domain_interface (XENSTORE_DOMAIN_INTERFACE offsets). */
  u32(off: number): number {
    return this.v.getUint32(off, true);
  }
  /** Writes a u32 field: a guest may write anything there, so tests can too. */
  set(off: number, val: number): void {
    this.v.setUint32(off, val >>> 0, true);
  }
  /** Writes as much of `bytes` as fits in the request ring; returns how many. */
  send(bytes: Uint8Array): number {
    const cons = this.u32(XDI.req_cons);
    let prod = this.u32(XDI.req_prod);
    let n = 0;
    while (n < bytes.length && ((prod - cons) >>> 0) < XENSTORE_RING_SIZE) {
      this.page[XDI.req + (prod & (XENSTORE_RING_SIZE - 1))] = bytes[n++]!;
      prod = (prod + 1) >>> 0;
    }
    this.set(XDI.req_prod, prod);
    return n;
  }
  /** Drains the response ring (at most one ring's worth) into `received`. */
  receive(): void {
    let cons = this.u32(XDI.rsp_cons);
    const prod = this.u32(XDI.rsp_prod);
    const out: number[] = [];
    while (cons !== prod && out.length < XENSTORE_RING_SIZE) {
      out.push(this.page[XDI.rsp + (cons & (XENSTORE_RING_SIZE - 1))]!);
      cons = (cons + 1) >>> 0;
    }
    this.set(XDI.rsp_cons, cons);
    this.decoder.push(Uint8Array.from(out));
  }
}
