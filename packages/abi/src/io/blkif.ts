/**
 * The PV block protocol (xen/include/public/io/blkif.h), 64-bit layout (Arm64, x86_64, RISC-V:
 * `uint64_t` 8-aligned): layouts, operations, status codes, VDISK_* flags, xenstore keys, and
 * codecs. One 4 KiB ring holds 32 slots of 112 bytes (`blkif_request` with 11 segments).
 * Sector quantities (sector_number, first_sect, last_sect, nr_sectors) are 512-byte sectors unless
 * the frontend set feature-large-sector-size (then "sector-size" units).
 *
 * The u64 `id` is opaque to the backend and echoed in the response; the codecs carry it as two u32
 * halves (`id_lo`, `id_hi`) so it is exact without BigInt. `sector_number`/`nr_sectors` are numbers:
 * exact below 2^53, and a larger value still compares >= 2^53, so a range check against the disk
 * size rejects it.
 */
import { defineStruct, getU64, setU64, type StructCodec } from './layout.js';
import { defineRingTypes } from './ring.js';

export const BLKIF_OP_READ = 0;
export const BLKIF_OP_WRITE = 1;
/** Optional (feature-barrier): all earlier requests complete before this write. */
export const BLKIF_OP_WRITE_BARRIER = 2;
/** Optional (feature-flush-cache): commit the backing device's volatile cache; may have 0 segments. */
export const BLKIF_OP_FLUSH_DISKCACHE = 3;
/** Used by a vendor extension; never to be reused. */
export const BLKIF_OP_RESERVED_1 = 4;
/** Optional (feature-discard): a blkif_request_discard. */
export const BLKIF_OP_DISCARD = 5;
/** Optional (feature-max-indirect-segments): a blkif_request_indirect. */
export const BLKIF_OP_INDIRECT = 6;

/** Segments in a direct request ("carefully chosen so that sizeof(blkif_ring_t) <= PAGE_SIZE"). */
export const BLKIF_MAX_SEGMENTS_PER_REQUEST = 11;
/** Indirect pages per blkif_request_indirect. */
export const BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST = 8;
/** blkif_request_discard.flag: secure discard (honoured only with discard-secure=1). */
export const BLKIF_DISCARD_SECURE = 1 << 0;

/** blkif_response.status. */
export const BLKIF_RSP_EOPNOTSUPP = -2;
export const BLKIF_RSP_ERROR = -1;
export const BLKIF_RSP_OKAY = 0;

/** Bits of the backend's `info` node. */
export const VDISK_CDROM = 0x1;
export const VDISK_REMOVABLE = 0x2;
export const VDISK_READONLY = 0x4;

// ---- layouts -------------------------------------------------------------------------------

/** struct blkif_request_segment { grant_ref_t gref; uint8_t first_sect, last_sect; } (8 bytes with padding) */
export const BlkifRequestSegment = defineStruct('blkif_request_segment', 8, 4, { gref: [0, 4], first_sect: [4, 1], last_sect: [5, 1] });
/**
 * struct blkif_request { uint8_t operation, nr_segments; blkif_vdev_t handle; uint64_t id;
 * blkif_sector_t sector_number; struct blkif_request_segment seg[11]; } — 4 bytes of padding
 * after `handle`, `seg` at 24, 112 bytes.
 */
export const BlkifRequest = defineStruct('blkif_request', 112, 8, {
  operation: [0, 1], nr_segments: [1, 1], handle: [2, 2], id: [8, 8], sector_number: [16, 8],
  seg: [24, BLKIF_MAX_SEGMENTS_PER_REQUEST * 8, BLKIF_MAX_SEGMENTS_PER_REQUEST],
});
/** struct blkif_request_discard { uint8_t operation, flag; blkif_vdev_t handle; uint64_t id; blkif_sector_t sector_number; uint64_t nr_sectors; } */
export const BlkifRequestDiscard = defineStruct('blkif_request_discard', 32, 8, {
  operation: [0, 1], flag: [1, 1], handle: [2, 2], id: [8, 8], sector_number: [16, 8], nr_sectors: [24, 8],
});
/**
 * struct blkif_request_indirect { uint8_t operation, indirect_op; uint16_t nr_segments; uint64_t id;
 * blkif_sector_t sector_number; blkif_vdev_t handle; grant_ref_t indirect_grefs[8]; } — 64 bytes
 * on 64-bit targets (4 bytes of tail padding; i386 adds an explicit pad).
 */
export const BlkifRequestIndirect = defineStruct('blkif_request_indirect', 64, 8, {
  operation: [0, 1], indirect_op: [1, 1], nr_segments: [2, 2], id: [8, 8], sector_number: [16, 8], handle: [24, 2],
  indirect_grefs: [28, 4 * BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST, BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST],
});
/** struct blkif_response { uint64_t id; uint8_t operation; int16_t status; } — 16 bytes. */
export const BlkifResponse = defineStruct('blkif_response', 16, 8, { id: [0, 8], operation: [8, 1], status: [10, 2] });

/** blkif_request_segments per indirect page (Linux's SEGS_PER_INDIRECT_FRAME: 4096 / 8). */
export const SEGS_PER_INDIRECT_FRAME = 4096 / BlkifRequestSegment.sizeof;
/** The most segments one indirect request can describe (8 pages x 512). */
export const BLKIF_MAX_INDIRECT_SEGMENTS = BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST * SEGS_PER_INDIRECT_FRAME;
/** Indirect pages needed for `segs` segments (Linux's INDIRECT_PAGES: ceil(segs / 512)). */
export function INDIRECT_PAGES(segs: number): number {
  return Math.ceil(segs / SEGS_PER_INDIRECT_FRAME);
}

// ---- codecs --------------------------------------------------------------------------------

export interface blkif_request_segment_t { gref: number; first_sect: number; last_sect: number }
export interface blkif_request_t {
  operation: number; nr_segments: number; handle: number;
  /** `id`, low and high 32 bits. */
  id_lo: number; id_hi: number;
  sector_number: number;
  /** All 11 slots are copied; only the first `nr_segments` mean anything. */
  seg: blkif_request_segment_t[];
}
export interface blkif_request_discard_t {
  operation: number; flag: number; handle: number; id_lo: number; id_hi: number; sector_number: number; nr_sectors: number;
}
export interface blkif_request_indirect_t {
  operation: number; indirect_op: number; nr_segments: number; id_lo: number; id_hi: number;
  sector_number: number; handle: number; indirect_grefs: Uint32Array;
}
export interface blkif_response_t { id_lo: number; id_hi: number; operation: number; status: number }

export const BlkifRequestSegmentCodec: StructCodec<blkif_request_segment_t> = {
  layout: BlkifRequestSegment,
  create: () => ({ gref: 0, first_sect: 0, last_sect: 0 }),
  read(v, o, out) {
    out.gref = v.getUint32(o, true);
    out.first_sect = v.getUint8(o + 4);
    out.last_sect = v.getUint8(o + 5);
    return out;
  },
  write(v, o, x) {
    v.setUint32(o, x.gref, true);
    v.setUint8(o + 4, x.first_sect);
    v.setUint8(o + 5, x.last_sect);
    v.setUint16(o + 6, 0, true);
  },
};

export const BlkifRequestCodec: StructCodec<blkif_request_t> = {
  layout: BlkifRequest,
  create: () => ({
    operation: 0, nr_segments: 0, handle: 0, id_lo: 0, id_hi: 0, sector_number: 0,
    seg: Array.from({ length: BLKIF_MAX_SEGMENTS_PER_REQUEST }, () => BlkifRequestSegmentCodec.create()),
  }),
  read(v, o, out) {
    out.operation = v.getUint8(o);
    out.nr_segments = v.getUint8(o + 1);
    out.handle = v.getUint16(o + 2, true);
    out.id_lo = v.getUint32(o + 8, true);
    out.id_hi = v.getUint32(o + 12, true);
    out.sector_number = getU64(v, o + 16);
    for (let i = 0; i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++) BlkifRequestSegmentCodec.read(v, o + 24 + 8 * i, out.seg[i]!);
    return out;
  },
  write(v, o, x) {
    v.setUint8(o, x.operation);
    v.setUint8(o + 1, x.nr_segments);
    v.setUint16(o + 2, x.handle, true);
    v.setUint32(o + 4, 0, true);
    v.setUint32(o + 8, x.id_lo, true);
    v.setUint32(o + 12, x.id_hi, true);
    setU64(v, o + 16, x.sector_number);
    for (let i = 0; i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++) BlkifRequestSegmentCodec.write(v, o + 24 + 8 * i, x.seg[i] ?? ZERO_SEG);
  },
};
const ZERO_SEG: blkif_request_segment_t = Object.freeze({ gref: 0, first_sect: 0, last_sect: 0 });

export const BlkifRequestDiscardCodec: StructCodec<blkif_request_discard_t> = {
  layout: BlkifRequestDiscard,
  create: () => ({ operation: 0, flag: 0, handle: 0, id_lo: 0, id_hi: 0, sector_number: 0, nr_sectors: 0 }),
  read(v, o, out) {
    out.operation = v.getUint8(o);
    out.flag = v.getUint8(o + 1);
    out.handle = v.getUint16(o + 2, true);
    out.id_lo = v.getUint32(o + 8, true);
    out.id_hi = v.getUint32(o + 12, true);
    out.sector_number = getU64(v, o + 16);
    out.nr_sectors = getU64(v, o + 24);
    return out;
  },
  write(v, o, x) {
    v.setUint8(o, x.operation);
    v.setUint8(o + 1, x.flag);
    v.setUint16(o + 2, x.handle, true);
    v.setUint32(o + 4, 0, true);
    v.setUint32(o + 8, x.id_lo, true);
    v.setUint32(o + 12, x.id_hi, true);
    setU64(v, o + 16, x.sector_number);
    setU64(v, o + 24, x.nr_sectors);
  },
};

export const BlkifRequestIndirectCodec: StructCodec<blkif_request_indirect_t> = {
  layout: BlkifRequestIndirect,
  create: () => ({
    operation: 0, indirect_op: 0, nr_segments: 0, id_lo: 0, id_hi: 0, sector_number: 0, handle: 0,
    indirect_grefs: new Uint32Array(BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST),
  }),
  read(v, o, out) {
    out.operation = v.getUint8(o);
    out.indirect_op = v.getUint8(o + 1);
    out.nr_segments = v.getUint16(o + 2, true);
    out.id_lo = v.getUint32(o + 8, true);
    out.id_hi = v.getUint32(o + 12, true);
    out.sector_number = getU64(v, o + 16);
    out.handle = v.getUint16(o + 24, true);
    for (let i = 0; i < BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST; i++) out.indirect_grefs[i] = v.getUint32(o + 28 + 4 * i, true);
    return out;
  },
  write(v, o, x) {
    v.setUint8(o, x.operation);
    v.setUint8(o + 1, x.indirect_op);
    v.setUint16(o + 2, x.nr_segments, true);
    v.setUint32(o + 4, 0, true);
    v.setUint32(o + 8, x.id_lo, true);
    v.setUint32(o + 12, x.id_hi, true);
    setU64(v, o + 16, x.sector_number);
    v.setUint16(o + 24, x.handle, true);
    v.setUint16(o + 26, 0, true);
    for (let i = 0; i < BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST; i++) v.setUint32(o + 28 + 4 * i, x.indirect_grefs[i] ?? 0, true);
  },
};

export const BlkifResponseCodec: StructCodec<blkif_response_t> = {
  layout: BlkifResponse,
  create: () => ({ id_lo: 0, id_hi: 0, operation: 0, status: 0 }),
  read(v, o, out) {
    out.id_lo = v.getUint32(o, true);
    out.id_hi = v.getUint32(o + 4, true);
    out.operation = v.getUint8(o + 8);
    out.status = v.getInt16(o + 10, true);
    return out;
  },
  write(v, o, x) {
    v.setUint32(o, x.id_lo, true);
    v.setUint32(o + 4, x.id_hi, true);
    v.setUint8(o + 8, x.operation);
    v.setUint8(o + 9, 0);
    v.setInt16(o + 10, x.status, true);
    v.setUint32(o + 12, 0, true);
  },
};

// ---- ring ----------------------------------------------------------------------------------

/** DEFINE_RING_TYPES(blkif, struct blkif_request, struct blkif_response): 112-byte slots, 32 per page. */
export const BlkifRing = defineRingTypes('blkif', BlkifRequestCodec, BlkifResponseCodec);
/** Linux blkback's XEN_BLKIF_REQS_PER_PAGE: requests in a one-page blkif ring. */
export const XEN_BLKIF_REQS_PER_PAGE = BlkifRing.ringSize4k;

// ---- xenstore keys -------------------------------------------------------------------------

/** Keys in a vbd backend directory (/local/domain/B/backend/vbd/D/N): blkif.h's backend nodes plus libxl's. */
export const BlkbackKeys = {
  mode: 'mode',
  params: 'params',
  physicalDevice: 'physical-device',
  physicalDevicePath: 'physical-device-path',
  type: 'type',
  directIoSafe: 'direct-io-safe',
  featureBarrier: 'feature-barrier',
  featureFlushCache: 'feature-flush-cache',
  featureDiscard: 'feature-discard',
  featurePersistent: 'feature-persistent',
  featureMaxIndirectSegments: 'feature-max-indirect-segments',
  maxRingPageOrder: 'max-ring-page-order',
  maxRingPages: 'max-ring-pages',
  multiQueueMaxQueues: 'multi-queue-max-queues',
  discardEnable: 'discard-enable',
  discardAlignment: 'discard-alignment',
  discardGranularity: 'discard-granularity',
  discardSecure: 'discard-secure',
  info: 'info',
  sectorSize: 'sector-size',
  physicalSectorSize: 'physical-sector-size',
  sectors: 'sectors',
  removable: 'removable',
  bootable: 'bootable',
  dev: 'dev',
  deviceType: 'device-type',
} as const;

/** Keys in a vbd frontend directory (/local/domain/D/device/vbd/N; ring keys under queue-N/ with queues). */
export const BlkfrontKeys = {
  eventChannel: 'event-channel',
  ringRef: 'ring-ref',
  protocol: 'protocol',
  ringPageOrder: 'ring-page-order',
  numRingPages: 'num-ring-pages',
  featurePersistent: 'feature-persistent',
  featureLargeSectorSize: 'feature-large-sector-size',
  trusted: 'trusted',
  deviceType: 'device-type',
  virtualDevice: 'virtual-device',
  multiQueueNumQueues: 'multi-queue-num-queues',
} as const;
/** `ring-ref%u`: page i of a multi-page ring (then `ring-ref` is not written). */
export function blkifRingRefKey(i: number): string {
  return `ring-ref${i}`;
}
