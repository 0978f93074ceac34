/* timerbomb - timer hypercalls with values a host must survive (issue 8, finding 1): times at
 * 2^53 ns and past it, 2^63 - 1, 2^63 and 2^64 - 1. Xen's answers (xen/common/sched/core.c,
 * xen/common/domain.c): set_timer_op with a negative or > 2^50 ns-ahead timeout fires in 100 ms;
 * a singleshot at an absolute time with bit 63 set is in the past (fires at once); a period
 * above 2^63 - 1 is -EINVAL; SCHEDOP_poll's timeout is a singleshot. The periodic tick is off
 * so only these timers wake the vCPU. Bare: the hypercalls are -ENOSYS -> "timerbomb: bare". */
#include "xen.h"


static long singleshot(uint64_t abs, uint32_t flags)
{
	struct vcpu_set_singleshot_timer t = { abs, flags };
	return HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, 0, &t);
}

static long periodic(uint64_t period)
{
	uint64_t p = period;
	return HYPERVISOR_vcpu_op(VCPUOP_set_periodic_timer, 0, &p);
}

/* Forget earlier timer upcalls (before arming the timer under test). */
static void clear_pending(void) { shared_info()->vcpu_info[0].evtchn_upcall_pending = 0; }

/* Blocks; returns the time asleep in ms (rounded down), or -1 past 1 s (a timer that never came). */
static long block_ms(void)
{
	uint64_t t0 = read_time();
	HYPERVISOR_sched_op(SCHEDOP_block, 0);
	uint64_t dt = read_time() - t0;
	return dt > 1000000000ul ? -1 : (long)(dt / 1000000ul);
}

int main(void)
{
	if (HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, 0, 0) == -XEN_ENOSYS) {
		puts("timerbomb: bare");
		return 0;
	}
	static const uint64_t abs[] = { 1ul << 53, (1ul << 53) + 1, 0x7ffffffffffffffful, 1ul << 63, ~0ul };
	static const char *name[] = { "2^53", "2^53+1", "2^63-1", "2^63", "2^64-1" };
	for (int i = 0; i < 5; i++) {
		long r = singleshot(abs[i], 0);
		long rf = singleshot(abs[i], 1 /* VCPU_SSHOTTMR_future */);
		HYPERVISOR_vcpu_op(VCPUOP_stop_singleshot_timer, 0, 0);
		printf("timerbomb: singleshot %s -> %ld, future -> %ld\n", name[i], r, rf);
	}
	for (int i = 0; i < 5; i++) {
		long r = periodic(abs[i]);
		printf("timerbomb: periodic %s -> %ld\n", name[i], r);
	}
	HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, 0, 0);
	/* bit 63 set: the past, fires at once */
	clear_pending();
	singleshot(~0ul, 0);
	printf("timerbomb: singleshot 2^64-1 + block woke after %ld ms\n", block_ms());
	for (int i = 0; i < 5; i++) {
		clear_pending();
		long r = HYPERVISOR_set_timer_op(abs[i]);
		long ms = block_ms();
		printf("timerbomb: set_timer_op %s -> %ld, woke after %ld ms\n", name[i], r, ms);
	}
	/* SCHEDOP_poll on no ports with a timeout: 2^64-1 is the past (returns at once) */
	struct sched_poll p = { .ports = 0, .nr_ports = 0, .timeout = ~0ul };
	clear_pending();
	uint64_t t0 = read_time();
	long r = HYPERVISOR_sched_op(SCHEDOP_poll, &p);
	printf("timerbomb: poll timeout 2^64-1 -> %ld after %ld ms\n", r, (long)((read_time() - t0) / 1000000ul));
	/* 2^53: beyond simulated time, armed but never fires; cancelled before we exit */
	p.timeout = (1ul << 53) + 12345;
	HYPERVISOR_vcpu_op(VCPUOP_stop_singleshot_timer, 0, 0);
	clear_pending();
	HYPERVISOR_set_timer_op(read_time() + 5000000ul); /* 5 ms: the poll's own timeout never comes */
	t0 = read_time();
	r = HYPERVISOR_sched_op(SCHEDOP_poll, &p);
	printf("timerbomb: poll timeout 2^53+12345 -> %ld, woken by a 5 ms timer after %ld ms\n", r, (long)((read_time() - t0) / 1000000ul));
	puts("timerbomb: done");
	return 0;
}
