/* hypercall.h - Xen hypercall ABI of Tachyxx (boot ABI v1).
 * ecall with a7 = hypercall number, arguments a0..a5, result in a0 (negative Xen errno). */
#ifndef TACHYXX_HYPERCALL_H
#define TACHYXX_HYPERCALL_H
#include <stdint.h>

#define __HYPERVISOR_console_io 18
#define __HYPERVISOR_sched_op   29

#define CONSOLEIO_write 0
#define CONSOLEIO_read  1

/* sched_op (public/sched.h) */
#define SCHEDOP_yield           0
#define SCHEDOP_block           1
#define SCHEDOP_shutdown        2
#define SCHEDOP_poll            3
#define SCHEDOP_remote_shutdown 4
#define SCHEDOP_shutdown_code   5
#define SCHEDOP_watchdog        6
#define SCHEDOP_pin_override    7

#define SHUTDOWN_poweroff   0
#define SHUTDOWN_reboot     1
#define SHUTDOWN_suspend    2
#define SHUTDOWN_crash      3
#define SHUTDOWN_watchdog   4
#define SHUTDOWN_soft_reset 5

#define XEN_ENOSYS 38

struct sched_shutdown { uint32_t reason; };

static inline long hypercall6(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	register long r_a0 __asm__("a0") = a0;
	register long r_a1 __asm__("a1") = a1;
	register long r_a2 __asm__("a2") = a2;
	register long r_a3 __asm__("a3") = a3;
	register long r_a4 __asm__("a4") = a4;
	register long r_a5 __asm__("a5") = a5;
	register long r_a7 __asm__("a7") = nr;
	__asm__ volatile("ecall"
			 : "+r"(r_a0), "+r"(r_a1), "+r"(r_a2), "+r"(r_a3), "+r"(r_a4), "+r"(r_a5)
			 : "r"(r_a7)
			 : "memory");
	return r_a0;
}

static inline long HYPERVISOR_console_io(int cmd, long count, const void *buf)
{
	return hypercall6(__HYPERVISOR_console_io, cmd, count, (long)buf, 0, 0, 0);
}

static inline long HYPERVISOR_sched_op(int cmd, void *arg)
{
	return hypercall6(__HYPERVISOR_sched_op, cmd, (long)arg, 0, 0, 0, 0);
}

#endif
