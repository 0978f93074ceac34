/**
 * Xen's memory_op ABI (xen/include/public/memory.h) and the reserved domain ids
 * (public/xen.h), for a 64-bit guest (xen_ulong_t, xen_pfn_t and guest handles are 8 bytes,
 * as on Arm64/RISC-V). Numbers only: the hypervisor implements them.
 */

/** memory_op sub-commands (`XENMEM_*`). */
export const XenMem = {
  increase_reservation: 0,
  decrease_reservation: 1,
  maximum_ram_page: 2,
  current_reservation: 3,
  maximum_reservation: 4,
  machphys_mfn_list: 5,
  populate_physmap: 6,
  add_to_physmap: 7,
  memory_map: 9,
  machine_memory_map: 10,
  exchange: 11,
  maximum_gpfn: 14,
  remove_from_physmap: 15,
  access_op: 21,
  claim_pages: 24,
  get_vnumainfo: 26,
} as const;
export type XenMemName = keyof typeof XenMem;

/**
 * The memory_op command word: bits 5:0 = the sub-command, the rest = the extent to start from
 * (Xen's continuation encoding, `cmd >> MEMOP_EXTENT_SHIFT`).
 */
export const MEMOP_EXTENT_SHIFT = 6;
export const MEMOP_CMD_MASK = (1 << MEMOP_EXTENT_SHIFT) - 1;

/** `mem_flags` of a reservation (`XENMEMF_*`). */
export const XENMEMF_populate_on_demand = 1 << 16;
export const XENMEMF_exact_node_request = 1 << 17;
export const XENMEMF_vnode = 1 << 18;
/** `XENMEMF_address_bits(x)`: the allocation must lie below 2^x (0 = no limit). */
export function XENMEMF_address_bits(x: number): number { return x & 0xff; }
export function XENMEMF_get_address_bits(flags: number): number { return flags & 0xff; }
/** `XENMEMF_node(n)`: allocate from NUMA node n. */
export function XENMEMF_node(n: number): number { return ((n + 1) << 8) >>> 0; }
/** The node of `XENMEMF_node`, or 0xff when the flags name none (Xen's NUMA_NO_NODE as u8). */
export function XENMEMF_get_node(flags: number): number { return (((flags >>> 8) - 1) & 0xff) >>> 0; }
export function XENMEMF_exact_node(n: number): number { return (XENMEMF_node(n) | XENMEMF_exact_node_request) >>> 0; }
/** `XENMEMF_get_node` result meaning "no node requested". */
export const XENMEMF_NO_NODE = 0xff;

/**
 * `struct xen_memory_reservation` (64-bit layout; size 32, 8-byte aligned):
 * `XEN_GUEST_HANDLE(xen_pfn_t) extent_start; xen_ulong_t nr_extents; unsigned int extent_order;
 * unsigned int mem_flags; domid_t domid;` + 6 bytes of tail padding.
 * extent_start: increase = OUT MFNs (non-translated guests only), decrease = IN GFNs,
 * populate_physmap = IN GFNs (OUT MFNs for non-translated guests).
 */
export const XenMemoryReservation = {
  size: 32,
  extent_start: { offset: 0, size: 8 },
  nr_extents: { offset: 8, size: 8 },
  extent_order: { offset: 16, size: 4 },
  mem_flags: { offset: 20, size: 4 },
  domid: { offset: 24, size: 2 },
} as const;

/** `struct xen_memory_domain` (current/maximum_reservation, maximum_gpfn): `domid_t domid`. */
export const XenMemoryDomain = {
  size: 2,
  domid: { offset: 0, size: 2 },
} as const;

/** Size of one `xen_pfn_t` in an extent list. */
export const XEN_PFN_SIZE = 8;

/** Reserved domain ids (public/xen.h). Ids >= DOMID_FIRST_RESERVED are never ordinary domains. */
export const DOMID_FIRST_RESERVED = 0x7ff0;
export const DOMID_SELF = 0x7ff0;
export const DOMID_IO = 0x7ff1;
export const DOMID_XEN = 0x7ff2;
export const DOMID_COW = 0x7ff3;
export const DOMID_INVALID = 0x7ff4;
export const DOMID_IDLE = 0x7fff;
export const DOMID_MASK = 0x7fff;

/** add_to_physmap spaces (`XENMAPSPACE_*`, public/memory.h). */
export const XenMapSpace = { shared_info: 0, grant_table: 1, gmfn: 2, gmfn_range: 3, gmfn_foreign: 4, dev_mmio: 5 } as const;
/** XENMAPIDX_grant_table_status: bit 31 of idx selects a v2 status frame. */
export const XENMAPIDX_grant_table_status = 0x80000000;

/**
 * `struct xen_add_to_physmap` (XENMEM_add_to_physmap): `domid_t domid; uint16_t size; unsigned
 * int space; xen_ulong_t idx; xen_pfn_t gpfn;`.
 */
export const XenAddToPhysmap = {
  size: 24,
  domid: { offset: 0, size: 2 },
  size_: { offset: 2, size: 2 },
  space: { offset: 4, size: 4 },
  idx: { offset: 8, size: 8 },
  gpfn: { offset: 16, size: 8 },
} as const;

/** `struct xen_remove_from_physmap` (XENMEM_remove_from_physmap): `domid_t domid; xen_pfn_t gpfn;`. */
export const XenRemoveFromPhysmap = {
  size: 16,
  domid: { offset: 0, size: 2 },
  gpfn: { offset: 8, size: 8 },
} as const;
