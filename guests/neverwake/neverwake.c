/* neverwake - a guest that goes to sleep for good (issue 8, finding 16). As a domain: the
 * periodic tick off, set_timer_op(2^63 - 1) + SCHEDOP_block (Xen turns the huge timeout into
 * 100 ms: it wakes), then VCPUOP_set_singleshot_timer at 2^62 ns (about 146 years) + block:
 * nothing can wake it in simulated time, so the run ends as a deadlock. Bare: the guest's own
 * timer (stimecmp) 2^62 ns ahead with sie.STIE, then wfi: the same. */
#include "xen.h"

int main(void)
{
	if (HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, 0, 0) == -XEN_ENOSYS) {
		puts("neverwake: bare, stimecmp 2^62 + wfi");
		console_flush();
		csr_write(CSR_STIMECMP, read_time() + (1ul << 62));
		csr_set(CSR_SIE, SIE_STIE);
		for (;;)
			__asm__ volatile("wfi");
	}
	shared_info()->vcpu_info[0].evtchn_upcall_pending = 0;
	uint64_t t0 = read_time();
	HYPERVISOR_set_timer_op(0x7ffffffffffffffful);
	HYPERVISOR_sched_op(SCHEDOP_block, 0);
	printf("neverwake: set_timer_op(2^63-1) + block woke after %lu ms\n", (unsigned long)((read_time() - t0) / 1000000ul));
	puts("neverwake: singleshot at 2^62 ns + block, for good");
	console_flush();
	struct vcpu_set_singleshot_timer t = { 1ul << 62, 0 };
	HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, 0, &t);
	shared_info()->vcpu_info[0].evtchn_upcall_pending = 0;
	for (;;)
		HYPERVISOR_sched_op(SCHEDOP_block, 0);
	return 0;
}
