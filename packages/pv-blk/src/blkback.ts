/**
 * blkback: dom0's backend for `vbd` devices, Xen's blkif protocol (xen/include/public/io/blkif.h)
 * as Linux's drivers/block/xen-blkback runs it, over a raw image file.
 *
 * Each request is copied out of its ring slot (RING_COPY_REQUEST, raw bytes: the slot is a union
 * decoded by its operation) and only then validated, as __do_block_io_op / dispatch_rw_block_io /
 * xen_blkbk_parse_indirect / dispatch_discard_io / vbd_translate do:
 *   - nr_segments 0 (except FLUSH_DISKCACHE), > BLKIF_MAX_SEGMENTS_PER_REQUEST, or for INDIRECT
 *     > the advertised feature-max-indirect-segments -> BLKIF_RSP_ERROR
 *   - INDIRECT whose indirect_op is not READ or WRITE -> BLKIF_RSP_ERROR (response op = indirect_op)
 *   - an indirect page that cannot be copied (a ref not granted to dom0) -> BLKIF_RSP_ERROR
 *   - a segment with last_sect >= 8 (XEN_PAGE_SIZE >> 9) or last_sect < first_sect -> BLKIF_RSP_ERROR
 *   - sector_number + sectors past `sectors` (or wrapping) -> BLKIF_RSP_ERROR
 *   - anything but READ on a read-only disk -> BLKIF_RSP_ERROR (vbd_translate's -EACCES)
 *   - DISCARD without feature-discard, or with BLKIF_DISCARD_SECURE -> BLKIF_RSP_EOPNOTSUPP;
 *     RESERVED_1 and unknown ops -> BLKIF_RSP_EOPNOTSUPP (dispatch_other_io)
 *   - a grant copy (or persistent map) that fails -> BLKIF_RSP_ERROR
 * Data moves by grant copy between the frontend's granted pages and a per-request backend buffer,
 * or, with feature-persistent, through grants mapped once and kept (Linux's persistent grants, up
 * to MAX_PERSISTENT_GRANTS per device; beyond that, grant copy as Linux falls back to mapping).
 *
 * Rings: one page or, with ring-page-order, up to 16 (xenbus maps them); one queue or, with
 * multi-queue-num-queues, up to `maxQueues` rings per device (xenbus calls connect per queue).
 *
 * File I/O is asynchronous (node:fs callbacks on libuv's pool), never on the simulation loop, in a
 * bounded queue (`queueDepth` requests accepted off each ring; more wait in the ring).
 * Simulated time stays deterministic: the device model (`ideal` or `ssd`) decides at submission
 * when, in simulated time, a request completes; its completion event delivers the response then.
 * If that host I/O has not finished when the event is due, the event is held back
 * (`EventQueue.holdBack`) and the host's run stops with 'io-wait' until it has: the run then goes
 * on exactly as if it had not stopped. So the same requests give the same responses at the same
 * simulated times and the same stats, whatever the host disk does. A READ's data is copied into the
 * guest at its completion time (not when the host read ends), a WRITE's out of the guest when it
 * is taken off the ring.
 *
 * Host I/O order: a request waits for every earlier one it overlaps when either writes (so a read
 * sees exactly the writes before it), FLUSH_DISKCACHE and WRITE_BARRIER wait for every earlier
 * request, and a WRITE_BARRIER for its own data too; everything after a barrier waits for it.
 *
 * Durability: a WRITE's response says OKAY only after its pwrite returned; FLUSH_DISKCACHE and
 * WRITE_BARRIER only after fdatasync returned (after every earlier request's I/O and the
 * barrier's own data). A completion is never delivered before its host I/O has finished.
 */
import { execFile } from 'node:child_process';
import { close, closeSync, fdatasync, fstatSync, openSync, read, statSync, write } from 'node:fs';
import {
  BLKIF_DISCARD_SECURE, BLKIF_MAX_SEGMENTS_PER_REQUEST, BLKIF_OP_DISCARD, BLKIF_OP_FLUSH_DISKCACHE,
  BLKIF_OP_INDIRECT, BLKIF_OP_READ, BLKIF_OP_WRITE, BLKIF_OP_WRITE_BARRIER, BLKIF_RSP_EOPNOTSUPP,
  BLKIF_RSP_ERROR, BLKIF_RSP_OKAY, BlkbackKeys, BlkfrontKeys, BlkifRequestCodec, BlkifRequestDiscardCodec,
  BlkifRequestIndirectCodec, BlkifResponseCodec, BlkifRing, Errno, Gntst, INDIRECT_PAGES, SEGS_PER_INDIRECT_FRAME,
  VDISK_READONLY, type blkif_request_t, type blkif_response_t,
} from '@tachyxx/abi';
import { defineTopic, SimEvent, StatGroup, type EventBus } from '@tachyxx/core';
import type { CopyOp, ForeignMapping, GrantTables } from '@tachyxx/grant';
import type { XsClient } from '@tachyxx/xenstore';
import { XENBUS_MAX_RING_GRANT_ORDER, type Backend, type BackendHost, type GrantBackRing, type XenbusDevice } from '@tachyxx/xenbus';

/** blkif sectors are always 512 bytes (no feature-large-sector-size here). */
export const SECTOR_SIZE = 512;
/** Sectors in one 4 KiB page (XEN_PAGE_SIZE >> 9): a segment's last_sect must be below this. */
export const SECTORS_PER_PAGE = 8;
const PAGE = 4096;
/**
 * Segments of one indirect request blkback accepts and advertises (Linux xen-blkback's
 * MAX_INDIRECT_SEGMENTS, common.h: 256, i.e. one indirect page of 512 segment slots, half used).
 */
export const MAX_INDIRECT_SEGMENTS = 256;
/** Indirect pages of a request at MAX_INDIRECT_SEGMENTS (Linux's MAX_INDIRECT_PAGES: 1). */
const MAX_INDIRECT_PAGES = Math.ceil(MAX_INDIRECT_SEGMENTS / SEGS_PER_INDIRECT_FRAME);
/** Grants kept mapped per device with feature-persistent (Linux's xen_blkif_max_pgrants default, 1056). */
export const MAX_PERSISTENT_GRANTS = 1056;
/** Requests accepted off the ring per device, at most (the model's queue; `pv-blk.queueDepth`). */
export const DEFAULT_QUEUE_DEPTH = 32;
/** The largest `pv-blk.queueDepth` (the per-device request buffers stay bounded). */
export const MAX_QUEUE_DEPTH = 1024;

/** multi-queue-max-queues offered by default (Linux: xenblk_max_queues = dom0's online CPUs; ours has none: 4). */
export const DEFAULT_MAX_QUEUES = 4;
/** The largest `pv-blk.maxQueues` (ours). */
export const MAX_QUEUES = 16;

/** The device model: when, in simulated time, a request completes. */
export type BlkModel = 'ideal' | 'ssd';
export const BLK_MODELS = ['ideal', 'ssd'] as const;

/** Simulated device costs, ns (component costs `pv-blk.*`). */
export interface BlkCosts {
  /** Latency of every request on an idle device (`ideal`: of every request, nothing else). */
  readonly requestNs: number;
  /** `ssd`: transfer time per KiB of data, serialised on the device's link (~2 GB/s at 500). */
  readonly perKiBNs: number;
  /** `ssd`: extra time of a cache flush (FLUSH_DISKCACHE, WRITE_BARRIER) after everything before it. */
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

/** Per-vbd counters (`host.pv-blk.d<domid>-<devid>`). Monotonic; all of them deterministic. */
export class VbdStats extends StatGroup {
  readonly reads = this.counter('reads', 'count', 'READ requests completed OKAY (indirect ones included)');
  readonly writes = this.counter('writes', 'count', 'WRITE requests completed OKAY (indirect ones included)');
  readonly flushes = this.counter('flushes', 'count', 'FLUSH_DISKCACHE requests completed OKAY (fdatasync)');
  readonly barriers = this.counter('barriers', 'count', 'WRITE_BARRIER requests completed OKAY (fdatasync)');
  readonly discards = this.counter('discards', 'count', 'DISCARD requests completed OKAY (holes punched)');
  readonly indirect = this.counter('indirect', 'count', 'INDIRECT requests completed OKAY');
  readonly bytesRead = this.counter('bytesRead', 'byte', 'bytes read from the disk file');
  readonly bytesWritten = this.counter('bytesWritten', 'byte', 'bytes written to the disk file');
  readonly bytesDiscarded = this.counter('bytesDiscarded', 'byte', 'bytes discarded');
  readonly segments = this.counter('segments', 'count', 'segments transferred');
  readonly persistentMaps = this.counter('persistentMaps', 'count', 'grants mapped and kept (feature-persistent)');
  readonly errors = this.counter('errors', 'count', 'BLKIF_RSP_ERROR responses');
  readonly unsupported = this.counter('unsupported', 'count', 'BLKIF_RSP_EOPNOTSUPP responses');
  readonly latencyNs = this.counter('latencyNs', 'ns', 'sum of simulated request latencies');
  readonly maxInFlight = this.counter('maxInFlight', 'count', 'most requests in flight at once');
  readonly queueDepth = this.histogram('queueDepth', 'count', 'requests in flight when a request is taken (itself included)', [1, 2, 4, 8, 16, 32, 64]);
  readonly latency = this.histogram('latency', 'ns', 'simulated latency per request', [10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000, 10_000_000]);
}

/** What probe reads from the backend directory. */
interface VbdConfig { path: string; readonly: boolean; sectors: number; discard: boolean }

// Host I/O of a request.
const IO_NONE = 0;
const IO_READ = 1;
const IO_WRITE = 2;
const IO_SYNC = 3; // fdatasync only
const IO_WRITE_SYNC = 4; // pwrite, then fdatasync (a barrier with data)
const IO_DISCARD = 5;
// Host I/O state.
const H_NONE = 0;
const H_QUEUED = 1;
const H_RUNNING = 2;
const H_DONE = 3;

/** One accepted request: a reusable slot of its device (nothing allocated per request once warm). */
class BlkReq {
  seq = 0;
  idLo = 0;
  idHi = 0;
  /** The response's operation (the indirect_op of an INDIRECT request, as Linux answers). */
  op = 0;
  indirect = false;
  status = BLKIF_RSP_OKAY;
  start = 0;
  done = 0;
  sector = 0;
  nsect = 0;
  bytes = 0;
  io = IO_NONE;
  /** Writes the disk (a WRITE, a barrier's data, a discard): ordered against overlapping I/O. */
  writes = false;
  /** FLUSH/BARRIER: waits for every earlier request's I/O. */
  fence = false;
  /** BARRIER: every later request's I/O waits for it. */
  barrier = false;
  nseg = 0;
  gref: Uint32Array;
  first: Uint8Array;
  last: Uint8Array;
  buf: Uint8Array = new Uint8Array(0);
  /** `buf`'s pages as views, made when `buf` is (re)allocated: a whole-page segment copies without a new view. */
  pages: Uint8Array[] = [];
  host = H_NONE;
  ioStatus = BLKIF_RSP_OKAY;
  /** Bytes moved by the host I/O so far (pread/pwrite may return short counts). */
  moved = 0;
  waiter: Promise<void> | null = null;
  wake: (() => void) | null = null;
  readonly onRead: (err: NodeJS.ErrnoException | null, n: number) => void;
  readonly onWrite: (err: NodeJS.ErrnoException | null, n: number) => void;
  readonly onSync: (err: NodeJS.ErrnoException | null) => void;
  readonly onDiscard: (err: Error | null) => void;

  constructor(readonly vbd: Vbd, maxSeg: number) {
    this.gref = new Uint32Array(maxSeg);
    this.first = new Uint8Array(maxSeg);
    this.last = new Uint8Array(maxSeg);
    this.onRead = (err, n) => this.vbd.owner.readDone(this, err, n);
    this.onWrite = (err, n) => this.vbd.owner.writeDone(this, err, n);
    this.onSync = (err) => this.vbd.owner.ioFinished(this, err ? `fdatasync: ${err.message}` : null);
    this.onDiscard = (err) => this.vbd.owner.ioFinished(this, err ? `fallocate --punch-hole: ${err.message}` : null);
  }

  buffer(bytes: number): Uint8Array {
    if (this.buf.length < bytes) {
      this.buf = new Uint8Array(Math.max(bytes, BLKIF_MAX_SEGMENTS_PER_REQUEST * PAGE));
      this.pages.length = 0;
      for (let o = 0; o + PAGE <= this.buf.length; o += PAGE) this.pages.push(this.buf.subarray(o, o + PAGE));
    }
    return this.buf;
  }
}

/**
 * One connected vbd: the open file, the host-I/O order across all its queues (so a read sees the
 * writes submitted before it on any queue: deterministic), the device model's state, persistent
 * grants, stats.
 */
class VbdDev {
  fd = -1;
  alive = true;
  /** Submission order across the queues. */
  seq = 0;
  /** Host I/O not finished, in submission order (the issue order's constraints). */
  readonly hostq: BlkReq[] = [];
  /** ssd: when the link is free, the latest completion so far, the end of the last barrier. */
  linkFree = 0;
  lastDone = 0;
  barrierUntil = 0;
  /** The device's queues (rings), by queue number. */
  readonly queues: Vbd[] = [];
  /** feature-persistent: grants mapped once and kept, by ref (shared by the queues, as Linux's per-device tree). */
  readonly persistent: Map<number, ForeignMapping> | null;
  constructor(readonly cfg: VbdConfig, readonly dev: XenbusDevice, readonly stats: VbdStats, persistent: boolean) {
    this.persistent = persistent ? new Map() : null;
  }
}

/** One queue of a vbd: its ring, request slots and completion event. */
class Vbd {
  readonly free: BlkReq[] = [];
  /** Accepted, not yet answered: sorted by (done, seq), the delivery order. */
  readonly pending: BlkReq[] = [];
  readonly event: SimEvent;
  ring: GrantBackRing<blkif_request_t, blkif_response_t> | null = null;
  readonly dev: XenbusDevice;
  constructor(readonly owner: BlkBackend, readonly d: VbdDev, readonly queue: number, depth: number, maxSeg: number) {
    this.dev = d.dev;
    for (let i = 0; i < depth; i++) this.free.push(new BlkReq(this, maxSeg));
    this.event = new SimEvent(`pv-blk.d${d.dev.domid}-${d.dev.devid}.q${queue}.complete`, () => owner.complete(this));
  }
}

export interface BlkBackendOptions {
  host: Pick<BackendHost, 'clock' | 'stats' | 'log'> & {
    readonly queue: BackendHost['queue'] & { holdBack(ev: SimEvent): void };
    waitForIo(pending: Promise<unknown>): void;
    readonly bus?: EventBus;
  };
  gnt: Pick<GrantTables, 'copy' | 'mapForeign' | 'unmapForeign'>;
  costs?: Partial<BlkCosts>;
  /** The device model (default 'ssd'). */
  model?: BlkModel;
  /** Requests accepted off the ring per device (default DEFAULT_QUEUE_DEPTH). */
  queueDepth?: number;
  /** feature-max-indirect-segments (default MAX_INDIRECT_SEGMENTS; 0: INDIRECT not offered, EOPNOTSUPP). */
  maxIndirectSegments?: number;
  /**
   * max-ring-page-order (default XENBUS_MAX_RING_GRANT_ORDER, 4: 16 pages, 512 requests, Linux
   * blkback's default xen_blkif_max_ring_order); 0: one-page rings only, the key not written.
   */
  maxRingPageOrder?: number;
  /** multi-queue-max-queues (default DEFAULT_MAX_QUEUES, 1..MAX_QUEUES): rings a frontend may use per device. */
  maxQueues?: number;
  /** Offer feature-persistent (default true). */
  persistent?: boolean;
  /** Offer feature-discard where the toolstack allows it (default: when `fallocate` can punch holes). */
  discard?: boolean;
  /** The domain blkback runs as (default 0). */
  backendDomid?: number;
  /**
   * Tests: wall milliseconds to hold each host I/O's completion back (a slow or jittery host
   * disk). Nothing guest-visible may change with it: that is what it is for.
   */
  hostIoDelayMs?: () => number;
}

/** Whether util-linux's fallocate(1) is there (Node has no fallocate(2): holes are punched by it). */
function haveFallocate(): boolean {
  for (const d of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    try { if (statSync(`${d}/fallocate`).isFile()) return true; } catch { /* next */ }
  }
  return false;
}

/** A mutable grant-copy side (CopySide's shapes; reused, so a request allocates no op objects). */
interface RefSide { ref: number; domid: number; offset: number }
interface BufSide { buffer: Uint8Array; offset: number }
interface MutableCopyOp { source: RefSide | BufSide; dest: RefSide | BufSide; len: number }
/** One reusable op slot: its op and the two sides it points at. */
interface OpSlot { op: MutableCopyOp; ref: RefSide; buf: BufSide }

/** The vbd backend. Register it with `XenbusBackends.register`. */
export class BlkBackend implements Backend<blkif_request_t, blkif_response_t> {
  readonly kind = 'vbd' as const;
  readonly ringType = BlkifRing;
  readonly costs: BlkCosts;
  readonly model: BlkModel;
  readonly queueDepth: number;
  readonly maxIndirectSegments: number;
  readonly maxRingPageOrder: number | undefined;
  readonly maxQueues: number;
  readonly persistentOffered: boolean;
  readonly discardOffered: boolean;
  /** Times a completion was due before its host I/O had finished (wall-clock dependent: not a stat). */
  hostWaits = 0;
  private readonly host: BlkBackendOptions['host'];
  private readonly gnt: BlkBackendOptions['gnt'];
  private readonly as: number;
  private readonly raw = new Uint8Array(BlkifRing.entrySize);
  private readonly rawView = new DataView(this.raw.buffer);
  private readonly req = BlkifRequestCodec.create();
  private readonly ind = BlkifRequestIndirectCodec.create();
  private readonly dis = BlkifRequestDiscardCodec.create();
  private readonly rsp = BlkifResponseCodec.create();
  private readonly indPage = new Uint8Array(PAGE);
  private readonly indView = new DataView(this.indPage.buffer);
  /** Grant-copy ops, one per segment slot, reused: filled per request, passed as one batch. */
  private readonly ops: OpSlot[] = [];
  private readonly opBatch: MutableCopyOp[] = [];
  /** dom0's xenstore client (the one probe gets): connect reads the frontend's feature nodes. */
  private xs: XsClient | null = null;
  private readonly statGroups = new Map<string, VbdStats>();
  /** Tests: BlkBackendOptions.hostIoDelayMs; may be set on an assembled host's backend before any device connects. */
  hostIoDelayMs: (() => number) | null;
  /** Connected vbds by device, and their queues by ring. */
  private readonly devs = new WeakMap<XenbusDevice, VbdDev>();
  private readonly queues = new WeakMap<GrantBackRing<blkif_request_t, blkif_response_t>, Vbd>();
  private queued = 0;

  /** Requests accepted and not yet answered, on every vbd (the host's wake source while > 0). */
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
    this.model = o.model ?? 'ssd';
    if (!BLK_MODELS.includes(this.model)) throw new RangeError(`pv-blk model '${String(this.model)}': expected ${BLK_MODELS.join(' or ')}`);
    this.queueDepth = o.queueDepth ?? DEFAULT_QUEUE_DEPTH;
    if (!Number.isInteger(this.queueDepth) || this.queueDepth < 1 || this.queueDepth > MAX_QUEUE_DEPTH) throw new RangeError(`pv-blk queueDepth ${this.queueDepth}: expected 1..${MAX_QUEUE_DEPTH}`);
    this.maxIndirectSegments = o.maxIndirectSegments ?? MAX_INDIRECT_SEGMENTS;
    if (!Number.isInteger(this.maxIndirectSegments) || this.maxIndirectSegments < 0 || this.maxIndirectSegments > MAX_INDIRECT_SEGMENTS) {
      throw new RangeError(`pv-blk maxIndirectSegments ${this.maxIndirectSegments}: expected 0..${MAX_INDIRECT_SEGMENTS}`);
    }
    const order = o.maxRingPageOrder ?? XENBUS_MAX_RING_GRANT_ORDER;
    if (!Number.isInteger(order) || order < 0 || order > XENBUS_MAX_RING_GRANT_ORDER) throw new RangeError(`pv-blk maxRingPageOrder ${order}: expected 0..${XENBUS_MAX_RING_GRANT_ORDER}`);
    this.maxRingPageOrder = order > 0 ? order : undefined;
    this.maxQueues = o.maxQueues ?? DEFAULT_MAX_QUEUES;
    if (!Number.isInteger(this.maxQueues) || this.maxQueues < 1 || this.maxQueues > MAX_QUEUES) throw new RangeError(`pv-blk maxQueues ${this.maxQueues}: expected 1..${MAX_QUEUES}`);
    this.persistentOffered = o.persistent ?? true;
    this.discardOffered = o.discard ?? haveFallocate();
    this.hostIoDelayMs = o.hostIoDelayMs ?? null;
    const maxSeg = Math.max(BLKIF_MAX_SEGMENTS_PER_REQUEST, this.maxIndirectSegments);
    for (let i = 0; i < maxSeg; i++) {
      const ref = { ref: 0, domid: 0, offset: 0 };
      const buf = { buffer: this.indPage, offset: 0 };
      this.ops.push({ op: { source: ref, dest: buf, len: 0 }, ref, buf });
    }
  }

  /**
   * The toolstack wrote backend/vbd/D/N: check `params` (the image file) and `mode`, and write what
   * Linux blkback's connect()/xen_blkbk_discard() write for the features implemented here.
   */
  probe(dev: XenbusDevice, xs: XsClient): number {
    this.xs = xs;
    const be = dev.paths.backend;
    const path = xs.tryRead(`${be}/${BlkbackKeys.params}`);
    const mode = xs.tryRead(`${be}/${BlkbackKeys.mode}`);
    if (!path || (mode !== 'r' && mode !== 'w')) {
      this.host.log(`(XEN) blkback: ${dev.nodename}: needs params (an image file) and mode r|w, has params=${path ?? '(none)'} mode=${mode ?? '(none)'}`);
      return -Errno.EINVAL;
    }
    let size: number;
    let blksize: number;
    try {
      const st = statSync(path);
      if (!st.isFile()) throw new Error('not a regular file');
      size = st.size;
      blksize = st.blksize > 0 ? st.blksize : PAGE;
    } catch (e) {
      this.host.log(`(XEN) blkback: ${dev.nodename}: ${path}: ${(e as Error).message}`);
      return -Errno.ENOENT;
    }
    const sectors = Math.floor(size / SECTOR_SIZE);
    const ro = mode === 'r';
    // libxl writes discard-enable (1 unless the disk says no-discard); a read-only disk cannot discard.
    const discard = this.discardOffered && !ro && xs.tryRead(`${be}/${BlkbackKeys.discardEnable}`) !== '0';
    dev.data = { path, readonly: ro, sectors, discard } satisfies VbdConfig;
    xs.transaction((tx) => {
      xs.write(`${be}/${BlkbackKeys.sectors}`, String(sectors), tx);
      xs.write(`${be}/${BlkbackKeys.sectorSize}`, String(SECTOR_SIZE), tx);
      xs.write(`${be}/${BlkbackKeys.physicalSectorSize}`, String(SECTOR_SIZE), tx);
      xs.write(`${be}/${BlkbackKeys.info}`, String(ro ? VDISK_READONLY : 0), tx);
      // Flush and barrier only where they mean something: a disk that can be written.
      xs.write(`${be}/${BlkbackKeys.featureFlushCache}`, ro ? '0' : '1', tx);
      xs.write(`${be}/${BlkbackKeys.featureBarrier}`, ro ? '0' : '1', tx);
      // xen_blkbk_probe: multi-queue-max-queues always (1 when only one ring is served).
      xs.write(`${be}/${BlkbackKeys.multiQueueMaxQueues}`, String(this.maxQueues), tx);
      if (this.maxRingPageOrder !== undefined) xs.write(`${be}/${BlkbackKeys.maxRingPageOrder}`, String(this.maxRingPageOrder), tx);
      if (this.maxIndirectSegments > 0) xs.write(`${be}/${BlkbackKeys.featureMaxIndirectSegments}`, String(this.maxIndirectSegments), tx);
      if (this.persistentOffered) xs.write(`${be}/${BlkbackKeys.featurePersistent}`, '1', tx);
      if (discard) {
        // xen_blkbk_discard: granularity and alignment of the backing store (the file system's block).
        xs.write(`${be}/${BlkbackKeys.discardGranularity}`, String(blksize), tx);
        xs.write(`${be}/${BlkbackKeys.discardAlignment}`, '0', tx);
        xs.write(`${be}/${BlkbackKeys.featureDiscard}`, '1', tx);
      }
    });
    return 0;
  }

  /** Queue `queue` (0 without multi-queue) of `dev` connected: the first one opens the file. */
  connect(dev: XenbusDevice, ring: GrantBackRing<blkif_request_t, blkif_response_t>, queue = 0): number {
    const cfg = dev.data as VbdConfig | undefined;
    if (!cfg) return -Errno.EINVAL;
    let d = this.devs.get(dev);
    if (queue === 0 || !d) {
      if (d) this.disconnect(dev);
      const key = `d${dev.domid}-${dev.devid}`;
      let stats = this.statGroups.get(key);
      if (!stats) {
        stats = this.host.stats.mount(`host.pv-blk.${key}`, new VbdStats());
        this.statGroups.set(key, stats);
      }
      // connect_ring: persistent grants when both ends want them (the frontend's feature-persistent).
      const persistent = this.persistentOffered && this.readFrontend(dev, BlkfrontKeys.featurePersistent) === '1';
      d = new VbdDev(cfg, dev, stats, persistent);
      try {
        d.fd = openSync(cfg.path, cfg.readonly ? 'r' : 'r+');
        // The file may have changed since probe: the disk is never larger than the file now.
        const sectors = Math.floor(fstatSync(d.fd).size / SECTOR_SIZE);
        if (sectors < cfg.sectors) throw new Error(`shrank to ${sectors} sectors since probe (${cfg.sectors})`);
      } catch (e) {
        if (d.fd >= 0) closeSync(d.fd);
        this.host.log(`(XEN) blkback: ${dev.nodename}: opening ${cfg.path}: ${(e as Error).message}`);
        return -Errno.EIO;
      }
      this.devs.set(dev, d);
    }
    const v = new Vbd(this, d, queue, Math.min(this.queueDepth, ring.nrEnts), Math.max(BLKIF_MAX_SEGMENTS_PER_REQUEST, this.maxIndirectSegments));
    v.ring = ring;
    d.queues[queue] = v;
    this.queues.set(ring, v);
    return 0;
  }

  /** The frontend's node `key` (connect_ring reads the frontend's features). */
  private readFrontend(dev: XenbusDevice, key: string): string | undefined {
    return this.xs?.tryRead(`${dev.paths.frontend}/${key}`) ?? undefined;
  }

  disconnect(dev: XenbusDevice): void {
    const d = this.devs.get(dev);
    if (!d) return;
    this.devs.delete(dev);
    d.alive = false;
    // Responses not yet due are dropped with the rings; host I/O already started finishes into
    // the file (xen_blkif_disconnect waits for in-flight I/O), and the file is closed after it.
    for (const v of d.queues) {
      if (!v) continue;
      if (v.event.heapIndex >= 0) this.host.queue.cancel(v.event);
      this.queued -= v.pending.length;
      for (const r of v.pending) if (r.host === H_QUEUED) { r.host = H_DONE; r.wake?.(); }
      v.pending.length = 0;
      if (v.ring) this.queues.delete(v.ring);
      v.ring = null;
    }
    for (let i = d.hostq.length - 1; i >= 0; i--) if (d.hostq[i]!.host === H_DONE) d.hostq.splice(i, 1);
    if (d.persistent) {
      for (const m of d.persistent.values()) this.gnt.unmapForeign(m.handle, this.as);
      d.persistent.clear();
    }
    if (d.hostq.length === 0) this.closeFile(d);
  }

  private closeFile(d: VbdDev): void {
    if (d.fd < 0) return;
    const fd = d.fd;
    d.fd = -1;
    close(fd, () => {});
  }

  notify(dev: XenbusDevice, ring: GrantBackRing<blkif_request_t, blkif_response_t>): void {
    const v = this.queues.get(ring);
    if (!v || v.ring !== ring || this.devs.get(dev) !== v.d) return;
    for (;;) {
      let n = ring.available();
      if (n <= 0) return; // -1: a fault (the caller disables the device)
      while (n-- > 0) {
        // The device's queue is full: the rest waits in the ring (a completion looks again).
        if (v.free.length === 0) return;
        ring.takeRequestBytes(this.raw);
        dev.stats.requests.value++;
        this.submit(v, v.free.pop()!);
      }
      if (ring.finalCheckForRequests() <= 0) return;
    }
  }

  /** Validates the copied request in `this.raw` into slot `r`, starts its I/O, and times its completion. */
  private submit(v: Vbd, r: BlkReq): void {
    const opByte = this.raw[0]!;
    r.seq = v.d.seq++;
    r.indirect = false;
    r.io = IO_NONE;
    r.writes = r.fence = r.barrier = false;
    r.nseg = 0;
    r.nsect = 0;
    r.bytes = 0;
    r.sector = 0;
    r.moved = 0;
    r.host = H_NONE;
    r.ioStatus = BLKIF_RSP_OKAY;
    r.waiter = null;
    r.wake = null;
    r.op = opByte;
    let status: number = BLKIF_RSP_OKAY;
    if (opByte === BLKIF_OP_DISCARD) {
      const d = BlkifRequestDiscardCodec.read(this.rawView, 0, this.dis);
      r.idLo = d.id_lo; r.idHi = d.id_hi;
      status = this.validateDiscard(v, r, d.flag, d.sector_number, d.nr_sectors);
    } else if (opByte === BLKIF_OP_INDIRECT && this.maxIndirectSegments > 0) {
      const q = BlkifRequestIndirectCodec.read(this.rawView, 0, this.ind);
      r.idLo = q.id_lo; r.idHi = q.id_hi;
      r.op = q.indirect_op;
      r.indirect = true;
      status = this.parseIndirect(v, r);
      if (status === BLKIF_RSP_OKAY) status = this.validateRw(v, r, q.indirect_op, q.sector_number);
    } else if (opByte === BLKIF_OP_READ || opByte === BLKIF_OP_WRITE || opByte === BLKIF_OP_WRITE_BARRIER || opByte === BLKIF_OP_FLUSH_DISKCACHE) {
      const q = BlkifRequestCodec.read(this.rawView, 0, this.req);
      r.idLo = q.id_lo; r.idHi = q.id_hi;
      const nseg = q.nr_segments;
      // dispatch_rw_block_io: no segments only for a flush; never more than 11 in the request.
      if ((nseg === 0 && opByte !== BLKIF_OP_FLUSH_DISKCACHE) || nseg > BLKIF_MAX_SEGMENTS_PER_REQUEST) status = BLKIF_RSP_ERROR;
      else {
        r.nseg = nseg;
        for (let i = 0; i < nseg; i++) { const s = q.seg[i]!; r.gref[i] = s.gref; r.first[i] = s.first_sect; r.last[i] = s.last_sect; }
        status = this.validateRw(v, r, opByte, q.sector_number);
      }
    } else {
      // RESERVED_1, INDIRECT when not offered, anything else: dispatch_other_io's EOPNOTSUPP.
      const q = BlkifRequestCodec.read(this.rawView, 0, this.req);
      r.idLo = q.id_lo; r.idHi = q.id_hi;
      status = BLKIF_RSP_EOPNOTSUPP;
    }
    // A write's data comes out of the guest now (the request's own moment in simulated time).
    if (status === BLKIF_RSP_OKAY && (r.io === IO_WRITE || r.io === IO_WRITE_SYNC)) status = this.copyIn(v, r);
    if (status !== BLKIF_RSP_OKAY) r.io = IO_NONE;
    r.status = status;
    const now = this.host.clock.now;
    r.start = now;
    r.done = this.completionTime(v, r, now);
    this.insertPending(v, r);
    this.queued++;
    const st = v.d.stats;
    const depth = v.pending.length;
    if (depth > st.maxInFlight.value) st.maxInFlight.value = depth;
    st.queueDepth.sample(depth);
    const head = v.pending[0]!;
    if (v.event.heapIndex < 0) this.host.queue.schedule(v.event, head.done);
    else if (head === r) { this.host.queue.cancel(v.event); this.host.queue.schedule(v.event, r.done); }
    if (r.io !== IO_NONE) {
      r.host = H_QUEUED;
      v.d.hostq.push(r);
      this.issue(v);
    }
  }

  /** READ/WRITE/BARRIER/FLUSH after the segments are in `r`: segments, range, access (vbd_translate). */
  private validateRw(v: Vbd, r: BlkReq, op: number, sector: number): number {
    // Barriers and flushes need a writable disk (vbd_translate: operation != READ && readonly).
    if (op !== BLKIF_OP_READ && v.d.cfg.readonly) return BLKIF_RSP_ERROR;
    let sectors = 0;
    for (let i = 0; i < r.nseg; i++) {
      if (r.last[i]! >= SECTORS_PER_PAGE || r.last[i]! < r.first[i]!) return BLKIF_RSP_ERROR;
      sectors += r.last[i]! - r.first[i]! + 1;
    }
    // vbd_translate: end = sector_number + nr_sects, not wrapping, not past the disk.
    if (sectors > 0 && !(sector + sectors <= v.d.cfg.sectors)) return BLKIF_RSP_ERROR;
    r.sector = sector;
    r.nsect = sectors;
    r.bytes = sectors * SECTOR_SIZE;
    if (op === BLKIF_OP_READ) r.io = IO_READ;
    else if (op === BLKIF_OP_WRITE) { r.io = IO_WRITE; r.writes = true; }
    else {
      r.fence = true;
      r.barrier = op === BLKIF_OP_WRITE_BARRIER;
      r.writes = sectors > 0;
      r.io = sectors > 0 ? IO_WRITE_SYNC : IO_SYNC;
    }
    return BLKIF_RSP_OKAY;
  }

  /** xen_blkbk_parse_indirect: the segments out of the indirect pages (copied, never mapped). */
  private parseIndirect(v: Vbd, r: BlkReq): number {
    const q = this.ind;
    const op = q.indirect_op;
    // dispatch_rw_block_io: only READ and WRITE travel indirectly; then the segment count.
    if (op !== BLKIF_OP_READ && op !== BLKIF_OP_WRITE) return BLKIF_RSP_ERROR;
    const nseg = q.nr_segments;
    if (nseg === 0 || nseg > this.maxIndirectSegments) return BLKIF_RSP_ERROR;
    const pages = INDIRECT_PAGES(nseg);
    if (pages > MAX_INDIRECT_PAGES) return BLKIF_RSP_ERROR;
    let n = 0;
    for (let p = 0; p < pages; p++) {
      const len = Math.min(nseg - n, SEGS_PER_INDIRECT_FRAME) * 8;
      const slot = this.ops[0]!;
      slot.ref.ref = q.indirect_grefs[p]!; slot.ref.domid = v.dev.domid; slot.ref.offset = 0;
      slot.buf.buffer = this.indPage; slot.buf.offset = 0;
      slot.op.source = slot.ref; slot.op.dest = slot.buf; slot.op.len = len;
      this.opBatch.length = 1;
      this.opBatch[0] = slot.op;
      const st = this.gnt.copy(this.opBatch as CopyOp[], this.as)[0];
      if (st !== Gntst.okay) return BLKIF_RSP_ERROR;
      for (let i = 0; i < len / 8; i++, n++) {
        r.gref[n] = this.indView.getUint32(i * 8, true);
        r.first[n] = this.indPage[i * 8 + 4]!;
        r.last[n] = this.indPage[i * 8 + 5]!;
      }
    }
    r.nseg = nseg;
    return BLKIF_RSP_OKAY;
  }

  /** dispatch_discard_io: feature, secure flag, range and access as vbd_translate(WRITE). */
  private validateDiscard(v: Vbd, r: BlkReq, flag: number, sector: number, nr: number): number {
    if (!v.d.cfg.discard || (flag & BLKIF_DISCARD_SECURE)) return BLKIF_RSP_EOPNOTSUPP;
    if (v.d.cfg.readonly || !(sector + nr <= v.d.cfg.sectors) || !Number.isSafeInteger(nr * SECTOR_SIZE)) return BLKIF_RSP_ERROR;
    r.sector = sector;
    r.nsect = nr;
    r.writes = nr > 0;
    r.io = nr > 0 ? IO_DISCARD : IO_NONE;
    return BLKIF_RSP_OKAY;
  }

  /** A persistently mapped grant for `ref` (mapped RW on first use, as Linux maps persistent grants), or null. */
  private persistentMap(v: Vbd, ref: number): ForeignMapping | null | number {
    const m = v.d.persistent!.get(ref);
    if (m) return m;
    if (v.d.persistent!.size >= MAX_PERSISTENT_GRANTS) return null; // full: grant copy, as Linux falls back
    const r = this.gnt.mapForeign(v.dev.domid, ref, { as: this.as });
    if ('status' in r) return r.status;
    v.d.persistent!.set(ref, r);
    v.d.stats.persistentMaps.value++;
    return r;
  }

  /** Moves segment data between the guest and `r.buf`: `toGuest` for a READ. OKAY or ERROR. */
  private moveData(v: Vbd, r: BlkReq, toGuest: boolean): number {
    const buf = r.buffer(r.bytes);
    let off = 0;
    let nops = 0;
    for (let i = 0; i < r.nseg; i++) {
      const first = r.first[i]!;
      const len = (r.last[i]! - first + 1) * SECTOR_SIZE;
      const goff = first * SECTOR_SIZE;
      if (v.d.persistent) {
        const m = this.persistentMap(v, r.gref[i]!);
        if (typeof m === 'number') return BLKIF_RSP_ERROR;
        if (m) {
          // Allocation-free: a whole page (goff 0) at a page boundary of buf is one memcpy through
          // the mapping's view and buf's page view; a partial segment copies by offsets.
          if (toGuest) {
            const st = len === PAGE && (off & (PAGE - 1)) === 0 ? m.write(0, r.pages[off / PAGE]!) : m.write(goff, buf, off, len);
            if (st !== 0) return BLKIF_RSP_ERROR;
          } else if (len === PAGE) buf.set(m.bytes, off);
          else { const g = m.bytes; for (let j = 0; j < len; j++) buf[off + j] = g[goff + j]!; }
          off += len;
          continue;
        }
      }
      const slot = this.ops[nops++]!;
      slot.ref.ref = r.gref[i]!; slot.ref.domid = v.dev.domid; slot.ref.offset = goff;
      slot.buf.buffer = buf; slot.buf.offset = off;
      slot.op.source = toGuest ? slot.buf : slot.ref;
      slot.op.dest = toGuest ? slot.ref : slot.buf;
      slot.op.len = len;
      off += len;
    }
    if (nops === 0) return BLKIF_RSP_OKAY;
    this.opBatch.length = nops;
    for (let i = 0; i < nops; i++) this.opBatch[i] = this.ops[i]!.op;
    const sts = this.gnt.copy(this.opBatch as CopyOp[], this.as);
    for (let i = 0; i < nops; i++) if (sts[i] !== Gntst.okay) return BLKIF_RSP_ERROR;
    return BLKIF_RSP_OKAY;
  }

  private copyIn(v: Vbd, r: BlkReq): number {
    return this.moveData(v, r, false);
  }

  /** The device model: the simulated time `r` completes, decided now (never from host timing). */
  private completionTime(v: Vbd, r: BlkReq, now: number): number {
    const c = this.costs;
    if (this.model === 'ideal') return Math.ceil(now + c.requestNs);
    // ssd: every request's latency overlaps the others' (a queue of `queueDepth`); data transfer is
    // serialised on the link; a flush starts after everything before it and takes flushNs more; a
    // barrier holds every later request back.
    let t = now + c.requestNs;
    const ok = r.status === BLKIF_RSP_OKAY;
    if (ok && r.bytes > 0 && r.io !== IO_DISCARD) {
      const xs = Math.max(now, v.d.linkFree);
      v.d.linkFree = xs + (r.bytes / 1024) * c.perKiBNs;
      t = Math.max(t, v.d.linkFree);
    }
    if (ok && r.fence) t = Math.max(t, v.d.lastDone + c.requestNs) + c.flushNs;
    t = Math.max(t, v.d.barrierUntil);
    t = Math.ceil(t);
    if (t > v.d.lastDone) v.d.lastDone = t;
    if (ok && r.barrier) v.d.barrierUntil = t;
    return t;
  }

  private insertPending(v: Vbd, r: BlkReq): void {
    const p = v.pending;
    let i = p.length;
    p.push(r);
    while (i > 0 && p[i - 1]!.done > r.done) { p[i] = p[i - 1]!; i--; }
    p[i] = r;
  }

  /** Starts every queued host I/O whose ordering constraints are met. */
  private issue(v: Vbd): void {
    const q = v.d.hostq;
    for (let i = 0; i < q.length; i++) {
      const r = q[i]!;
      if (r.host !== H_QUEUED) continue;
      let blocked = false;
      for (let j = 0; j < i && !blocked; j++) {
        const e = q[j]!;
        if (e.barrier || r.fence) blocked = true;
        else if ((e.writes || r.writes) && r.nsect > 0 && e.nsect > 0 && r.sector < e.sector + e.nsect && e.sector < r.sector + r.nsect) blocked = true;
      }
      if (!blocked) this.start(v, r);
    }
  }

  private start(v: Vbd, r: BlkReq): void {
    r.host = H_RUNNING;
    const pos = r.sector * SECTOR_SIZE;
    switch (r.io) {
      case IO_READ:
        read(v.d.fd, r.buffer(r.bytes), 0, r.bytes, pos, r.onRead);
        break;
      case IO_WRITE:
      case IO_WRITE_SYNC:
        write(v.d.fd, r.buf, 0, r.bytes, pos, r.onWrite);
        break;
      case IO_SYNC:
        fdatasync(v.d.fd, r.onSync);
        break;
      case IO_DISCARD:
        // Node has no fallocate(2); util-linux's fallocate(1) punches the hole (the size stays).
        execFile('fallocate', ['--punch-hole', '--keep-size', '--offset', String(pos), '--length', String(r.nsect * SECTOR_SIZE), v.d.cfg.path], r.onDiscard);
        break;
      default:
        throw new Error(`pv-blk: request with host I/O kind ${r.io}`);
    }
  }

  /** @internal A pread returned. Short reads go on; past the end of a shrunk file reads zeros, as a hole. */
  readDone(r: BlkReq, err: NodeJS.ErrnoException | null, n: number): void {
    if (err) return this.ioFinished(r, `read: ${err.message}`);
    r.moved += n;
    if (r.moved < r.bytes && n > 0 && r.vbd.d.fd >= 0) {
      read(r.vbd.d.fd, r.buf, r.moved, r.bytes - r.moved, r.sector * SECTOR_SIZE + r.moved, r.onRead);
      return;
    }
    if (r.moved < r.bytes) r.buf.fill(0, r.moved, r.bytes);
    this.ioFinished(r, null);
  }

  /** @internal A pwrite returned: the rest, then fdatasync for a barrier. */
  writeDone(r: BlkReq, err: NodeJS.ErrnoException | null, n: number): void {
    if (err) return this.ioFinished(r, `write: ${err.message}`);
    r.moved += n;
    const fd = r.vbd.d.fd;
    if (r.moved < r.bytes) {
      if (n === 0 || fd < 0) return this.ioFinished(r, 'write: no progress');
      write(fd, r.buf, r.moved, r.bytes - r.moved, r.sector * SECTOR_SIZE + r.moved, r.onWrite);
      return;
    }
    // WRITE_BARRIER: its own data and everything before it is in the file: now fdatasync.
    if (r.io === IO_WRITE_SYNC && fd >= 0) { fdatasync(fd, r.onSync); return; }
    this.ioFinished(r, null);
  }

  /** @internal A request's host I/O is over: record it, wake a held completion, issue what waited. */
  ioFinished(r: BlkReq, error: string | null): void {
    const delay = this.hostIoDelayMs?.() ?? 0;
    if (delay > 0) { setTimeout(() => this.finishIo(r, error), delay); return; }
    this.finishIo(r, error);
  }

  private finishIo(r: BlkReq, error: string | null): void {
    const v = r.vbd;
    if (error !== null) {
      r.ioStatus = BLKIF_RSP_ERROR;
      this.host.log(`(XEN) blkback: ${v.dev.nodename}: ${error} (${v.d.cfg.path})`);
    }
    r.host = H_DONE;
    const i = v.d.hostq.indexOf(r);
    if (i >= 0) v.d.hostq.splice(i, 1);
    const wake = r.wake;
    r.wake = null;
    wake?.();
    if (v.d.alive) this.issue(v);
    else if (v.d.hostq.every((x) => x.host !== H_RUNNING)) { v.d.hostq.length = 0; this.closeFile(v.d); }
  }

  /** @internal The completion event: every request due by now gets its response, in (time, seq) order. */
  complete(v: Vbd): void {
    const ring = v.ring;
    if (!ring || this.devs.get(v.dev) !== v.d || !v.d.alive) return;
    const now = this.host.clock.now;
    const p = v.pending;
    // Every due request's host I/O must be over before any of them is answered (the same batch
    // of responses and notifications whether or not the host was slow).
    for (let i = 0; i < p.length && p[i]!.done <= now; i++) {
      const r = p[i]!;
      if (r.host === H_QUEUED || r.host === H_RUNNING) {
        r.waiter ??= new Promise<void>((res) => { r.wake = res; });
        this.hostWaits++;
        this.host.queue.holdBack(v.event);
        this.host.waitForIo(r.waiter);
        return;
      }
    }
    const rsp = this.rsp;
    const st = v.d.stats;
    const bus = this.host.bus;
    let wrote = false;
    let n = 0;
    while (n < p.length && p[n]!.done <= now) {
      const r = p[n++]!;
      let status = r.status;
      if (status === BLKIF_RSP_OKAY) status = r.ioStatus;
      // A READ's data goes into the guest at its completion time.
      if (status === BLKIF_RSP_OKAY && r.io === IO_READ) status = this.moveData(v, r, true);
      this.count(st, r, status);
      rsp.id_lo = r.idLo;
      rsp.id_hi = r.idHi;
      rsp.operation = r.op;
      rsp.status = status;
      const lat = r.done - r.start;
      st.latencyNs.value += lat;
      st.latency.sample(lat);
      if (bus && bus.hasSubscribers(BLK_COMPLETE)) {
        bus.publish(BLK_COMPLETE, { time: now, domid: v.dev.domid, devid: v.dev.devid, operation: r.op, status, latencyNs: lat });
      }
      v.free.push(r);
      this.queued--;
      if (!ring.putResponse(rsp)) continue;
      v.dev.stats.responses.value++;
      wrote = true;
    }
    p.splice(0, n);
    if (wrote && ring.pushResponses()) v.dev.notifyFrontend(v.queue);
    if (p.length > 0 && ring.fault === null) this.host.queue.schedule(v.event, p[0]!.done);
    // Slots freed: look at the ring again (and let xenbus disable the device on a fault).
    v.dev.retryIn(1);
  }

  private count(st: VbdStats, r: BlkReq, status: number): void {
    if (status === BLKIF_RSP_OKAY) {
      switch (r.io) {
        case IO_READ: st.reads.value++; st.bytesRead.value += r.bytes; break;
        case IO_WRITE: st.writes.value++; st.bytesWritten.value += r.bytes; break;
        case IO_DISCARD: st.discards.value++; st.bytesDiscarded.value += r.nsect * SECTOR_SIZE; break;
        default:
          if (r.op === BLKIF_OP_DISCARD) { st.discards.value++; break; }
          st.bytesWritten.value += r.bytes;
          if (r.barrier) st.barriers.value++;
          else st.flushes.value++;
      }
      if (r.indirect) st.indirect.value++;
      if (r.io !== IO_DISCARD) st.segments.value += r.nseg;
    } else if (status === BLKIF_RSP_ERROR) st.errors.value++;
    else st.unsupported.value++;
  }
}
