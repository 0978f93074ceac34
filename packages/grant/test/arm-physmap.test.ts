// Issue 10: grant frames placed by XENMEM_add_to_physmap(XENMAPSPACE_grant_table) and
// GNTTABOP_cache_flush, through a real Host with the grant component attached.
import { describe, it, expect } from 'vitest';
import { DOMID_SELF, Errno, GTF_permit_access, GTF_reading, GNTMAP_host_map, GNTTAB_CACHE_CLEAN, GNTTAB_CACHE_INVAL, GNTTAB_CACHE_SOURCE_GREF, GnttabOp, Gntst, Hypercall, XenMapSpace, XenMem } from '@tachyxx/abi';
import type { Domain, Host, Vcpu } from '@tachyxx/hypervisor';
import { DATA, HOLE, OPS, domain, gfnOf, grant, hc, makeHost, map1, querySize, setupTable } from './helpers.js';

function xatp(host: Host, d: Domain<Vcpu>, space: number, idx: number, gpfn: number): number {
  d.access.write(OPS, new Uint8Array(24));
  d.access.writeU16(OPS, DOMID_SELF); d.access.writeU32(OPS + 4, space); d.access.writeU64(OPS + 8, idx); d.access.writeU64(OPS + 16, gpfn);
  return host.hypercalls.dispatch(d.vcpus[0]!, Hypercall.memory_op, { a0: XenMem.add_to_physmap, a1: OPS, a2: 0, a3: 0, a4: 0, a5: 0 });
}

function flush(host: Host, d: Domain<Vcpu>, addr: number, offset: number, length: number, op: number): number {
  const at = OPS + 256;
  d.access.write(at, new Uint8Array(16));
  d.access.writeU64(at, addr); d.access.writeU16(at + 8, offset); d.access.writeU16(at + 10, length); d.access.writeU32(at + 12, op >>> 0);
  return hc(host, d, GnttabOp.cache_flush, at, 1);
}

describe('XENMAPSPACE_grant_table', () => {
  it('moves frame idx where the guest asks (growing the table), and setup_table reports the new place', () => {
    const { host } = makeHost();
    const a = domain(host, 'a');
    const target = 0x7e000; // below the grant window, not RAM: nothing there
    expect(xatp(host, a, XenMapSpace.grant_table, 0, target)).toBe(0);
    expect(a.access.writeU32(target * 4096, 0x1234)).toBe(0);
    expect(a.access.readU32(0x7f00_0000)).toBe(-Errno.EFAULT); // left its old GFN
    expect(xatp(host, a, XenMapSpace.grant_table, 3, target + 3)).toBe(0); // grows to 4 frames
    expect(querySize(host, a, DOMID_SELF).nr).toBe(4);
    expect(setupTable(host, a, DOMID_SELF, 4).gfns).toEqual([target, 0x7f001, 0x7f002, target + 3]);
    expect(xatp(host, a, XenMapSpace.grant_table, 64, target + 8)).toBe(-Errno.EINVAL); // max 64 frames
    expect(xatp(host, a, XenMapSpace.grant_table, 0x80000000, target + 8)).toBe(-Errno.EINVAL); // status frames: v2
    // a grant in the moved frame still works (the entry lives in the same machine frame)
    const b = domain(host, 'b');
    const e = target * 4096 + 10 * 8; // entry 10, in frame 0 at its new GFN
    a.access.writeU16(e + 2, b.domid); a.access.writeU32(e + 4, gfnOf(DATA)); a.access.writeU16(e, GTF_permit_access);
    expect(map1(host, b, { hostAddr: HOLE, flags: GNTMAP_host_map, ref: 10, dom: a.domid }).status).toBe(Gntst.okay);
    expect(a.access.readU16(e) & GTF_reading).toBe(GTF_reading);
    // onto another hypervisor page: -EBUSY
    expect(xatp(host, a, XenMapSpace.grant_table, 1, target)).toBe(-Errno.EBUSY);
  });
});

describe('GNTTABOP_cache_flush', () => {
  it('validates as Xen and succeeds on the caller\'s own frames and on frames it has mapped', () => {
    const { host } = makeHost();
    const a = domain(host, 'a'), b = domain(host, 'b'), c = domain(host, 'c');
    const own = a.p2m!.lookup(gfnOf(DATA)) * 4096;
    expect(flush(host, a, own, 0, 4096, GNTTAB_CACHE_CLEAN | GNTTAB_CACHE_INVAL)).toBe(0);
    expect(flush(host, a, own, 4096, 0, GNTTAB_CACHE_CLEAN)).toBe(-Errno.EINVAL);
    expect(flush(host, a, own, 1, 4096, GNTTAB_CACHE_CLEAN)).toBe(-Errno.EINVAL);
    expect(flush(host, a, own, 0, 4097, GNTTAB_CACHE_CLEAN)).toBe(-Errno.EINVAL);
    expect(flush(host, a, own, 0, 8, GNTTAB_CACHE_SOURCE_GREF)).toBe(-Errno.EINVAL);
    expect(flush(host, a, own, 0, 8, 4)).toBe(-Errno.EINVAL);
    expect(flush(host, a, own, 0, 0, GNTTAB_CACHE_CLEAN)).toBe(0); // nothing to do
    expect(flush(host, a, 2 ** 52, 0, 8, GNTTAB_CACHE_CLEAN)).toBe(-Errno.EINVAL); // no such frame
    // b's page: a has no mapping of it
    const bs = b.p2m!.lookup(gfnOf(DATA)) * 4096;
    expect(flush(host, a, bs, 0, 8, GNTTAB_CACHE_INVAL)).toBe(-Errno.EINVAL);
    grant(host, b, 5, a.domid, gfnOf(DATA));
    const m = map1(host, a, { hostAddr: HOLE, flags: GNTMAP_host_map, ref: 5, dom: b.domid });
    expect(m.status).toBe(Gntst.okay);
    expect(flush(host, a, m.devBusAddr, 0, 8, GNTTAB_CACHE_INVAL)).toBe(0);
    expect(flush(host, c, m.devBusAddr, 0, 8, GNTTAB_CACHE_INVAL)).toBe(-Errno.EINVAL);
    expect(hc(host, a, GnttabOp.cache_flush, 0x10, 1)).toBe(-Errno.EFAULT);
    // a free frame belongs to nobody: -EPERM
    expect(flush(host, a, (host.machine.frames.baseMfn + host.machine.frames.frames - 1) * 4096, 0, 8, GNTTAB_CACHE_CLEAN)).toBe(-Errno.EPERM);
  });
});
