import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  XENSTORE_DOMAIN_INTERFACE as XDI,
  XENSTORE_ERROR_PROTO,
  XENSTORE_ERROR_RINGIDX,
  XENSTORE_RECONNECT,
  XENSTORE_RING_SIZE,
  XsType,
} from '@tachyxx/abi';
import { encodeMessage, fromUtf8, introduceRing, nulStrings, ringPageOf, splitStrings, XsRingFrontend } from '../src/index.js';
import { setup } from './helpers.js';

/** The guest's side of the ring (a mini-OS-style xenbus driver over a plain page). */
const Guest = XsRingFrontend;

function attach(domid = 5) {
  const s = setup();
  s.dom0.mkdir(`/local/domain/${domid}`);
  s.dom0.setPerms(`/local/domain/${domid}`, [`n${domid}`]);
  const g = new Guest();
  const conn = introduceRing(s.xs, domid, ringPageOf(g.page), () => g.notified++);
  return { ...s, g, conn };
}

const req = (type: number, id: number, ...args: string[]) => encodeMessage(type, id, 0, nulStrings(...args));

describe('guest ring transport', () => {
  it('advertises its features and serves requests written to the ring', () => {
    const { g, conn } = attach();
    expect(g.u32(XDI.server_features)).toBe(3);
    g.send(encodeMessage(XsType.WRITE, 1, 0, new TextEncoder().encode('data\0hello')));
    g.send(req(XsType.READ, 2, 'data'));
    conn.processRing();
    g.receive();
    expect(g.notified).toBe(1);
    expect(g.received.map((m) => [m.reqId, fromUtf8(m.payload)])).toEqual([
      [1, 'OK\0'],
      [2, 'hello'],
    ]);
  });

  it('reassembles messages split across notifications and ring wrap-around', () => {
    const { g, conn } = attach();
    let id = 0;
    for (let round = 0; round < 300; round++) {
      const m = req(XsType.WRITE, ++id, `k${round % 7}`, 'v'.repeat(round % 50));
      const half = m.length >> 1;
      g.send(m.subarray(0, half));
      conn.processRing();
      g.send(m.subarray(half));
      conn.processRing();
      g.receive();
    }
    expect(g.received).toHaveLength(300);
    expect(g.received.every((m) => m.type === XsType.WRITE)).toBe(true);
  });

  it('holds replies that do not fit until the guest makes room, delivering them in order', () => {
    const { g, conn, dom0 } = attach();
    dom0.write('/local/domain/5/big', 'x'.repeat(3000));
    for (let i = 1; i <= 3; i++) g.send(req(XsType.READ, i, 'big'));
    conn.processRing();
    expect(g.u32(XDI.rsp_prod) - g.u32(XDI.rsp_cons)).toBe(XENSTORE_RING_SIZE);
    for (let i = 0; i < 20 && g.received.length < 3; i++) {
      g.receive();
      conn.processRing();
    }
    expect(g.received.map((m) => [m.reqId, m.payload.length])).toEqual([
      [1, 3000],
      [2, 3000],
      [3, 3000],
    ]);
  });

  it('stops taking requests at 20 outstanding replies (C xenstored quota "outstanding") until the guest reads', () => {
    const { g, conn, dom0, xs } = attach();
    expect(xs.quotas.outstandingPerDomain).toBe(20);
    dom0.write('/local/domain/5/big', 'x'.repeat(3000));
    const before = xs.stats.requests.value;
    let sent = 0;
    const msgs = Array.from({ length: 40 }, (_, i) => req(XsType.READ, i + 1, 'big'));
    const stream = Buffer.concat(msgs);
    sent += g.send(stream);
    conn.processRing();
    expect(xs.stats.requests.value - before).toBe(20);
    expect(conn.queued).toBe(20);
    for (let i = 0; i < 400 && g.received.length < 40; i++) {
      sent += g.send(stream.subarray(sent));
      g.receive();
      conn.processRing();
    }
    expect(g.received.map((m) => m.reqId)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(g.received.every((m) => m.payload.length === 3000)).toBe(true);
  });

  it('delivers watch events caused by other connections and notifies', () => {
    const { g, conn, dom0 } = attach();
    g.send(req(XsType.WATCH, 1, 'device', 'tok'));
    conn.processRing();
    g.receive();
    const before = g.notified;
    dom0.write('/local/domain/5/device/vbd', '');
    expect(g.notified).toBe(before + 1);
    g.receive();
    expect(g.received.filter((m) => m.type === XsType.WATCH_EVENT).map((m) => splitStrings(m.payload))).toEqual([
      ['device', 'tok'],
      ['device/vbd', 'tok'],
    ]);
  });

  it('survives hostile indexes: sets the error field, ignores the guest, others keep working', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(XDI.req_cons, XDI.req_prod, XDI.rsp_cons, XDI.rsp_prod), fc.integer({ min: 0, max: 0xffffffff })), { minLength: 1, maxLength: 6 }), (pokes) => {
        const { g, conn, dom0, xs } = attach();
        g.send(req(XsType.WRITE, 1, 'a', ''));
        for (const [off, v] of pokes) g.set(off, v);
        conn.processRing();
        conn.processRing();
        const reqBad = ((g.u32(XDI.req_prod) - g.u32(XDI.req_cons)) >>> 0) > XENSTORE_RING_SIZE;
        if (conn.ignored) expect([XENSTORE_ERROR_RINGIDX, XENSTORE_ERROR_PROTO]).toContain(g.u32(XDI.error));
        if (reqBad) expect(g.u32(XDI.error)).toBe(XENSTORE_ERROR_RINGIDX);
        if (reqBad) expect(conn.ignored).toBe(true);
        dom0.write('/still', 'ok');
        expect(dom0.read('/still')).toBe('ok');
        expect(xs.entriesOf(0)).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });

  it('drops a guest that announces an oversized message (error PROTO)', () => {
    const { g, conn, xs } = attach();
    const hdr = encodeMessage(XsType.READ, 1, 0, new Uint8Array());
    new DataView(hdr.buffer).setUint32(12, 4097, true);
    g.send(hdr);
    conn.processRing();
    expect(g.u32(XDI.error)).toBe(XENSTORE_ERROR_PROTO);
    expect(conn.closed).toBe(true);
    expect(xs.connections.has(conn)).toBe(false);
    expect(xs.stats.connectionsDropped.value).toBe(1);
  });

  it('resets the connection when the guest asks to reconnect', () => {
    const { g, conn, dom0 } = attach();
    g.send(req(XsType.WATCH, 1, 'x', 't'));
    conn.processRing();
    g.set(XDI.connection, XENSTORE_RECONNECT);
    conn.processRing();
    expect(g.u32(XDI.connection)).toBe(0);
    expect(g.u32(XDI.req_prod) + g.u32(XDI.rsp_prod)).toBe(0);
    expect(conn.watches).toEqual([]);
    dom0.write('/local/domain/5/x', '1');
    expect(g.u32(XDI.rsp_prod)).toBe(0);
  });

  it('release unhooks the guest and fires @releaseDomain', () => {
    const { conn, dom0, xs } = attach();
    dom0.watch('@releaseDomain', 'r');
    dom0.takeEvents();
    dom0.release(5);
    expect(conn.closed).toBe(true);
    expect(xs.domains.has(5)).toBe(false);
    expect(dom0.takeEvents()).toEqual([{ path: '@releaseDomain', token: 'r' }]);
    expect(dom0.getPerms('/local/domain/5')).toEqual(['n0']);
  });
});
