/* hcbench - null-hypercall round trip: N calls of sched_op with an unknown sub-command, which
 * has no side effect and returns -ENOSYS both bare and as a domain. It measures nothing itself:
 * the benchmark runs it with --stats and divides (instructions, simCycles, wall seconds) by N.
 * The printed sum (-38 * N) shows every call went through. */
#include "tachyxx.h"

#ifndef HCBENCH_CALLS
#ifdef SMALL
#define HCBENCH_CALLS 10000
#else
#define HCBENCH_CALLS 3000000
#endif
#endif

#define SCHEDOP_invalid 0x7fff /* no such sub-command: -ENOSYS, nothing else happens */

int main(void)
{
	long sum = 0;
	for (long i = 0; i < HCBENCH_CALLS; i++)
		sum += HYPERVISOR_sched_op(SCHEDOP_invalid, 0);
	printf("hcbench: %ld calls of sched_op(invalid), sum of results %ld (%s)\n", (long)HCBENCH_CALLS, sum,
	       sum == -(long)XEN_ENOSYS * HCBENCH_CALLS ? "all -ENOSYS" : "UNEXPECTED");
	return sum == -(long)XEN_ENOSYS * HCBENCH_CALLS ? 0 : 1;
}
