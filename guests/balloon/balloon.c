/* balloon - a balloon driver's memory_op calls on DOMID_SELF:
 * current_reservation (3), maximum_reservation (4), decrease_reservation of 16 pages near the
 * top of RAM (1 MiB below it, clear of the stack), current_reservation again (16 fewer),
 * decrease of the same GFNs again (0 done: no longer mapped), populate_physmap to take them back
 * (fresh pages: zeroed, usable), current_reservation back to the start, and populate past the
 * maximum (0 done). Bare: memory_op is -ENOSYS -> "balloon: bare", exit 0. */
#include "xen.h"

#define NPAGES 16
#define PAGE 4096ul

static long reservation(int op)
{
	uint16_t self = DOMID_SELF;
	return HYPERVISOR_memory_op(op, &self);
}

static long memop(int op, uint64_t *gfns, unsigned long n)
{
	struct xen_memory_reservation r = {
		.extent_start = (uint64_t)(uintptr_t)gfns, .nr_extents = n, .extent_order = 0, .mem_flags = 0, .domid = DOMID_SELF,
	};
	return HYPERVISOR_memory_op(op, &r);
}

int main(void)
{
	long cur = reservation(XENMEM_current_reservation);
	if (cur == -XEN_ENOSYS) {
		puts("balloon: bare");
		return 0;
	}
	long max = reservation(XENMEM_maximum_reservation);
	long nr = (long)boot_start_info->nr_pages;
	printf("balloon: current_reservation = nr_pages %+ld\n", cur - nr);
	printf("balloon: maximum_reservation = nr_pages %+ld\n", max - nr);

	uint64_t first = ram_end() - (1ul << 20) - NPAGES * PAGE;
	uint64_t gfns[NPAGES];
	for (int i = 0; i < NPAGES; i++) {
		gfns[i] = (first >> 12) + i;
		uint64_t *p = (uint64_t *)(uintptr_t)(first + i * PAGE);
		for (unsigned k = 0; k < PAGE / 8; k++)
			p[k] = 0xdeadbeef00000000ul | (i << 16) | k;
	}
	long r = memop(XENMEM_decrease_reservation, gfns, NPAGES);
	long cur2 = reservation(XENMEM_current_reservation);
	printf("balloon: decrease_reservation of %d pages -> %ld, current dropped by %ld\n", NPAGES, r, cur - cur2);
	int ok = r == NPAGES && cur - cur2 == NPAGES;

	r = memop(XENMEM_decrease_reservation, gfns, NPAGES);
	printf("balloon: decrease_reservation of the same pages again -> %ld\n", r);
	ok = ok && r == 0;

	r = memop(XENMEM_populate_physmap, gfns, NPAGES);
	long cur3 = reservation(XENMEM_current_reservation);
	printf("balloon: populate_physmap of %d pages -> %ld, current back to the start %s\n", NPAGES, r, yesno(cur3 == cur));
	ok = ok && r == NPAGES && cur3 == cur;

	int zeroed = 1, usable = 1;
	for (int i = 0; i < NPAGES; i++) {
		volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)(first + i * PAGE);
		for (unsigned k = 0; k < PAGE / 8; k++)
			if (p[k] != 0)
				zeroed = 0;
		for (unsigned k = 0; k < PAGE / 8; k++)
			p[k] = ~(uint64_t)k ^ i;
		for (unsigned k = 0; k < PAGE / 8; k++)
			if (p[k] != (~(uint64_t)k ^ i))
				usable = 0;
	}
	printf("balloon: the pages are zeroed %s, usable %s\n", yesno(zeroed), yesno(usable));
	ok = ok && zeroed && usable;

	r = memop(XENMEM_populate_physmap, gfns, 1);
	printf("balloon: populate_physmap of a page that is mapped -> %ld\n", r);

	/* past the maximum: one GFN above RAM that nothing maps */
	if (cur3 >= max) {
		uint64_t above = (ram_end() >> 12) + 64;
		r = memop(XENMEM_populate_physmap, &above, 1);
		printf("balloon: populate_physmap at the maximum -> %ld, current unchanged %s\n", r,
		       yesno(reservation(XENMEM_current_reservation) == cur3));
		ok = ok && r == 0;
	} else {
		puts("balloon: below the maximum (no test past it)");
	}

	/* give back 2 pages, then take back up to the same count with an order-1 extent */
	uint64_t two = gfns[2];
	r = memop(XENMEM_decrease_reservation, &two, 1);
	uint64_t three = gfns[3];
	long r2 = memop(XENMEM_decrease_reservation, &three, 1);
	struct xen_memory_reservation o1 = { .extent_start = (uint64_t)(uintptr_t)&two, .nr_extents = 1, .extent_order = 1, .domid = DOMID_SELF };
	long r3 = HYPERVISOR_memory_op(XENMEM_populate_physmap, &o1);
	printf("balloon: 2 pages out (%ld, %ld), one order-1 extent back -> %ld, current back %s\n", r, r2, r3,
	       yesno(reservation(XENMEM_current_reservation) == cur));
	volatile uint64_t *p2 = (volatile uint64_t *)(uintptr_t)(two << 12);
	p2[0] = 1;
	p2[1023] = 2;
	p2[512 + 1023] = 3;
	printf("balloon: order-1 pages usable %s\n", yesno(p2[0] == 1 && p2[1023] == 2 && p2[512 + 1023] == 3));
	puts(ok ? "balloon: ok" : "balloon: FAILED");
	return ok ? 0 : 1;
}
