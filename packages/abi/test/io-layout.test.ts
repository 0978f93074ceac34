// Golden byte layouts of the io/ structs (values from Xen 4.17's public/io/*.h, 64-bit targets),
// and codecs that read back what they wrote. tools/test/abi-headers.test.ts checks the same
// numbers against the C headers (guests/xenlib and Xen's own) with clang.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import * as abi from '@tachyxx/abi';
import {
  NetifTxRequest, NetifTxResponse, NetifRxRequest, NetifRxResponse, NetifExtraInfo, XenNetifCtrlRequest, XenNetifCtrlResponse, XenNetifGref,
  BlkifRequest, BlkifRequestSegment, BlkifRequestDiscard, BlkifRequestIndirect, BlkifResponse, XenconsInterface,
  NetifTxRequestCodec, NetifTxResponseCodec, NetifRxRequestCodec, NetifRxResponseCodec, NetifExtraInfoCodec,
  XenNetifCtrlRequestCodec, XenNetifCtrlResponseCodec, BlkifRequestCodec, BlkifRequestDiscardCodec, BlkifRequestIndirectCodec,
  BlkifResponseCodec, BlkifRing, NetifTxRing, XenbusState, xenbusStateName, parseXenbusState, MASK_XENCONS_IDX,
  XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_EXTRA_TYPE_MCAST_ADD, XEN_NETIF_EXTRA_TYPE_HASH, XEN_NETIF_GSO_TYPE_TCPV4,
  XEN_NETIF_EXTRA_FLAG_MORE, BLKIF_OP_WRITE, BLKIF_OP_DISCARD, BLKIF_OP_INDIRECT, BLKIF_OP_READ, BLKIF_RSP_EOPNOTSUPP,
  SEGS_PER_INDIRECT_FRAME, BLKIF_MAX_INDIRECT_SEGMENTS, INDIRECT_PAGES, NET_TX_RING_SIZE, NET_RX_RING_SIZE, XEN_BLKIF_REQS_PER_PAGE,
  getU64, setU64, type StructLayout, type StructCodec,
} from '@tachyxx/abi';

const hex = (v: DataView, off: number, n: number) => Array.from(new Uint8Array(v.buffer, v.byteOffset + off, n), (b) => b.toString(16).padStart(2, '0')).join(' ');
const view = (n = 256) => new DataView(new ArrayBuffer(n));

describe('io/ struct sizes and offsets', () => {
  const table: [StructLayout, number, number, Record<string, [number, number]>][] = [
    [NetifTxRequest, 12, 4, { gref: [0, 4], offset: [4, 2], flags: [6, 2], id: [8, 2], size: [10, 2] }],
    [NetifTxResponse, 4, 2, { id: [0, 2], status: [2, 2] }],
    [NetifRxRequest, 8, 4, { id: [0, 2], pad: [2, 2], gref: [4, 4] }],
    [NetifRxResponse, 8, 2, { id: [0, 2], offset: [2, 2], flags: [4, 2], status: [6, 2] }],
    [NetifExtraInfo, 8, 2, { type: [0, 1], flags: [1, 1], 'u.gso.size': [2, 2], 'u.gso.type': [4, 1], 'u.gso.features': [6, 2], 'u.mcast.addr': [2, 6], 'u.hash.value': [4, 4] }],
    [XenNetifCtrlRequest, 16, 4, { id: [0, 2], type: [2, 2], data: [4, 12] }],
    [XenNetifCtrlResponse, 12, 4, { status: [4, 4], data: [8, 4] }],
    [XenNetifGref, 8, 4, { ref: [0, 4], flags: [4, 2], status: [6, 2] }],
    [BlkifRequestSegment, 8, 4, { gref: [0, 4], first_sect: [4, 1], last_sect: [5, 1] }],
    [BlkifRequest, 112, 8, { operation: [0, 1], nr_segments: [1, 1], handle: [2, 2], id: [8, 8], sector_number: [16, 8], seg: [24, 88] }],
    [BlkifRequestDiscard, 32, 8, { flag: [1, 1], nr_sectors: [24, 8] }],
    [BlkifRequestIndirect, 64, 8, { nr_segments: [2, 2], id: [8, 8], handle: [24, 2], indirect_grefs: [28, 32] }],
    [BlkifResponse, 16, 8, { id: [0, 8], operation: [8, 1], status: [10, 2] }],
    [XenconsInterface, 3088, 4, { in: [0, 1024], out: [1024, 2048], in_cons: [3072, 4], in_prod: [3076, 4], out_cons: [3080, 4], out_prod: [3084, 4] }],
  ];
  for (const [l, size, align, fields] of table) {
    it(`struct ${l.name} is ${size} bytes, ${align}-aligned`, () => {
      expect(l.sizeof).toBe(size);
      expect(l.align).toBe(align);
      for (const [k, [off, n]] of Object.entries(fields)) expect([k, l.fields[k]!.offset, l.fields[k]!.size]).toEqual([k, off, n]);
    });
  }

  it('ring constants: 256 TX / 256 RX netif slots, 32 blkif requests, 512 segments per indirect page', () => {
    expect([NET_TX_RING_SIZE, NET_RX_RING_SIZE, XEN_BLKIF_REQS_PER_PAGE]).toEqual([256, 256, 32]);
    expect(BlkifRing.sring.fields.ring!.offset).toBe(64);
    expect(NetifTxRing.entry.sizeof).toBe(12);
    expect([SEGS_PER_INDIRECT_FRAME, BLKIF_MAX_INDIRECT_SEGMENTS, INDIRECT_PAGES(1), INDIRECT_PAGES(512), INDIRECT_PAGES(513)]).toEqual([512, 4096, 1, 1, 2]);
  });

  it('refuses a layout whose field lies outside the struct', () => {
    expect(() => abi.defineStruct('bad', 8, 4, { x: [6, 4] })).toThrow('bad.x: [6, 10) outside sizeof 8');
    expect(() => abi.defineStruct('bad', 6, 4, {})).toThrow('bad: sizeof 6 not a multiple of align 4');
  });
});

describe('golden bytes', () => {
  it('netif_tx_request / tx_response / rx_request / rx_response', () => {
    const v = view();
    NetifTxRequestCodec.write(v, 0, { gref: 0x11223344, offset: 0x5566, flags: 0x0007, id: 0x8899, size: 0xaabb });
    expect(hex(v, 0, 12)).toBe('44 33 22 11 66 55 07 00 99 88 bb aa');
    NetifTxResponseCodec.write(v, 16, { id: 0x1234, status: -2 });
    expect(hex(v, 16, 4)).toBe('34 12 fe ff');
    NetifRxRequestCodec.write(v, 32, { id: 7, pad: 0, gref: 0xdeadbeef });
    expect(hex(v, 32, 8)).toBe('07 00 00 00 ef be ad de');
    NetifRxResponseCodec.write(v, 48, { id: 1, offset: 0x40, flags: 0x5, status: 1514 });
    expect(hex(v, 48, 8)).toBe('01 00 40 00 05 00 ea 05');
  });

  it('netif_extra_info: GSO, multicast and hash members', () => {
    const v = view();
    const x = NetifExtraInfoCodec.create();
    x.type = XEN_NETIF_EXTRA_TYPE_GSO; x.flags = XEN_NETIF_EXTRA_FLAG_MORE;
    Object.assign(x.u.gso, { size: 1448, type: XEN_NETIF_GSO_TYPE_TCPV4, pad: 0, features: 0 });
    NetifExtraInfoCodec.write(v, 0, x);
    expect(hex(v, 0, 8)).toBe('01 01 a8 05 01 00 00 00');
    x.type = XEN_NETIF_EXTRA_TYPE_MCAST_ADD; x.flags = 0;
    x.u.mcast.addr.set([0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb]);
    NetifExtraInfoCodec.write(v, 8, x);
    expect(hex(v, 8, 8)).toBe('02 00 01 00 5e 00 00 fb');
    x.type = XEN_NETIF_EXTRA_TYPE_HASH;
    Object.assign(x.u.hash, { type: 1, algorithm: 1 });
    x.u.hash.value.set([0x78, 0x56, 0x34, 0x12]);
    NetifExtraInfoCodec.write(v, 16, x);
    expect(hex(v, 16, 8)).toBe('04 00 01 01 78 56 34 12');
    x.type = 9;
    NetifExtraInfoCodec.write(v, 24, x);
    expect(hex(v, 24, 8)).toBe('09 00 00 00 00 00 00 00');
    const r = NetifExtraInfoCodec.read(v, 0, NetifExtraInfoCodec.create());
    expect([r.type, r.flags, r.u.gso.size, r.u.gso.type]).toEqual([1, 1, 1448, 1]);
  });

  it('blkif_request: segments start at 24, 8 bytes each', () => {
    const v = view();
    const r = BlkifRequestCodec.create();
    Object.assign(r, { operation: BLKIF_OP_WRITE, nr_segments: 2, handle: 0xca00, id_lo: 0x05060708, id_hi: 0x01020304, sector_number: 0x11_2233_4455 });
    Object.assign(r.seg[0]!, { gref: 0x10, first_sect: 0, last_sect: 7 });
    Object.assign(r.seg[1]!, { gref: 0x20, first_sect: 1, last_sect: 3 });
    new Uint8Array(v.buffer).fill(0xee);
    BlkifRequestCodec.write(v, 0, r);
    expect(hex(v, 0, 40)).toBe(
      '01 02 00 ca 00 00 00 00 08 07 06 05 04 03 02 01 55 44 33 22 11 00 00 00 ' +
      '10 00 00 00 00 07 00 00 20 00 00 00 01 03 00 00');
    expect(hex(v, 40, 72)).toBe(Array(72).fill('00').join(' ')); // unused segments zeroed
    expect(v.getUint8(112)).toBe(0xee); // nothing past the slot
  });

  it('blkif_request_discard, blkif_request_indirect and blkif_response', () => {
    const v = view();
    BlkifRequestDiscardCodec.write(v, 0, { operation: BLKIF_OP_DISCARD, flag: 1, handle: 3, id_lo: 9, id_hi: 0, sector_number: 2048, nr_sectors: 0x1_0000_0000 });
    expect(hex(v, 0, 32)).toBe('05 01 03 00 00 00 00 00 09 00 00 00 00 00 00 00 00 08 00 00 00 00 00 00 00 00 00 00 01 00 00 00');
    const ind = BlkifRequestIndirectCodec.create();
    Object.assign(ind, { operation: BLKIF_OP_INDIRECT, indirect_op: BLKIF_OP_READ, nr_segments: 600, id_lo: 1, id_hi: 2, sector_number: 8, handle: 0x33 });
    ind.indirect_grefs.set([0x100, 0x101]);
    BlkifRequestIndirectCodec.write(v, 64, ind);
    expect(hex(v, 64, 36)).toBe('06 00 58 02 00 00 00 00 01 00 00 00 02 00 00 00 08 00 00 00 00 00 00 00 33 00 00 00 00 01 00 00 01 01 00 00');
    BlkifResponseCodec.write(v, 128, { id_lo: 0xffffffff, id_hi: 0x7fffffff, operation: BLKIF_OP_WRITE, status: BLKIF_RSP_EOPNOTSUPP });
    expect(hex(v, 128, 16)).toBe('ff ff ff ff ff ff ff 7f 01 00 fe ff 00 00 00 00');
  });

  it('xen_netif_ctrl request and response', () => {
    const v = view();
    XenNetifCtrlRequestCodec.write(v, 0, { id: 1, type: 7, data: Uint32Array.of(1, 0, 0) });
    expect(hex(v, 0, 16)).toBe('01 00 07 00 01 00 00 00 00 00 00 00 00 00 00 00');
    XenNetifCtrlResponseCodec.write(v, 16, { id: 1, type: 7, status: 2, data: 0 });
    expect(hex(v, 16, 12)).toBe('01 00 07 00 02 00 00 00 00 00 00 00');
  });
});

describe('codecs read back what they wrote', () => {
  const u16 = fc.integer({ min: 0, max: 0xffff });
  const s16 = fc.integer({ min: -0x8000, max: 0x7fff });
  const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
  const u8 = fc.integer({ min: 0, max: 0xff });
  const u53 = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
  function roundTrip<T>(codec: StructCodec<T>, arb: fc.Arbitrary<T>) {
    fc.assert(fc.property(arb, fc.integer({ min: 0, max: 64 }), (x, off) => {
      const v = view(256);
      codec.write(v, off, x);
      expect(codec.read(v, off, codec.create())).toEqual(x);
    }));
  }
  it('netif structs', () => {
    roundTrip(NetifTxRequestCodec, fc.record({ gref: u32, offset: u16, flags: u16, id: u16, size: u16 }));
    roundTrip(NetifTxResponseCodec, fc.record({ id: u16, status: s16 }));
    roundTrip(NetifRxRequestCodec, fc.record({ id: u16, pad: u16, gref: u32 }));
    roundTrip(NetifRxResponseCodec, fc.record({ id: u16, offset: u16, flags: u16, status: s16 }));
  });
  it('blkif structs, with a u64 id exact in its two halves', () => {
    const seg = fc.record({ gref: u32, first_sect: u8, last_sect: u8 });
    roundTrip(BlkifRequestCodec, fc.record({ operation: u8, nr_segments: u8, handle: u16, id_lo: u32, id_hi: u32, sector_number: u53, seg: fc.array(seg, { minLength: 11, maxLength: 11 }) }));
    roundTrip(BlkifRequestDiscardCodec, fc.record({ operation: u8, flag: u8, handle: u16, id_lo: u32, id_hi: u32, sector_number: u53, nr_sectors: u53 }));
    roundTrip(BlkifResponseCodec, fc.record({ id_lo: u32, id_hi: u32, operation: u8, status: s16 }));
  });
  it('a u64 above 2^53 reads as >= 2^53 (so a disk-size check still rejects it)', () => {
    const v = view(8);
    v.setUint32(0, 0xffff_ffff, true); v.setUint32(4, 0xffff_ffff, true);
    expect(getU64(v, 0)).toBeGreaterThanOrEqual(2 ** 53);
    setU64(v, 0, 2 ** 40 + 5);
    expect([v.getUint32(0, true), v.getUint32(4, true)]).toEqual([5, 256]);
  });
  it('RING_COPY_REQUEST takes a copy: changing the page afterwards does not change it', () => {
    const v = new DataView(new ArrayBuffer(4096));
    const s = new abi.SharedRing(v, BlkifRing);
    const f = abi.XEN_FRONT_RING_INIT(s);
    const b = abi.BACK_RING_INIT(s);
    const r = BlkifRequestCodec.create();
    r.operation = BLKIF_OP_READ; r.nr_segments = 1; r.seg[0]!.last_sect = 7;
    abi.ringPutRequest(f, r);
    abi.RING_PUSH_REQUESTS(f);
    const copy = abi.RING_COPY_REQUEST(b, 0, BlkifRequestCodec.create());
    v.setUint8(abi.RING_GET_REQUEST(b, 0) + 1, 200); // the frontend rewrites nr_segments
    expect(copy.nr_segments).toBe(1);
  });
});

describe('xenbus and console helpers', () => {
  it('names XenbusState 0-8 as Xen does', () => {
    expect(Object.entries(XenbusState)).toEqual([
      ['Unknown', 0], ['Initialising', 1], ['InitWait', 2], ['Initialised', 3], ['Connected', 4],
      ['Closing', 5], ['Closed', 6], ['Reconfiguring', 7], ['Reconfigured', 8],
    ]);
    expect([xenbusStateName(4), xenbusStateName(9), xenbusStateName(-1)]).toEqual(['Connected', 'unknown(9)', 'unknown(-1)']);
  });
  it('parses a state node like sscanf("%d")', () => {
    expect([parseXenbusState('4'), parseXenbusState(' 6\n'), parseXenbusState('5junk'), parseXenbusState(''), parseXenbusState('x'), parseXenbusState(undefined), parseXenbusState('-1')])
      .toEqual([4, 6, 5, 0, 0, 0, -1]);
  });
  it('MASK_XENCONS_IDX wraps each ring at its own size', () => {
    expect([MASK_XENCONS_IDX(1025, 1024), MASK_XENCONS_IDX(0xffff_ffff, 2048)]).toEqual([1, 2047]);
  });
});
