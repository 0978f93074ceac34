/* gntflood - GNTTABOP_copy floods (issue 8, finding 2): CALLS calls of NOPS copy ops, each 4 KiB
 * from one of our pages to another (both DOMID_SELF GFNs: no grant needed). The hypervisor must
 * charge them and preempt the call (Xen's hypercall continuation) so that other domains run
 * meanwhile; the guest sees one call each, and every op's status is GNTST_okay. */
#include "xen.h"
#include "gnttab.h"

#define NOPS 25000
#define CALLS 4


static struct gnttab_copy ops[NOPS];
static uint8_t pages[2][4096] __attribute__((aligned(4096)));

int main(void)
{
	if (HYPERVISOR_grant_table_op(GNTTABOP_copy, ops, 0) == -XEN_ENOSYS) {
		puts("gntflood: bare");
		return 0;
	}
	for (unsigned k = 0; k < 4096; k++)
		pages[0][k] = (uint8_t)(k * 7 + 1);
	uint64_t src = (uint64_t)(uintptr_t)pages[0] >> 12, dst = (uint64_t)(uintptr_t)pages[1] >> 12;
	long bad = 0;
	for (int c = 0; c < CALLS; c++) {
		for (int i = 0; i < NOPS; i++) {
			ops[i] = (struct gnttab_copy){ .source = { .u.gmfn = src, .domid = DOMID_SELF }, .dest = { .u.gmfn = dst, .domid = DOMID_SELF }, .len = 4096, .status = 1 };
		}
		long r = HYPERVISOR_grant_table_op(GNTTABOP_copy, ops, NOPS);
		for (int i = 0; i < NOPS; i++)
			bad += ops[i].status != GNTST_okay;
		printf("gntflood: call %d of %d copies -> %ld\n", c, NOPS, r);
	}
	int same = memcmp(pages[0], pages[1], 4096) == 0;
	printf("gntflood: %d copies of 4 KiB, %ld bad statuses, data copied %s\n", CALLS * NOPS, bad, yesno(same));
	return bad || !same;
}
