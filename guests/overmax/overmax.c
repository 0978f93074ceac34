/* overmax - tries to hold more memory than its maximum (issue 8, finding 9). Each round: grant
 * the page at SLOT to ourselves, map the grant above RAM, decrease_reservation of SLOT (the
 * page stays mapped), populate_physmap of SLOT. As in Xen, a page that is still mapped stays
 * ours and counts in tot_pages until its last unmap, so the populate must fail while we are at
 * max_pages; after unmapping, it succeeds. Our own domid is found by probing (only our own grant
 * to ourselves maps). */
#include "xen.h"
#include "gnttab.h"

#define ROUNDS 2000
#define PAGE 4096ul

static long memop(int op, uint64_t gfn)
{
	uint64_t g = gfn;
	struct xen_memory_reservation r = { .extent_start = (uint64_t)(uintptr_t)&g, .nr_extents = 1, .extent_order = 0, .mem_flags = 0, .domid = DOMID_SELF };
	return HYPERVISOR_memory_op(op, &r);
}

static long reservation(int op)
{
	uint16_t self = DOMID_SELF;
	return HYPERVISOR_memory_op(op, &self);
}

int main(void)
{
	long cur0 = reservation(XENMEM_current_reservation);
	if (cur0 == -XEN_ENOSYS) {
		puts("overmax: bare");
		return 0;
	}
	long max = reservation(XENMEM_maximum_reservation);
	if (xen_gnttab_setup(4) != 0) {
		puts("overmax: setup_table failed");
		return 1;
	}
	uint64_t slot = (ram_end() - (2ul << 20)) >> 12; /* 2 MiB below the top: clear of the stack */
	grant_handle_t h[ROUNDS];
	int self = -1;
	for (int d = 1; d < 256 && self < 0; d++) {
		xen_gnttab_grant(GNTTAB_NR_RESERVED_ENTRIES, d, slot, 0);
		if (xen_gnttab_map(d, GNTTAB_NR_RESERVED_ENTRIES, xen_gnttab_map_window(0), 0, &h[0]) == GNTST_okay)
			self = d;
	}
	if (self < 0) {
		puts("overmax: cannot map our own grant");
		return 1;
	}
	int rounds = 0, populated = 0;
	long worst = 0;
	for (int r = 0; r < ROUNDS; r++) {
		if (r > 0) {
			xen_gnttab_grant(GNTTAB_NR_RESERVED_ENTRIES + r, self, slot, 0);
			if (xen_gnttab_map(self, GNTTAB_NR_RESERVED_ENTRIES + r, xen_gnttab_map_window(r), 0, &h[r]) != GNTST_okay)
				break;
		}
		rounds++;
		long dec = memop(XENMEM_decrease_reservation, slot);
		long pop = memop(XENMEM_populate_physmap, slot);
		long cur = reservation(XENMEM_current_reservation);
		if (cur - max > worst)
			worst = cur - max;
		if (dec != 1 || pop != 1)
			break;
		populated++;
	}
	printf("overmax: %d round(s), %d populate(s) after releasing a mapped page, current - max at worst %ld\n", rounds, populated, worst);
	for (int r = 0; r < rounds; r++)
		xen_gnttab_unmap(xen_gnttab_map_window(r), h[r]);
	long pop = memop(XENMEM_populate_physmap, slot);
	long cur = reservation(XENMEM_current_reservation);
	printf("overmax: after unmapping: populate -> %ld, current = max %s\n", pop, yesno(cur == max));
	return !(worst <= 0 && populated == 0 && pop == 1 && cur == max);
}
