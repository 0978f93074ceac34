/* platform.c - the two implementations of platform_write/platform_exit (see platform.h). */
#include "tachyxx.h"

#ifdef PLATFORM_TACHYXX

long platform_write(const void *buf, size_t len)
{
	return HYPERVISOR_console_io(CONSOLEIO_write, (long)len, buf);
}

void platform_exit(int code)
{
	struct sched_shutdown arg = { .reason = code == 0 ? SHUTDOWN_poweroff : SHUTDOWN_crash };
	for (;;)
		HYPERVISOR_sched_op(SCHEDOP_shutdown, &arg);
}

#else /* PLATFORM_LINUX */

#define SYS_write 64
#define SYS_exit 93
#define SYS_exit_group 94

long platform_write(const void *buf, size_t len)
{
	return hypercall6(SYS_write, 1, (long)buf, (long)len, 0, 0, 0);
}

void platform_exit(int code)
{
	for (;;) {
		hypercall6(SYS_exit_group, code, 0, 0, 0, 0, 0);
		hypercall6(SYS_exit, code, 0, 0, 0, 0, 0);
	}
}

#endif

unsigned long boot_vcpu_id;
const struct start_info *boot_start_info;

void exit(int code)
{
	console_flush();
	platform_exit(code);
}

/* Called by crt0 (start.S) with the boot registers. */
__attribute__((noreturn, used)) void _tx_cstart(unsigned long vcpu_id, const struct start_info *si)
{
	boot_vcpu_id = vcpu_id;
	boot_start_info = si;
	exit(main());
}
