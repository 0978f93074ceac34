import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DOMID_XEN, Errno, EvtchnStatus, GnttabMapGrantRef, XenMemoryReservation } from '@tachyxx/abi';
import { Access, PhysMemory } from '@tachyxx/isa';
import { Mmu, S2_ROOT_PAGES } from '@tachyxx/mmu';
import { ConfigError } from '@tachyxx/core';
import {
  FRAME_FREE, IdentityGuestAccess, layoutFields, structBuffer, type AbiLayout, M2P_INVALID, MachineMemory, P2m, P2mGuestAccess, P2M_INVALID_MFN, P2M_R, P2M_RW, P2M_RWX,
} from '../src/index.js';

const MiB = 256; // frames per MiB
const BASE_MFN = 0x80000;

function twoNodes(scrub = true) {
  return new MachineMemory({
    memoryMiB: 16, pcpus: 4, scrub,
    numa: { nodes: [{ memoryMiB: 8, pcpus: [0, 1] }, { memoryMiB: 8, pcpus: [2, 3] }], distances: [[10, 20], [20, 10]] },
  });
}

describe('frame allocator', () => {
  it('starts with every frame free and one node holding all memory by default', () => {
    const m = new MachineMemory({ memoryMiB: 8 });
    expect(m.totalFrames).toBe(8 * MiB);
    expect(m.freeFrames()).toBe(8 * MiB);
    expect(m.numa.nodeCount).toBe(1);
    expect(m.baseMfn).toBe(BASE_MFN);
    expect(m.maxMfn).toBe(BASE_MFN + 8 * MiB - 1);
  });

  it('gives the same frames for the same sequence of calls', () => {
    const run = () => {
      const m = twoNodes();
      const out: number[] = [];
      out.push(m.allocExtent(1, 0), m.allocExtent(2, 3), m.allocExtent(1, 9, { node: 1 }), m.allocExtent(3, 0));
      m.free(out[1]!, 8, 2);
      out.push(m.allocExtent(4, 0), m.allocExtent(4, 2));
      return out;
    };
    expect(run()).toEqual(run());
  });

  it('allocates the lowest free naturally aligned block of a node', () => {
    const m = new MachineMemory({ memoryMiB: 4 });
    expect(m.allocExtent(1, 0)).toBe(BASE_MFN);
    expect(m.allocExtent(1, 2)).toBe(BASE_MFN + 4);
    expect(m.allocExtent(1, 0)).toBe(BASE_MFN + 1);
    const big = m.allocExtent(1, 9);
    expect(big % 512).toBe(0);
    expect(big).toBe(BASE_MFN + 512);
    const root = m.allocExtent(DOMID_XEN, 5);
    expect(root % 32).toBe(0);
  });

  it('prefers the requested node and falls back to the nearest other node when it is full', () => {
    const m = new MachineMemory({
      memoryMiB: 3, pcpus: 3,
      numa: { nodes: [{ memoryMiB: 1, pcpus: [0] }, { memoryMiB: 1, pcpus: [1] }, { memoryMiB: 1, pcpus: [2] }],
        distances: [[10, 30, 15], [30, 10, 20], [15, 20, 10]] },
    });
    expect(m.numa.fallback[0]).toEqual([0, 2, 1]);
    expect(m.alloc(1, MiB, { node: 0 })).not.toBeNull();
    expect(m.freeFrames(0)).toBe(0);
    const mfn = m.allocExtent(1, 0, { node: 0 });
    expect(m.nodeOfMfn(mfn)).toBe(2);
    expect(m.counters.fallbackExtents).toBe(1);
    expect(m.allocExtent(1, 0, { node: 0, exact: true })).toBe(-1);
  });

  it('without a node, takes frames from the node with the most free memory', () => {
    const m = twoNodes();
    m.alloc(1, 10, { node: 0 });
    expect(m.nodeOfMfn(m.allocExtent(2, 0))).toBe(1);
  });

  it('is all or nothing and counts free and used frames per node and per owner', () => {
    const m = twoNodes();
    const got = m.alloc(7, 2 * MiB, { node: 1, contiguousOrder: 9 })!;
    expect(got.length).toBe(2 * MiB);
    expect(m.framesOwnedBy(7)).toBe(2 * MiB);
    expect(m.usedFrames(1)).toBe(2 * MiB);
    expect(m.usedFrames(0)).toBe(0);
    expect(m.alloc(8, 17 * MiB)).toBeNull();
    expect(m.freeFrames()).toBe(14 * MiB);
    expect(m.framesOwnedBy(8)).toBe(0);
  });

  it('scrubs a frame on free, so the next owner reads zeroes', () => {
    const m = new MachineMemory({ memoryMiB: 1 });
    const mfn = m.allocExtent(1, 0);
    m.mem.fill(mfn * 4096, 4096, 0xab);
    m.free(mfn, 1, 1);
    const again = m.allocExtent(2, 0);
    expect(again).toBe(mfn);
    expect(m.mem.readBytes(again * 4096, 4096).every((b) => b === 0)).toBe(true);
    expect(m.counters.framesScrubbed).toBe(1);
  });

  it('refuses to free a frame its caller does not own (a hypervisor bug)', () => {
    const m = new MachineMemory({ memoryMiB: 1 });
    const mfn = m.allocExtent(1, 0);
    expect(() => m.free(mfn, 1, 2)).toThrow(/owned by 1/);
    expect(() => m.free(mfn + 1, 1, 1)).toThrow(/nobody/);
  });

  it('rejects a NUMA config whose memory or pCPUs do not add up', () => {
    expect(() => new MachineMemory({ memoryMiB: 8, pcpus: 2, numa: { nodes: [{ memoryMiB: 4, pcpus: [0, 1] }] } })).toThrow(ConfigError);
    expect(() => new MachineMemory({ memoryMiB: 8, pcpus: 2, numa: { nodes: [{ memoryMiB: 8, pcpus: [0] }] } })).toThrow(/pCPU/);
    expect(() => new MachineMemory({ memoryMiB: 8, pcpus: 1, numa: { nodes: [{ memoryMiB: 8, pcpus: [0] }], distances: [[10, 20]] } })).toThrow(ConfigError);
  });

  it('never gives a frame two owners over random alloc and free sequences', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ free: fc.boolean(), owner: fc.integer({ min: 0, max: 5 }), order: fc.integer({ min: 0, max: 6 }), node: fc.option(fc.integer({ min: 0, max: 1 }), { nil: undefined }) }), { maxLength: 60 }),
      (ops) => {
        const m = new MachineMemory({ memoryMiB: 2, pcpus: 2, numa: { nodes: [{ memoryMiB: 1, pcpus: [0] }, { memoryMiB: 1, pcpus: [1] }] } });
        const held: { mfn: number; n: number; owner: number }[] = [];
        const ref = new Map<number, number>();
        for (const op of ops) {
          if (op.free && held.length > 0) {
            const h = held.splice(op.owner % held.length, 1)[0]!;
            m.free(h.mfn, h.n, h.owner);
            for (let i = 0; i < h.n; i++) ref.delete(h.mfn + i);
          } else {
            const mfn = m.allocExtent(op.owner, op.order, { node: op.node });
            if (mfn < 0) continue;
            const n = 2 ** op.order;
            expect(mfn % n).toBe(0);
            for (let i = 0; i < n; i++) {
              expect(ref.has(mfn + i)).toBe(false);
              ref.set(mfn + i, op.owner);
            }
            held.push({ mfn, n, owner: op.owner });
          }
        }
        for (let f = 0; f < m.totalFrames; f++) expect(m.ownerOf(BASE_MFN + f)).toBe(ref.get(BASE_MFN + f) ?? FRAME_FREE);
        expect(m.freeFrames()).toBe(m.totalFrames - ref.size);
        expect(m.freeFrames(0) + m.freeFrames(1)).toBe(m.freeFrames());
      },
    ), { numRuns: 150 });
  });
});

describe('P2M', () => {
  it('puts its 128 KiB root in 32 aligned frames owned by Xen and frees every table frame on teardown', () => {
    const m = new MachineMemory({ memoryMiB: 8 });
    const p = P2m.create(m, 3)!;
    expect(p.rootMfn % 32).toBe(0);
    expect(m.framesOwnedBy(DOMID_XEN)).toBe(S2_ROOT_PAGES);
    for (let g = 0; g < 700; g++) expect(p.map(0x80000 + g * 37, m.allocExtent(1, 0), P2M_RWX)).toBe(true);
    expect(p.tableFrames).toBeGreaterThan(S2_ROOT_PAGES);
    expect(m.framesOwnedBy(DOMID_XEN)).toBe(p.tableFrames);
    p.teardown();
    expect(m.framesOwnedBy(DOMID_XEN)).toBe(0);
  });

  it('maps, looks up and unmaps like a reference Map, and keeps the M2P in step', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ unmap: fc.boolean(), gfn: fc.oneof(fc.integer({ min: 0x80000, max: 0x80fff }), fc.integer({ min: 0, max: 2 ** 41 - 1 })), perms: fc.constantFrom(P2M_R, P2M_RW, P2M_RWX) }), { maxLength: 80 }),
      (ops) => {
        const m = new MachineMemory({ memoryMiB: 16 });
        const p = P2m.create(m, 1)!;
        const ref = new Map<number, { mfn: number; perms: number }>();
        let mfnNext = BASE_MFN + 2048;
        for (const op of ops) {
          if (op.unmap) {
            const want = ref.get(op.gfn)?.mfn ?? P2M_INVALID_MFN;
            expect(p.unmap(op.gfn)).toBe(want);
            ref.delete(op.gfn);
          } else {
            const mfn = mfnNext++;
            expect(p.map(op.gfn, mfn, op.perms)).toBe(true);
            const old = ref.get(op.gfn);
            if (old) expect(m.m2p.get(old.mfn)).toBe(M2P_INVALID);
            ref.set(op.gfn, { mfn, perms: op.perms });
          }
        }
        for (const [gfn, { mfn, perms }] of ref) {
          expect(p.lookup(gfn)).toBe(mfn);
          expect(p.permsOf(gfn)).toBe(perms);
          expect(m.m2p.get(mfn)).toBe(gfn);
        }
        expect(p.mappedPages).toBe(ref.size);
        p.teardown();
        expect(m.freeFrames()).toBe(m.totalFrames);
      },
    ), { numRuns: 60 });
  });

  it('is walked by the MMU to the same machine address (stage 1 off, stage 2 on)', () => {
    const m = new MachineMemory({ memoryMiB: 16 });
    const p = P2m.create(m, 5)!;
    const mmu = new Mmu(m.mem, { pageWalkCache: false, nestedTlb: false });
    const g = p.p1gatp();
    expect(mmu.writeP1gatp(g.lo, g.hi)).toBe(true);
    const tr = (gpa: number, acc: Access = Access.READ) => mmu.translate(gpa | 0, Math.floor(gpa / 2 ** 32), acc, 2);
    const frames = m.alloc(9, 64)!;
    for (let i = 0; i < 64; i++) p.map(0x80000 + i * 3, frames[i]!, i % 2 ? P2M_R : P2M_RWX);
    for (let i = 0; i < 64; i++) {
      const gpa = (0x80000 + i * 3) * 4096 + 0x9a8;
      expect(tr(gpa)).toBe(m.offsetOf(frames[i]!) + 0x9a8);
      if (i % 2) expect(tr(gpa, Access.WRITE)).toBe(-23);
    }
    expect(tr(0x80001 * 4096)).toBe(-21);
    expect(mmu.stats.forVmid(5).walkRefs.value).toBeGreaterThan(0);
    // a GPA above 4 GiB and a high one near 2^53
    const hi = 2 ** 52 / 4096 + 12345;
    p.map(hi, frames[0]!, P2M_RWX);
    expect(tr(hi * 4096 + 8)).toBe(m.offsetOf(frames[0]!) + 8);
  });

  it('maps 2 MiB superpages when asked, walks them in fewer references, and splits one to unmap a page', () => {
    const m = new MachineMemory({ memoryMiB: 16 });
    const p = P2m.create(m, 2, { superpages: true })!;
    const base = m.allocExtent(4, 9);
    expect(p.map(0x80000, base, P2M_RWX, 9)).toBe(true);
    const tablesBefore = p.tableFrames;
    const mmu = new Mmu(m.mem, { pageWalkCache: false, nestedTlb: false });
    const g = p.p1gatp();
    mmu.writeP1gatp(g.lo, g.hi);
    const gpa = 0x8000_0000 + 0x12345;
    expect(mmu.translate(gpa | 0, 0, Access.READ, 2)).toBe(m.offsetOf(base) + 0x12345);
    expect(mmu.stats.forVmid(2).walkRefs.value).toBe(3);
    expect(p.lookup(0x80000 + 100)).toBe(base + 100);
    const flushed: [number, number, number][] = [];
    m.onUnmap((v, a, b) => flushed.push([v, a, b]));
    expect(p.unmap(0x80000 + 100)).toBe(base + 100);
    expect(p.tableFrames).toBe(tablesBefore + 1);
    expect(p.lookup(0x80000 + 100)).toBe(P2M_INVALID_MFN);
    expect(p.lookup(0x80000 + 101)).toBe(base + 101);
    expect(p.mappedPages).toBe(511);
    expect(flushed).toEqual([[2, (0x80000 + 100) * 4096, 4096]]);
  });

  it('tells the unmap hooks which VMID and GPA to flush', () => {
    const m = new MachineMemory({ memoryMiB: 4 });
    const p = P2m.create(m, 7)!;
    const calls: number[][] = [];
    const off = m.onUnmap((v, a, b) => calls.push([v, a, b]));
    p.map(0x80010, m.allocExtent(1, 0), P2M_RWX);
    p.unmap(0x80010);
    p.unmap(0x80011);
    p.teardown();
    off();
    expect(calls).toEqual([[7, 0x80010 * 4096, 4096], [7, 0, 2 ** 53]]);
  });

  it('tells the map hooks every mapping added, after the unmap of what it replaced (P2M mirrors follow this)', () => {
    const m = new MachineMemory({ memoryMiB: 4 });
    const p = P2m.create(m, 3, { superpages: true })!;
    const log: string[] = [];
    m.onUnmap((v, a, b) => log.push(`unmap ${v} ${a / 4096} ${b / 4096}`));
    const off = m.onMap((v, g, f, perms, n) => log.push(`map ${v} ${g} ${f - m.baseMfn} ${perms} ${n}`));
    const big = m.allocExtent(1, 9);
    p.map(0x80200, big, P2M_RWX, 9);
    const f = m.allocExtent(1, 0);
    p.map(0x80010, f, P2M_RW);
    p.map(0x80010, f, P2M_R); // replace: unmap then map
    off();
    p.map(0x80011, f, P2M_RW);
    expect(log).toEqual([
      `map 3 ${0x80200} ${big - m.baseMfn} ${P2M_RWX} 512`,
      `map 3 ${0x80010} ${f - m.baseMfn} ${P2M_RW} 1`,
      `unmap 3 ${0x80010} 1`,
      `map 3 ${0x80010} ${f - m.baseMfn} ${P2M_R} 1`,
    ]);
  });

  it('lists every leaf in GFN order with its size (forEachMapping)', () => {
    const m = new MachineMemory({ memoryMiB: 8 });
    const p = P2m.create(m, 5, { superpages: true })!;
    const big = m.allocExtent(1, 9), f = m.allocExtent(1, 0);
    p.map(0x80200, big, P2M_RWX, 9);
    p.map(0x80010, f, P2M_R);
    p.map(0x1234567, f, P2M_RW);
    const seen: number[][] = [];
    p.forEachMapping((g, mfn, perms, n) => seen.push([g, mfn, perms, n]));
    expect(seen).toEqual([[0x80010, f, P2M_R, 1], [0x80200, big, P2M_RWX, 512], [0x1234567, f, P2M_RW, 1]]);
  });

  it('keeps a mirror P2M out of the M2P and the hooks', () => {
    const m = new MachineMemory({ memoryMiB: 4 });
    const p = P2m.create(m, 4)!;
    const mirror = P2m.create(m, 4, { mirror: true })!;
    const calls: string[] = [];
    m.onUnmap(() => calls.push('unmap'));
    m.onMap(() => calls.push('map'));
    const f = m.allocExtent(1, 0);
    expect(p.map(0x80000, f, P2M_RWX)).toBe(true);
    expect(calls).toEqual(['map']);
    expect(mirror.map(0x80000, f, P2M_RWX)).toBe(true);
    expect(mirror.map(0x80000, f, P2M_R)).toBe(true);
    expect(mirror.lookup(0x80000)).toBe(f);
    expect(mirror.permsOf(0x80000)).toBe(P2M_R);
    expect(mirror.mappedPages).toBe(1);
    expect(mirror.unmap(0x80000)).toBe(f);
    expect(m.m2p.get(f)).toBe(0x80000); // still the real P2M's
    mirror.teardown();
    expect(calls).toEqual(['map']);
  });
});

describe('guest memory access', () => {
  function setup() {
    const m = new MachineMemory({ memoryMiB: 4 });
    const p = P2m.create(m, 1)!;
    const a = m.allocExtent(1, 0), b = m.allocExtent(1, 0), other = m.allocExtent(2, 0);
    p.map(0x80000, a, P2M_RWX);
    p.map(0x80001, b, P2M_RWX);
    p.map(0x80002, m.allocExtent(1, 0), P2M_R);
    p.map(0x80003, other, P2M_RWX); // mapped but not owned
    return { m, p, a, b, g: new P2mGuestAccess(m, p, 1) };
  }
  const EFAULT = -Errno.EFAULT;

  it('copies across a page boundary through the P2M', () => {
    const { m, a, b, g } = setup();
    const data = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
    expect(g.write(0x8000_0ff8, data)).toBe(0);
    expect(m.mem.readBytes(a * 4096 + 0xff8, 8)).toEqual(data.subarray(0, 8));
    expect(m.mem.readBytes(b * 4096, 8)).toEqual(data.subarray(8));
    const back = new Uint8Array(16);
    expect(g.read(0x8000_0ff8, back)).toBe(0);
    expect(back).toEqual(data);
    expect(g.readU64(0x8000_0ffc)).toBe(0x0c0b0a09_08070605);
    expect(g.readU32(0x8000_0ffe)).toBe(0x0a090807);
  });

  it('scalar stores from a hostile address: -EFAULT and nothing written for read-only, foreign, unmapped, wrapping and malformed ones; in-page and page-crossing stores land', () => {
    const { m, g } = setup();
    const RAM = 0x8000_0000, size = 4 * 1024 * 1024;
    const before = m.mem.readBytes(RAM, size);
    // read-only, another domain's frame, unmapped, negative, past 2^53, 2^64-1, not integers
    const bad = [0x8000_2000, 0x8000_3000, 0x8000_4000, -4, -1, 2 ** 53, 2 ** 64 - 1, 0x8000_0000 + 0.5, Number.NaN, Infinity];
    for (const gpa of bad) {
      expect(g.writeU8(gpa, 0xaa), `writeU8 ${gpa}`).toBe(EFAULT);
      expect(g.writeU16(gpa, 0xaaaa), `writeU16 ${gpa}`).toBe(EFAULT);
      expect(g.writeU32(gpa, 0xaaaa_aaaa), `writeU32 ${gpa}`).toBe(EFAULT);
      expect(g.writeU64(gpa, 0x1234_5678), `writeU64 ${gpa}`).toBe(EFAULT);
    }
    // the last bytes on a writable page, the rest on the read-only one; wrapping past 2^53
    expect(g.writeU16(0x8000_1fff, 0xaaaa)).toBe(EFAULT);
    expect(g.writeU32(0x8000_1ffe, 0xaaaa_aaaa)).toBe(EFAULT);
    expect(g.writeU64(0x8000_1ffc, 0x1234_5678)).toBe(EFAULT);
    expect(g.writeU64(2 ** 53 - 4, 1)).toBe(EFAULT);
    expect(Buffer.from(m.mem.readBytes(RAM, size)).equals(Buffer.from(before))).toBe(true); // not one byte anywhere
    expect(g.writeU32(0x8000_0ffe, 0x0403_0201)).toBe(0); // across two writable pages
    expect(g.writeU64(0x8000_0ff0, 2 ** 53 - 1)).toBe(0);
    expect(g.writeU16(0x8000_1010, 0xbeef)).toBe(0);
    expect(g.writeU8(0x8000_1fff, 0x7f)).toBe(0);
    expect([g.readU32(0x8000_0ffe), g.readU64(0x8000_0ff0), g.readU16(0x8000_1010), g.readU8(0x8000_1fff)]).toEqual([0x0403_0201, 2 ** 53 - 1, 0xbeef, 0x7f]);
    expect(() => g.writeU64(0x8000_0000, -1)).toThrow(RangeError); // a host bug, not a guest value
  });

  it('returns -EFAULT for unmapped, read-only, foreign, overflowing and malformed ranges', () => {
    const { g } = setup();
    expect(g.readU32(0x8000_4000)).toBe(EFAULT);
    expect(g.readU32(0x8000_3000)).toBe(EFAULT); // frame of another domain
    expect(g.readU32(0x8000_2000)).toBe(0);
    expect(g.writeU32(0x8000_2000, 1)).toBe(EFAULT);
    expect(g.writeU32(0x8000_1ffe, 1)).toBe(EFAULT); // second half read-only
    expect(g.checkRange(0x8000_0000, 0x2000, true)).toBe(true);
    expect(g.checkRange(0x8000_0000, 0x2001, true)).toBe(false);
    expect(g.checkRange(0x8000_0000, 0x3000, false)).toBe(true);
    expect(g.checkRange(2 ** 53 - 4, 8, false)).toBe(false);
    expect(g.checkRange(-8, 4, false)).toBe(false);
    expect(g.checkRange(0x8000_0000 + 0.5, 4, false)).toBe(false);
    expect(g.readU64(2 ** 53 - 4)).toBe(EFAULT);
    expect(g.read(0x8000_1ff0, new Uint8Array(0x2000))).toBe(EFAULT);
  });

  it('does not write anything when any page of the range faults', () => {
    const { m, b, g } = setup();
    expect(g.write(0x8000_1ff0, new Uint8Array(32).fill(7))).toBe(EFAULT);
    expect(m.mem.readU8(b * 4096 + 0xff0)).toBe(0);
  });

  it('reads a struct by its abi layout', () => {
    const { g } = setup();
    g.writeU64(0x8000_0100, 0x8000_0800);
    g.writeU64(0x8000_0108, 3);
    g.writeU32(0x8000_0110, 9);
    g.writeU16(0x8000_0118, 0x7ff0);
    expect(g.readStruct(0x8000_0100, XenMemoryReservation)).toEqual({ extent_start: 0x8000_0800, nr_extents: 3, extent_order: 9, mem_flags: 0, domid: 0x7ff0 });
    expect(g.readStruct(0x8000_2ff0, XenMemoryReservation)).toBe(EFAULT);
  });

  it('marshals op structs: reads into a reused object, writes a field with its layout width', () => {
    const { g } = setup();
    const into = structBuffer(GnttabMapGrantRef);
    expect(Object.values(into).every((x) => x === 0)).toBe(true);
    g.writeU64(0x8000_0200, 0x1234_5678_9a);
    g.writeU32(0x8000_0208, 0xffff_ffff);
    g.writeU32(0x8000_020c, 77);
    g.writeU16(0x8000_0210, 5);
    const got = g.readStruct(0x8000_0200, GnttabMapGrantRef, into);
    expect(got).toBe(into);
    expect(into).toMatchObject({ host_addr: 0x1234_5678_9a, flags: 0xffff_ffff, ref: 77, dom: 5 });
    // status is an int16 at offset 0x12: writeField stores exactly 2 bytes, whatever the value's size.
    g.writeU32(0x8000_0212, 0xaaaa_aaaa);
    expect(g.writeField(0x8000_0200, GnttabMapGrantRef, 'status', 0x1_fffe & 0xffff)).toBe(0);
    expect(g.readU16(0x8000_0212)).toBe(0xfffe);
    expect(g.readU16(0x8000_0214)).toBe(0xaaaa);
    // Union members at the same offset: each field keeps its own width.
    expect(layoutFields(EvtchnStatus).map((f) => f.size).every((w) => [1, 2, 4, 8].includes(w))).toBe(true);
    expect(g.writeField(0x8000_2000, GnttabMapGrantRef, 'status', 1)).toBe(EFAULT); // a read-only page
    expect(g.readStruct(0x8000_2ff0, GnttabMapGrantRef, into)).toBe(EFAULT);
  });

  it('refuses a layout with a field the marshaller cannot read', () => {
    const bad: AbiLayout = { size: 8, x: { offset: 0, size: 3 } };
    expect(() => layoutFields(bad)).toThrow(/field 'x' has width 3/);
    const outside: AbiLayout = { size: 4, y: { offset: 2, size: 4 } };
    expect(() => layoutFields(outside)).toThrow(/field 'y' at 2\+4 lies outside the struct \(4 bytes\)/);
  });

  it('has a bare identity variant where GPA = MA', () => {
    const mem = new PhysMemory({ size: 1 << 20 });
    const g = new IdentityGuestAccess(mem);
    expect(g.writeU32(0x8000_0010, 0xdeadbeef)).toBe(0);
    expect(mem.readU32(0x8000_0010)).toBe(0xdeadbeef);
    expect(g.readU32(0x7fff_fffc)).toBe(EFAULT);
    expect(g.readU32(0x8010_0000)).toBe(EFAULT);
  });
});
