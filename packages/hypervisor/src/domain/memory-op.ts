/**
 * memory_op (hypercall 12) with Xen's semantics (xen/common/memory.c do_memory_op), for the
 * sub-commands a balloon driver needs:
 *
 * - XENMEM_increase_reservation (0), decrease_reservation (1), populate_physmap (6): arg is a
 *   `struct xen_memory_reservation`; the result is the number of extents done, counting from the
 *   continuation start `cmd >> MEMOP_EXTENT_SHIFT`. As in Xen, a reservation that cannot be read,
 *   names no domain, names another domain without privilege, asks for more than 2^26 extents or
 *   an order above the caller's limit returns that start (0) rather than an errno. Set
 *   `strictErrors` to get -EFAULT / -ESRCH / -EPERM / -EINVAL there instead.
 *   Work stops at the first extent that fails (out of memory, over max_pages, bad GFN, list
 *   unreadable) and the partial count is returned.
 * - XENMEM_current_reservation (3), maximum_reservation (4), maximum_gpfn (14): arg -> domid_t;
 *   tot_pages / max_pages / highest mapped GFN, or -EFAULT, -ESRCH, -EPERM.
 * - XENMEM_maximum_ram_page (2): max_page (one past the highest machine frame). Never fails.
 * - Anything else: -ENOSYS. A continuation start on a non-reservation command: -EINVAL.
 *
 * Decreasing unmaps each page from the P2M (the flush hooks fire), frees and scrubs the frame and
 * lowers tot_pages; populating allocates (from the domain's NUMA nodes, or XENMEMF_node), maps
 * RWX and raises tot_pages, never past max_pages. Pointers to the extent list are checked with
 * checkRange before any side effect.
 */
import {
  Errno, MEMOP_CMD_MASK, MEMOP_EXTENT_SHIFT, XEN_PFN_SIZE, XenMem, XenMemoryReservation,
  XENMEMF_exact_node_request, XENMEMF_get_address_bits, XENMEMF_get_node, XENMEMF_NO_NODE, XENMEMF_populate_on_demand, XENMEMF_vnode,
} from '@tachyxx/abi';
import type { GuestAccess } from '../memory/guest-access.js';
import type { MachineMemory } from '../memory/machine-memory.js';
import { P2M_INVALID_MFN, P2M_MAX_GFN, P2M_RWX } from '../memory/p2m.js';
import type { Domain } from './domain.js';
import type { DomainTable } from './domain-table.js';

/** Largest extent order per call for ordinary domains and for control domains (Xen's CONFIG_DOMU_MAX_ORDER / CONFIG_CTLDOM_MAX_ORDER defaults). */
export const DOMU_MAX_ORDER = 9;
export const CTLDOM_MAX_ORDER = 12;
/** Largest nr_extents Xen accepts (so that a continuation can encode the start). */
export const MEMOP_MAX_EXTENTS = 0xffffffff >>> MEMOP_EXTENT_SHIFT;

export interface MemoryOpContext<V = unknown> {
  /** The calling domain. */
  readonly domain: Domain<V>;
  /** The caller's guest memory (where `arg` and the extent lists live). Default: `domain.access`. */
  readonly access?: GuestAccess;
  readonly machine: MachineMemory;
  readonly domains: DomainTable<V>;
  /** Return errnos where Xen returns the (zero) count of extents done. Default false (Xen). */
  readonly strictErrors?: boolean;
  /**
   * Preemption (the host's HypercallTable): extent loops charge `itemCycles` per extent, ask
   * preemptCheck() before each but the first, and yield with a continuation whose cmd carries
   * the extents done (`op | done << MEMOP_EXTENT_SHIFT`, as Xen). Without it a call runs to the end.
   */
  readonly preempt?: { preemptCheck(): boolean; charge(cycles: number): void; createContinuation(...args: number[]): number };
  readonly itemCycles?: number;
}

type Ctx<V> = MemoryOpContext<V> & { readonly access: GuestAccess };

/** The marker an extent loop returns when it must yield (carries the extents done). */
class Preempted { constructor(readonly done: number) {} }

/** Before extent `i` (> start): yield? Charges the extent otherwise. */
function yieldAt<V>(ctx: Ctx<V>, i: number, start: number): boolean {
  const p = ctx.preempt;
  if (!p) return false;
  if (i > start && p.preemptCheck()) return true;
  p.charge(ctx.itemCycles ?? 0);
  return false;
}

/** Xen's max_order(d). */
export function maxOrder(d: Domain<unknown>): number {
  return d.privileged ? CTLDOM_MAX_ORDER : DOMU_MAX_ORDER;
}

/** do_memory_op(cmd, arg). `cmd` and `arg` are the guest's a0/a1 as non-negative numbers. */
export function memoryOp<V>(ctx0: MemoryOpContext<V>, cmd: number, arg: number): number {
  const ctx: Ctx<V> = ctx0.access ? ctx0 as Ctx<V> : { ...ctx0, access: ctx0.domain.access };
  const start = Math.floor(cmd / (1 << MEMOP_EXTENT_SHIFT));
  const op = cmd % (1 << MEMOP_EXTENT_SHIFT) & MEMOP_CMD_MASK;
  switch (op) {
    case XenMem.increase_reservation:
    case XenMem.decrease_reservation:
    case XenMem.populate_physmap: {
      const r = reservationOp(ctx, op, start, arg);
      // do_memory_op: a preempted loop continues as op | (nr_done << MEMOP_EXTENT_SHIFT).
      if (r instanceof Preempted) return ctx.preempt!.createContinuation(op + r.done * 2 ** MEMOP_EXTENT_SHIFT, arg);
      return r;
    }
    case XenMem.maximum_ram_page:
      if (start) return -Errno.EINVAL;
      return ctx.machine.maxMfn + 1;
    case XenMem.current_reservation:
    case XenMem.maximum_reservation:
    case XenMem.maximum_gpfn: {
      if (start) return -Errno.EINVAL;
      const domid = ctx.access.readU16(arg);
      if (domid < 0) return -Errno.EFAULT;
      const d = ctx.domains.resolve(domid, ctx.domain);
      if (!d) return -Errno.ESRCH;
      if (!mayTarget(ctx.domain, d)) return -Errno.EPERM;
      if (op === XenMem.current_reservation) return d.totPages;
      if (op === XenMem.maximum_reservation) return d.maxPages;
      return d.p2m ? Math.max(d.p2m.maxMappedGfn, 0) : ctx.machine.maxMfn;
    }
    default:
      return -Errno.ENOSYS;
  }
}

/** Xen's XSM_TARGET default: oneself, or a control domain. */
function mayTarget(src: Domain<unknown>, target: Domain<unknown>): boolean {
  return src === target || src.privileged;
}

interface Memop<V> {
  readonly d: Domain<V>;
  readonly list: number;
  readonly nr: number;
  readonly order: number;
  readonly node: number | undefined;
  readonly exact: boolean;
}

function reservationOp<V>(ctx: Ctx<V>, op: number, start: number, arg: number): number | Preempted {
  const strict = ctx.strictErrors ?? false;
  const r = ctx.access.readStruct(arg, XenMemoryReservation);
  if (typeof r === 'number') return strict ? -Errno.EFAULT : start;
  if (r.nr_extents > MEMOP_MAX_EXTENTS) return strict ? -Errno.EINVAL : start;
  if (start >= r.nr_extents) return start;
  const d = ctx.domains.resolve(r.domid, ctx.domain);
  if (!d || d.isDying) return strict ? -Errno.ESRCH : start;
  // construct_memop_from_reservation: an address limit of a page or less is unusable. (Other
  // address limits are accepted and not enforced: all machine RAM is below 2^32 + 2^31.)
  const bits = XENMEMF_get_address_bits(r.mem_flags);
  if (bits !== 0 && bits <= 12) return strict ? -Errno.EINVAL : start;
  let node: number | undefined;
  const exact = (r.mem_flags & XENMEMF_exact_node_request) !== 0;
  if ((r.mem_flags & XENMEMF_vnode) === 0) {
    const n = XENMEMF_get_node(r.mem_flags);
    if (n !== XENMEMF_NO_NODE) node = n;
  } // vNUMA is not modelled: a virtual node is ignored, as Xen does for a domain without vNUMA
  if (!mayTarget(ctx.domain, d)) return strict ? -Errno.EPERM : start;
  const m: Memop<V> = { d, list: r.extent_start, nr: r.nr_extents, order: r.extent_order, node, exact };
  if (m.order > maxOrder(ctx.domain)) return strict ? -Errno.EINVAL : start;
  if (op === XenMem.increase_reservation) return increaseReservation(ctx, m, start);
  if (op === XenMem.decrease_reservation) return decreaseReservation(ctx, m, start);
  if (r.mem_flags & XENMEMF_populate_on_demand) return start; // PoD is not modelled (Xen on Arm: not supported)
  return populatePhysmap(ctx, m, start);
}

/** The extent list [start, nr) must be readable (and writable when `write`). */
function listOk<V>(ctx: Ctx<V>, m: Memop<V>, start: number, write: boolean): boolean {
  return ctx.access.checkRange(m.list + start * XEN_PFN_SIZE, (m.nr - start) * XEN_PFN_SIZE, write);
}

function increaseReservation<V>(ctx: Ctx<V>, m: Memop<V>, start: number): number | Preempted {
  // Only non-translated domains learn the MFNs; a translated one gets frames it cannot map
  // (as in Xen: translated guests use populate_physmap).
  const report = !m.d.translated && m.list !== 0;
  if (report && !listOk(ctx, m, start, true)) return start;
  const n = 2 ** m.order;
  let i = start;
  for (; i < m.nr; i++) {
    if (yieldAt(ctx, i, start)) return new Preempted(i);
    const mfn = ctx.domains.allocFor(m.d, m.order, m.node, m.exact);
    if (mfn < 0) break;
    m.d.totPages += n;
    if (report && ctx.access.writeU64(m.list + i * XEN_PFN_SIZE, mfn) < 0) break;
  }
  return i;
}

function decreaseReservation<V>(ctx: Ctx<V>, m: Memop<V>, start: number): number | Preempted {
  if (!listOk(ctx, m, start, false)) return start;
  const n = 2 ** m.order;
  let i = start;
  outer: for (; i < m.nr; i++) {
    if (yieldAt(ctx, i, start)) return new Preempted(i);
    const gmfn = ctx.access.readU64(m.list + i * XEN_PFN_SIZE);
    if (gmfn < 0) break;
    for (let j = 0; j < n; j++) if (guestRemovePage(ctx, m.d, gmfn + j) < 0) break outer;
  }
  return i;
}

/**
 * Xen's guest_remove_page: unmap, free (scrub), tot_pages - 1. 0, -EINVAL (not mapped, or a
 * special page such as shared info) or -ENXIO (not the domain's).
 */
export function guestRemovePage<V>(ctx: { machine: MachineMemory }, d: Domain<V>, gfn: number): number {
  const machine = ctx.machine;
  if (d.specialPages.has(gfn)) return -Errno.EINVAL;
  let mfn: number;
  if (d.p2m) {
    mfn = d.p2m.lookup(gfn);
    if (mfn === P2M_INVALID_MFN) return -Errno.EINVAL;
    if (machine.ownerOf(mfn) !== d.domid) return -Errno.ENXIO;
    d.p2m.unmap(gfn);
  } else {
    mfn = gfn;
    if (!machine.frames.valid(mfn)) return -Errno.EINVAL;
    if (machine.ownerOf(mfn) !== d.domid) return -Errno.ENXIO;
  }
  // A page another domain still has grant-mapped stays allocated to `d` and counted in its
  // tot_pages until the last reference goes (Xen: put_page -> free_domheap_pages adjusts
  // tot_pages only then); the domain table lowers tot_pages on that release.
  const mapped = machine.mapRefsOf(mfn) > 0;
  machine.free(mfn, 1, d.domid);
  if (!mapped) d.totPages--;
  return 0;
}

function populatePhysmap<V>(ctx: Ctx<V>, m: Memop<V>, start: number): number | Preempted {
  const translated = m.d.translated;
  if (!listOk(ctx, m, start, !translated)) return start;
  const n = 2 ** m.order;
  const p2m = m.d.p2m;
  let i = start;
  for (; i < m.nr; i++) {
    if (yieldAt(ctx, i, start)) return new Preempted(i);
    const gpfn = ctx.access.readU64(m.list + i * XEN_PFN_SIZE);
    if (gpfn < 0) break;
    if (p2m) {
      // Ours: refuse GFNs that are out of range or already mapped. (Xen replaces the mapping and
      // strands the old page in the domain, where the guest can neither reach nor free it.)
      if (gpfn + n > P2M_MAX_GFN) break;
      let busy = false;
      for (let j = 0; j < n && !busy; j++) busy = p2m.lookup(gpfn + j) !== P2M_INVALID_MFN;
      if (busy) break;
    }
    const mfn = ctx.domains.allocFor(m.d, m.order, m.node, m.exact);
    if (mfn < 0) break;
    if (p2m) {
      if (!p2m.map(gpfn, mfn, P2M_RWX, m.order)) {
        for (let j = 0; j < n; j++) if (p2m.lookup(gpfn + j) === mfn + j) p2m.unmap(gpfn + j);
        ctx.machine.free(mfn, n, m.d.domid);
        break;
      }
      m.d.totPages += n;
    } else {
      m.d.totPages += n;
      for (let j = 0; j < n; j++) ctx.machine.m2p.set(mfn + j, gpfn + j);
      if (ctx.access.writeU64(m.list + i * XEN_PFN_SIZE, mfn) < 0) break;
    }
  }
  return i;
}
