/**
 * Xen's grant-table ABI (xen/include/public/grant_table.h) for a 64-bit guest (xen_pfn_t and
 * guest handles are 8 bytes, as on Arm64/RISC-V). Numbers and layouts only: `@tachyxx/grant`
 * implements them. Field comments say IN (guest -> Xen) or OUT (Xen -> guest).
 */

/** grant_table_op sub-commands (`GNTTABOP_*`). */
export const GnttabOp = {
  map_grant_ref: 0,
  unmap_grant_ref: 1,
  setup_table: 2,
  dump_table: 3,
  transfer: 4,
  copy: 5,
  query_size: 6,
  unmap_and_replace: 7,
  set_version: 8,
  get_status_frames: 9,
  get_version: 10,
  swap_grant_ref: 11,
  cache_flush: 12,
} as const;
export type GnttabOpName = keyof typeof GnttabOp;

/** The command word: bits 11:0 the sub-command; the rest is a continuation argument (cache_flush only). */
export const GNTTABOP_CONTINUATION_ARG_SHIFT = 12;
export const GNTTABOP_CMD_MASK = (1 << GNTTABOP_CONTINUATION_ARG_SHIFT) - 1;

/** `grant_ref_t` is a u32; `grant_handle_t` is a u32. */
export const GRANT_REF_SIZE = 4;

/** v1 entry flags (`GTF_*`): the type in bits 1:0, then the modifiers. */
export const GTF_invalid = 0;
export const GTF_permit_access = 1;
export const GTF_accept_transfer = 2;
export const GTF_transitive = 3;
export const GTF_type_mask = 3;
export const GTF_readonly = 1 << 2;
export const GTF_reading = 1 << 3;
export const GTF_writing = 1 << 4;
export const GTF_PWT = 1 << 5;
export const GTF_PCD = 1 << 6;
export const GTF_PAT = 1 << 7;
export const GTF_sub_page = 1 << 8;
export const GTF_transfer_committed = 1 << 2;
export const GTF_transfer_completed = 1 << 3;

/** Entries 0..7 are reserved for the toolstack (console 0, xenstore 1). */
export const GNTTAB_NR_RESERVED_ENTRIES = 8;
export const GNTTAB_RESERVED_CONSOLE = 0;
export const GNTTAB_RESERVED_XENSTORE = 1;

/** `struct grant_entry_v1` (8 bytes): u16 flags, domid_t domid, u32 frame (a GFN of the granter). */
export const GrantEntryV1 = {
  size: 8,
  flags: { offset: 0, size: 2 },
  domid: { offset: 2, size: 2 },
  frame: { offset: 4, size: 4 },
} as const;
/** v1 entries per 4 KiB grant-table frame. */
export const GRANT_ENTRIES_PER_FRAME_V1 = 4096 / GrantEntryV1.size;

/** Map flags (`GNTMAP_*`). */
export const GNTMAP_device_map = 1 << 0;
export const GNTMAP_host_map = 1 << 1;
export const GNTMAP_readonly = 1 << 2;
export const GNTMAP_application_map = 1 << 3;
export const GNTMAP_contains_pte = 1 << 4;

/** Copy flags (`GNTCOPY_*`): the side names a grant ref instead of a GFN. */
export const GNTCOPY_source_gref = 1 << 0;
export const GNTCOPY_dest_gref = 1 << 1;

/** Per-op status (`GNTST_*`, an int16 in each op struct). */
export const Gntst = {
  okay: 0,
  general_error: -1,
  bad_domain: -2,
  bad_gntref: -3,
  bad_handle: -4,
  bad_virt_addr: -5,
  bad_dev_addr: -6,
  no_device_space: -7,
  permission_denied: -8,
  bad_page: -9,
  bad_copy_arg: -10,
  address_too_big: -11,
  eagain: -12,
  no_space: -13,
} as const;
export type GntstName = keyof typeof Gntst;

/** Name of a GNTST_* value (`bad_gntref`), or `unknown(n)`. */
export function gntstName(status: number): string {
  const e = Object.entries(Gntst).find(([, v]) => v === status);
  return e ? e[0] : `unknown(${status})`;
}

/**
 * `struct gnttab_map_grant_ref` (32 bytes): IN host_addr (a guest-physical address in the
 * mapper's physmap on translated guests), flags, ref, dom; OUT status, handle, dev_bus_addr.
 */
export const GnttabMapGrantRef = {
  size: 32,
  host_addr: { offset: 0, size: 8 },
  flags: { offset: 8, size: 4 },
  ref: { offset: 12, size: 4 },
  dom: { offset: 16, size: 2 },
  status: { offset: 18, size: 2 },
  handle: { offset: 20, size: 4 },
  dev_bus_addr: { offset: 24, size: 8 },
} as const;

/** `struct gnttab_unmap_grant_ref` (24 bytes): IN host_addr, dev_bus_addr, handle; OUT status. */
export const GnttabUnmapGrantRef = {
  size: 24,
  host_addr: { offset: 0, size: 8 },
  dev_bus_addr: { offset: 8, size: 8 },
  handle: { offset: 16, size: 4 },
  status: { offset: 20, size: 2 },
} as const;

/** `struct gnttab_setup_table` (24 bytes): IN dom, nr_frames; OUT status; IN handle frame_list (OUT xen_pfn_t[]). */
export const GnttabSetupTable = {
  size: 24,
  dom: { offset: 0, size: 2 },
  nr_frames: { offset: 4, size: 4 },
  status: { offset: 8, size: 2 },
  frame_list: { offset: 16, size: 8 },
} as const;

/** `struct gnttab_dump_table` (4 bytes): IN dom; OUT status. */
export const GnttabDumpTable = {
  size: 4,
  dom: { offset: 0, size: 2 },
  status: { offset: 2, size: 2 },
} as const;

/** `struct gnttab_copy_ptr` (16 bytes): union { grant_ref_t ref; xen_pfn_t gmfn } u; domid_t domid; u16 offset. */
export const GnttabCopyPtr = {
  size: 16,
  u: { offset: 0, size: 8 },
  domid: { offset: 8, size: 2 },
  offset: { offset: 10, size: 2 },
} as const;

/** `struct gnttab_copy` (40 bytes): IN source, dest, len, flags; OUT status. */
export const GnttabCopy = {
  size: 40,
  source_u: { offset: 0, size: 8 },
  source_domid: { offset: 8, size: 2 },
  source_offset: { offset: 10, size: 2 },
  dest_u: { offset: 16, size: 8 },
  dest_domid: { offset: 24, size: 2 },
  dest_offset: { offset: 26, size: 2 },
  len: { offset: 32, size: 2 },
  flags: { offset: 34, size: 2 },
  status: { offset: 36, size: 2 },
} as const;

/** `struct gnttab_query_size` (16 bytes): IN dom; OUT nr_frames, max_nr_frames, status. */
export const GnttabQuerySize = {
  size: 16,
  dom: { offset: 0, size: 2 },
  nr_frames: { offset: 4, size: 4 },
  max_nr_frames: { offset: 8, size: 4 },
  status: { offset: 12, size: 2 },
} as const;

/** `struct gnttab_set_version` (4 bytes): IN/OUT version. */
export const GnttabSetVersion = {
  size: 4,
  version: { offset: 0, size: 4 },
} as const;

/** `struct gnttab_get_version` (8 bytes): IN dom; OUT version. */
export const GnttabGetVersion = {
  size: 8,
  dom: { offset: 0, size: 2 },
  version: { offset: 4, size: 4 },
} as const;

/** Xen's default `gnttab_max_frames` (per-domain grant-table frames) and `gnttab_max_maptrack_frames`. */
export const DEFAULT_MAX_GRANT_FRAMES = 64;
export const DEFAULT_MAX_MAPTRACK_FRAMES = 1024;

/**
 * Tachyxx guest layout: where a translated guest's grant-table frames appear in its physmap.
 * A fixed 16 MiB window right below guest RAM (Xen on Arm does the same with GUEST_GNTTAB_BASE
 * below its RAM banks), so the frames never collide with RAM that grows by ballooning or with
 * the shared-info page at the end of RAM. setup_table returns frame i at GNTTAB_GUEST_BASE +
 * i * 4096; a domain can have at most GNTTAB_GUEST_SIZE / 4096 frames.
 */
export const GNTTAB_GUEST_BASE = 0x7f00_0000;
export const GNTTAB_GUEST_SIZE = 0x0100_0000;

/**
 * `struct gnttab_cache_flush` (GNTTABOP_cache_flush): IN `a` = dev_bus_addr (the machine address
 * a map returned) or a grant ref; `offset`/`length` within the page; `op` = GNTTAB_CACHE_* bits.
 */
export const GnttabCacheFlush = {
  size: 16,
  a: { offset: 0, size: 8 },
  offset: { offset: 8, size: 2 },
  length: { offset: 10, size: 2 },
  op: { offset: 12, size: 4 },
} as const;
export const GNTTAB_CACHE_CLEAN = 1 << 0;
export const GNTTAB_CACHE_INVAL = 1 << 1;
/** (1u << 31) as an unsigned number. */
export const GNTTAB_CACHE_SOURCE_GREF = 0x80000000;
