/**
 * blkback: dom0's backend for `vbd` devices, Xen's blkif protocol (xen/include/public/io/blkif.h)
 * as Linux's drivers/block/xen-blkback runs it, over a raw image file.
 *
 * One request at a time is copied out of the ring (RING_COPY_REQUEST, in GrantBackRing) and only
 * then validated, as dispatch_rw_block_io / vbd_translate do:
 *   - nr_segments 0 (except FLUSH_DISKCACHE) or > BLKIF_MAX_SEGMENTS_PER_REQUEST -> BLKIF_RSP_ERROR
 *   - a segment with last_sect >= 8 (XEN_PAGE_SIZE >> 9) or last_sect < first_sect -> BLKIF_RSP_ERROR
 *   - sector_number + sectors past `sectors` (or wrapping) -> BLKIF_RSP_ERROR
 *   - anything but READ on a read-only disk -> BLKIF_RSP_ERROR (vbd_translate's -EACCES)
 *   - an op not implemented (DISCARD, INDIRECT, RESERVED_1, unknown) -> BLKIF_RSP_EOPNOTSUPP
 *     (dispatch_other_io / dispatch_discard_io without feature-discard)
 *   - a grant copy that fails (a ref not granted to dom0, read-only for a READ) -> BLKIF_RSP_ERROR
 * Data moves only by grant copy (GNTTABOP_copy) between the frontend's granted pages and a backend
 * buffer: the backend never touches a frame the frontend did not grant to it.
 *
 * Durability: the file I/O of a request (pread/pwrite, fdatasync for FLUSH_DISKCACHE and
 * WRITE_BARRIER) is done, synchronously, when the request is taken off the ring; its response is
 * written into the ring later, at a simulated completion time from the cost table, by a host
 * event. So a WRITE is never acknowledged before its data is in the file, nor a flush before
 * fdatasync returned. Completions are FIFO per device (a single-queue device model), so a
 * WRITE_BARRIER completes after every earlier request, as blkif.h requires.
 */
import { closeSync, fdatasyncSync, fstatSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import {
  BLKIF_MAX_SEGMENTS_PER_REQUEST, BLKIF_OP_FLUSH_DISKCACHE, BLKIF_OP_READ, BLKIF_OP_WRITE, BLKIF_OP_WRITE_BARRIER,
  BLKIF_RSP_EOPNOTSUPP, BLKIF_RSP_ERROR, BLKIF_RSP_OKAY, BlkbackKeys, BlkifRequestCodec, BlkifResponseCodec, BlkifRing,
  Errno, Gntst, VDISK_READONLY, type blkif_request_t, type blkif_response_t,
} from '@tachyxx/abi';
import { defineTopic, SimEvent, StatGroup, type EventBus } from '@tachyxx/core';
import type { GrantTables } from '@tachyxx/grant';
import type { XsClient } from '@tachyxx/xenstore';
import type { Backend, BackendHost, GrantBackRing, XenbusDevice } from '@tachyxx/xenbus';

/** blkif sectors are always 512 bytes (no feature-large-sector-size here). */
export const SECTOR_SIZE = 512;
/** Sectors in one 4 KiB page (XEN_PAGE_SIZE >> 9): a segment's last_sect must be below this. */
export const SECTORS_PER_PAGE = 8;
const PAGE = 4096;

/** Simulated device costs, ns (component costs `pv-blk.*`). */
export interface BlkCosts {
  /** Fixed latency of every request (submission to completion on an idle device). */
  readonly requestNs: number;
  /** Transfer time per KiB of data (READ and WRITE segments). */
  readonly perKiBNs: number;
  /** Extra time of a cache flush (FLUSH_DISKCACHE, WRITE_BARRIER). */
  readonly flushNs: number;
}

/** An SSD-like default (a model, not a measurement): 20 us per request, ~2 GB/s, 100 us a flush. */
export const DEFAULT_BLK_COSTS: BlkCosts = Object.freeze({ requestNs: 20_000, perKiBNs: 500, flushNs: 100_000 });

/** One completed vbd request, published at its simulated completion time. */
export interface BlkCompleteEvent {
  readonly time: number;
  readonly domid: number;
  readonly devid: number;
  readonly operation: number;
  /** BLKIF_RSP_*. */
  readonly status: number;
  /** Simulated ns from the request being taken off the ring to its response. */
  readonly latencyNs: number;
}
/** `pv-blk.complete`: every response blkback writes (only built when someone listens). */
export const BLK_COMPLETE = defineTopic<BlkCompleteEvent>('pv-blk.complete');

/** Per-vbd counters (`host.pv-blk.d<domid>-<devid>`). Monotonic. */
export class VbdStats extends StatGroup {
  readonly reads = this.counter('reads', 'count', 'READ requests completed OKAY');
  readonly writes = this.counter('writes', 'count', 'WRITE requests completed OKAY');
  readonly flushes = this.counter('flushes', 'count', 'FLUSH_DISKCACHE requests completed OKAY (fdatasync)');
  readonly barriers = this.counter('barriers', 'count', 'WRITE_BARRIER requests completed OKAY (fdatasync)');
  readonly bytesRead = this.counter('bytesRead', 'byte', 'bytes read from the disk file');
  readonly bytesWritten = this.counter('bytesWritten', 'byte', 'bytes written to the disk file');
  readonly segments = this.counter('segments', 'count', 'segments transferred');
  readonly errors = this.counter('errors', 'count', 'BLKIF_RSP_ERROR responses');
  readonly unsupported = this.counter('unsupported', 'count', 'BLKIF_RSP_EOPNOTSUPP responses');
  readonly latencyNs = this.counter('latencyNs', 'ns', 'sum of simulated request latencies');
  readonly maxInFlight = this.counter('maxInFlight', 'count', 'most requests in flight at once');
  readonly queueDepth = this.histogram('queueDepth', 'count', 'requests in flight when a request is taken (itself included)', [1, 2, 4, 8, 16, 32]);
  readonly latency = this.histogram('latency', 'ns', 'simulated latency per request', [10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000, 10_000_000]);
}

/** What probe reads from the backend directory. */
interface VbdConfig { path: string; readonly: boolean; sectors: number }

/** One connected vbd: the open file and its FIFO of pending completions. */
class Vbd {
  fd = -1;
  /** Completion FIFO, `ring.nrEnts` slots (never more requests in flight than ring slots). */
  readonly idLo: Uint32Array;
  readonly idHi: Uint32Array;
  readonly op: Uint8Array;
  readonly status: Int16Array;
  readonly start: Float64Array;
  readonly done: Float64Array;
  head = 0;
  count = 0;
  busyUntil = 0;
  readonly event: SimEvent;
  ring: GrantBackRing<blkif_request_t, blkif_response_t> | null = null;
  constructor(readonly cfg: VbdConfig, readonly dev: XenbusDevice, readonly stats: VbdStats, slots: number, complete: (v: Vbd) => void) {
    this.idLo = new Uint32Array(slots);
    this.idHi = new Uint32Array(slots);
    this.op = new Uint8Array(slots);
    this.status = new Int16Array(slots);
    this.start = new Float64Array(slots);
    this.done = new Float64Array(slots);
    this.event = new SimEvent(`pv-blk.d${dev.domid}-${dev.devid}.complete`, () => complete(this));
  }
}

export interface BlkBackendOptions {
  host: Pick<BackendHost, 'clock' | 'queue' | 'stats' | 'log'> & { readonly bus?: EventBus };
  gnt: Pick<GrantTables, 'copy'>;
  costs?: Partial<BlkCosts>;
  /** The domain blkback runs as (default 0). */
  backendDomid?: number;
}

/** The vbd backend. Register it with `XenbusBackends.register`. */
export class BlkBackend implements Backend<blkif_request_t, blkif_response_t> {
  readonly kind = 'vbd' as const;
  readonly ringType = BlkifRing;
  readonly costs: BlkCosts;
  private readonly host: BlkBackendOptions['host'];
  private readonly gnt: BlkBackendOptions['gnt'];
  private readonly as: number;
  private readonly req = BlkifRequestCodec.create();
  private readonly rsp = BlkifResponseCodec.create();
  /** One request's data (11 segments of at most a page); I/O is synchronous, so one buffer serves all. */
  private readonly buf = new Uint8Array(BLKIF_MAX_SEGMENTS_PER_REQUEST * PAGE);
  private readonly statGroups = new Map<string, VbdStats>();
  /** Connected vbds by device. */
  private readonly vbds = new WeakMap<XenbusDevice, Vbd>();
  private queued = 0;

  /** Requests accepted and not yet completed, on every vbd (the host's wake source while > 0). */
  get inFlight(): number {
    return this.queued;
  }

  constructor(o: BlkBackendOptions) {
    this.host = o.host;
    this.gnt = o.gnt;
    this.as = o.backendDomid ?? 0;
    this.costs = Object.freeze({ ...DEFAULT_BLK_COSTS, ...o.costs });
    for (const [k, v] of Object.entries(this.costs)) {
      if (!Number.isFinite(v) || v < 0) throw new RangeError(`pv-blk cost ${k}: ${v} is not a non-negative number of ns`);
    }
  }

  /**
   * The toolstack wrote backend/vbd/D/N: check `params` (the image file) and `mode`, and write what
   * Linux blkback's connect() writes for the features implemented here.
   */
  probe(dev: XenbusDevice, xs: XsClient): number {
    const be = dev.paths.backend;
    const path = xs.tryRead(`${be}/${BlkbackKeys.params}`);
    const mode = xs.tryRead(`${be}/${BlkbackKeys.mode}`);
    if (!path || (mode !== 'r' && mode !== 'w')) {
      this.host.log(`(XEN) blkback: ${dev.nodename}: needs params (an image file) and mode r|w, has params=${path ?? '(none)'} mode=${mode ?? '(none)'}`);
      return -Errno.EINVAL;
    }
    let size: number;
    try {
      const st = statSync(path);
      if (!st.isFile()) throw new Error('not a regular file');
      size = st.size;
    } catch (e) {
      this.host.log(`(XEN) blkback: ${dev.nodename}: ${path}: ${(e as Error).message}`);
      return -Errno.ENOENT;
    }
    const sectors = Math.floor(size / SECTOR_SIZE);
    const ro = mode === 'r';
    dev.data = { path, readonly: ro, sectors } satisfies VbdConfig;
    xs.transaction((tx) => {
      xs.write(`${be}/${BlkbackKeys.sectors}`, String(sectors), tx);
      xs.write(`${be}/${BlkbackKeys.sectorSize}`, String(SECTOR_SIZE), tx);
      xs.write(`${be}/${BlkbackKeys.physicalSectorSize}`, String(SECTOR_SIZE), tx);
      xs.write(`${be}/${BlkbackKeys.info}`, String(ro ? VDISK_READONLY : 0), tx);
      // Flush and barrier only where they mean something: a disk that can be written.
      xs.write(`${be}/${BlkbackKeys.featureFlushCache}`, ro ? '0' : '1', tx);
      xs.write(`${be}/${BlkbackKeys.featureBarrier}`, ro ? '0' : '1', tx);
    });
    return 0;
  }

  connect(dev: XenbusDevice, ring: GrantBackRing<blkif_request_t, blkif_response_t>): number {
    const cfg = dev.data as VbdConfig | undefined;
    if (!cfg) return -Errno.EINVAL;
    const key = `d${dev.domid}-${dev.devid}`;
    let stats = this.statGroups.get(key);
    if (!stats) {
      stats = this.host.stats.mount(`host.pv-blk.${key}`, new VbdStats());
      this.statGroups.set(key, stats);
    }
    const v = new Vbd(cfg, dev, stats, ring.nrEnts, (x) => this.complete(x));
    try {
      v.fd = openSync(cfg.path, cfg.readonly ? 'r' : 'r+');
      // The file may have changed since probe: the disk is never larger than the file now.
      const sectors = Math.floor(fstatSync(v.fd).size / SECTOR_SIZE);
      if (sectors < cfg.sectors) throw new Error(`shrank to ${sectors} sectors since probe (${cfg.sectors})`);
    } catch (e) {
      if (v.fd >= 0) closeSync(v.fd);
      this.host.log(`(XEN) blkback: ${dev.nodename}: opening ${cfg.path}: ${(e as Error).message}`);
      return -Errno.EIO;
    }
    v.ring = ring;
    this.vbds.set(dev, v);
    return 0;
  }

  disconnect(dev: XenbusDevice): void {
    const v = this.vbds.get(dev);
    if (!v) return;
    this.vbds.delete(dev);
    if (v.event.heapIndex >= 0) this.host.queue.cancel(v.event);
    this.queued -= v.count;
    v.count = 0;
    v.ring = null;
    // Work already done stays in the file; responses in flight are dropped with the ring (blkback's
    // xen_blkif_disconnect waits for in-flight I/O: ours has finished already).
    closeSync(v.fd);
    v.fd = -1;
  }

  notify(dev: XenbusDevice, ring: GrantBackRing<blkif_request_t, blkif_response_t>): void {
    const v = this.vbds.get(dev);
    if (!v || v.ring !== ring) return;
    for (;;) {
      let n = ring.available();
      if (n <= 0) return; // -1: a fault (the caller disables the device)
      while (n-- > 0) {
        ring.takeRequest(this.req);
        dev.stats.requests.value++;
        this.submit(v, this.req);
      }
      if (ring.finalCheckForRequests() <= 0) return;
    }
  }

  /** Validates and performs one copied request, and queues its completion. */
  private submit(v: Vbd, r: blkif_request_t): void {
    const op = r.operation;
    let status: number;
    let bytes = 0;
    let flush = false;
    if (op === BLKIF_OP_READ || op === BLKIF_OP_WRITE || op === BLKIF_OP_WRITE_BARRIER || op === BLKIF_OP_FLUSH_DISKCACHE) {
      status = BLKIF_RSP_OKAY;
      const nseg = r.nr_segments;
      // dispatch_rw_block_io: no segments only for a flush; never more than 11.
      if ((nseg === 0 && op !== BLKIF_OP_FLUSH_DISKCACHE) || nseg > BLKIF_MAX_SEGMENTS_PER_REQUEST) status = BLKIF_RSP_ERROR;
      // Barriers and flushes need a writable disk (vbd_translate: operation != READ && readonly).
      else if (op !== BLKIF_OP_READ && v.cfg.readonly) status = BLKIF_RSP_ERROR;
      else {
        let sectors = 0;
        for (let i = 0; i < nseg; i++) {
          const s = r.seg[i]!;
          if (s.last_sect >= SECTORS_PER_PAGE || s.last_sect < s.first_sect) { status = BLKIF_RSP_ERROR; break; }
          sectors += s.last_sect - s.first_sect + 1;
        }
        // vbd_translate: end = sector_number + nr_sects, not wrapping, not past the disk.
        if (status === BLKIF_RSP_OKAY && sectors > 0 && !(r.sector_number + sectors <= v.cfg.sectors)) status = BLKIF_RSP_ERROR;
        if (status === BLKIF_RSP_OKAY) {
          flush = op !== BLKIF_OP_READ && op !== BLKIF_OP_WRITE;
          status = op === BLKIF_OP_READ ? this.doRead(v, r) : this.doWrite(v, r, flush);
          bytes = sectors * SECTOR_SIZE;
        }
      }
    } else {
      // DISCARD without feature-discard, INDIRECT without feature-max-indirect-segments, RESERVED_1,
      // anything else: dispatch_other_io's BLKIF_RSP_EOPNOTSUPP.
      status = BLKIF_RSP_EOPNOTSUPP;
    }
    const st = v.stats;
    if (status === BLKIF_RSP_OKAY) {
      if (op === BLKIF_OP_READ) { st.reads.value++; st.bytesRead.value += bytes; }
      else {
        st.bytesWritten.value += bytes;
        if (op === BLKIF_OP_WRITE) st.writes.value++;
        else if (op === BLKIF_OP_FLUSH_DISKCACHE) st.flushes.value++;
        else st.barriers.value++;
      }
      st.segments.value += r.nr_segments;
    } else if (status === BLKIF_RSP_ERROR) st.errors.value++;
    else st.unsupported.value++;
    // A single-queue device model: FIFO completions, each after the one before.
    const now = this.host.clock.now;
    const c = this.costs;
    const cost = c.requestNs + (bytes / 1024) * c.perKiBNs + (flush && status === BLKIF_RSP_OKAY ? c.flushNs : 0);
    const done = Math.ceil(Math.max(now, v.busyUntil) + cost);
    v.busyUntil = done;
    const slots = v.idLo.length;
    if (v.count >= slots) throw new Error(`pv-blk: ${v.dev.nodename}: more requests in flight than ring slots (${slots})`);
    const i = (v.head + v.count) % slots;
    v.idLo[i] = r.id_lo;
    v.idHi[i] = r.id_hi;
    v.op[i] = op;
    v.status[i] = status;
    v.start[i] = now;
    v.done[i] = done;
    v.count++;
    this.queued++;
    if (v.count > st.maxInFlight.value) st.maxInFlight.value = v.count;
    st.queueDepth.sample(v.count);
    if (v.event.heapIndex < 0) this.host.queue.schedule(v.event, v.done[v.head]!);
  }

  /** READ: pread the sectors, then grant-copy each segment into the frontend's page. */
  private doRead(v: Vbd, r: blkif_request_t): number {
    let total = 0;
    for (let i = 0; i < r.nr_segments; i++) { const s = r.seg[i]!; total += (s.last_sect - s.first_sect + 1) * SECTOR_SIZE; }
    const buf = this.buf;
    try {
      let got = 0;
      const pos = r.sector_number * SECTOR_SIZE;
      while (got < total) {
        const n = readSync(v.fd, buf, got, total - got, pos + got);
        if (n === 0) break; // past the end of a file that shrank: zeros, as a hole reads
        got += n;
      }
      if (got < total) buf.fill(0, got, total);
    } catch (e) {
      this.host.log(`(XEN) blkback: ${v.dev.nodename}: read of ${v.cfg.path}: ${(e as Error).message}`);
      return BLKIF_RSP_ERROR;
    }
    let off = 0;
    for (let i = 0; i < r.nr_segments; i++) {
      const s = r.seg[i]!;
      const len = (s.last_sect - s.first_sect + 1) * SECTOR_SIZE;
      const st = this.gnt.copy([{ source: { buffer: buf, offset: off }, dest: { ref: s.gref, domid: v.dev.domid, offset: s.first_sect * SECTOR_SIZE }, len }], this.as)[0];
      if (st !== Gntst.okay) return BLKIF_RSP_ERROR;
      off += len;
    }
    return BLKIF_RSP_OKAY;
  }

  /** WRITE (and the data of a barrier or flush): grant-copy every segment in, pwrite, fdatasync when `flush`. */
  private doWrite(v: Vbd, r: blkif_request_t, flush: boolean): number {
    let off = 0;
    for (let i = 0; i < r.nr_segments; i++) {
      const s = r.seg[i]!;
      const len = (s.last_sect - s.first_sect + 1) * SECTOR_SIZE;
      const st = this.gnt.copy([{ source: { ref: s.gref, domid: v.dev.domid, offset: s.first_sect * SECTOR_SIZE }, dest: { buffer: this.buf, offset: off }, len }], this.as)[0];
      if (st !== Gntst.okay) return BLKIF_RSP_ERROR;
      off += len;
    }
    try {
      const pos = r.sector_number * SECTOR_SIZE;
      let put = 0;
      while (put < off) put += writeSync(v.fd, this.buf, put, off - put, pos + put);
      // FLUSH_DISKCACHE / WRITE_BARRIER: everything earlier is in the file already (synchronous
      // I/O, FIFO), so one fdatasync after this request's own data is the barrier.
      if (flush) fdatasyncSync(v.fd);
    } catch (e) {
      this.host.log(`(XEN) blkback: ${v.dev.nodename}: write of ${v.cfg.path}: ${(e as Error).message}`);
      return BLKIF_RSP_ERROR;
    }
    return BLKIF_RSP_OKAY;
  }

  /** The completion event: every request due by now gets its response, in order. */
  private complete(v: Vbd): void {
    const ring = v.ring;
    if (!ring || this.vbds.get(v.dev) !== v) return;
    const now = this.host.clock.now;
    const slots = v.idLo.length;
    const rsp = this.rsp;
    let wrote = false;
    while (v.count > 0 && v.done[v.head]! <= now) {
      const i = v.head;
      rsp.id_lo = v.idLo[i]!;
      rsp.id_hi = v.idHi[i]!;
      rsp.operation = v.op[i]!;
      rsp.status = v.status[i]!;
      v.stats.latencyNs.value += v.done[i]! - v.start[i]!;
      v.stats.latency.sample(v.done[i]! - v.start[i]!);
      const bus = this.host.bus;
      if (bus && bus.hasSubscribers(BLK_COMPLETE)) {
        bus.publish(BLK_COMPLETE, { time: now, domid: v.dev.domid, devid: v.dev.devid, operation: rsp.operation, status: rsp.status, latencyNs: v.done[i]! - v.start[i]! });
      }
      v.head = (v.head + 1) % slots;
      v.count--;
      this.queued--;
      if (!ring.putResponse(rsp)) break;
      v.dev.stats.responses.value++;
      wrote = true;
    }
    if (wrote && ring.pushResponses()) v.dev.notifyFrontend();
    if (v.count > 0 && ring.fault === null) this.host.queue.schedule(v.event, v.done[v.head]!);
    // Slots freed: look at the ring again (and let xenbus disable the device on a fault).
    v.dev.retryIn(1);
  }
}

