// pv-net (issue 12 §5): a fast-check property of netback's TX request parser. Random ring contents
// (flags biased towards more_data / extra_info, sizes around the limits, grant refs valid or not,
// offsets near the page end) and a random req_prod are published by an in-process frontend; a
// reference model of Linux's xenvif_tx_build_gops / xenvif_get_extras / xenvif_count_requests
// says what must happen: the vif disabled (fatal), or exactly these responses and this many
// packets forwarded. Nothing may throw, and a fatal vif must not take the host with it.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { NETIF_RSP_ERROR, NETIF_RSP_NULL, NETIF_RSP_OKAY, NETTXF_extra_info, NETTXF_more_data, XenbusState } from '@tachyxx/abi';
import { guestDomain, netHost, TX_PAGES, TX_REF0, TsNetFrontend } from '../../packages/pv-net/test/helpers.js';

interface Slot { gref: number; offset: number; flags: number; id: number; size: number }

/** Linux's TX parse of `slots[0..prod)`: 'fatal', or the responses and the packets forwarded. */
function model(slots: Slot[], prod: number, validRef: (g: number) => boolean): { fatal: boolean; rsp: [number, number][]; packets: number } {
  const rsp: [number, number][] = [];
  let packets = 0;
  let i = 0;
  const fatal = { fatal: true, rsp, packets };
  while (i < prod) {
    let work = prod - i;
    const first = slots[i++]!;
    work--;
    let extras = 0;
    let gso = false;
    let mcast = false;
    if (first.flags & NETTXF_extra_info) {
      let more: number;
      do {
        if (work-- <= 0) return fatal;
        const s = slots[i++]!;
        const type = s.gref & 0xff; // extra_info.type is the slot's first byte
        const eflags = (s.gref >>> 8) & 0xff;
        extras++;
        if (type === 0 || type >= 5) return fatal;
        if (type === 1) gso = true;
        if (type === 2 || type === 3) mcast = true;
        more = eflags & 1;
      } while (more);
    }
    const respond = (id: number, st: number, ex: number) => { rsp.push([id, st]); for (let k = 0; k < ex; k++) rsp.push([0, NETIF_RSP_NULL]); };
    if (mcast) { respond(first.id, NETIF_RSP_ERROR, extras); continue; }
    const frags: Slot[] = [];
    let drop = false;
    let size = first.size;
    if (first.flags & NETTXF_more_data) {
      let more: number;
      do {
        if (frags.length >= work) return fatal;
        if (frags.length >= 20) return fatal;
        if (!drop && frags.length >= 18) drop = true;
        const t = slots[i++]!;
        if (!drop && t.size > size) drop = true;
        size = (size - t.size) & 0xffff;
        frags.push(t);
        if (t.offset + t.size > 4096) return fatal;
        more = t.flags & NETTXF_more_data;
      } while (more);
    }
    const err = () => { respond(first.id, NETIF_RSP_ERROR, extras); for (const f of frags) respond(f.id, NETIF_RSP_ERROR, 0); };
    if (drop) { err(); continue; }
    if (size < 14) { err(); continue; }
    if (first.offset + size > 4096) return fatal;
    if (gso) { err(); continue; }
    const refsOk = (size === 0 || validRef(first.gref)) && frags.every((f) => f.size === 0 || validRef(f.gref));
    if (!refsOk) { err(); continue; }
    respond(first.id, NETIF_RSP_OKAY, extras);
    for (const f of frags) respond(f.id, NETIF_RSP_OKAY, 0);
    packets++;
  }
  return { fatal: false, rsp, packets };
}

const slotArb = fc.record({
  gref: fc.oneof(fc.integer({ min: TX_REF0, max: TX_REF0 + TX_PAGES - 1 }), fc.constantFrom(0, 3, 500, 0x101, 0x201, 0x0102, 0x0004, 0x0005), fc.nat(0xffff_ffff)),
  offset: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 4095 }), fc.constantFrom(4000, 4096 - 14)),
  flags: fc.oneof(fc.constantFrom(0, NETTXF_more_data, NETTXF_extra_info, NETTXF_more_data | NETTXF_extra_info), fc.nat(0xffff)),
  id: fc.nat(0xffff),
  size: fc.oneof(fc.constantFrom(0, 13, 14, 60, 1514, 4096, 0xffff), fc.nat(5000), fc.nat(0xffff)),
});

/** A well-formed chain of `n` slots (the limits live at 18..21), its last more_data bit random. */
const chainArb = fc.tuple(fc.integer({ min: 1, max: 24 }), fc.boolean(), fc.nat(200)).map(([n, openEnd, extra]) =>
  Array.from({ length: n }, (_, i): Slot => ({
    gref: TX_REF0 + (i % TX_PAGES), offset: 0, id: i,
    flags: i < n - 1 || openEnd ? NETTXF_more_data : 0,
    size: i === 0 ? n * 100 + extra : 100,
  })));

/** A closed chain of exactly `n` slots (for the examples at the limits). */
const chain = (n: number, openEnd = false): Slot[] => Array.from({ length: n }, (_, i) => ({
  gref: TX_REF0 + (i % TX_PAGES), offset: 0, id: i, flags: i < n - 1 || openEnd ? NETTXF_more_data : 0, size: i === 0 ? n * 100 : 100,
}));

const ringArb = fc.oneof(
  fc.array(slotArb, { minLength: 1, maxLength: 48 }),
  fc.tuple(chainArb, fc.array(slotArb, { maxLength: 8 }), chainArb).map(([a, b, c]) => [...a, ...b, ...c]),
);

describe('pv-net TX parser: random ring contents against a model of Linux netback', () => {
  it('fatal exactly when the model says so; otherwise the same responses, one per slot, and packets', () => {
    fc.assert(fc.property(ringArb, fc.nat(60), (slots, p) => {
      const prod = Math.min(p, slots.length);
      const h = netHost();
      const f = new TsNetFrontend(h, guestDomain(h, 'fuzz')).add();
      f.connect();
      const other = new TsNetFrontend(h, guestDomain(h, 'other')).add();
      other.connect();
      slots.forEach((s, i) => f.putTx(i, s));
      f.txProd = prod;
      f.publishTx(prod);
      const want = model(slots, prod, (g) => g >= TX_REF0 && g < TX_REF0 + TX_PAGES);
      const st = h.net.vif(f.d.domid, 0)?.stats;
      if (want.fatal) {
        expect(f.backendState()).toBe(XenbusState.Closing);
        expect(h.net.vif(f.d.domid, 0)).toBeUndefined();
      } else {
        expect(f.backendState()).toBe(XenbusState.Connected);
        expect(f.takeTx().map((r) => [r.id, r.status])).toEqual(want.rsp);
        expect(st!.txPackets.value).toBe(want.packets);
      }
      // The other vif and the host go on.
      expect(other.backendState()).toBe(XenbusState.Connected);
      h.advance(1_000_000);
      return true;
    }), {
      numRuns: 300, seed: 12,
      // Always at the limits: 18/19 fragments (accepted/dropped), 20 (dropped), 21 (fatal), a chain past req_prod.
      examples: [[chain(19), 19], [chain(20), 20], [chain(21), 21], [chain(22), 22], [chain(23), 23], [chain(5, true), 5]],
    });
  });
});
