/* wdog - SCHEDOP_watchdog and SCHEDOP_shutdown_code as a domain (issue 10).
 * No command line: arms a domain watchdog for 1 s (SCHEDOP_watchdog id 0), feeds it (re-arms it
 * by its id) 3 times 500 ms apart, then stops feeding it and sleeps: about 1 s later the watchdog
 * fires and Xen shuts the domain down with SHUTDOWN_watchdog (the toolstack's on_watchdog).
 * "code=N then": records shutdown code N (SCHEDOP_shutdown_code), then ends as `then` says -
 * "fault" (a load from unmapped guest memory: the hypervisor crashes the domain), "poweroff"
 * (SCHEDOP_shutdown poweroff) or "watchdog" (the watchdog above, never fed): the domain's
 * shutdown reports code N whatever the cause. Bare (vcpu_op is -ENOSYS): "wdog: bare". */
#include "xen.h"

#define MS 1000000ul

/* Sleeps `ns` with the periodic tick stopped: set_timer_op + SCHEDOP_block until the time has
 * come. The timer's upcall is acknowledged first (no handler clears it), else block returns at once. */
static void sleep_ns(uint64_t ns)
{
	uint64_t end = read_time() + ns;
	while (read_time() < end) {
		shared_info()->vcpu_info[0].evtchn_upcall_pending = 0;
		HYPERVISOR_set_timer_op(end);
		HYPERVISOR_sched_op(SCHEDOP_block, 0);
	}
}

static long watchdog(uint32_t id, uint32_t timeout_s)
{
	struct sched_watchdog w = { id, timeout_s };
	return HYPERVISOR_sched_op(SCHEDOP_watchdog, &w);
}

static void hang(void)
{
	for (;;)
		sleep_ns(100 * MS);
}

int main(void)
{
	const char *cmd = boot_start_info ? boot_start_info->cmd_line : "";
	if (HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, 0, 0) == -XEN_ENOSYS) {
		puts("wdog: bare");
		return 0;
	}
	if (strncmp(cmd, "code=", 5) == 0) {
		uint32_t code = 0;
		const char *p = cmd + 5;
		while (*p >= '0' && *p <= '9')
			code = code * 10 + (uint32_t)(*p++ - '0');
		while (*p == ' ')
			p++;
		struct sched_shutdown s = { code };
		long r = HYPERVISOR_sched_op(SCHEDOP_shutdown_code, &s);
		printf("wdog: recorded shutdown code %u: %ld; then %s\n", code, r, p);
		if (strcmp(p, "fault") == 0) {
			volatile uint32_t *unmapped = (volatile uint32_t *)0x1000ul;
			return (int)*unmapped; /* not reached: the domain crashes */
		}
		if (strcmp(p, "poweroff") == 0) {
			struct sched_shutdown off = { SHUTDOWN_poweroff };
			HYPERVISOR_sched_op(SCHEDOP_shutdown, &off);
			hang();
		}
		if (strcmp(p, "watchdog") != 0) {
			puts("wdog: unknown command line");
			return 1;
		}
	}
	printf("wdog: watchdog 3 -> %ld (only %d timers)\n", watchdog(3, 1), 2);
	long id = watchdog(0, 1);
	printf("wdog: armed watchdog %ld for 1 s\n", id);
	for (int i = 1; i <= 3; i++) {
		sleep_ns(500 * MS);
		printf("wdog: fed it (%d): %ld\n", i, watchdog((uint32_t)id, 1));
	}
	puts("wdog: not feeding it any more");
	hang();
}
