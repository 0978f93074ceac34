/* pollmask - a poll loop that leaves evtchn_upcall_pending set while it masks the upcall. As
 * Xen on Arm decides it (local_events_need_delivery: a pending upcall ends the poll early only
 * while the guest can take it), each SCHEDOP_poll waits for its 1 ms timeout: about 200 polls in
 * 200 ms. A hypervisor that returns at once on any pending upcall makes the loop spin (millions
 * of polls). Two rounds, one per mask: (1) sstatus.SIE off, sie.SEIE on; (2) sie.SEIE off alone,
 * sstatus.SIE on (the upcall stays pending in sip.SEIP, never taken: no trap vector needed).
 * Bare: "pollmask: bare". */
#include "xen.h"

#define SSTATUS_SIE (1ul << 1)

/* 200 ms of 1 ms polls; 0 when they took about 200 (each waited for its timeout). */
static int poll_round(const char *mask, volatile struct vcpu_info *vi)
{
	printf("pollmask: %s: upcall pending %u, sstatus.SIE %lu, sie.SEIE %lu\n", mask, vi->evtchn_upcall_pending,
	       (unsigned long)(csr_read(CSR_SSTATUS) >> 1) & 1, (unsigned long)(csr_read(CSR_SIE) >> 9) & 1);
	uint64_t t0 = read_time(), end = t0 + 200000000ul;
	long polls = 0, bad = 0;
	while (read_time() < end && polls < 100000000) {
		struct sched_poll p = { .ports = 0, .nr_ports = 0, .timeout = read_time() + 1000000ul };
		if (HYPERVISOR_sched_op(SCHEDOP_poll, &p) != 0)
			bad++;
		polls++;
	}
	int ok = polls >= 150 && polls <= 250;
	printf("pollmask: %s: %s polls in 200 ms (one per 1 ms timeout: %s), errors %ld, upcall still pending %u\n",
	       mask, polls <= 250 ? "<= 250" : "> 250", ok ? "yes" : "NO", bad, vi->evtchn_upcall_pending);
	return ok && bad == 0 ? 0 : 1;
}

int main(void)
{
	if (HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, 0, 0) == -38) {
		puts("pollmask: bare");
		return 0;
	}
	volatile struct vcpu_info *vi = &shared_info()->vcpu_info[0];
	/* an upcall: a timer fires while we block (no handler, no trap vector: it stays pending) */
	HYPERVISOR_set_timer_op(read_time() + 1000000ul);
	HYPERVISOR_sched_op(SCHEDOP_block, 0);
	csr_set(CSR_SIE, SIE_SEIE); /* the upcall line enabled, but interrupts off (sstatus.SIE = 0) */
	int fails = poll_round("sstatus.SIE off", vi);
	csr_clear(CSR_SIE, SIE_SEIE); /* the upcall line masked alone ... */
	csr_set(CSR_SSTATUS, SSTATUS_SIE); /* ... with interrupts on */
	fails += poll_round("sie.SEIE off", vi);
	csr_clear(CSR_SSTATUS, SSTATUS_SIE);
	return fails ? 1 : 0;
}
