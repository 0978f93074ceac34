import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { XsType, XSD_ERRORS } from '@tachyxx/abi';
import { encodeMessage, fromUtf8, nulStrings, XsDecoder, XsLocalConnection, type XsMessage } from '../src/index.js';
import { setup } from './helpers.js';

const TYPES = Object.values(XsType);

/** Valid-looking requests: a type, paths and values from a small alphabet, maybe a transaction. */
const validRequest = fc.record({
  type: fc.constantFrom(...TYPES),
  path: fc.oneof(fc.stringMatching(/^\/[a-c]{1,2}(\/[a-c]{1,2}){0,2}$/), fc.constantFrom('/', '@releaseDomain', 'rel', '/tool')),
  value: fc.string({ maxLength: 20 }),
  extra: fc.array(fc.constantFrom('n0', 'r1', 'b2', 'T', 'F', '0', '1', 'tok', ''), { maxLength: 3 }),
  txId: fc.constantFrom(0, 0, 1, 2, 0xffffffff),
});

function payloadOf(r: { type: number; path: string; value: string; extra: string[] }): Uint8Array {
  if (r.type === XsType.WRITE) return new TextEncoder().encode(`${r.path}\0${r.value}`);
  return nulStrings(r.path, ...r.extra);
}

describe('codec', () => {
  it('decodes any split of a message stream into the same messages', () => {
    fc.assert(
      fc.property(fc.array(validRequest, { maxLength: 10 }), fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1 }), (reqs, cuts) => {
        const msgs = reqs.map((r, i) => encodeMessage(r.type, i, r.txId, payloadOf(r)));
        const stream = Buffer.concat(msgs);
        const got: XsMessage[] = [];
        const d = new XsDecoder((m) => got.push(m));
        let off = 0;
        for (let i = 0; off < stream.length; i++) {
          const n = cuts[i % cuts.length]!;
          expect(d.push(stream.subarray(off, off + n))).toBeUndefined();
          off += n;
        }
        expect(got.map((m) => Buffer.from(encodeMessage(m.type, m.reqId, m.txId, m.payload)))).toEqual(msgs.map((m) => Buffer.from(m)));
        expect(d.partialBytes).toBe(0);
      }),
    );
  });

  it('refuses a header with len > 4096 and never buffers more than one message', () => {
    fc.assert(
      fc.property(fc.integer({ min: 4097, max: 0xffffffff }), (len) => {
        const hdr = encodeMessage(XsType.READ, 1, 0, new Uint8Array());
        new DataView(hdr.buffer).setUint32(12, len, true);
        const d = new XsDecoder(() => {});
        expect(d.push(hdr)).toEqual({ kind: 'too-long', len });
        expect(d.push(new Uint8Array(10))).toEqual({ kind: 'too-long', len });
      }),
    );
  });
});

describe('fuzzing xenstored through the codec', () => {
  it('random bytes: replies or a dropped connection, never an exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const { xs, dom0 } = setup();
        const conn = new XsLocalConnection(xs, 0);
        xs.attach(conn);
        const d = new XsDecoder((m) => xs.handle(conn, m));
        if (d.push(bytes)) xs.drop(conn, 'protocol');
        dom0.write('/alive', '1');
        expect(dom0.read('/alive')).toBe('1');
      }),
      { numRuns: 500 },
    );
  });

  it('mutated valid requests from dom0 and a guest: failed ops change nothing, errors are xsd_errors', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(validRequest, fc.constantFrom(0, 3), fc.option(fc.tuple(fc.nat(40), fc.integer({ min: 0, max: 255 })), { nil: undefined })), { minLength: 1, maxLength: 25 }),
        (steps) => {
          const { xs, dom0 } = setup();
          dom0.mkdir('/local/domain/3');
          dom0.setPerms('/local/domain/3', ['n3']);
          const conns = { 0: new XsLocalConnection(xs, 0), 3: new XsLocalConnection(xs, 3) } as Record<number, XsLocalConnection>;
          for (const c of Object.values(conns)) xs.attach(c);
          for (const [r, who, mutation] of steps) {
            const c = conns[who]!;
            let payload = payloadOf(r);
            if (mutation && payload.length) {
              payload = payload.slice();
              payload[mutation[0] % payload.length] = mutation[1];
            }
            const before = JSON.stringify(xs.exportTree());
            const reply = c.request(r.type, payload, r.txId);
            if (reply.type === XsType.ERROR) {
              const name = fromUtf8(reply.payload);
              expect(name.endsWith('\0')).toBe(true);
              expect(XSD_ERRORS).toContain(name.slice(0, -1));
              if (r.type !== XsType.TRANSACTION_END) expect(JSON.stringify(xs.exportTree())).toBe(before);
            } else {
              expect(reply.type).toBe(r.type);
              expect(reply.reqId).toBeGreaterThan(0);
            }
          }
          expect(xs.peek('/')).toBeDefined();
        },
      ),
      { numRuns: 400 },
    );
  });
});
