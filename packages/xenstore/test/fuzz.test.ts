// Issue 8: property tests over every xs_wire message type (known and unknown numbers), arbitrary
// payloads (up to and past XENSTORE_PAYLOAD_MAX, bad or missing NULs), arbitrary req/tx ids and
// sequences across transactions and watches, sent by a socket-style stream connection (dom0 or
// unprivileged) and by a guest's ring. xenstored never fails inside (no internal error), every
// well-framed request gets exactly one reply (unless the connection was dropped for a protocol
// error, as C xenstored drops it), and a victim's view, writes and watch events go on.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  XENSTORE_DOMAIN_INTERFACE as XDI,
  XENSTORE_PAYLOAD_MAX,
  XSD_ERRORS,
  XsType,
} from '@tachyxx/abi';
import { connectLocal, encodeMessage, fromUtf8, introduceRing, ringPageOf, XsConnection, XsDecoder, Xenstored, XsRingFrontend, type XsMessage } from '../src/index.js';

const enc = new TextEncoder();

/** The guest's side of the ring (a mini-OS-style xenbus driver over a plain page). */
const Guest = XsRingFrontend;

/** A byte-stream connection (what a socket client is), decoding its own output. */
class Stream extends XsConnection {
  readonly kind = 'socket' as const;
  readonly received: XsMessage[] = [];
  private readonly rx = new XsDecoder((m) => this.received.push(m));
  readonly decoder: XsDecoder;
  constructor(
    readonly xs: Xenstored,
    domid: number,
  ) {
    super(domid);
    this.decoder = new XsDecoder((m) => xs.handle(this, m));
  }
  protected transmit(): void {
    for (let item = this.shiftOut(); item; item = this.shiftOut()) this.rx.push(item.bytes);
  }
  shutdown(): void {
    this.closed = true;
  }
  feed(bytes: Uint8Array): void {
    const err = this.decoder.push(bytes);
    if (err) this.xs.drop(this, 'protocol error');
  }
}

// ---- Generators ------------------------------------------------------------------------------

const ALL_TYPES = Object.values(XsType);
const anyType = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...ALL_TYPES) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 40 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) },
);
/** Arguments that make sense somewhere, and many that do not. The victim's /victim and domain 6 are not named. */
const word = fc.oneof(
  fc.constantFrom('/', '/a', '/a/b', '/a/b/c', 'rel', 'rel/x', '@introduceDomain', '@releaseDomain', '@other', '/tool/xenstored', '/local/domain/5', '/local/domain/5/data', '/local/domain/7', 'data/x'),
  fc.constantFrom('0', '5', '7', '9', '-1', '-5', '65535', '65536', '4294967295', '4294967296', '99999999999999999999', '0x10', '1e3', ' 1', '+1', '', 'x', '1x'),
  fc.constantFrom('n0', 'r5', 'w7', 'b0', 'n5', 'r-1', 'b65536', 'q1', 'T', 'F', 'check', 'help', 'tok'),
  fc.string({ maxLength: 12 }),
  fc.string({ minLength: 2000, maxLength: 2100 }).map((s) => `/a/${s.replace(/[^A-Za-z0-9]/g, 'z')}`),
);
const structuredPayload = fc
  .tuple(fc.array(word, { maxLength: 5 }), fc.constantFrom('nul', 'nul', 'nul', 'none', 'junk'), fc.string({ maxLength: 6 }))
  .map(([words, end, junk]) => {
    let s = words.join('\0');
    if (end === 'nul' && words.length) s += '\0';
    if (end === 'junk') s += `\0${junk}`;
    return enc.encode(s);
  });
const rawPayload = fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ minLength: 4090, maxLength: 4096 }));
/** Domain ops with domid-like arguments (the class of finding 6: unknown or ring-less domains). */
const DOMAIN_OPS = [XsType.INTRODUCE, XsType.RELEASE, XsType.RESUME, XsType.SET_TARGET, XsType.GET_DOMAIN_PATH, XsType.IS_DOMAIN_INTRODUCED];
const domidWord = fc.constantFrom('0', '5', '7', '9', '-1', '65536', 'x', '', ' 1', '4294967296');
const domainOp = fc.record({
  type: fc.constantFrom(...DOMAIN_OPS),
  payload: fc.tuple(fc.constantFrom(2, 3, 1), domidWord, domidWord, domidWord, fc.integer({ min: 0, max: 3 })).map(([n, a, b, c, nul]) => enc.encode([a, b, c].slice(0, n).join('\0') + (nul ? '\0' : ''))),
});
const typeAndPayload = fc.oneof(
  { weight: 3, arbitrary: fc.record({ type: anyType, payload: fc.oneof({ weight: 4, arbitrary: structuredPayload }, { weight: 1, arbitrary: rawPayload }) }) },
  { weight: 3, arbitrary: domainOp },
);
const request = fc.record({
  tp: typeAndPayload,
  reqId: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 0xffffffff })),
  txId: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) }),
  /** Sometimes a length past the maximum (a protocol error that drops the connection). */
  tooLong: fc.oneof({ weight: 30, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: XENSTORE_PAYLOAD_MAX + 1, max: 0xffffffff }) }),
}).map(({ tp, ...r }) => ({ ...r, ...tp }));
type Req = { type: number; reqId: number; txId: number; payload: Uint8Array; tooLong: number };

/** A header announcing more than XENSTORE_PAYLOAD_MAX: C xenstored drops the connection. */
const overlong = (r: Req) => r.tooLong !== 0 || r.payload.length > XENSTORE_PAYLOAD_MAX;

function frame(r: Req): Uint8Array {
  const m = encodeMessage(r.type, r.reqId, r.txId, r.payload);
  if (r.tooLong) new DataView(m.buffer).setUint32(12, r.tooLong, true);
  return m;
}

// ---- World: a victim dom0 client, a victim guest ring (domain 6), a hostile domain 5 --------

function world() {
  const lines: string[] = [];
  const xs = new Xenstored({ log: (l) => lines.push(l) });
  const victim = connectLocal(xs, 0);
  victim.write('/victim/value', 'v0');
  victim.watch('/victim', 'vt');
  victim.takeEvents();
  for (const d of [5, 6]) {
    victim.mkdir(`/local/domain/${d}`);
    victim.setPerms(`/local/domain/${d}`, [`n${d}`]);
  }
  const g5 = new Guest();
  const ring5 = introduceRing(xs, 5, ringPageOf(g5.page), () => {});
  const g6 = new Guest();
  const ring6 = introduceRing(xs, 6, ringPageOf(g6.page), () => {});
  return { xs, lines, victim, g5, ring5, g6, ring6 };
}

/** The victim still reads, writes and gets its watch events; guest 6's ring still answers. */
function victimFine(w: ReturnType<typeof world>): void {
  expect(w.victim.read('/victim/value')).toBe('v0');
  w.victim.takeEvents();
  w.victim.write('/victim/value', 'v1');
  expect(w.victim.read('/victim/value')).toBe('v1');
  expect(w.victim.takeEvents()).toContainEqual({ path: '/victim/value', token: 'vt' });
  const before = w.g6.received.length;
  w.g6.send(encodeMessage(XsType.WRITE, 77, 0, enc.encode('data/ok\0yes')));
  w.g6.send(encodeMessage(XsType.READ, 78, 0, enc.encode('data/ok\0')));
  w.ring6.processRing();
  w.g6.receive();
  expect(w.g6.received.slice(before).map((m) => [m.reqId, fromUtf8(m.payload)])).toEqual([
    [77, 'OK\0'],
    [78, 'yes'],
  ]);
  expect(w.xs.stats.internalErrors.value).toBe(0);
  expect(w.lines).toEqual([]);
}

/** Exactly one reply per request handled, in order, of the request's type or XS_ERROR with an xsd_errors name. */
function checkReplies(reqs: Req[], got: XsMessage[], dropped: boolean): void {
  const replies = got.filter((m) => m.type !== XsType.WATCH_EVENT);
  const framed = reqs.findIndex(overlong);
  const handled = framed < 0 ? reqs : reqs.slice(0, framed);
  if (!dropped) expect(replies.length).toBe(handled.length);
  else expect(replies.length).toBeLessThanOrEqual(handled.length);
  replies.forEach((m, i) => {
    const r = handled[i]!;
    expect(m.reqId).toBe(r.reqId >>> 0);
    expect(m.txId).toBe(r.txId >>> 0);
    if (m.type === XsType.ERROR) {
      const name = fromUtf8(m.payload);
      expect(name.endsWith('\0')).toBe(true);
      expect(XSD_ERRORS).toContain(name.slice(0, -1));
    } else expect(m.type).toBe(r.type);
    expect(m.payload.length).toBeLessThanOrEqual(XENSTORE_PAYLOAD_MAX);
  });
}

describe('fuzzing every xs_wire message type', () => {
  for (const domid of [0, 5]) {
    it(`from a stream connection of domain ${domid}: one reply each, no internal error, the victim goes on`, () => {
      fc.assert(
        fc.property(fc.array(request, { minLength: 1, maxLength: 40, size: 'medium' }), fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 4 }), (reqs, cuts) => {
          const w = world();
          const s = new Stream(w.xs, domid);
          w.xs.attach(s);
          const bytes = Buffer.concat(reqs.map(frame));
          for (let off = 0, i = 0; off < bytes.length && !s.closed; i++) {
            const n = cuts[i % cuts.length]!;
            s.feed(bytes.subarray(off, off + n));
            off += n;
          }
          const tooLong = reqs.some(overlong);
          expect(s.closed, s.dropReason).toBe(tooLong);
          checkReplies(reqs, s.received, s.closed);
          victimFine(w);
        }),
        { numRuns: Number(process.env.FUZZ_RUNS ?? 250), endOnFailure: !!process.env.FUZZ_NOSHRINK },
      );
    });
  }

  it('from a guest ring (domain 5): one reply each, a bad length drops only that ring, the victim goes on', () => {
    fc.assert(
      fc.property(fc.array(request, { minLength: 1, maxLength: 40, size: 'medium' }), (reqs) => {
        const w = world();
        const bytes = Buffer.concat(reqs.map(frame));
        let off = 0;
        for (let guard = 0; guard < 10_000 && !w.ring5.closed; guard++) {
          off += w.g5.send(bytes.subarray(off));
          w.ring5.processRing();
          w.g5.receive();
          w.ring5.processRing();
          w.g5.receive();
          if (off >= bytes.length && w.g5.u32(XDI.req_cons) === w.g5.u32(XDI.req_prod) && w.ring5.queued === 0) break;
        }
        const tooLong = reqs.some(overlong);
        expect(w.ring5.closed).toBe(tooLong);
        checkReplies(reqs, w.g5.received, w.ring5.closed);
        victimFine(w);
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 200) },
    );
  });

  it('hostile ring indexes of domain 5 close only its connection; the victim and domain 6 go on', () => {
    const idx = fc.constantFrom(XDI.req_cons, XDI.req_prod, XDI.rsp_cons, XDI.rsp_prod);
    fc.assert(
      fc.property(fc.array(fc.tuple(idx, fc.integer({ min: 0, max: 0xffffffff })), { minLength: 1, maxLength: 8 }), fc.array(request, { maxLength: 5 }), (pokes, reqs) => {
        const w = world();
        w.g5.send(encodeMessage(XsType.WATCH, 1, 0, enc.encode('data\0t\0')));
        w.ring5.processRing();
        w.g5.send(Buffer.concat(reqs.map(frame)));
        for (const [o, v] of pokes) {
          w.g5.set(o, v);
          w.ring5.processRing();
          // Events for domain 5 while its indexes are hostile.
          w.victim.write('/local/domain/5/data/poke', String(v));
        }
        if (w.ring5.closed) expect(w.xs.connections.has(w.ring5)).toBe(false);
        victimFine(w);
      }),
      { numRuns: 300 },
    );
  });
});
