import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { readFileSync, statSync, truncateSync } from 'node:fs';
import {
  BLKIF_OP_DISCARD, BLKIF_OP_FLUSH_DISKCACHE, BLKIF_OP_INDIRECT, BLKIF_OP_READ, BLKIF_OP_WRITE, BLKIF_OP_WRITE_BARRIER,
  BLKIF_RSP_EOPNOTSUPP, BLKIF_RSP_ERROR, BLKIF_RSP_OKAY, XenbusState,
} from '@tachyxx/abi';
import { addVbd, BLK_COMPLETE, diskSpecFromLibxl, vdevToDevid, type BlkCompleteEvent, type LibxlDiskLike } from '@tachyxx/pv-blk';
import { blkHost, DATA_REF0, guestDomain, request, tempDisk, TsBlkFrontend } from './helpers.js';

const MiB = 1024 * 1024;

function connected(o: { bytes?: number; access?: 'r' | 'w'; fill?: (b: Buffer) => void; backend?: Parameters<typeof blkHost>[0]; persistent?: boolean } = {}) {
  const h = blkHost(o.backend);
  const d = guestDomain(h, 'g1');
  const path = tempDisk(o.bytes ?? MiB, o.fill);
  const f = new TsBlkFrontend(h, d).add({ target: path, access: o.access ?? 'w' });
  f.connect({ persistent: o.persistent });
  expect(f.backendState()).toBe(XenbusState.Connected);
  return { h, d, f, path };
}

const pattern = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7 + (i >> 9)) & 0xff);

describe('blkback: backend keys and toolstack', () => {
  it('writes what Linux blkback writes for what is implemented, and nothing else', async () => {
    const { h, f } = connected({ bytes: 3 * MiB + 1000 });
    const be = f.backendDir();
    const rd = (k: string) => h.dom0xs.tryRead(`${be}/${k}`);
    expect(rd('sectors')).toBe(String(Math.floor((3 * MiB + 1000) / 512)));
    expect(rd('sector-size')).toBe('512');
    expect(rd('physical-sector-size')).toBe('512');
    expect(rd('info')).toBe('0');
    expect(rd('mode')).toBe('w');
    expect(rd('feature-flush-cache')).toBe('1');
    expect(rd('feature-barrier')).toBe('1');
    expect(rd('hotplug-status')).toBe('connected');
    expect(rd('feature-max-indirect-segments')).toBe('256');
    expect(rd('feature-persistent')).toBe('1');
    expect(rd('feature-discard')).toBe('1');
    expect(Number(rd('discard-granularity'))).toBeGreaterThanOrEqual(512);
    expect(rd('discard-alignment')).toBe('0');
    expect(rd('max-ring-page-order')).toBe('4');
    expect(rd('multi-queue-max-queues')).toBe('4');
    expect(rd('discard-secure')).toBeUndefined();
    expect(h.dom0xs.read(`${f.dir}/virtual-device`)).toBe('51712');
  });

  it('discard-enable as libxl writes it (on for a writable disk unless no-discard); 0: no feature-discard', async () => {
    const h = blkHost();
    const d = guestDomain(h, 'g');
    const w = new TsBlkFrontend(h, d).add({ target: tempDisk(MiB), vdev: 'xvda' });
    const r = new TsBlkFrontend(h, d).add({ target: tempDisk(MiB), vdev: 'xvdb', access: 'r' });
    const n = new TsBlkFrontend(h, d).add({ target: tempDisk(MiB), vdev: 'xvdc', discard: false });
    const rd = (f: TsBlkFrontend, k: string) => h.dom0xs.tryRead(`${f.backendDir()}/${k}`);
    expect([rd(w, 'discard-enable'), rd(r, 'discard-enable'), rd(n, 'discard-enable')]).toEqual(['1', '0', '0']);
    expect([rd(w, 'feature-discard'), rd(r, 'feature-discard'), rd(n, 'feature-discard')]).toEqual(['1', undefined, undefined]);
  });

  it('features switched off are not advertised', async () => {
    const { h, f } = connected({ backend: { maxIndirectSegments: 0, persistent: false, discard: false, maxRingPageOrder: 0 } });
    const be = f.backendDir();
    for (const k of ['feature-max-indirect-segments', 'feature-persistent', 'feature-discard', 'discard-granularity', 'max-ring-page-order']) expect(h.dom0xs.tryRead(`${be}/${k}`), k).toBeUndefined();
  });

  it('a read-only disk: info VDISK_READONLY, no flush/barrier', async () => {
    const { h, f } = connected({ access: 'r' });
    const be = f.backendDir();
    expect(h.dom0xs.tryRead(`${be}/feature-discard`)).toBeUndefined();
    expect(h.dom0xs.read(`${be}/info`)).toBe('4');
    expect(h.dom0xs.read(`${be}/mode`)).toBe('r');
    expect(h.dom0xs.read(`${be}/feature-flush-cache`)).toBe('0');
    expect(h.dom0xs.read(`${be}/feature-barrier`)).toBe('0');
  });

  it('vdev numbers per xen-vbd-interface(7)', async () => {
    expect(vdevToDevid('xvda')).toBe(51712);
    expect(vdevToDevid('xvdb')).toBe(51728);
    expect(vdevToDevid('xvdq')).toBe((1 << 28) | (16 << 8));
    expect(vdevToDevid('hda')).toBe(768);
    expect(vdevToDevid('hdc')).toBe(5632);
    expect(vdevToDevid('sdb')).toBe(2064);
    for (const bad of ['xvda1', 'vda', 'hde', 'xvdaa', '']) expect(() => vdevToDevid(bad), bad).toThrow(/vdev/);
  });

  it('refuses non-raw formats and a file opened read-write by two domains', async () => {
    const h = blkHost();
    const a = guestDomain(h, 'a');
    const b = guestDomain(h, 'b');
    const path = tempDisk(MiB);
    expect(() => addVbd(h.dom0xs, a.domid, { target: path, vdev: 'xvda', format: 'qcow2' })).toThrow(/format 'qcow2' is not supported/);
    expect(() => addVbd(h.dom0xs, a.domid, { target: '/nonexistent/x.img', vdev: 'xvda' })).toThrow(/target \/nonexistent\/x.img/);
    addVbd(h.dom0xs, a.domid, { target: path, vdev: 'xvda', access: 'w' });
    expect(() => addVbd(h.dom0xs, b.domid, { target: path, vdev: 'xvda', access: 'r' })).toThrow(/in use by domain/);
    const ro = tempDisk(MiB);
    addVbd(h.dom0xs, a.domid, { target: ro, vdev: 'xvdb', access: 'r' });
    addVbd(h.dom0xs, b.domid, { target: ro, vdev: 'xvdb', access: 'r' }); // shared read-only is fine
    expect(() => addVbd(h.dom0xs, b.domid, { target: ro, vdev: 'xvdc', access: 'w' })).toThrow(/cannot be used read-write/);
  });
});

describe('blkback: I/O', () => {
  it('multi-segment write, flush, read back; responses only at simulated completion; file holds the data', async () => {
    const { h, f, path, d } = connected();
    const data = pattern(11 * 4096, 1);
    for (let p = 0; p < 11; p++) f.writeData(p, 0, data.subarray(p * 4096, (p + 1) * 4096));
    // 11 full pages = 88 sectors at sector 100.
    f.submit({ operation: BLKIF_OP_WRITE, sector_number: 100, segs: Array.from({ length: 11 }, (_, p) => [p, 0, 7] as [number, number, number]) });
    expect(f.take()).toEqual([]); // not yet: completion is a later event
    await h.advance();
    expect(f.take()).toEqual([{ id: 0, op: BLKIF_OP_WRITE, status: BLKIF_RSP_OKAY }]);
    expect(Buffer.from(readFileSync(path).subarray(100 * 512, 100 * 512 + 11 * 4096)).equals(Buffer.from(data))).toBe(true);
    // Partial segments: sectors 2..5 of page 12 -> disk sectors 500..503.
    const part = pattern(4 * 512, 2);
    f.writeData(12, 2 * 512, part);
    f.submit({ operation: BLKIF_OP_WRITE_BARRIER, sector_number: 500, segs: [[12, 2, 5]] }, { operation: BLKIF_OP_FLUSH_DISKCACHE, nr_segments: 0 });
    await h.advance();
    expect(f.take().map((r) => r.status)).toEqual([0, 0]);
    expect(Buffer.from(readFileSync(path).subarray(500 * 512, 504 * 512)).equals(Buffer.from(part))).toBe(true);
    // Read back into other pages.
    for (let p = 0; p < 11; p++) f.writeData(p, 0, new Uint8Array(4096));
    f.submit({ operation: BLKIF_OP_READ, sector_number: 100, segs: Array.from({ length: 11 }, (_, p) => [p, 0, 7] as [number, number, number]) });
    f.submit({ operation: BLKIF_OP_READ, sector_number: 500, segs: [[13, 4, 7]] });
    await h.advance();
    expect(f.take().map((r) => r.status)).toEqual([0, 0]);
    for (let p = 0; p < 11; p++) expect(Buffer.from(f.readData(p, 0, 4096)).equals(Buffer.from(data.subarray(p * 4096, (p + 1) * 4096)))).toBe(true);
    expect(Buffer.from(f.readData(13, 4 * 512, 2048)).equals(Buffer.from(part))).toBe(true);
    const st = (k: string) => (h.host.stats.lookup(`host.pv-blk.d${d.domid}-51712.${k}`) as { value: number }).value;
    expect(st('writes')).toBe(1);
    expect(st('barriers')).toBe(1);
    expect(st('flushes')).toBe(1);
    expect(st('reads')).toBe(2);
    expect(st('bytesWritten')).toBe(11 * 4096 + 2048);
    expect(st('errors')).toBe(0);
    expect(st('latencyNs')).toBeGreaterThan(0);
  });

  it('ssd model: completion times follow the cost table; a flush after everything before it; each completion on the bus', async () => {
    const { h, f, d } = connected();
    const seen: BlkCompleteEvent[] = [];
    h.host.bus.on(BLK_COMPLETE).subscribe((e) => seen.push(e));
    const t0 = h.host.clock.now;
    f.submit({ operation: BLKIF_OP_WRITE, sector_number: 0, segs: [[0, 0, 7]] }, { operation: BLKIF_OP_FLUSH_DISKCACHE });
    const c = h.blk.costs;
    // 4 KiB: the link takes 4 * perKiBNs, less than the request latency.
    const w = c.requestNs;
    const fl = w + c.requestNs + c.flushNs;
    await h.runTo(t0 + w - 1);
    expect(f.take()).toEqual([]);
    await h.runTo(t0 + w);
    expect(f.take().map((r) => r.op)).toEqual([BLKIF_OP_WRITE]);
    await h.runTo(t0 + fl);
    expect(f.take().map((r) => r.op)).toEqual([BLKIF_OP_FLUSH_DISKCACHE]);
    const qd = h.host.stats.lookup(`host.pv-blk.d${d.domid}-51712.queueDepth`) as { dump(): { counts: number[] } };
    expect(qd.dump().counts).toEqual([1, 1, 0, 0, 0, 0, 0, 0]); // depth 1, then 2
    const lat = h.host.stats.lookup(`host.pv-blk.d${d.domid}-51712.latency`) as { dump(): { count: number; max: number } };
    expect(lat.dump()).toMatchObject({ count: 2, max: fl });
    expect(seen).toEqual([
      { time: t0 + w, domid: d.domid, devid: 51712, operation: BLKIF_OP_WRITE, status: 0, latencyNs: w },
      { time: t0 + fl, domid: d.domid, devid: 51712, operation: BLKIF_OP_FLUSH_DISKCACHE, status: 0, latencyNs: fl },
    ]);
  });

  it('ssd model: data is serialised on the link, latencies overlap; ideal: a fixed latency', async () => {
    for (const model of ['ssd', 'ideal'] as const) {
      const { h, f } = connected({ backend: { model } });
      const seen: number[] = [];
      h.host.bus.on(BLK_COMPLETE).subscribe((e) => seen.push(e.latencyNs));
      // Four 11-page (44 KiB) reads at once.
      const segs = Array.from({ length: 11 }, (_, p) => [p, 0, 7] as [number, number, number]);
      f.submit(...[0, 1, 2, 3].map((i) => ({ operation: BLKIF_OP_READ, sector_number: i * 88, segs })));
      await h.advance();
      const c = h.blk.costs;
      const x = 44 * c.perKiBNs;
      expect(seen, model).toEqual(model === 'ideal' ? [c.requestNs, c.requestNs, c.requestNs, c.requestNs]
        : [Math.max(c.requestNs, x), Math.max(c.requestNs, 2 * x), Math.max(c.requestNs, 3 * x), Math.max(c.requestNs, 4 * x)]);
    }
  });

  it('a WRITE is acknowledged only after its host write; a completion due earlier waits (the run says io-wait) and the order stays', async () => {
    // Latency 0: the completion is due at once, before libuv can have finished the pwrite.
    const { h, f, path } = connected({ backend: { model: 'ideal', costs: { requestNs: 0 } } });
    const data = pattern(4096, 5);
    f.writeData(0, 0, data);
    f.submit({ operation: BLKIF_OP_WRITE, sector_number: 8, segs: [[0, 0, 7]] }, { operation: BLKIF_OP_FLUSH_DISKCACHE });
    h.host.queue.runUntil(h.host.clock.now);
    expect(h.host.ioWaiting).toBe(true);
    expect(f.take()).toEqual([]);
    expect(h.blk.inFlight).toBe(2);
    await h.host.ioSettled();
    await h.runTo(h.host.clock.now);
    expect(f.take().map((r) => [r.op, r.status])).toEqual([[BLKIF_OP_WRITE, 0], [BLKIF_OP_FLUSH_DISKCACHE, 0]]);
    expect(Buffer.from(readFileSync(path).subarray(8 * 512, 16 * 512)).equals(Buffer.from(data))).toBe(true);
    expect(h.blk.hostWaits).toBeGreaterThan(0);
  });

  it('a read sees exactly the writes before it, however the host orders its I/O', async () => {
    const { h, f } = connected({ backend: { model: 'ideal', costs: { requestNs: 0 } } });
    for (let round = 0; round < 20; round++) {
      f.writeData(0, 0, new Uint8Array(4096).fill(round));
      f.writeData(1, 0, new Uint8Array(4096).fill(round + 100));
      // write A, read, write B over the same sectors, read: each read sees the write before it.
      f.submit(
        { operation: BLKIF_OP_WRITE, sector_number: 16, segs: [[0, 0, 7]] },
        { operation: BLKIF_OP_READ, sector_number: 16, segs: [[2, 0, 7]] },
        { operation: BLKIF_OP_WRITE, sector_number: 16, segs: [[1, 0, 7]] },
        { operation: BLKIF_OP_READ, sector_number: 16, segs: [[3, 0, 7]] },
      );
      await h.advance();
      expect(f.take().map((r) => r.status)).toEqual([0, 0, 0, 0]);
      expect(f.readData(2, 0, 4096).every((x) => x === round)).toBe(true);
      expect(f.readData(3, 0, 4096).every((x) => x === round + 100)).toBe(true);
    }
  });

  it('bad requests get BLKIF_RSP_ERROR / EOPNOTSUPP and the device keeps working', async () => {
    const { h, f, path, d } = connected({ bytes: MiB });
    const before = readFileSync(path);
    const sectors = MiB / 512;
    const bad: [string, Parameters<typeof request>[0], number][] = [
      ['last_sect 8', { operation: BLKIF_OP_WRITE, sector_number: 0, segs: [[0, 0, 8]] }, BLKIF_RSP_ERROR],
      ['first > last', { operation: BLKIF_OP_READ, sector_number: 0, segs: [[0, 5, 4]] }, BLKIF_RSP_ERROR],
      ['past the end', { operation: BLKIF_OP_READ, sector_number: sectors - 7, segs: [[0, 0, 7]] }, BLKIF_RSP_ERROR],
      ['write past the end', { operation: BLKIF_OP_WRITE, sector_number: sectors, segs: [[0, 0, 0]] }, BLKIF_RSP_ERROR],
      ['2^53 sector', { operation: BLKIF_OP_READ, sector_number: 2 ** 60, segs: [[0, 0, 0]] }, BLKIF_RSP_ERROR],
      ['12 segments', { operation: BLKIF_OP_WRITE, sector_number: 0, nr_segments: 12, segs: [[0, 0, 0]] }, BLKIF_RSP_ERROR],
      ['0 segments read', { operation: BLKIF_OP_READ, sector_number: 0, nr_segments: 0 }, BLKIF_RSP_ERROR],
      ['0 segments barrier', { operation: BLKIF_OP_WRITE_BARRIER, sector_number: 0, nr_segments: 0 }, BLKIF_RSP_ERROR],
      ['ungranted ref', { operation: BLKIF_OP_WRITE, sector_number: 0, seg: [{ gref: 999, first_sect: 0, last_sect: 0 }], nr_segments: 1 }, BLKIF_RSP_ERROR],
      ['ref 0 (unused)', { operation: BLKIF_OP_READ, sector_number: 0, seg: [{ gref: 2, first_sect: 0, last_sect: 0 }], nr_segments: 1 }, BLKIF_RSP_ERROR],
      ['discard, secure', { operation: BLKIF_OP_DISCARD, nr_segments: 1, sector_number: 0 }, BLKIF_RSP_EOPNOTSUPP],
      ['indirect, 0 segments', { operation: BLKIF_OP_INDIRECT, sector_number: 0 }, BLKIF_RSP_ERROR],
      ['op 4', { operation: 4 }, BLKIF_RSP_EOPNOTSUPP],
      ['op 255', { operation: 255 }, BLKIF_RSP_EOPNOTSUPP],
    ];
    const copyErrors = () => (h.gnt.statsJson() as { totals: { copyErrors: number } }).totals.copyErrors;
    const e0 = copyErrors();
    for (const [, r] of bad) f.submit(r);
    await h.advance();
    // Only the two requests with well-formed segments on bad refs reach the grant copy: the rest
    // are refused by validation before any data moves.
    expect(copyErrors() - e0).toBe(2);
    const got = f.take();
    expect(got.map((r) => r.status)).toEqual(bad.map((b) => b[2]));
    expect(got.map((r) => r.id)).toEqual(bad.map((_, i) => i));
    expect(readFileSync(path).equals(before)).toBe(true);
    // Still connected and working.
    expect(f.backendState()).toBe(XenbusState.Connected);
    f.writeData(0, 0, pattern(512, 9));
    f.submit({ operation: BLKIF_OP_WRITE, sector_number: sectors - 1, segs: [[0, 0, 0]] });
    await h.advance();
    expect(f.take().map((r) => r.status)).toEqual([BLKIF_RSP_OKAY]);
    expect(h.host.stats.lookup(`host.pv-blk.d${d.domid}-51712.errors`)).toMatchObject({ value: 11 });
    expect(h.host.stats.lookup(`host.pv-blk.d${d.domid}-51712.unsupported`)).toMatchObject({ value: 3 });
  });

  it('a read-only disk refuses writes, barriers and flushes; reads work', async () => {
    const { h, f, path } = connected({ access: 'r', fill: (b) => b.fill(0xab) });
    f.writeData(0, 0, pattern(4096, 3));
    f.submit(
      { operation: BLKIF_OP_WRITE, sector_number: 0, segs: [[0, 0, 7]] },
      { operation: BLKIF_OP_WRITE_BARRIER, sector_number: 0, segs: [[0, 0, 7]] },
      { operation: BLKIF_OP_FLUSH_DISKCACHE },
      { operation: BLKIF_OP_READ, sector_number: 8, segs: [[1, 0, 7]] },
    );
    await h.advance();
    expect(f.take().map((r) => r.status)).toEqual([BLKIF_RSP_ERROR, BLKIF_RSP_ERROR, BLKIF_RSP_ERROR, BLKIF_RSP_OKAY]);
    expect(f.readData(1, 0, 4096).every((x) => x === 0xab)).toBe(true);
    expect(readFileSync(path).every((x) => x === 0xab)).toBe(true);
  });

  it('a READ into a read-only grant or a grant to another domain is refused', async () => {
    const { h, f, d } = connected();
    const other = guestDomain(h, 'other');
    expect(h.gnt.grantForeignAccess(d.domid, 40, 0, 0x8034_0000 / 4096, true)).toBe(0); // read-only to dom0
    expect(h.gnt.grantForeignAccess(d.domid, 41, other.domid, 0x8034_1000 / 4096)).toBe(0); // to another domain
    expect(h.gnt.grantForeignAccess(other.domid, DATA_REF0, 0, 0x8032_0000 / 4096)).toBe(0); // the other domain's own ref
    f.submit(
      { operation: BLKIF_OP_READ, sector_number: 0, seg: [{ gref: 40, first_sect: 0, last_sect: 7 }], nr_segments: 1 },
      { operation: BLKIF_OP_READ, sector_number: 0, seg: [{ gref: 41, first_sect: 0, last_sect: 7 }], nr_segments: 1 },
      { operation: BLKIF_OP_WRITE, sector_number: 0, seg: [{ gref: 41, first_sect: 0, last_sect: 7 }], nr_segments: 1 },
      { operation: BLKIF_OP_WRITE, sector_number: 0, seg: [{ gref: 40, first_sect: 0, last_sect: 7 }], nr_segments: 1 },
    );
    await h.advance();
    // A read-only grant may be the source of a WRITE (data to disk), never the target of a READ.
    expect(f.take().map((r) => r.status)).toEqual([BLKIF_RSP_ERROR, BLKIF_RSP_ERROR, BLKIF_RSP_ERROR, BLKIF_RSP_OKAY]);
  });

  it('a file that vanished or shrank is refused at connect, not a host exception', async () => {
    const h = blkHost();
    const d = guestDomain(h, 'g');
    const path = tempDisk(MiB);
    const f = new TsBlkFrontend(h, d).add({ target: path });
    truncateSync(path, 4096);
    expect(statSync(path).size).toBe(4096);
    f.connect();
    expect(f.backendState()).toBe(XenbusState.Closing);
    expect(h.log.join('\n')).toMatch(/shrank/);
  });

  it('a wild req_prod disables only that device; in-flight work is dropped with the ring', async () => {
    const { h, f } = connected();
    f.submit({ operation: BLKIF_OP_WRITE, sector_number: 0, segs: [[0, 0, 7]] });
    f.publish(f.prod + 1000);
    await h.advance();
    expect(f.backendState()).toBe(XenbusState.Closing);
    expect(h.dom0Maps()).toBe(0);
    expect(h.log.join('\n')).toMatch(/device disabled/);
  });

  it('closing with requests in flight: nothing delivered afterwards, the file is closed, reconnect works', async () => {
    const { h, f } = connected();
    f.submit({ operation: BLKIF_OP_WRITE, sector_number: 0, segs: [[0, 0, 7]] });
    f.setState(XenbusState.Closing);
    f.setState(XenbusState.Closed);
    await h.advance();
    expect(h.dom0Maps()).toBe(0);
    f.setState(XenbusState.Initialising);
    h.gnt.endForeignAccess(f.d.domid, f.ref);
    for (let i = 0; i < 16; i++) h.gnt.endForeignAccess(f.d.domid, DATA_REF0 + i);
    f.connect();
    expect(f.backendState()).toBe(XenbusState.Connected);
    f.submit({ operation: BLKIF_OP_READ, sector_number: 0, segs: [[1, 0, 7]] });
    await h.advance();
    expect(f.take().map((r) => r.status)).toEqual([0]);
  });
});

describe('blkback: property', () => {
  it('arbitrary request slots never throw; each gets exactly one response, with the status the rules give', async () => {
    const { h, f, path } = connected({ bytes: 64 * 1024, backend: { maxIndirectSegments: 0, discard: false, model: 'ideal' } }); // ideal: one latency, responses in request order
    const sectors = 128;
    const seg = fc.record({ gref: fc.oneof(fc.integer({ min: DATA_REF0, max: DATA_REF0 + 15 }), fc.constantFrom(0, 1, 8, 999, 0xffffffff)), first_sect: fc.integer({ min: 0, max: 255 }), last_sect: fc.integer({ min: 0, max: 255 }) });
    const req = fc.record({
      operation: fc.oneof(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 255 })),
      nr_segments: fc.oneof(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 255 })),
      sector_number: fc.oneof(fc.integer({ min: 0, max: sectors + 8 }), fc.constantFrom(2 ** 53, 2 ** 64 - 512, 2 ** 32)),
      id_lo: fc.nat(0xffffffff), id_hi: fc.nat(0xffffffff),
      seg: fc.array(seg, { minLength: 11, maxLength: 11 }),
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const expected = (r: any): number => {
      const op = r.operation;
      if (op > 3) return BLKIF_RSP_EOPNOTSUPP;
      const n = r.nr_segments;
      if ((n === 0 && op !== BLKIF_OP_FLUSH_DISKCACHE) || n > 11) return BLKIF_RSP_ERROR;
      let s = 0;
      for (let i = 0; i < n; i++) {
        const g = r.seg[i];
        if (g.last_sect > 7 || g.last_sect < g.first_sect) return BLKIF_RSP_ERROR;
        s += g.last_sect - g.first_sect + 1;
      }
      if (s > 0 && r.sector_number + s > sectors) return BLKIF_RSP_ERROR;
      for (let i = 0; i < n; i++) if (r.seg[i].gref < DATA_REF0 || r.seg[i].gref > DATA_REF0 + 15) return BLKIF_RSP_ERROR;
      return BLKIF_RSP_OKAY;
    };
    const copyErrors = () => (h.gnt.statsJson() as { totals: { copyErrors: number } }).totals.copyErrors;
    let e0 = copyErrors();
    await fc.assert(fc.asyncProperty(fc.array(req, { minLength: 1, maxLength: 32 }), async (rs) => {
      for (const r of rs) {
        f.put(f.prod, request(r as never));
        f.prod = (f.prod + 1) >>> 0;
      }
      f.publish(f.prod);
      await h.advance();
      const got = f.take();
      expect(got.length).toBe(rs.length);
      got.forEach((g, i) => {
        expect(g.id).toBe(rs[i]!.id_lo);
        expect(g.op).toBe(rs[i]!.operation);
        expect(g.status).toBe(expected(rs[i]!));
      });
      expect(f.backendState()).toBe(XenbusState.Connected);
      // Validation first: a grant copy is only ever tried for an otherwise valid request, so it
      // fails only on refs the frontend did not grant.
      const bad = rs.filter((r) => expected({ ...r, seg: r.seg.map((g) => ({ ...g, gref: DATA_REF0 })) }) === BLKIF_RSP_OKAY && expected(r) !== BLKIF_RSP_OKAY).length;
      expect(copyErrors() - e0).toBeLessThanOrEqual(bad);
      e0 = copyErrors();
    }), { numRuns: 150, seed: 11 });
    expect(statSync(path).size).toBe(64 * 1024);
  });
});

// libxl_device_disk as @tachyxx/xlcfg's parseDiskSpec returns it (xlcfg's own parse is checked
// against these in tools/test/xl-disk.test.ts: xlcfg depends on the toolstack, which depends on pv-blk).
describe('blkback: libxl disk entries to vbds', () => {
  it('accepts raw phy disks and refuses what pv-blk cannot serve, with the reason', async () => {
    const path = tempDisk(MiB);
    expect(diskSpecFromLibxl({ pdev_path: path, format: 'raw', vdev: 'xvda', readwrite: 1 })).toEqual({ target: path, vdev: 'xvda', access: 'w', format: 'raw' });
    expect(diskSpecFromLibxl({ pdev_path: path, format: 'raw', vdev: 'xvdb', readwrite: 0 })).toEqual({ target: path, vdev: 'xvdb', access: 'r', format: 'raw' });
    expect(diskSpecFromLibxl({ pdev_path: path, backend: 'phy', vdev: 'hda', readwrite: 1 })).toMatchObject({ vdev: 'hda', access: 'w' });
    const refuse = (d: LibxlDiskLike, why: RegExp) => expect(() => {
      const s = diskSpecFromLibxl(d);
      const h = blkHost();
      addVbd(h.dom0xs, guestDomain(h, 'g').domid, s);
    }, JSON.stringify(d)).toThrow(why);
    refuse({ pdev_path: path, format: 'qcow2', vdev: 'xvda', readwrite: 1 }, /format 'qcow2' is not supported/);
    refuse({ pdev_path: path, vdev: 'xvda', is_cdrom: 1 }, /cdrom is not supported/);
    refuse({ pdev_path: path, vdev: 'xvda', backend: 'qdisk' }, /backendtype=qdisk is not supported/);
    refuse({ pdev_path: path, vdev: 'xvda', script: 'block-iscsi' }, /hotplug scripts are not run/);
    refuse({ pdev_path: path, format: 'raw', vdev: 'xvda1', readwrite: 1 }, /vdev 'xvda1'/);
  });

  it('two disks for one domain: separate devices, separate files', async () => {
    const h = blkHost();
    const d = guestDomain(h, 'g');
    const p1 = tempDisk(MiB, (b) => b.fill(1));
    const p2 = tempDisk(2 * MiB, (b) => b.fill(2));
    const a = new TsBlkFrontend(h, d).add({ target: p1, vdev: 'xvda' });
    a.connect();
    const b = new TsBlkFrontend(h, d).add({ target: p2, vdev: 'xvdb', access: 'r' });
    expect(h.dom0xs.read(`${b.backendDir()}/sectors`)).toBe('4096');
    expect(h.dom0xs.read(`${b.backendDir()}/info`)).toBe('4');
    expect(h.backends.device('vbd', d.domid, 51712)).toBeDefined();
    expect(h.backends.device('vbd', d.domid, 51728)).toBeDefined();
    a.submit({ operation: BLKIF_OP_READ, sector_number: 0, segs: [[0, 0, 0]] });
    await h.advance();
    expect(a.take().map((r) => r.status)).toEqual([0]);
    expect(a.readData(0, 0, 512).every((x) => x === 1)).toBe(true);
  });
});
