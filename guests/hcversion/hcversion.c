/* hcversion - the classic null hypercall: N calls of xen_version(XENVER_version, NULL), which
 * only returns the version (4.17 -> 0x40011 as a domain; -ENOSYS bare, where the PL0 firmware
 * serves console_io and sched_op only). bench:virt runs it as a domain with --stats and divides
 * by N. The printed count shows every call returned the same value. */
#include "tachyxx.h"

#ifndef HCVERSION_CALLS
#ifdef SMALL
#define HCVERSION_CALLS 10000
#else
#define HCVERSION_CALLS 3000000
#endif
#endif

#define __HYPERVISOR_xen_version 17
#define XENVER_version 0

int main(void)
{
	long first = hypercall6(__HYPERVISOR_xen_version, XENVER_version, 0, 0, 0, 0, 0), same = 0;
	for (long i = 0; i < HCVERSION_CALLS; i++)
		same += hypercall6(__HYPERVISOR_xen_version, XENVER_version, 0, 0, 0, 0, 0) == first;
	printf("hcversion: %ld calls of xen_version(XENVER_version, NULL) = %ld.%ld, %s\n", (long)HCVERSION_CALLS,
	       first >> 16, first & 0xffff, same == HCVERSION_CALLS ? "all the same" : "UNEXPECTED");
	return same == HCVERSION_CALLS ? 0 : 1;
}
