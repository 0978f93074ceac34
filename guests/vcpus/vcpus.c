/* vcpus - a multi-vCPU domain (run with --domain vcpus.elf --vcpus 4).
 * vCPU 0 counts the domain's vCPUs (VCPUOP_is_up until -ENOENT), brings up 1..N-1 with
 * VCPUOP_initialise (Tachyxx's vcpu_guest_context: pc, sp, a0 = vCPU id, a1 = a cookie,
 * satp 0) and VCPUOP_up. Each secondary adds its id + 1 to a shared counter with amoadd and
 * checks in, then spins (yielding) on a go flag, checks out and takes itself down (VCPUOP_down).
 * vCPU 0 waits for everyone at each step and checks VCPUOP_is_up on the way.
 * Bare, vcpu_op is -ENOSYS: prints "vcpus: 1 (bare)" and powers off. */
#include "xen.h"

#define MAX_VCPUS 32
#define STACK_SIZE 4096
#define COOKIE 0x7ac4b0a7ul

static uint8_t stacks[MAX_VCPUS][STACK_SIZE] __attribute__((aligned(16)));
/* vCPUs > 0 have a vcpu_info only once they register one (shared_info holds vCPU 0's only). */
static struct vcpu_info vinfo[MAX_VCPUS] __attribute__((aligned(4096)));
static volatile uint32_t checked_in, checked_out, go;
static volatile uint64_t id_sum, bad_args;
extern char secondary_entry[];

static inline uint64_t amoadd_d(volatile uint64_t *p, uint64_t v)
{
	uint64_t old;
	__asm__ volatile("amoadd.d.aqrl %0, %2, %1" : "=r"(old), "+A"(*p) : "r"(v) : "memory");
	return old;
}
static inline uint32_t amoadd_w(volatile uint32_t *p, uint32_t v)
{
	uint32_t old;
	__asm__ volatile("amoadd.w.aqrl %0, %2, %1" : "=r"(old), "+A"(*p) : "r"(v) : "memory");
	return old;
}
static inline void yield(void) { HYPERVISOR_sched_op(SCHEDOP_yield, 0); }

__attribute__((used, noreturn)) void secondary_main(unsigned long id, unsigned long cookie)
{
	uintptr_t sp;
	__asm__ volatile("mv %0, sp" : "=r"(sp));
	int sp_ok = sp > (uintptr_t)stacks[id] && sp <= (uintptr_t)stacks[id] + STACK_SIZE;
	if (cookie != COOKIE + id || !sp_ok)
		amoadd_d(&bad_args, 1);
	if (xen_register_vcpu_info(id, &vinfo[id]) != 0)
		amoadd_d(&bad_args, 1);
	amoadd_d(&id_sum, id + 1);
	amoadd_w(&checked_in, 1);
	while (!go)
		yield();
	amoadd_w(&checked_out, 1);
	HYPERVISOR_vcpu_op(VCPUOP_down, id, 0);
	for (;;) /* not reached: a vCPU that is down does not run */
		amoadd_d(&bad_args, 1000);
}

/* Waits (yielding) until *p == want; 0 on timeout. */
static int wait_for(volatile uint32_t *p, uint32_t want)
{
	for (long i = 0; i < 1000000; i++) {
		if (*p == want)
			return 1;
		yield();
	}
	return 0;
}

int main(void)
{
	long r = HYPERVISOR_vcpu_op(VCPUOP_is_up, 0, 0);
	if (r == -XEN_ENOSYS) {
		puts("vcpus: 1 (bare)");
		return 0;
	}
	unsigned n = 0;
	while (n < 64 && HYPERVISOR_vcpu_op(VCPUOP_is_up, n, 0) >= 0)
		n++;
	printf("vcpus: vCPU %lu of %u, is_up(0) = %ld\n", boot_vcpu_id, n, r);
	printf("vcpus: is_up(%u) = %ld (no such vCPU)\n", n, HYPERVISOR_vcpu_op(VCPUOP_is_up, n, 0));
	if (n > MAX_VCPUS)
		return 1;
	if (n > 1) {
		printf("vcpus: up(1) before initialise = %ld\n", HYPERVISOR_vcpu_op(VCPUOP_up, 1, 0));
		struct vcpu_guest_context odd = { .pc = (uint64_t)(uintptr_t)secondary_entry + 2 };
		printf("vcpus: initialise(1) with a misaligned pc = %ld\n", HYPERVISOR_vcpu_op(VCPUOP_initialise, 1, &odd));
		printf("vcpus: initialise(1) from a bad pointer = %ld\n", HYPERVISOR_vcpu_op(VCPUOP_initialise, 1, (void *)0x10));
	}
	int ok = 1;
	for (unsigned i = 1; i < n; i++) {
		struct vcpu_guest_context c = {
			.pc = (uint64_t)(uintptr_t)secondary_entry,
			.sp = (uint64_t)(uintptr_t)stacks[i] + STACK_SIZE,
			.a0 = i,
			.a1 = COOKIE + i,
			.satp = 0,
		};
		long ri = HYPERVISOR_vcpu_op(VCPUOP_initialise, i, &c);
		long rd = HYPERVISOR_vcpu_op(VCPUOP_is_up, i, 0);
		long ru = HYPERVISOR_vcpu_op(VCPUOP_up, i, 0);
		if (ri || rd != 0 || ru) {
			printf("vcpus: vCPU %u: initialise %ld, is_up before up %ld, up %ld\n", i, ri, rd, ru);
			ok = 0;
		}
	}
	if (n > 1)
		printf("vcpus: initialise(1) again = %ld\n", HYPERVISOR_vcpu_op(VCPUOP_initialise, 1, (void *)0x10));
	int all_in = wait_for(&checked_in, n - 1);
	printf("vcpus: %u secondaries checked in: %s\n", n - 1, yesno(all_in));
	unsigned up = 0;
	for (unsigned i = 0; i < n; i++)
		up += HYPERVISOR_vcpu_op(VCPUOP_is_up, i, 0) == 1;
	printf("vcpus: is_up for %u of %u\n", up, n);
	uint64_t want = (uint64_t)n * (n - 1) / 2 + (n - 1);
	printf("vcpus: sum of (id + 1) over secondaries = %lu (expected %lu), bad entry state %lu\n", id_sum, want, bad_args);
	go = 1;
	int all_out = wait_for(&checked_out, n - 1);
	/* each secondary takes itself down right after checking out */
	unsigned down = 0;
	for (long k = 0; k < 100000 && down != n - 1; k++) {
		down = 0;
		for (unsigned i = 1; i < n; i++)
			down += HYPERVISOR_vcpu_op(VCPUOP_is_up, i, 0) == 0;
		if (down != n - 1)
			yield();
	}
	printf("vcpus: checked out %s, down %u of %u\n", yesno(all_out), down, n - 1);
	printf("vcpus: is_up(0) = %ld\n", HYPERVISOR_vcpu_op(VCPUOP_is_up, 0, 0));
	printf("vcpus: total %u\n", (unsigned)checked_in + 1);
	ok = ok && all_in && all_out && up == n && down == n - 1 && id_sum == want && bad_args == 0;
	return ok ? 0 : 1;
}
