import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  __RD32, __CONST_RING_SIZE, SharedRing, SHARED_RING_INIT, FRONT_RING_INIT, BACK_RING_INIT, FRONT_RING_ATTACH, BACK_RING_ATTACH,
  XEN_FRONT_RING_INIT, RING_SIZE, RING_FREE_REQUESTS, RING_FULL, RING_HAS_UNCONSUMED_REQUESTS, RING_HAS_UNCONSUMED_RESPONSES,
  RING_PUSH_REQUESTS_AND_CHECK_NOTIFY, RING_PUSH_RESPONSES_AND_CHECK_NOTIFY, RING_FINAL_CHECK_FOR_REQUESTS,
  RING_FINAL_CHECK_FOR_RESPONSES, RING_REQUEST_CONS_OVERFLOW, RING_REQUEST_PROD_OVERFLOW, RING_RESPONSE_PROD_OVERFLOW,
  RING_NEED_NOTIFY, RING_COPY_REQUEST, RING_COPY_RESPONSE, RING_GET_REQUEST, RING_PUSH_REQUESTS, RING_PUSH_RESPONSES,
  ringPutRequest, ringPutResponse, requestProducerFault, responseProducerFault, SRING_HEADER_SIZE, XEN_FLEX_RING_SIZE,
  NetifTxRing, NetifRxRing, BlkifRing, XenNetifCtrlRing, PAGE_SIZE, type netif_tx_request_t, type netif_tx_response_t,
} from '@tachyxx/abi';

// The C macros, transcribed literally, as the reference the TypeScript functions must agree with.
const __RD2 = (x: number) => ((x & 0x2) ? 0x2 : (x & 0x1));
const __RD4 = (x: number) => ((x & 0xc) ? __RD2(x >>> 2) << 2 : __RD2(x));
const __RD8 = (x: number) => ((x & 0xf0) ? __RD4(x >>> 4) << 4 : __RD4(x));
const __RD16 = (x: number) => ((x & 0xff00) ? __RD8(x >>> 8) << 8 : __RD8(x));
const cRD32 = (x: number) => (((x & 0xffff0000) ? __RD16(x >>> 16) << 16 : __RD16(x)) >>> 0);
/** (RING_IDX)(new - event) < (RING_IDX)(new - old), with C's u32 wrap-around. */
const cNotify = (nw: number, old: number, ev: number) => Number(((nw - ev) >>> 0) < ((nw - old) >>> 0));

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const nearWrap = fc.integer({ min: 0xffff_ffff - 600, max: 0xffff_ffff });

function page(): DataView {
  return new DataView(new ArrayBuffer(PAGE_SIZE));
}

describe('ring sizes (__RD32, __CONST_RING_SIZE)', () => {
  it('__RD32 equals the C macro chain and is the largest power of two <= x', () => {
    fc.assert(fc.property(u32, (x) => {
      const r = __RD32(x);
      expect(r).toBe(cRD32(x));
      if (x === 0) { expect(r).toBe(0); return; }
      expect(r & (r - 1)).toBe(0);
      expect(r).toBeLessThanOrEqual(x);
      expect(r * 2).toBeGreaterThan(x);
    }));
  });

  it('gives 256 TX and 256 RX netif slots, 32 blkif slots and 128 netif control slots per 4 KiB page', () => {
    expect(NetifTxRing.entrySize).toBe(12);
    expect(NetifRxRing.entrySize).toBe(8);
    expect(BlkifRing.entrySize).toBe(112);
    expect(XenNetifCtrlRing.entrySize).toBe(16);
    expect([NetifTxRing.ringSize4k, NetifRxRing.ringSize4k, BlkifRing.ringSize4k, XenNetifCtrlRing.ringSize4k]).toEqual([256, 256, 32, 128]);
  });

  it('is (bytes - 64) / entry rounded down to a power of two, for multi-page rings too', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 4096 }), fc.integer({ min: 0, max: 4 }), (entry, order) => {
      const bytes = PAGE_SIZE << order;
      const n = __CONST_RING_SIZE(entry, bytes);
      expect(n).toBe(cRD32(Math.floor((bytes - SRING_HEADER_SIZE) / entry)));
      if (n) expect(SRING_HEADER_SIZE + n * entry).toBeLessThanOrEqual(bytes);
    }));
    expect(__CONST_RING_SIZE(112, 4 * PAGE_SIZE)).toBe(128); // blkfront max-ring-page-order 2
    expect(XEN_FLEX_RING_SIZE(0)).toBe(2048);
  });

  it('refuses a view too small for one entry, naming the ring', () => {
    expect(() => new SharedRing(new DataView(new ArrayBuffer(100)), BlkifRing, 0, 100)).toThrow(/blkif_sring: 100 bytes hold no 112-byte entry/);
    expect(() => new SharedRing(page(), BlkifRing, 8)).toThrow(/blkif_sring: \[8, 4104\) outside a 4096-byte view/);
  });
});

describe('shared-ring header', () => {
  it('SHARED_RING_INIT sets producers 0, events 1 and zeroes pvt and __pad', () => {
    const v = page();
    new Uint8Array(v.buffer).fill(0xaa);
    const s = new SharedRing(v, NetifTxRing);
    SHARED_RING_INIT(s);
    expect([s.req_prod, s.req_event, s.rsp_prod, s.rsp_event]).toEqual([0, 1, 0, 1]);
    expect([...new Uint8Array(v.buffer, 16, 48)].every((b) => b === 0)).toBe(true);
    expect(v.getUint8(64)).toBe(0xaa); // ring[] untouched
    expect(Array.from(new Uint8Array(v.buffer, 0, 16))).toEqual([0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
  });

  it('accessors are little-endian u32 at 0, 4, 8, 12 from the ring base', () => {
    const v = new DataView(new ArrayBuffer(2 * PAGE_SIZE));
    const s = new SharedRing(v, BlkifRing, PAGE_SIZE);
    s.req_prod = 0x11223344; s.req_event = -1; s.rsp_prod = 0x1_0000_0005; s.rsp_event = 7;
    expect(v.getUint32(PAGE_SIZE, true)).toBe(0x11223344);
    expect(v.getUint32(PAGE_SIZE + 4, true)).toBe(0xffff_ffff);
    expect(v.getUint32(PAGE_SIZE + 8, true)).toBe(5);
    expect(v.getUint32(PAGE_SIZE + 12, true)).toBe(7);
    expect(s.entry(0)).toBe(PAGE_SIZE + 64);
    expect(s.entry(33)).toBe(PAGE_SIZE + 64 + 112); // 33 & 31
    expect(s.entry(0xffff_ffff)).toBe(PAGE_SIZE + 64 + 31 * 112);
  });
});

describe('notify decisions (RING_PUSH_*_AND_CHECK_NOTIFY)', () => {
  it('match the C formula for any old, new and event, across the 2^32 wrap', () => {
    fc.assert(fc.property(fc.oneof(u32, nearWrap), fc.integer({ min: 0, max: 300 }), u32, fc.integer({ min: -300, max: 300 }), fc.boolean(), (old, n, anyEv, d, near) => {
      const nw = (old + n) >>> 0;
      const ev = near ? (old + d) >>> 0 : anyEv;
      const s = new SharedRing(page(), NetifTxRing);
      const f = FRONT_RING_ATTACH(s, old);
      s.req_prod = old;
      s.req_event = ev;
      f.req_prod_pvt = nw;
      expect(Number(RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(f))).toBe(cNotify(nw, old, ev));
      expect(s.req_prod).toBe(nw);
      const b = BACK_RING_ATTACH(s, old);
      s.rsp_prod = old;
      s.rsp_event = ev;
      b.rsp_prod_pvt = nw;
      expect(Number(RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(b))).toBe(cNotify(nw, old, ev));
      expect(s.rsp_prod).toBe(nw);
    }));
  });

  it('notify exactly when the event index was among the ones just published', () => {
    fc.assert(fc.property(fc.oneof(u32, nearWrap), fc.integer({ min: 0, max: 256 }), fc.integer({ min: -300, max: 300 }), (old, n, d) => {
      const nw = (old + n) >>> 0;
      const ev = (old + d) >>> 0;
      const published = d >= 1 && d <= n; // old+1 .. new
      expect(RING_NEED_NOTIFY(nw, old, ev)).toBe(published);
    }));
  });
});

describe('request accounting', () => {
  it('RING_FREE_REQUESTS, RING_FULL and the unconsumed counts hold across the wrap', () => {
    fc.assert(fc.property(nearWrap, fc.integer({ min: 0, max: 256 }), fc.integer({ min: 0, max: 256 }), (start, pushed, consumed) => {
      fc.pre(consumed <= pushed);
      const s = new SharedRing(page(), NetifRxRing);
      SHARED_RING_INIT(s);
      const f = FRONT_RING_ATTACH(s, start);
      const b = BACK_RING_ATTACH(s, start);
      s.req_prod = s.rsp_prod = start;
      f.req_prod_pvt = (start + pushed) >>> 0;
      RING_PUSH_REQUESTS(f);
      expect(RING_FREE_REQUESTS(f)).toBe(256 - pushed);
      expect(RING_FULL(f)).toBe(pushed === 256);
      expect(RING_HAS_UNCONSUMED_REQUESTS(b)).toBe(pushed);
      b.req_cons = (start + consumed) >>> 0;
      b.rsp_prod_pvt = b.req_cons;
      RING_PUSH_RESPONSES(b);
      expect(RING_HAS_UNCONSUMED_REQUESTS(b)).toBe(pushed - consumed);
      expect(RING_HAS_UNCONSUMED_RESPONSES(f)).toBe(consumed);
    }));
  });

  it('a wild req_prod never yields more requests than free slots, and requestProducerFault names it', () => {
    fc.assert(fc.property(u32, u32, fc.integer({ min: 0, max: 32 }), (start, prod, inflight) => {
      const s = new SharedRing(page(), BlkifRing);
      const b = BACK_RING_ATTACH(s, start);
      b.req_cons = (start + inflight) >>> 0; // `inflight` consumed, not yet answered
      s.req_prod = prod;
      const n = RING_HAS_UNCONSUMED_REQUESTS(b);
      expect(n).toBeLessThanOrEqual(RING_SIZE(b) - inflight);
      const bad = ((prod - b.rsp_prod_pvt) >>> 0) > 32;
      expect(RING_REQUEST_PROD_OVERFLOW(b, prod)).toBe(bad);
      const fault = requestProducerFault(b, prod);
      if (!bad) { expect(fault).toBeUndefined(); return; }
      expect(fault).toBe(`blkif: bogus ring requests: req_prod ${prod} - rsp_prod_pvt ${b.rsp_prod_pvt} = ${(prod - b.rsp_prod_pvt) >>> 0} > ring size 32`);
    }));
  });

  it('RING_REQUEST_CONS_OVERFLOW stops a consumer that would overrun unanswered requests', () => {
    const b = BACK_RING_ATTACH(new SharedRing(page(), BlkifRing), 0xffff_fff0);
    expect(RING_REQUEST_CONS_OVERFLOW(b, 0xffff_fff0 + 31)).toBe(false);
    expect(RING_REQUEST_CONS_OVERFLOW(b, (0xffff_fff0 + 32) >>> 0)).toBe(true);
    b.rsp_prod_pvt = 5; // answered up to 5 after the wrap
    expect(RING_REQUEST_CONS_OVERFLOW(b, 36)).toBe(false);
    expect(RING_REQUEST_CONS_OVERFLOW(b, 37)).toBe(true);
  });

  it('RING_RESPONSE_PROD_OVERFLOW and responseProducerFault catch a wild rsp_prod', () => {
    const f = FRONT_RING_ATTACH(new SharedRing(page(), NetifTxRing), 0xffff_ff00);
    expect(RING_RESPONSE_PROD_OVERFLOW(f, 0)).toBe(false); // 256 past rsp_cons: a full ring
    expect(responseProducerFault(f, 0)).toBeUndefined();
    expect(RING_RESPONSE_PROD_OVERFLOW(f, 1)).toBe(true);
    expect(responseProducerFault(f, 1)).toBe('netif_tx: bogus ring responses: rsp_prod 1 - rsp_cons 4294967040 = 257 > ring size 256');
  });
});

describe('a frontend and a backend over one page', () => {
  // Model: the frontend pushes batches and notifies only when told; the backend processes while
  // RING_FINAL_CHECK_FOR_REQUESTS says there is work, then sleeps until notified. Symmetric for
  // responses. Property: nothing is ever left on the ring with both sides asleep (no lost
  // wake-up), every request arrives once, in order, and its response comes back.
  it('loses no wake-up and no request, with indexes starting anywhere (including just below 2^32)', () => {
    fc.assert(fc.property(fc.oneof(u32, nearWrap), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 30 }), fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 30 }), (start, batches, budgets) => {
      const v = page();
      const s = new SharedRing(v, NetifTxRing);
      SHARED_RING_INIT(s);
      s.req_prod = s.rsp_prod = start;
      s.req_event = s.rsp_event = (start + 1) >>> 0;
      const f = FRONT_RING_ATTACH(s, start);
      const b = BACK_RING_ATTACH(s, start);
      const req: netif_tx_request_t = NetifTxRing.req.create();
      const rsp: netif_tx_response_t = NetifTxRing.rsp.create();
      let sent = 0, received = 0, answered = 0;
      let backendAwake = false, frontendAwake = false;
      const total = batches.reduce((a, x) => a + x, 0);
      let bi = 0, step = 0;
      while (answered < total && step++ < 10_000) {
        // frontend: push the next batch (as much as fits), consume responses
        if (bi < batches.length) {
          let n = Math.min(batches[bi]!, RING_FREE_REQUESTS(f));
          batches[bi]! -= n;
          if (batches[bi] === 0) bi++;
          while (n--) {
            req.id = sent & 0xffff; req.gref = sent; req.size = 1; req.flags = 0; req.offset = 0;
            ringPutRequest(f, req);
            sent++;
          }
          if (RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(f)) backendAwake = true;
        }
        if (frontendAwake || step === 1) {
          frontendAwake = false;
          for (;;) {
            while (RING_HAS_UNCONSUMED_RESPONSES(f)) {
              RING_COPY_RESPONSE(f, f.rsp_cons, rsp);
              expect(rsp.id).toBe(answered & 0xffff);
              expect(rsp.status).toBe(0);
              f.rsp_cons = (f.rsp_cons + 1) >>> 0;
              answered++;
            }
            if (!RING_FINAL_CHECK_FOR_RESPONSES(f)) break;
          }
        }
        // backend: process up to a budget while awake
        if (backendAwake) {
          let budget = budgets[step % budgets.length]!;
          const prod = s.req_prod;
          expect(requestProducerFault(b, prod)).toBeUndefined();
          while (budget > 0) {
            while (budget > 0 && b.req_cons !== prod && !RING_REQUEST_CONS_OVERFLOW(b, b.req_cons)) {
              RING_COPY_REQUEST(b, b.req_cons, req);
              expect(req.gref).toBe(received);
              b.req_cons = (b.req_cons + 1) >>> 0;
              received++;
              rsp.id = req.id; rsp.status = 0;
              ringPutResponse(b, rsp);
              budget--;
            }
            if (RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(b)) frontendAwake = true;
            if (budget === 0) break; // yield with work left: stay awake
            if (!RING_FINAL_CHECK_FOR_REQUESTS(b)) { backendAwake = false; break; }
            break;
          }
          if (RING_HAS_UNCONSUMED_REQUESTS(b) && !backendAwake) throw new Error('backend slept with requests pending');
        } else if (bi >= batches.length) {
          // nothing more to send: if work is pending the backend must be awake (lost wake-up otherwise)
          expect(RING_HAS_UNCONSUMED_REQUESTS(b)).toBe(0);
        }
        if (!frontendAwake && !backendAwake && bi >= batches.length && answered < total) {
          throw new Error(`both asleep with ${total - answered} unanswered (sent ${sent}, received ${received})`);
        }
      }
      expect(answered).toBe(total);
      expect(s.req_prod).toBe((start + total) >>> 0);
      expect(s.rsp_prod).toBe((start + total) >>> 0);
    }), { numRuns: 300 });
  });
});

describe('ring attach', () => {
  it('FRONT_RING_INIT / BACK_RING_INIT start at 0; XEN_FRONT_RING_INIT also initialises the page', () => {
    const s = new SharedRing(page(), BlkifRing);
    s.req_prod = 9; s.req_event = 9;
    expect([FRONT_RING_INIT(s).req_prod_pvt, BACK_RING_INIT(s).req_cons]).toEqual([0, 0]);
    expect(s.req_prod).toBe(9);
    const f = XEN_FRONT_RING_INIT(s);
    expect([s.req_prod, s.req_event, f.nr_ents]).toEqual([0, 1, 32]);
    expect(RING_GET_REQUEST(f, 1)).toBe(64 + 112);
  });
});
