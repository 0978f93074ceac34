/* gnttab.h - grant tables v1 for Tachyxx guests (header-only, allocation-free).
 * The domain's grant frames are already in its physmap at GNTTAB_GUEST_BASE (0x7F00_0000,
 * below RAM; 1 frame = 512 entries at boot, GNTTABOP_setup_table grows it). Granting writes an
 * entry; mapping a peer's grant is GNTTABOP_map_grant_ref into a hole of our physmap (e.g.
 * xen_gnttab_map_window(i), pages above the store ring page). Mirrors
 * packages/abi/src/grant-table.ts. */
#ifndef TACHYXX_XENLIB_GNTTAB_H
#define TACHYXX_XENLIB_GNTTAB_H
#include "xen.h"

#define __HYPERVISOR_grant_table_op 20
#define GNTTABOP_map_grant_ref      0
#define GNTTABOP_unmap_grant_ref    1
#define GNTTABOP_setup_table        2
#define GNTTABOP_dump_table         3
#define GNTTABOP_transfer           4
#define GNTTABOP_copy               5
#define GNTTABOP_query_size         6
#define GNTTABOP_unmap_and_replace  7
#define GNTTABOP_set_version        8
#define GNTTABOP_get_status_frames  9
#define GNTTABOP_get_version       10
#define GNTTABOP_swap_grant_ref    11
#define GNTTABOP_cache_flush       12

/* grant entry v1 flags (public/grant_table.h) */
#define GTF_invalid            0
#define GTF_permit_access      1
#define GTF_accept_transfer    2
#define GTF_transitive         3
#define GTF_type_mask          3
#define GTF_readonly           (1 << 2)
#define GTF_reading            (1 << 3)
#define GTF_writing            (1 << 4)
#define GTF_PWT                (1 << 5)
#define GTF_PCD                (1 << 6)
#define GTF_PAT                (1 << 7)
#define GTF_sub_page           (1 << 8)
#define GTF_transfer_committed (1 << 2)
#define GTF_transfer_completed (1 << 3)
#define GNTMAP_device_map      (1 << 0)
#define GNTMAP_host_map        (1 << 1)
#define GNTMAP_readonly        (1 << 2)
#define GNTMAP_application_map (1 << 3)
#define GNTMAP_contains_pte    (1 << 4)
#define GNTCOPY_source_gref    (1 << 0)
#define GNTCOPY_dest_gref      (1 << 1)
#define GNTTAB_RESERVED_CONSOLE  0
#define GNTTAB_RESERVED_XENSTORE 1

/* op status (enum grant_status) */
#define GNTST_okay               0
#define GNTST_general_error    (-1)
#define GNTST_bad_domain       (-2)
#define GNTST_bad_gntref       (-3)
#define GNTST_bad_handle       (-4)
#define GNTST_bad_virt_addr    (-5)
#define GNTST_bad_dev_addr     (-6)
#define GNTST_no_device_space  (-7)
#define GNTST_permission_denied (-8)
#define GNTST_bad_page         (-9)
#define GNTST_bad_copy_arg    (-10)
#define GNTST_address_too_big (-11)
#define GNTST_eagain          (-12)
#define GNTST_no_space        (-13)

#define GNTTAB_GUEST_BASE 0x7F000000ul
#define GNTTAB_NR_RESERVED_ENTRIES 8 /* refs 0-7: console, xenstore, ... */

typedef uint32_t grant_ref_t;
typedef uint32_t grant_handle_t;
struct grant_entry_v1 { uint16_t flags; uint16_t domid; uint32_t frame; };
struct gnttab_map_grant_ref {
	uint64_t host_addr; uint32_t flags; grant_ref_t ref; uint16_t dom; int16_t status;
	grant_handle_t handle; uint64_t dev_bus_addr;
};
struct gnttab_unmap_grant_ref { uint64_t host_addr; uint64_t dev_bus_addr; grant_handle_t handle; int16_t status; };
struct gnttab_setup_table { uint16_t dom; uint32_t nr_frames; int16_t status; uint64_t frame_list; };
struct gnttab_dump_table { uint16_t dom; int16_t status; };
struct gnttab_copy {
	struct gnttab_copy_ptr {
		union { grant_ref_t ref; uint64_t gmfn; } u; /* gmfn: xen_pfn_t, 64 bits on Arm */
		uint16_t domid;
		uint16_t offset;
	} source, dest;
	uint16_t len;
	uint16_t flags; /* GNTCOPY_* */
	int16_t status;
};
struct gnttab_query_size { uint16_t dom; uint32_t nr_frames; uint32_t max_nr_frames; int16_t status; };
struct gnttab_set_version { uint32_t version; };
struct gnttab_get_version { uint16_t dom; uint16_t pad; uint32_t version; };
/* GNTTABOP_cache_flush: Arm's cache maintenance on a granted page. Tachyxx's memory is
 * coherent: a valid flush does nothing (docs/abi.md). */
#define GNTTAB_CACHE_CLEAN       (1u << 0)
#define GNTTAB_CACHE_INVAL       (1u << 1)
#define GNTTAB_CACHE_SOURCE_GREF (1u << 31)
struct gnttab_cache_flush {
	union { uint64_t dev_bus_addr; grant_ref_t ref; } a;
	uint16_t offset; /* within the grant */
	uint16_t length;
	uint32_t op;     /* GNTTAB_CACHE_* */
};
_Static_assert(sizeof(struct gnttab_map_grant_ref) == 32, "gnttab_map_grant_ref layout");
_Static_assert(sizeof(struct gnttab_copy) == 40, "gnttab_copy layout");
_Static_assert(sizeof(struct gnttab_cache_flush) == 16, "gnttab_cache_flush layout");
_Static_assert(sizeof(struct gnttab_unmap_grant_ref) == 24, "gnttab_unmap_grant_ref layout");
_Static_assert(sizeof(struct gnttab_setup_table) == 24, "gnttab_setup_table layout");

static inline long HYPERVISOR_grant_table_op(int cmd, void *uop, unsigned count)
{
	return hypercall6(__HYPERVISOR_grant_table_op, cmd, (long)uop, count, 0, 0, 0);
}

static inline volatile struct grant_entry_v1 *xen_gnttab_entries(void)
{
	return (volatile struct grant_entry_v1 *)GNTTAB_GUEST_BASE;
}

/* Grows the table to nr frames (0 or -errno / GNTST status); up to 64, Xen's default
 * gnttab_max_frames (a domain's own limit may be lower: then GNTST_general_error). */
static inline long xen_gnttab_setup(uint32_t nr)
{
	uint64_t frames[64];
	struct gnttab_setup_table op = { DOMID_SELF, nr, 0, (uint64_t)(uintptr_t)frames };
	if (nr > 64) return -XEN_EINVAL;
	long r = HYPERVISOR_grant_table_op(GNTTABOP_setup_table, &op, 1);
	return r < 0 ? r : op.status;
}

/* Lets `domid` map our frame `gfn` through `ref` (frame and domid first, then the flags). */
static inline void xen_gnttab_grant(grant_ref_t ref, uint16_t domid, uint64_t gfn, int readonly)
{
	volatile struct grant_entry_v1 *e = &xen_gnttab_entries()[ref];
	e->frame = (uint32_t)gfn;
	e->domid = domid;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	e->flags = GTF_permit_access | (readonly ? GTF_readonly : 0);
}

/* Revokes `ref` unless the peer still has it mapped (Linux's gnttab_end_foreign_access_ref):
 * 0 done, -XEN_EBUSY... (-16) while GTF_reading/GTF_writing. flags+domid are one 32-bit word. */
static inline long xen_gnttab_end_access(grant_ref_t ref)
{
	volatile uint32_t *w = (volatile uint32_t *)&xen_gnttab_entries()[ref];
	uint32_t old = *w;
	for (;;) {
		if (old & (GTF_reading | GTF_writing)) return -16;
		if (__atomic_compare_exchange_n((uint32_t *)w, &old, 0, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) return 0;
	}
}

/* The i-th page of a window for foreign mappings: holes 16 pages above the end of RAM (the
 * shared-info page is at RAM end, the xenstore ring at RAM end + 4096). */
static inline uint64_t xen_gnttab_map_window(unsigned i) { return ram_end() + (16ul + i) * 4096; }

/* Maps `domid`'s grant `ref` at guest-physical `gpa`. Returns 0 and the handle, or a GNTST_*
 * status (< 0) or -errno. */
static inline long xen_gnttab_map(uint16_t domid, grant_ref_t ref, uint64_t gpa, int readonly, grant_handle_t *handle)
{
	struct gnttab_map_grant_ref op = { gpa, GNTMAP_host_map | (readonly ? GNTMAP_readonly : 0), ref, domid, 0, 0, 0 };
	long r = HYPERVISOR_grant_table_op(GNTTABOP_map_grant_ref, &op, 1);
	if (r < 0) return r;
	if (op.status == GNTST_okay) *handle = op.handle;
	return op.status;
}

static inline long xen_gnttab_unmap(uint64_t gpa, grant_handle_t handle)
{
	struct gnttab_unmap_grant_ref op = { gpa, 0, handle, 0 };
	long r = HYPERVISOR_grant_table_op(GNTTABOP_unmap_grant_ref, &op, 1);
	return r < 0 ? r : op.status;
}

#endif
