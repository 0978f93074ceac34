// grant_table_op through a real Host: two paused hello domains, op structs in guest memory,
// hypercall 20 dispatched as each domain's vCPU. Every check that keeps domains apart.
import { describe, it, expect } from 'vitest';
import {
  DOMID_SELF, DOMID_XEN, Errno, GNTCOPY_dest_gref, GNTCOPY_source_gref, GNTMAP_device_map, GNTMAP_host_map,
  GNTMAP_readonly, GTF_permit_access, GTF_readonly, GTF_reading, GTF_writing, GTF_accept_transfer, GnttabOp, Gntst,
} from '@tachyxx/abi';
import { P2M_R, P2M_INVALID_MFN } from '@tachyxx/hypervisor';
import {
  DATA, HOLE, OPS, copyOps, domain, entryFlags, gfnOf, grant, hc, makeHost, map1, mapOps, querySize, setupTable, text, unmap1, unmapOps,
} from './helpers.js';

const RW = GNTMAP_host_map, RO = GNTMAP_host_map | GNTMAP_readonly;

function pair(opts = {}) {
  const { host, gnt, log } = makeHost(opts);
  const a = domain(host, 'granter');
  const b = domain(host, 'mapper');
  return { host, gnt, log, a, b };
}

describe('setup_table and query_size', () => {
  it('gives a new domain one grant frame at the bottom of the grant window', () => {
    const { host, a } = pair();
    expect(querySize(host, a, DOMID_SELF)).toEqual({ rc: 0, nr: 1, max: 64, status: 0 });
    const r = setupTable(host, a, DOMID_SELF, 4);
    expect(r).toEqual({ rc: 0, status: 0, gfns: [0x7f000, 0x7f001, 0x7f002, 0x7f003] });
    expect(querySize(host, a, a.domid).nr).toBe(4);
    // The frames are the guest's to write: entries live there.
    expect(a.access.writeU32(0x7f00_3ff8, 0xdeadbeef)).toBe(0);
  });

  it('refuses more frames than the per-domain limit the toolstack set', () => {
    const { host, gnt, a } = pair();
    expect(gnt.setMaxGrantFrames(a.domid, 4)).toBe(0);
    expect(setupTable(host, a, DOMID_SELF, 5).status).toBe(Gntst.general_error);
    expect(setupTable(host, a, DOMID_SELF, 4).status).toBe(Gntst.okay);
    expect(querySize(host, a, DOMID_SELF)).toMatchObject({ nr: 4, max: 4 });
    expect(gnt.setMaxGrantFrames(a.domid, 2)).toBe(-Errno.EINVAL); // below what it has
  });

  it('answers bad_domain for an unknown domain and permission_denied for another domain', () => {
    const { host, a, b } = pair();
    expect(setupTable(host, a, 999, 1).status).toBe(Gntst.bad_domain);
    expect(setupTable(host, a, b.domid, 1).status).toBe(Gntst.permission_denied);
    expect(querySize(host, a, b.domid).status).toBe(Gntst.permission_denied);
  });

  it('returns -EFAULT for an unwritable frame list and -EINVAL for count != 1', () => {
    const { host, a } = pair();
    a.access.writeU16(OPS, DOMID_SELF);
    a.access.writeU32(OPS + 4, 2);
    a.access.writeU64(OPS + 16, 0x1000);
    expect(hc(host, a, GnttabOp.setup_table, OPS, 1)).toBe(-Errno.EFAULT);
    expect(hc(host, a, GnttabOp.setup_table, OPS, 2)).toBe(-Errno.EINVAL);
    expect(hc(host, a, GnttabOp.query_size, 0x1000, 1)).toBe(-Errno.EFAULT);
  });
});

describe('map_grant_ref and unmap_grant_ref', () => {
  it('shares a frame: what one domain writes, the other reads, both ways', () => {
    const { host, a, b, gnt } = pair();
    grant(host, a, 10, b.domid, gfnOf(DATA));
    const r = map1(host, b, { hostAddr: HOLE, flags: RW, ref: 10, dom: a.domid });
    expect(r.status).toBe(Gntst.okay);
    const mfn = a.p2m!.lookup(gfnOf(DATA));
    expect(b.p2m!.lookup(gfnOf(HOLE))).toBe(mfn);
    expect(r.devBusAddr).toBe(mfn * 4096);
    expect(entryFlags(a, 10)).toBe(GTF_permit_access | GTF_reading | GTF_writing);
    a.access.write(DATA + 100, text('hello from a'));
    const got = new Uint8Array(12);
    expect(b.access.read(HOLE + 100, got)).toBe(0);
    expect(new TextDecoder().decode(got)).toBe('hello from a');
    expect(b.access.write(HOLE + 200, text('and back'))).toBe(0);
    const back = new Uint8Array(8);
    a.access.read(DATA + 200, back);
    expect(new TextDecoder().decode(back)).toBe('and back');
    // The granter's M2P entry is untouched by the foreign mapping.
    expect(host.machine.m2p.get(mfn)).toBe(gfnOf(DATA));
    expect(unmap1(host, b, HOLE, r.handle)).toBe(Gntst.okay);
    expect(entryFlags(a, 10)).toBe(GTF_permit_access);
    expect(b.p2m!.lookup(gfnOf(HOLE))).toBe(P2M_INVALID_MFN);
    expect(b.access.read(HOLE, got)).toBe(-Errno.EFAULT);
    expect(gnt.statsOf(b.domid)).toMatchObject({ maps: 1, unmaps: 1 });
  });

  it('maps a read-only grant read-only: the mapper can read but its writes fault', () => {
    const { host, a, b } = pair();
    grant(host, a, 3, b.domid, gfnOf(DATA), GTF_permit_access, true);
    expect(map1(host, b, { hostAddr: HOLE, flags: RW, ref: 3, dom: a.domid }).status).toBe(Gntst.general_error);
    expect(entryFlags(a, 3) & (GTF_reading | GTF_writing)).toBe(0);
    const r = map1(host, b, { hostAddr: HOLE, flags: RO, ref: 3, dom: a.domid });
    expect(r.status).toBe(Gntst.okay);
    expect(b.p2m!.permsOf(gfnOf(HOLE))).toBe(P2M_R);
    expect(entryFlags(a, 3) & (GTF_reading | GTF_writing)).toBe(GTF_reading);
    a.access.writeU32(DATA, 0x12345678);
    expect(b.access.readU32(HOLE)).toBe(0x12345678);
    expect(b.access.writeU32(HOLE, 1)).toBe(-Errno.EFAULT);
    expect(a.access.readU32(DATA)).toBe(0x12345678);
  });

  it('refuses a map when the entry names another domain, is not a grant, or the ref is out of range', () => {
    const { host, a, b } = pair();
    const c = domain(host, 'third');
    grant(host, a, 1, c.domid, gfnOf(DATA));
    expect(map1(host, b, { hostAddr: HOLE, flags: RW, ref: 1, dom: a.domid }).status).toBe(Gntst.general_error);
    expect(map1(host, b, { hostAddr: HOLE, flags: RW, ref: 2, dom: a.domid }).status).toBe(Gntst.general_error); // never granted
    grant(host, a, 4, b.domid, gfnOf(DATA), GTF_accept_transfer);
    expect(map1(host, b, { hostAddr: HOLE, flags: RW, ref: 4, dom: a.domid }).status).toBe(Gntst.general_error);
    expect(map1(host, b, { hostAddr: HOLE, flags: RW, ref: 512, dom: a.domid }).status).toBe(Gntst.bad_gntref); // 1 frame = 512 refs
    expect(map1(host, b, { hostAddr: HOLE, flags: RW, ref: 0xffffffff, dom: a.domid }).status).toBe(Gntst.bad_gntref);
    expect(map1(host, b, { hostAddr: HOLE, flags: RW, ref: 1, dom: 999 }).status).toBe(Gntst.bad_domain);
    expect(map1(host, b, { hostAddr: HOLE, flags: RW, ref: 1, dom: DOMID_SELF }).status).toBe(Gntst.bad_domain);
    expect(map1(host, b, { hostAddr: HOLE, flags: 0, ref: 1, dom: a.domid }).status).toBe(Gntst.bad_gntref);
    expect(map1(host, b, { hostAddr: HOLE, flags: RW | GNTMAP_device_map, ref: 1, dom: a.domid }).status).toBe(Gntst.general_error);
    // c, the grantee, may; then b may not share c's pin.
    const rc = map1(host, c, { hostAddr: HOLE, flags: RW, ref: 1, dom: a.domid });
    expect(rc.status).toBe(Gntst.okay);
    grant(host, a, 1, b.domid, gfnOf(DATA)); // the granter rewrites the entry while it is pinned
    expect(map1(host, b, { hostAddr: HOLE, flags: RW, ref: 1, dom: a.domid }).status).toBe(Gntst.general_error);
    expect(b.p2m!.lookup(gfnOf(HOLE))).toBe(P2M_INVALID_MFN);
  });

  it('refuses a granted frame that is not the granter\'s RAM and a host address that is already mapped', () => {
    const { host, a, b } = pair();
    grant(host, a, 1, b.domid, gfnOf(HOLE)); // a hole in a's physmap
    expect(map1(host, b, { hostAddr: HOLE, flags: RW, ref: 1, dom: a.domid }).status).toBe(Gntst.bad_page);
    grant(host, a, 2, b.domid, gfnOf(DATA));
    expect(map1(host, b, { hostAddr: DATA, flags: RW, ref: 2, dom: a.domid }).status).toBe(Gntst.general_error); // b's RAM
    expect(entryFlags(a, 2)).toBe(GTF_permit_access);
  });

  it('re-granting a frame mapped from elsewhere is refused (bad_page): only own RAM can be granted', () => {
    const { host, a, b } = pair();
    const c = domain(host, 'third');
    grant(host, a, 1, b.domid, gfnOf(DATA));
    expect(map1(host, b, { hostAddr: HOLE, flags: RW, ref: 1, dom: a.domid }).status).toBe(Gntst.okay);
    grant(host, b, 1, c.domid, gfnOf(HOLE));
    expect(map1(host, c, { hostAddr: HOLE, flags: RW, ref: 1, dom: b.domid }).status).toBe(Gntst.bad_page);
  });

  it('unmapping twice or with a bad handle gives bad_handle; a wrong host address general_error', () => {
    const { host, a, b } = pair();
    grant(host, a, 5, b.domid, gfnOf(DATA));
    const r = map1(host, b, { hostAddr: HOLE, flags: RW, ref: 5, dom: a.domid });
    expect(unmap1(host, b, HOLE + 4096, r.handle)).toBe(Gntst.general_error);
    expect(unmap1(host, a, HOLE, r.handle)).toBe(Gntst.bad_handle); // handles are per mapper
    expect(unmap1(host, b, HOLE, 12345)).toBe(Gntst.bad_handle);
    expect(unmap1(host, b, HOLE, r.handle)).toBe(Gntst.okay);
    expect(unmap1(host, b, HOLE, r.handle)).toBe(Gntst.bad_handle);
  });

  it('flushes the mapper\'s translations of the page on unmap', () => {
    const { host, a, b } = pair();
    const flushes: [number, number][] = [];
    host.machine.onUnmap((vmid, gpa) => flushes.push([vmid, gpa]));
    const mmuStats = host.pcpus[0]!.mmu.stats.forVmid(b.vmid).flushes.gpa;
    const before = mmuStats.value;
    grant(host, a, 5, b.domid, gfnOf(DATA));
    const r = map1(host, b, { hostAddr: HOLE, flags: RW, ref: 5, dom: a.domid });
    expect(unmap1(host, b, HOLE, r.handle)).toBe(Gntst.okay);
    expect(flushes).toContainEqual([b.vmid, HOLE]);
    expect(mmuStats.value).toBe(before + 1);
  });

  it('keeps a revoked-but-mapped grant in force, flags set, as Xen does', () => {
    const { host, a, b, gnt } = pair();
    grant(host, a, 7, b.domid, gfnOf(DATA));
    const r = map1(host, b, { hostAddr: HOLE, flags: RW, ref: 7, dom: a.domid });
    expect(gnt.endForeignAccess(a.domid, 7)).toBe(false); // Linux's check: still in use
    a.access.writeU16(0x7f00_0000 + 7 * 8, GTF_reading | GTF_writing); // a careless granter clears permit_access
    expect(b.access.writeU32(HOLE, 0xabcd)).toBe(0); // the mapping stays
    // The pin is held, so the same mapper may map it again (Xen checks the entry only on the first pin).
    const r2 = map1(host, b, { hostAddr: HOLE + 4096, flags: RW, ref: 7, dom: a.domid });
    expect(r2.status).toBe(Gntst.okay);
    expect(unmap1(host, b, HOLE, r.handle)).toBe(Gntst.okay);
    expect(unmap1(host, b, HOLE + 4096, r2.handle)).toBe(Gntst.okay);
    expect(entryFlags(a, 7)).toBe(0);
    expect(map1(host, b, { hostAddr: HOLE, flags: RW, ref: 7, dom: a.domid }).status).toBe(Gntst.general_error);
    expect(gnt.endForeignAccess(a.domid, 7)).toBe(true);
  });

  it('keeps GTF_writing while any writable map remains and GTF_reading while any map remains', () => {
    const { host, a, b } = pair();
    grant(host, a, 8, b.domid, gfnOf(DATA));
    const w = map1(host, b, { hostAddr: HOLE, flags: RW, ref: 8, dom: a.domid });
    const ro = map1(host, b, { hostAddr: HOLE + 4096, flags: RO, ref: 8, dom: a.domid });
    expect(entryFlags(a, 8)).toBe(GTF_permit_access | GTF_reading | GTF_writing);
    expect(unmap1(host, b, HOLE, w.handle)).toBe(Gntst.okay);
    expect(entryFlags(a, 8)).toBe(GTF_permit_access | GTF_reading);
    expect(unmap1(host, b, HOLE + 4096, ro.handle)).toBe(Gntst.okay);
    expect(entryFlags(a, 8)).toBe(GTF_permit_access);
  });

  it('processes a batch op by op with per-op status', () => {
    const { host, a, b } = pair();
    grant(host, a, 1, b.domid, gfnOf(DATA));
    grant(host, a, 2, b.domid, gfnOf(DATA) + 1);
    const { rc, res } = mapOps(host, b, [
      { hostAddr: HOLE, flags: RW, ref: 1, dom: a.domid },
      { hostAddr: HOLE + 4096, flags: RW, ref: 99, dom: a.domid },
      { hostAddr: HOLE + 8192, flags: RW, ref: 2, dom: a.domid },
    ]);
    expect(rc).toBe(0);
    expect(res.map((r) => r.status)).toEqual([Gntst.okay, Gntst.general_error, Gntst.okay]);
    const u = unmapOps(host, b, [{ hostAddr: HOLE, handle: res[0]!.handle }, { hostAddr: HOLE + 8192, handle: res[2]!.handle }]);
    expect(u).toEqual({ rc: 0, status: [0, 0] });
  });

  it('rejects bad arrays with -EFAULT, a huge count with -EINVAL, unknown ops with -ENOSYS', () => {
    const { host, b } = pair();
    expect(hc(host, b, GnttabOp.map_grant_ref, 0x1000, 1)).toBe(-Errno.EFAULT);
    expect(hc(host, b, GnttabOp.map_grant_ref, 0x8040_1000 - 16, 1)).toBe(-Errno.EFAULT); // runs off the shared-info page
    expect(hc(host, b, GnttabOp.unmap_grant_ref, 0x1000, 1)).toBe(-Errno.EFAULT);
    expect(hc(host, b, GnttabOp.copy, 0x1000, 2)).toBe(-Errno.EFAULT);
    expect(hc(host, b, GnttabOp.map_grant_ref, OPS, 0x80000000)).toBe(-Errno.EINVAL);
    expect(hc(host, b, GnttabOp.map_grant_ref | (1 << 12), OPS, 0)).toBe(-Errno.EINVAL);
    expect(hc(host, b, GnttabOp.map_grant_ref, OPS, 0)).toBe(0);
    expect(hc(host, b, 13, OPS, 1)).toBe(-Errno.ENOSYS);
    expect(hc(host, b, GnttabOp.transfer, OPS, 1)).toBe(-Errno.EOPNOTSUPP);
  });
});

describe('versions', () => {
  it('accepts version 1, refuses 2 as a v1-only Xen does (-ENOSYS), and reports 1', () => {
    const { host, a } = pair();
    a.access.writeU32(OPS, 1);
    expect(hc(host, a, GnttabOp.set_version, OPS, 1)).toBe(0);
    a.access.writeU32(OPS, 2);
    expect(hc(host, a, GnttabOp.set_version, OPS, 1)).toBe(-Errno.ENOSYS);
    expect(a.access.readU32(OPS)).toBe(1);
    a.access.writeU32(OPS, 3);
    expect(hc(host, a, GnttabOp.set_version, OPS, 1)).toBe(-Errno.EINVAL);
    a.access.write(OPS, new Uint8Array(8));
    a.access.writeU16(OPS, DOMID_SELF);
    expect(hc(host, a, GnttabOp.get_version, OPS, 1)).toBe(0);
    expect(a.access.readU32(OPS + 4)).toBe(1);
    a.access.writeU16(OPS, 999);
    expect(hc(host, a, GnttabOp.get_version, OPS, 1)).toBe(-Errno.ESRCH);
    expect(hc(host, a, GnttabOp.set_version, 0x1000, 1)).toBe(-Errno.EFAULT);
  });
});

describe('copy', () => {
  it('copies from a grant into own memory and from own memory into a grant', () => {
    const { host, a, b, gnt } = pair();
    grant(host, a, 1, b.domid, gfnOf(DATA));
    a.access.write(DATA + 10, text('granted bytes'));
    const r = copyOps(host, b, [
      { src: { u: 1, domid: a.domid, offset: 10 }, dst: { u: gfnOf(DATA), domid: DOMID_SELF, offset: 50 }, len: 13, flags: GNTCOPY_source_gref },
      { src: { u: gfnOf(DATA), domid: DOMID_SELF, offset: 50 }, dst: { u: 1, domid: a.domid, offset: 3000 }, len: 13, flags: GNTCOPY_dest_gref },
    ]);
    expect(r).toEqual({ rc: 0, status: [0, 0] });
    const got = new Uint8Array(13);
    b.access.read(DATA + 50, got);
    expect(new TextDecoder().decode(got)).toBe('granted bytes');
    a.access.read(DATA + 3000, got);
    expect(new TextDecoder().decode(got)).toBe('granted bytes');
    expect(entryFlags(a, 1)).toBe(GTF_permit_access); // pins were temporary
    expect(gnt.statsOf(b.domid)).toMatchObject({ copies: 2, bytesCopied: 26, copyErrors: 0 });
    // The same counters in the stats tree: totals and one group per domain (host.grant.domains.dN).
    const tree = host.stats.dump() as any;
    expect(tree.host.grant.total).toMatchObject({ copies: 2, bytesCopied: 26 });
    expect(tree.host.grant.domains[`d${b.domid}`]).toMatchObject({ copies: 2, bytesCopied: 26, copyErrors: 0, maps: 0 });
    expect(tree.host.grant.domains[`d${a.domid}`]).toBeUndefined(); // it did nothing itself
  });

  it('checks offsets, lengths, sides and permissions per op', () => {
    const { host, a, b } = pair();
    grant(host, a, 1, b.domid, gfnOf(DATA));
    grant(host, a, 2, b.domid, gfnOf(DATA), GTF_permit_access, true);
    const own = { u: gfnOf(DATA), domid: DOMID_SELF, offset: 0 };
    const r = copyOps(host, b, [
      { src: { u: 1, domid: a.domid, offset: 4000 }, dst: own, len: 100, flags: GNTCOPY_source_gref },        // past the page
      { src: { u: 1, domid: a.domid, offset: 0 }, dst: { ...own, offset: 4095 }, len: 2, flags: GNTCOPY_source_gref },
      { src: { u: gfnOf(DATA), domid: a.domid, offset: 0 }, dst: own, len: 8, flags: 0 },                        // a GFN of another domain
      { src: own, dst: { u: 2, domid: a.domid, offset: 0 }, len: 8, flags: GNTCOPY_dest_gref },                  // into a read-only grant
      { src: { u: 2, domid: a.domid, offset: 0 }, dst: own, len: 8, flags: GNTCOPY_source_gref },                // out of it: fine
      { src: { u: 600, domid: a.domid, offset: 0 }, dst: own, len: 8, flags: GNTCOPY_source_gref },              // ref out of range
      { src: { u: 3, domid: a.domid, offset: 0 }, dst: own, len: 8, flags: GNTCOPY_source_gref },                // not granted
      { src: { u: 1, domid: 999, offset: 0 }, dst: own, len: 8, flags: GNTCOPY_source_gref },                    // no such domain
      { src: { u: gfnOf(HOLE), domid: DOMID_SELF, offset: 0 }, dst: own, len: 8, flags: 0 },                    // a hole
      { src: { u: 9, domid: a.domid, offset: 9999 }, dst: own, len: 0, flags: GNTCOPY_source_gref },            // len 0: nothing checked
    ]);
    expect(r.rc).toBe(0);
    expect(r.status).toEqual([
      Gntst.bad_copy_arg, Gntst.bad_copy_arg, Gntst.permission_denied, Gntst.general_error, Gntst.okay,
      Gntst.bad_gntref, Gntst.general_error, Gntst.bad_domain, Gntst.bad_page, Gntst.okay,
    ]);
    for (const ref of [1, 2]) expect(entryFlags(a, ref) & (GTF_reading | GTF_writing)).toBe(0);
  });
});

describe('lifecycle', () => {
  it('refuses maps of a dead granter\'s refs (bad_domain) but keeps existing maps valid until unmapped', () => {
    const { host, a, b } = pair();
    // A first map at HOLE gives b's P2M its interior tables there (kept until teardown).
    grant(host, a, 1, b.domid, gfnOf(DATA));
    unmap1(host, b, HOLE, map1(host, b, { hostAddr: HOLE, flags: RW, ref: 1, dom: a.domid }).handle);
    const free0 = host.machine.freeFrames();
    const xen0 = host.machine.framesOwnedBy(DOMID_XEN);
    const c = domain(host, 'granter2');
    grant(host, c, 1, b.domid, gfnOf(DATA));
    grant(host, c, 2, b.domid, gfnOf(DATA) + 1);
    c.access.write(DATA, text('outlives me'));
    const r = map1(host, b, { hostAddr: HOLE, flags: RW, ref: 1, dom: c.domid });
    expect(r.status).toBe(0);
    const mfn = c.p2m!.lookup(gfnOf(DATA));
    host.destroyDomain(c);
    expect(map1(host, b, { hostAddr: HOLE + 4096, flags: RW, ref: 2, dom: c.domid }).status).toBe(Gntst.bad_domain);
    expect(host.machine.ownerOf(mfn)).toBe(DOMID_XEN);
    expect(host.machine.deferredFrames).toBe(1);
    const got = new Uint8Array(11);
    expect(b.access.read(HOLE, got)).toBe(0);
    expect(new TextDecoder().decode(got)).toBe('outlives me');
    expect(unmap1(host, b, HOLE, r.handle)).toBe(Gntst.okay);
    expect(host.machine.deferredFrames).toBe(0);
    expect(host.machine.freeFrames()).toBe(free0);
    expect(host.machine.framesOwnedBy(DOMID_XEN)).toBe(xen0);
  });

  it('releases a dying mapper\'s maps and clears the granter\'s flags', () => {
    const { host, a, gnt } = pair();
    const m = domain(host, 'mapper2');
    grant(host, a, 1, m.domid, gfnOf(DATA));
    expect(map1(host, m, { hostAddr: HOLE, flags: RW, ref: 1, dom: a.domid }).status).toBe(0);
    expect(entryFlags(a, 1)).toBe(GTF_permit_access | GTF_reading | GTF_writing);
    host.destroyDomain(m);
    expect(entryFlags(a, 1)).toBe(GTF_permit_access);
    expect(host.machine.mapRefsOf(a.p2m!.lookup(gfnOf(DATA)))).toBe(0);
    expect(gnt.statsJson()).toMatchObject({ liveMappings: 0, activeEntries: 0 });
  });

  it('returns host memory exactly over 20 create/grant/map/destroy cycles in both orders', () => {
    const { host } = makeHost();
    const free0 = host.machine.freeFrames();
    const xen0 = host.machine.framesOwnedBy(DOMID_XEN);
    for (let i = 0; i < 20; i++) {
      const g = domain(host, `g${i}`), m = domain(host, `m${i}`);
      setupTable(host, g, DOMID_SELF, 1 + (i % 3));
      for (let k = 0; k < 4; k++) {
        grant(host, g, 8 + k, m.domid, gfnOf(DATA) + k, GTF_permit_access, k % 2 === 1);
        expect(map1(host, m, { hostAddr: HOLE + k * 4096, flags: k % 2 ? RO : RW, ref: 8 + k, dom: g.domid }).status).toBe(0);
      }
      if (i % 2) { host.destroyDomain(g); host.destroyDomain(m); } else { host.destroyDomain(m); host.destroyDomain(g); }
      expect(host.machine.freeFrames()).toBe(free0);
      expect(host.machine.framesOwnedBy(DOMID_XEN)).toBe(xen0);
      expect(host.machine.deferredFrames).toBe(0);
    }
  });
});

describe('dom0 TypeScript backends', () => {
  it('map a guest grant to a live view, write only when writable, and unmap', () => {
    const { host, a, gnt } = pair();
    grant(host, a, 1, 0, gfnOf(DATA));
    grant(host, a, 2, 0, gfnOf(DATA) + 1, GTF_permit_access, true);
    const m = gnt.mapForeign(a.domid, 1);
    if ('status' in m) throw new Error(`map failed ${m.status}`);
    a.access.write(DATA, text('ring'));
    expect(new TextDecoder().decode(m.bytes.subarray(0, 4))).toBe('ring');
    expect(m.write(8, text('reply'))).toBe(0);
    const got = new Uint8Array(5);
    a.access.read(DATA + 8, got);
    expect(new TextDecoder().decode(got)).toBe('reply');
    // A range of a larger buffer (blkback's request buffer), by offset: no view of it needed.
    const big = text('xxxxpartialyyyy');
    expect(m.write(100, big, 4, 7)).toBe(0);
    const part = new Uint8Array(9);
    a.access.read(DATA + 99, part);
    expect(Array.from(part)).toEqual([0, ...text('partial'), 0]);
    expect(m.write(4090, big, 0, 7)).toBe(-Errno.EINVAL); // past the frame
    expect(m.write(0, big, 10, 6)).toBe(-Errno.EINVAL); // past the source
    expect(m.write(0, big, -1, 2)).toBe(-Errno.EINVAL);
    expect(m.write(0, big, 0, -1)).toBe(-Errno.EINVAL);
    expect(gnt.mapForeign(a.domid, 2)).toEqual({ status: Gntst.general_error }); // writable map of a read-only grant
    const ro = gnt.mapForeign(a.domid, 2, { readonly: true });
    if ('status' in ro) throw new Error('ro map failed');
    expect(ro.write(0, text('x'))).toBe(-Errno.EACCES);
    expect(gnt.mapForeign(a.domid, 1, { as: 5 })).toEqual({ status: Gntst.general_error }); // not granted to d5
    expect(entryFlags(a, 1)).toBe(GTF_permit_access | GTF_reading | GTF_writing);
    expect(gnt.unmapForeign(m.handle)).toBe(Gntst.okay);
    expect(gnt.unmapForeign(m.handle)).toBe(Gntst.bad_handle);
    expect(m.write(0, text('late'))).toBe(-Errno.ENOENT);
    expect(gnt.unmapForeign(ro.handle)).toBe(Gntst.okay);
    expect(entryFlags(a, 1)).toBe(GTF_permit_access);
  });

  it('grant-copies between guest grants and local buffers', () => {
    const { host, a, b, gnt } = pair();
    grant(host, a, 1, 0, gfnOf(DATA));
    grant(host, b, 1, 0, gfnOf(DATA));
    a.access.write(DATA + 100, text('packet'));
    const buf = new Uint8Array(64);
    const st = gnt.copy([
      { source: { ref: 1, domid: a.domid, offset: 100 }, dest: { buffer: buf, offset: 0 }, len: 6 },
      { source: { buffer: buf, offset: 0 }, dest: { ref: 1, domid: b.domid, offset: 7 }, len: 6 },
      { source: { ref: 1, domid: a.domid, offset: 100 }, dest: { ref: 1, domid: b.domid, offset: 20 }, len: 6 },
      { source: { ref: 1, domid: a.domid, offset: 0 }, dest: { buffer: buf, offset: 60 }, len: 6 },   // past the buffer
      { source: { gfn: gfnOf(DATA), domid: a.domid, offset: 0 }, dest: { buffer: buf, offset: 0 }, len: 6 },
    ]);
    expect(st).toEqual([0, 0, 0, Gntst.bad_copy_arg, Gntst.permission_denied]);
    const got = new Uint8Array(6);
    b.access.read(DATA + 7, got);
    expect(new TextDecoder().decode(got)).toBe('packet');
    b.access.read(DATA + 20, got);
    expect(new TextDecoder().decode(got)).toBe('packet');
    expect(gnt.statsOf(0)).toMatchObject({ copies: 3, bytesCopied: 18, copyErrors: 2 });
  });

  it('a grant copy leaves the entry flags as pin + unpin do: cleared after the op, kept while a mapping holds the entry', () => {
    const { host, a, gnt } = pair();
    grant(host, a, 1, 0, gfnOf(DATA));
    grant(host, a, 2, 0, gfnOf(DATA) + 1);
    grant(host, a, 3, 0, gfnOf(DATA) + 2, GTF_permit_access, true); // read-only grant
    a.access.write(DATA + 100, text('packet'));
    const buf = new Uint8Array(8);
    // the same ref on both sides, a fresh entry, a read-only grant as the destination
    const st = gnt.copy([
      { source: { ref: 1, domid: a.domid, offset: 100 }, dest: { ref: 1, domid: a.domid, offset: 200 }, len: 6 },
      { source: { ref: 2, domid: a.domid, offset: 0 }, dest: { buffer: buf, offset: 0 }, len: 8 },
      { source: { buffer: buf, offset: 0 }, dest: { ref: 3, domid: a.domid, offset: 0 }, len: 8 },
      { source: { ref: 2, domid: a.domid, offset: 0 }, dest: { ref: 3, domid: a.domid, offset: 0 }, len: 8 },
    ]);
    expect(st).toEqual([0, 0, Gntst.general_error, Gntst.general_error]);
    const got = new Uint8Array(6);
    a.access.read(DATA + 200, got);
    expect(new TextDecoder().decode(got)).toBe('packet');
    for (const ref of [1, 2]) expect(entryFlags(a, ref)).toBe(GTF_permit_access);
    expect(entryFlags(a, 3)).toBe(GTF_permit_access | GTF_readonly);
    // a guest that set GTF_reading in its own entry: cleared by the copy's unpin, as Xen's is
    grant(host, a, 2, 0, gfnOf(DATA) + 1, GTF_permit_access | GTF_reading);
    expect(gnt.copy([{ source: { ref: 2, domid: a.domid, offset: 0 }, dest: { buffer: buf, offset: 0 }, len: 8 }])).toEqual([0]);
    expect(entryFlags(a, 2)).toBe(GTF_permit_access);
    // mapped read-only by the backend: a write copy adds GTF_writing for the op only, GTF_reading stays
    const ro = gnt.mapForeign(a.domid, 1, { readonly: true });
    if ('status' in ro) throw new Error('map failed');
    expect(entryFlags(a, 1)).toBe(GTF_permit_access | GTF_reading);
    expect(gnt.copy([{ source: { buffer: buf, offset: 0 }, dest: { ref: 1, domid: a.domid, offset: 300 }, len: 8 }])).toEqual([0]);
    expect(entryFlags(a, 1)).toBe(GTF_permit_access | GTF_reading);
    expect(gnt.unmapForeign(ro.handle)).toBe(Gntst.okay);
    expect(entryFlags(a, 1)).toBe(GTF_permit_access);
  });

  it('grant-copies at any offset of a local buffer (a backend\'s 1 MiB request), a guest side stays within its page', () => {
    const { host, a, gnt } = pair();
    grant(host, a, 1, 0, gfnOf(DATA));
    a.access.write(DATA + 8, text('segment'));
    const big = new Uint8Array(1 << 20);
    const at = (1 << 20) - 4096; // past 0xffff: not a gnttab_copy_ptr offset, an index in the buffer
    const st = gnt.copy([
      { source: { ref: 1, domid: a.domid, offset: 8 }, dest: { buffer: big, offset: at }, len: 7 },
      { source: { buffer: big, offset: at }, dest: { ref: 1, domid: a.domid, offset: 100 }, len: 7 },
      { source: { buffer: big, offset: -1 }, dest: { ref: 1, domid: a.domid, offset: 0 }, len: 7 },
      { source: { buffer: big, offset: 0 }, dest: { ref: 1, domid: a.domid, offset: 0x10000 }, len: 7 },
      { source: { buffer: big, offset: 0 }, dest: { ref: 1, domid: a.domid, offset: 4090 }, len: 7 }, // past the page
    ]);
    expect(st).toEqual([0, 0, Gntst.bad_copy_arg, Gntst.bad_copy_arg, Gntst.bad_copy_arg]);
    expect(new TextDecoder().decode(big.subarray(at, at + 7))).toBe('segment');
    const got = new Uint8Array(7);
    a.access.read(DATA + 100, got);
    expect(new TextDecoder().decode(got)).toBe('segment');
  });

  it('grants from TypeScript (grantForeignAccess) and ends access only when unmapped', () => {
    const { host, a, b, gnt } = pair();
    expect(gnt.grantForeignAccess(a.domid, 600, b.domid, gfnOf(DATA))).toBe(0); // grows the table to 2 frames
    expect(gnt.tableInfo(a.domid)!.nrFrames).toBe(2);
    const r = map1(host, b, { hostAddr: HOLE, flags: RW, ref: 600, dom: a.domid });
    expect(r.status).toBe(0);
    expect(gnt.endForeignAccess(a.domid, 600)).toBe(false);
    expect(unmap1(host, b, HOLE, r.handle)).toBe(0);
    expect(gnt.endForeignAccess(a.domid, 600)).toBe(true);
    expect(gnt.entry(a.domid, 600)).toEqual({ flags: 0, domid: b.domid, frame: gfnOf(DATA) });
    expect(gnt.grantForeignAccess(a.domid, 64 * 512, b.domid, 1)).toBe(-Errno.EINVAL);
  });
});

describe('dump_table', () => {
  it('logs the table and its active entries', () => {
    const { host, a, b, log } = pair();
    grant(host, a, 3, b.domid, gfnOf(DATA));
    map1(host, b, { hostAddr: HOLE, flags: RO, ref: 3, dom: a.domid });
    a.access.writeU16(OPS, DOMID_SELF);
    expect(hc(host, a, GnttabOp.dump_table, OPS, 1)).toBe(0);
    expect(a.access.readU16(OPS + 2)).toBe(0);
    expect(log.join('\n')).toMatch(/\[3\] flags 0x9 dom \d+ .*pins r1\/w0/);
  });
});
