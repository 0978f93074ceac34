// XENMEM_add_to_physmap / XENMEM_remove_from_physmap (xen/common/memory.c, Arm's
// xenmem_add_to_physmap_one in xen/arch/arm/mm.c): how an Arm guest places its shared-info page
// and its grant-table frames in its physmap.
//
// add_to_physmap: the start extent must fit xatp.size (-EDOM); XENMAPSPACE_gmfn_foreign only
// through the batch call (-ENOSYS); the domain by any id (-ESRCH); xatp_permission_check: a
// translated domain (-EACCES), dev_mmio for the hardware domain on itself only (-EACCES),
// XSM_TARGET (-EPERM). Spaces as Arm: shared_info (idx 0, else -EINVAL), grant_table (the
// grant component's frames, growing the table as gnttab_map_frame), everything else -ENOSYS.
// Placing: the page leaves its old GFN (Xen x86's "unmap from old location"; Xen on Arm 4.17
// answers -EBUSY for a page mapped twice, but Tachyxx maps shared_info at boot for start_info,
// so an Arm guest's one add_to_physmap must move it); RAM at the target GFN is released as Xen
// x86's guest_remove_page; another hypervisor page there is -EBUSY.
//
// remove_from_physmap: no start extent (-EDOM); the domain (-ESRCH), XSM_TARGET (-EPERM); the
// GFN must be mapped (-ENOENT); it is unmapped (RAM stays the domain's, as Xen; the shared-info
// page is kept and can be mapped again).
import { DOMID_SELF, Errno, MEMOP_EXTENT_SHIFT, PAGE_SIZE, XenAddToPhysmap, XenMapSpace, XenMem, XenRemoveFromPhysmap } from '@tachyxx/abi';
import type { MachineMemory } from '../memory/machine-memory.js';
import { P2M_INVALID_MFN, P2M_MAX_GFN, P2M_RW } from '../memory/p2m.js';
import type { Domain } from '../domain/domain.js';
import type { DomainTable } from '../domain/domain-table.js';
import { guestRemovePage } from '../domain/memory-op.js';

/**
 * Grant-table frames for XENMAPSPACE_grant_table, provided by the grant component (Xen's
 * gnttab_map_frame / gnttab_set_frame_gfn).
 */
export interface GrantFrameSpace {
  /** The mfn and current GFN of frame `idx` of `d`'s table, growing it to idx + 1 frames; -errno when it cannot. */
  frame(d: Domain<any>, idx: number): { mfn: number; gfn: number } | number;
  /** Frame `idx` now sits at `gfn` (-1: unmapped). */
  setFrameGfn(d: Domain<any>, idx: number, gfn: number): void;
  /** The frame index mapped at `gfn` in `d`, or -1. */
  frameAt(d: Domain<any>, gfn: number): number;
}

export interface PhysmapContext {
  readonly machine: MachineMemory;
  readonly domains: DomainTable<any>;
  readonly grantFrames: GrantFrameSpace | null;
}

/** The shared-info page's mfn per domain (kept while it is unmapped). */
const sharedInfoMfn = new WeakMap<Domain<any>, number>();

function sharedInfoFrame(d: Domain<any>): number {
  let mfn = sharedInfoMfn.get(d);
  if (mfn === undefined && d.sharedInfoGpa) {
    mfn = d.specialPages.get(d.sharedInfoGpa / PAGE_SIZE) ?? -1;
    if (mfn >= 0) sharedInfoMfn.set(d, mfn);
  }
  return mfn ?? -1;
}

/** memory_op's add/remove_from_physmap, or null for the other sub-commands. */
export function physmapOp(ctx: PhysmapContext, cur: Domain<any>, cmd: number, arg: number): number | null {
  const op = cmd % (1 << MEMOP_EXTENT_SHIFT);
  if (op !== XenMem.add_to_physmap && op !== XenMem.remove_from_physmap) return null;
  const start = Math.floor(cmd / (1 << MEMOP_EXTENT_SHIFT));
  const acc = cur.access;
  if (op === XenMem.add_to_physmap) {
    if (start > 0xffff) return -Errno.EDOM;
    const x = acc.readStruct(arg, XenAddToPhysmap);
    if (typeof x === 'number') return -Errno.EFAULT;
    if (x.space === XenMapSpace.gmfn_foreign) return -Errno.ENOSYS;
    const d = x.domid === DOMID_SELF ? cur : ctx.domains.get(x.domid);
    if (!d || d.isDying) return -Errno.ESRCH;
    if (!d.p2m) return -Errno.EACCES;
    if (x.space === XenMapSpace.dev_mmio && (!d.privileged || d !== cur)) return -Errno.EACCES;
    if (d !== cur && !cur.privileged) return -Errno.EPERM;
    const gfn = x.gpfn;
    switch (x.space) {
      case XenMapSpace.shared_info: {
        if (x.idx !== 0) return -Errno.EINVAL;
        const mfn = sharedInfoFrame(d);
        if (mfn < 0) return -Errno.EINVAL;
        const rc = place(ctx, d, mfn, gfn, d.sharedInfoGpa ? d.sharedInfoGpa / PAGE_SIZE : -1);
        if (rc === 0) d.sharedInfoGpa = gfn * PAGE_SIZE;
        return rc;
      }
      case XenMapSpace.grant_table: {
        const g = ctx.grantFrames;
        if (!g) return -Errno.ENOSYS;
        if (!(x.idx >= 0 && x.idx < 0x80000000)) return -Errno.EINVAL; // status frames: v2 only
        const f = g.frame(d, x.idx);
        if (typeof f === 'number') return f;
        const rc = place(ctx, d, f.mfn, gfn, f.gfn);
        if (rc === 0) g.setFrameGfn(d, x.idx, gfn);
        return rc;
      }
      default:
        return -Errno.ENOSYS;
    }
  }
  if (start) return -Errno.EDOM;
  const x = acc.readStruct(arg, XenRemoveFromPhysmap);
  if (typeof x === 'number') return -Errno.EFAULT;
  const d = x.domid === DOMID_SELF ? cur : ctx.domains.get(x.domid);
  if (!d || d.isDying) return -Errno.ESRCH;
  if (d !== cur && !cur.privileged) return -Errno.EPERM;
  const gfn = x.gpfn;
  if (!d.p2m || !(gfn >= 0 && gfn < P2M_MAX_GFN) || d.p2m.lookup(gfn) === P2M_INVALID_MFN) return -Errno.ENOENT;
  d.p2m.unmap(gfn);
  if (d.specialPages.has(gfn)) {
    d.specialPages.delete(gfn);
    if (d.sharedInfoGpa === gfn * PAGE_SIZE) d.sharedInfoGpa = 0;
    const idx = ctx.grantFrames?.frameAt(d, gfn) ?? -1;
    if (idx >= 0) ctx.grantFrames!.setFrameGfn(d, idx, -1);
  }
  return 0;
}

/** Maps hypervisor page `mfn` of `d` at `gfn`, leaving `oldGfn` (-1: not mapped). 0 or -errno. */
function place(ctx: PhysmapContext, d: Domain<any>, mfn: number, gfn: number, oldGfn: number): number {
  const p2m = d.p2m!;
  if (!(Number.isInteger(gfn) && gfn >= 0 && gfn < P2M_MAX_GFN)) return -Errno.EINVAL;
  if (gfn === oldGfn) return 0;
  const there = p2m.lookup(gfn);
  if (there !== P2M_INVALID_MFN) {
    if (d.specialPages.has(gfn) || p2m.isForeign(gfn)) return -Errno.EBUSY;
    const rc = guestRemovePage(ctx, d, gfn);
    if (rc < 0) return rc;
  }
  if (!p2m.map(gfn, mfn, P2M_RW)) return -Errno.ENOMEM;
  d.specialPages.set(gfn, mfn);
  if (oldGfn >= 0 && p2m.lookup(oldGfn) === mfn) {
    p2m.unmap(oldGfn);
    d.specialPages.delete(oldGfn);
  }
  return 0;
}
