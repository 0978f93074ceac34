// pv-blk (issue 11): hostile frontends against the negotiated features — indirect descriptors
// (bad indirect page grants, segment counts over the advertised maximum, bad indirect_op), ring
// page orders over max-ring-page-order, persistent grant games. Each: an error response or the
// device refused/shut, never a host exception; the victim's disk goes on working.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import {
  BLKIF_OP_DISCARD, BLKIF_OP_INDIRECT, BLKIF_OP_READ, BLKIF_OP_WRITE, BLKIF_OP_WRITE_BARRIER, BLKIF_RSP_ERROR,
  BLKIF_RSP_OKAY, BlkifRequestDiscardCodec, BlkifRequestIndirectCodec, XenbusState,
} from '@tachyxx/abi';
import { MAX_INDIRECT_SEGMENTS, MAX_PERSISTENT_GRANTS } from '@tachyxx/pv-blk';
import { blkHost, DATA_GPA, DATA_REF0, guestDomain, tempDisk, TsBlkFrontend } from '../../packages/pv-blk/test/helpers.js';
import { attackerAndVictim, MiB } from './pvblk-helpers.js';

const IND_GPA = 0x8034_0000; // the attacker's indirect pages (outside its 16 data pages), one per ring slot
const IND_REF = 64;

const setup = attackerAndVictim;

/** Puts an INDIRECT request in the attacker's next slot: segments [gref, first, last] in its indirect page. */
function indirect(a: TsBlkFrontend, o: { op: number; nr?: number; sector?: number; grefs?: number[]; segs?: [number, number, number][] }): void {
  const segs = o.segs ?? [];
  const page = new Uint8Array(4096);
  const dv = new DataView(page.buffer);
  segs.forEach(([g, f, l], i) => { dv.setUint32(i * 8, g, true); page[i * 8 + 4] = f; page[i * 8 + 5] = l; });
  // Slot k's indirect page is IND_GPA + k pages, granted read-only to dom0 as ref IND_REF + k.
  const k = a.prod & 31;
  a.d.access.write(IND_GPA + k * 4096, page);
  a.h.gnt.grantForeignAccess(a.d.domid, IND_REF + k, 0, IND_GPA / 4096 + k, true);
  const q = BlkifRequestIndirectCodec.create();
  Object.assign(q, { operation: BLKIF_OP_INDIRECT, indirect_op: o.op, nr_segments: o.nr ?? segs.length, id_lo: a.prod, sector_number: o.sector ?? 0 });
  q.indirect_grefs.set(o.grefs ?? [IND_REF + k]);
  const slot = new DataView(new ArrayBuffer(112));
  BlkifRequestIndirectCodec.write(slot, 0, q);
  a.putRaw(a.prod, new Uint8Array(slot.buffer));
  a.prod = (a.prod + 1) >>> 0;
}

describe('pv-blk hostile: indirect descriptors', () => {
  it('bad indirect page grants, segment counts over the maximum, a bad indirect_op: ERROR; a good one works', async () => {
    const { h, a, victim, attackerPath, victimWorks } = setup();
    const before = readFileSync(attackerPath);
    expect(h.gnt.grantForeignAccess(a.d.domid, 41, victim.domid, IND_GPA / 4096)).toBe(0); // granted to the victim, not dom0
    const full = Array.from({ length: 16 }, (_, i) => [DATA_REF0 + i, 0, 7] as [number, number, number]);
    indirect(a, { op: BLKIF_OP_WRITE, segs: full, grefs: [999] }); // an indirect page the attacker never granted
    indirect(a, { op: BLKIF_OP_WRITE, segs: full, grefs: [41] }); // granted to someone else
    indirect(a, { op: BLKIF_OP_WRITE, segs: full, nr: MAX_INDIRECT_SEGMENTS + 1 }); // over feature-max-indirect-segments
    indirect(a, { op: BLKIF_OP_WRITE, segs: full, nr: 0xffff });
    indirect(a, { op: BLKIF_OP_WRITE, segs: full, nr: 0 });
    indirect(a, { op: BLKIF_OP_WRITE_BARRIER, segs: full }); // only READ and WRITE travel indirectly
    indirect(a, { op: BLKIF_OP_INDIRECT, segs: full });
    indirect(a, { op: BLKIF_OP_WRITE, segs: [...full.slice(0, 15), [DATA_REF0, 3, 9]] }); // last_sect 9 in the page
    indirect(a, { op: BLKIF_OP_WRITE, segs: [...full.slice(0, 15), [DATA_REF0, 5, 4]] });
    indirect(a, { op: BLKIF_OP_WRITE, segs: [...full.slice(0, 15), [5000, 0, 7]] }); // a data ref not granted
    indirect(a, { op: BLKIF_OP_READ, segs: full, sector: MiB / 512 - 64 }); // past the end
    a.publish(a.prod);
    await h.advance();
    const got = a.take();
    expect(got.map((r) => r.status)).toEqual(Array(11).fill(BLKIF_RSP_ERROR));
    // The response names the indirect_op, as Linux's fail_response does.
    expect(got.map((r) => r.op)).toEqual([1, 1, 1, 1, 1, BLKIF_OP_WRITE_BARRIER, BLKIF_OP_INDIRECT, 1, 1, 1, 0]);
    expect(readFileSync(attackerPath).equals(before)).toBe(true);
    expect(a.backendState()).toBe(XenbusState.Connected);
    // A good one: 16 pages through one indirect page, then read back.
    for (let p = 0; p < 16; p++) a.writeData(p, 0, new Uint8Array(4096).fill(p + 1));
    indirect(a, { op: BLKIF_OP_WRITE, segs: full, sector: 64 });
    a.publish(a.prod);
    await h.advance();
    expect(a.take()).toEqual([{ id: a.prod - 1, op: BLKIF_OP_WRITE, status: BLKIF_RSP_OKAY }]);
    const img = readFileSync(attackerPath);
    for (let p = 0; p < 16; p++) expect(img.subarray(64 * 512 + p * 4096, 64 * 512 + (p + 1) * 4096).every((x) => x === p + 1)).toBe(true);
    expect(await victimWorks()).toBe(true);
  });

  for (const persistent of [false, true]) {
    it(`a 1 MiB INDIRECT request of MAX_INDIRECT_SEGMENTS segments, ${persistent ? 'persistent grants' : 'grant copy'}: written and read whole (past 64 KiB of blkback's buffer)`, async () => {
      const { h, a, attackerPath, victimWorks } = setup({ persistent });
      // 256 segments over the 16 data pages (segment i: all 8 sectors of page i % 16), as
      // blkbench's seqwrite-1m; page p holds p + 1 in every byte.
      const segs = Array.from({ length: MAX_INDIRECT_SEGMENTS }, (_, i) => [DATA_REF0 + (i % 16), 0, 7] as [number, number, number]);
      for (let p = 0; p < 16; p++) a.writeData(p, 0, new Uint8Array(4096).fill(p + 1));
      indirect(a, { op: BLKIF_OP_WRITE, segs, sector: 0 });
      a.publish(a.prod);
      await h.advance();
      expect(a.take()).toEqual([{ id: a.prod - 1, op: BLKIF_OP_WRITE, status: BLKIF_RSP_OKAY }]);
      const img = readFileSync(attackerPath);
      expect(img.length).toBe(MiB);
      for (let i = 0; i < MAX_INDIRECT_SEGMENTS; i++) expect(img.subarray(i * 4096, (i + 1) * 4096).every((x) => x === (i % 16) + 1), `segment ${i}`).toBe(true);
      // Read it back through the same pages, after changing the file's last 16 pages: segments
      // are copied in order, so page p ends with segment 240 + p's data.
      const fresh = Buffer.alloc(16 * 4096);
      for (let p = 0; p < 16; p++) fresh.fill(0xa0 + p, p * 4096, (p + 1) * 4096);
      indirect(a, { op: BLKIF_OP_WRITE, segs: segs.slice(0, 16).map(([g]) => [g, 0, 7] as [number, number, number]), sector: 240 * 8 });
      for (let p = 0; p < 16; p++) a.writeData(p, 0, fresh.subarray(p * 4096, (p + 1) * 4096));
      a.publish(a.prod);
      await h.advance();
      expect(a.take().map((r) => r.status)).toEqual([BLKIF_RSP_OKAY]);
      for (let p = 0; p < 16; p++) a.writeData(p, 0, new Uint8Array(4096));
      indirect(a, { op: BLKIF_OP_READ, segs, sector: 0 });
      a.publish(a.prod);
      await h.advance();
      expect(a.take()).toEqual([{ id: a.prod - 1, op: BLKIF_OP_READ, status: BLKIF_RSP_OKAY }]);
      for (let p = 0; p < 16; p++) expect(a.readData(p, 0, 4096).every((x) => x === 0xa0 + p), `page ${p}`).toBe(true);
      expect(await victimWorks()).toBe(true);
    });
  }

  it('a device that offers no indirect segments answers INDIRECT with EOPNOTSUPP', async () => {
    const h = blkHost({ maxIndirectSegments: 0 });
    const f = new TsBlkFrontend(h, guestDomain(h, 'g')).add({ target: tempDisk(MiB) });
    f.connect();
    expect(h.dom0xs.tryRead(`${f.backendDir()}/feature-max-indirect-segments`)).toBeUndefined();
    indirect(f, { op: BLKIF_OP_READ, segs: [[DATA_REF0, 0, 7]] });
    f.publish(f.prod);
    await h.advance();
    expect(f.take().map((r) => r.status)).toEqual([-2]);
  });
});

describe('pv-blk hostile: multi-page rings', () => {
  async function ringOrder(nodes: Record<string, string>) {
    const { h, a, victimWorks } = setup();
    // Re-open the attacker's device with the given ring nodes.
    a.setState(XenbusState.Closed);
    a.setState(XenbusState.Initialising);
    a.xs.transaction((tx) => {
      a.xs.rm(`${a.dir}/ring-ref`, tx);
      for (const [k, v] of Object.entries(nodes)) a.xs.write(`${a.dir}/${k}`, v, tx);
      a.xs.write(`${a.dir}/state`, String(XenbusState.Initialised), tx);
    });
    h.settle();
    return { h, a, victimWorks };
  }

  it('a ring-page-order over max-ring-page-order: the device is refused with xenbus_dev_fatal\'s record, the victim goes on', async () => {
    const refs = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`ring-ref${i}`, String(8)]));
    const { h, a, victimWorks } = await ringOrder({ 'ring-page-order': '5', ...refs });
    expect(h.dom0xs.read(`${a.backendDir()}/max-ring-page-order`)).toBe('4');
    expect(a.backendState()).toBe(XenbusState.Closing);
    expect(h.dom0xs.read(`/local/domain/0/error/backend/vbd/${a.d.domid}/51712/error`)).toMatch(/^22 .*request 5 ring page order exceed max:4/);
    expect(h.dom0Maps()).toBe(1); // only the victim's ring
    expect(await victimWorks()).toBe(true);
  });

  it('a missing ring-ref%u, a non-number order, a ring page not granted: refused, nothing left mapped', async () => {
    for (const nodes of [
      { 'ring-page-order': '1', 'ring-ref0': '8' } as Record<string, string>,
      { 'ring-page-order': 'two', 'ring-ref0': '8', 'ring-ref1': '8' },
      { 'ring-page-order': '1', 'ring-ref0': '8', 'ring-ref1': '4242' },
    ]) {
      const { h, a, victimWorks } = await ringOrder(nodes);
      expect(a.backendState(), JSON.stringify(nodes)).toBe(XenbusState.Closing);
      expect(h.dom0Maps()).toBe(1);
      expect(await victimWorks()).toBe(true);
    }
  });
});

describe('pv-blk hostile: multi-queue', () => {
  async function queues(nodes: Record<string, string>) {
    const { h, a, victimWorks } = setup();
    a.setState(XenbusState.Closed);
    a.setState(XenbusState.Initialising);
    a.xs.transaction((tx) => {
      a.xs.rm(`${a.dir}/ring-ref`, tx);
      a.xs.rm(`${a.dir}/event-channel`, tx);
      for (const [k, v] of Object.entries(nodes)) a.xs.write(`${a.dir}/${k}`, v, tx);
      a.xs.write(`${a.dir}/state`, String(XenbusState.Initialised), tx);
    });
    h.settle();
    return { h, a, victimWorks };
  }

  it('more queues than multi-queue-max-queues, 0 queues, a queue without its ring or event channel: refused, nothing left mapped', async () => {
    const port = (a: TsBlkFrontend) => String(a.port);
    for (const [nodes, why] of [
      [{ 'multi-queue-num-queues': '5', 'queue-0/ring-ref': '8', 'queue-0/event-channel': 'P' }, /^38 guest requested 5 queues, exceeding the maximum of 4\./],
      [{ 'multi-queue-num-queues': '0', 'queue-0/ring-ref': '8', 'queue-0/event-channel': 'P' }, /^38 guest requested 0 queues/],
      [{ 'multi-queue-num-queues': '2', 'queue-0/ring-ref': '8', 'queue-0/event-channel': 'P', 'queue-1/event-channel': 'P' }, /^22 reading .*queue-1\/ring-ref/],
      [{ 'multi-queue-num-queues': '2', 'queue-0/ring-ref': '8', 'queue-0/event-channel': 'P', 'queue-1/ring-ref': '8' }, /^22 reading .*queue-1\/event-channel/],
    ] as [Record<string, string>, RegExp][]) {
      const { h, a, victimWorks } = await queues({});
      a.setState(XenbusState.Closed);
      a.setState(XenbusState.Initialising);
      a.xs.transaction((tx) => {
        for (const [k, v] of Object.entries(nodes)) a.xs.write(`${a.dir}/${k}`, v === 'P' ? port(a) : v, tx);
        a.xs.write(`${a.dir}/state`, String(XenbusState.Initialised), tx);
      });
      h.settle();
      expect(a.backendState(), JSON.stringify(nodes)).toBe(XenbusState.Closing);
      expect(h.dom0xs.read(`/local/domain/0/error/backend/vbd/${a.d.domid}/51712/error`)).toMatch(why);
      expect(h.dom0Maps()).toBe(1);
      expect(await victimWorks()).toBe(true);
    }
  });
});

describe('pv-blk hostile: persistent grants', () => {
  it('grants stay mapped while connected (the frontend cannot take them back), are unmapped at close, and a read-only one is refused', async () => {
    const { h, a, victimWorks } = setup({ persistent: true });
    a.writeData(0, 0, new Uint8Array(4096).fill(0xa1));
    a.submit({ operation: BLKIF_OP_WRITE, sector_number: 0, segs: [[0, 0, 7]] });
    await h.advance();
    expect(a.take().map((r) => r.status)).toEqual([0]);
    expect(h.dom0Maps()).toBe(3); // two rings + the attacker's persistent grant
    // The frontend tries to revoke the grant and point the ref at another frame: the entry is
    // in use (GTF_writing/reading), so ending it fails; the mapping stays on the first frame.
    expect(h.gnt.endForeignAccess(a.d.domid, DATA_REF0)).toBe(false);
    expect(h.gnt.grantForeignAccess(a.d.domid, DATA_REF0, 0, DATA_GPA / 4096 + 5)).toBe(0);
    a.writeData(0, 0, new Uint8Array(4096).fill(0xb2));
    a.writeData(5, 0, new Uint8Array(4096).fill(0xc3));
    a.submit({ operation: BLKIF_OP_WRITE, sector_number: 8, segs: [[0, 0, 7]] });
    await h.advance();
    expect(a.take().map((r) => r.status)).toEqual([0]);
    // Either frame's data is the frontend's own; what matters is that it was granted to dom0.
    const img = readFileSync(a.h.dom0xs.read(`${a.backendDir()}/params`));
    expect([0xb2, 0xc3]).toContain(img[8 * 512]);
    // A read-only grant cannot be a persistent grant (Linux maps them read-write): ERROR.
    expect(h.gnt.grantForeignAccess(a.d.domid, 50, 0, DATA_GPA / 4096 + 6, true)).toBe(0);
    a.submit({ operation: BLKIF_OP_WRITE, sector_number: 16, seg: [{ gref: 50, first_sect: 0, last_sect: 7 }], nr_segments: 1 });
    await h.advance();
    expect(a.take().map((r) => r.status)).toEqual([BLKIF_RSP_ERROR]);
    // Close: the persistent mapping goes with the ring; the frontend can end its grants again.
    a.setState(XenbusState.Closing);
    a.setState(XenbusState.Closed);
    expect(h.dom0Maps()).toBe(1);
    expect(h.gnt.endForeignAccess(a.d.domid, DATA_REF0)).toBe(true);
    expect(await victimWorks()).toBe(true);
  });

  it(`more distinct refs than MAX_PERSISTENT_GRANTS (${MAX_PERSISTENT_GRANTS}): the rest go by grant copy, all correct`, async () => {
    const { h, a } = setup({ persistent: true });
    const n = MAX_PERSISTENT_GRANTS + 40;
    for (let i = 0; i < n; i++) expect(h.gnt.grantForeignAccess(a.d.domid, 100 + i, 0, DATA_GPA / 4096 + (i % 16))).toBe(0);
    for (let p = 0; p < 16; p++) a.writeData(p, 0, new Uint8Array(4096).fill(p + 1));
    for (let i = 0; i < n; i += 11) {
      const segs = Array.from({ length: Math.min(11, n - i) }, (_, k) => ({ gref: 100 + i + k, first_sect: 0, last_sect: 0 }));
      a.submit({ operation: BLKIF_OP_WRITE, sector_number: (i % 1000), seg: segs, nr_segments: segs.length });
      await h.advance();
      expect(a.take().map((r) => r.status)).toEqual([0]);
    }
    const st = h.host.stats.lookup(`host.pv-blk.d${a.d.domid}-51712.persistentMaps`) as { value: number };
    expect(st.value).toBe(MAX_PERSISTENT_GRANTS);
    expect(h.dom0Maps()).toBe(2 + MAX_PERSISTENT_GRANTS);
    a.setState(XenbusState.Closing);
    a.setState(XenbusState.Closed);
    expect(h.dom0Maps()).toBe(1);
  });
});

describe('pv-blk hostile: discard', () => {
  function discard(a: TsBlkFrontend, sector: number, nr: number, flag = 0): void {
    const q = BlkifRequestDiscardCodec.create();
    Object.assign(q, { operation: BLKIF_OP_DISCARD, flag, id_lo: a.prod, sector_number: sector, nr_sectors: nr });
    const slot = new DataView(new ArrayBuffer(112));
    BlkifRequestDiscardCodec.write(slot, 0, q);
    a.putRaw(a.prod, new Uint8Array(slot.buffer));
    a.prod = (a.prod + 1) >>> 0;
  }

  it('past the end, wrapping, secure, on a read-only disk: ERROR/EOPNOTSUPP; a good one punches a hole', async () => {
    const { h, a, attackerPath, victimWorks } = setup();
    a.writeData(0, 0, new Uint8Array(4096).fill(0x5c));
    a.submit({ operation: BLKIF_OP_WRITE, sector_number: 16, segs: [[0, 0, 7]] });
    await h.advance();
    a.take();
    discard(a, MiB / 512 - 4, 8);
    discard(a, 2 ** 53, 2 ** 53);
    discard(a, 8, MiB / 512); // 8 sectors past the end
    discard(a, 16, 8, 1); // BLKIF_DISCARD_SECURE: not offered
    discard(a, 16, 8);
    a.publish(a.prod);
    await h.advance();
    expect(a.take().map((r) => [r.op, r.status])).toEqual([[5, -1], [5, -1], [5, -1], [5, -2], [5, 0]]);
    expect(readFileSync(attackerPath).subarray(16 * 512, 24 * 512).every((x) => x === 0)).toBe(true);
    // Read-only disk: no feature-discard, and a DISCARD is EOPNOTSUPP.
    const ro = new TsBlkFrontend(h, guestDomain(h, 'ro')).add({ target: tempDisk(MiB, (b) => b.fill(9)), access: 'r' });
    ro.connect();
    discard(ro, 0, 8);
    ro.publish(ro.prod);
    await h.advance();
    expect(ro.take().map((r) => r.status)).toEqual([-2]);
    expect(await victimWorks()).toBe(true);
  });
});
