/* badptr - hands bad pointers and bad values to hypercalls and prints each result; then powers
 * off normally. The first part (console_io, sched_op) exists bare and as a domain and must
 * print the same; the domain part (vcpu_op, memory_op) runs only when memory_op is served
 * (bare it is -ENOSYS: the program prints "badptr: bare" instead).
 * Golden files: expected-bare.txt (tachyxx run --bare) and expected-domain.txt (--domain). */
#include "xen.h"

static void show(const char *what, long r)
{
	printf("%-58s -> %ld\n", what, r);
}

static char msg[] = "badptr: this line is written by a raw console_io\n";

int main(void)
{
	puts("badptr: hypercalls with bad pointers and values");
	console_flush();
	uint64_t top = ram_end();

	/* console_io write */
	show("console_io buffer at 0x1000", HYPERVISOR_console_io(CONSOLEIO_write, 16, (void *)0x1000));
	show("console_io buffer at 0", HYPERVISOR_console_io(CONSOLEIO_write, 1, (void *)0));
	show("console_io buffer straddling the start of RAM",
	     HYPERVISOR_console_io(CONSOLEIO_write, 16, (void *)(GUEST_RAM_BASE - 8)));
	show("console_io buffer at RAM base + 1 GiB",
	     HYPERVISOR_console_io(CONSOLEIO_write, 16, (void *)(GUEST_RAM_BASE + (1ul << 30))));
	show("console_io buffer wrapping past 2^64",
	     HYPERVISOR_console_io(CONSOLEIO_write, 32, (void *)0xfffffffffffffff0ul));
	show("console_io count -1", HYPERVISOR_console_io(CONSOLEIO_write, -1, msg));
	show("console_io count 2^31 - 1 from RAM base",
	     HYPERVISOR_console_io(CONSOLEIO_write, 0x7fffffff, (void *)GUEST_RAM_BASE));
	show("console_io count 0 with buffer 0", HYPERVISOR_console_io(CONSOLEIO_write, 0, (void *)0));
	show("console_io unknown sub-command 0x7fff", HYPERVISOR_console_io(0x7fff, 4, msg));
	long n = HYPERVISOR_console_io(CONSOLEIO_write, sizeof msg - 1, msg);
	show("console_io good buffer", n);

	/* sched_op */
	show("sched_op shutdown, argument 0", HYPERVISOR_sched_op(SCHEDOP_shutdown, (void *)0));
	show("sched_op shutdown, argument 0x10", HYPERVISOR_sched_op(SCHEDOP_shutdown, (void *)0x10));
	show("sched_op shutdown, argument 2 bytes before RAM",
	     HYPERVISOR_sched_op(SCHEDOP_shutdown, (void *)(GUEST_RAM_BASE - 2)));
	show("sched_op shutdown, argument at 2^64 - 2", HYPERVISOR_sched_op(SCHEDOP_shutdown, (void *)-2l));
	struct sched_shutdown bad = { .reason = 99 };
	show("sched_op shutdown, reason 99", HYPERVISOR_sched_op(SCHEDOP_shutdown, &bad));
	bad.reason = 0xffffffffu;
	show("sched_op shutdown, reason 0xffffffff", HYPERVISOR_sched_op(SCHEDOP_shutdown, &bad));
	show("sched_op unknown sub-command 0x7fff", HYPERVISOR_sched_op(0x7fff, &bad));

	/* Domain-only hypercalls: memory_op tells the two modes apart. */
	uint16_t self = DOMID_SELF;
	long cur = HYPERVISOR_memory_op(XENMEM_current_reservation, &self);
	if (cur == -XEN_ENOSYS) {
		puts("badptr: bare (memory_op and vcpu_op are -ENOSYS)");
		show("vcpu_op get_runstate_info to 0x10", HYPERVISOR_vcpu_op(VCPUOP_get_runstate_info, 0, (void *)0x10));
		puts("badptr: done");
		return 0;
	}
	puts("badptr: domain");
	show("memory_op current_reservation of DOMID_SELF > 0", cur > 0);

	/* vcpu_op */
	struct vcpu_runstate_info rs;
	show("vcpu_op get_runstate_info to 0x10", HYPERVISOR_vcpu_op(VCPUOP_get_runstate_info, 0, (void *)0x10));
	/* Above RAM sit the shared-info and xenstore ring pages; 64 pages up nothing is mapped. */
	show("vcpu_op get_runstate_info straddling into unmapped space above RAM",
	     HYPERVISOR_vcpu_op(VCPUOP_get_runstate_info, 0, (void *)(top + 64 * 4096 - 8)));
	show("vcpu_op get_runstate_info to a good buffer", HYPERVISOR_vcpu_op(VCPUOP_get_runstate_info, 0, &rs));
	show("vcpu_op get_runstate_info: state running", rs.state == 0);
	show("vcpu_op get_runstate_info of vCPU 99", HYPERVISOR_vcpu_op(VCPUOP_get_runstate_info, 99, &rs));
	show("vcpu_op get_runstate_info of vCPU -1", HYPERVISOR_vcpu_op(VCPUOP_get_runstate_info, -1ul, &rs));
	show("vcpu_op initialise vCPU 0 (already running)", HYPERVISOR_vcpu_op(VCPUOP_initialise, 0, (void *)0x10));
	show("vcpu_op set_singleshot_timer, argument 0x10",
	     HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, 0, (void *)0x10));
	struct vcpu_set_singleshot_timer past = { .timeout_abs_ns = 1, .flags = VCPU_SSHOTTMR_future };
	show("vcpu_op set_singleshot_timer in the past, future flag",
	     HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, 0, &past));
	show("vcpu_op stop_singleshot_timer", HYPERVISOR_vcpu_op(VCPUOP_stop_singleshot_timer, 0, 0));
	show("vcpu_op unknown sub-command 0x7fff", HYPERVISOR_vcpu_op(0x7fff, 0, &rs));

	/* memory_op: Xen returns the number of extents done (0) for an unusable reservation */
	show("memory_op current_reservation, argument 0x10", HYPERVISOR_memory_op(XENMEM_current_reservation, (void *)0x10));
	show("memory_op maximum_reservation, argument 0", HYPERVISOR_memory_op(XENMEM_maximum_reservation, (void *)0));
	uint16_t inval = DOMID_INVALID;
	show("memory_op current_reservation of DOMID_INVALID", HYPERVISOR_memory_op(XENMEM_current_reservation, &inval));
	uint16_t other = 0x7fef;
	show("memory_op current_reservation of domid 0x7fef", HYPERVISOR_memory_op(XENMEM_current_reservation, &other));
	show("memory_op decrease_reservation, reservation at 0x10",
	     HYPERVISOR_memory_op(XENMEM_decrease_reservation, (void *)0x10));
	struct xen_memory_reservation r = { .extent_start = 0x1000, .nr_extents = 4, .extent_order = 0, .domid = DOMID_SELF };
	show("memory_op decrease_reservation, extent list at 0x1000", HYPERVISOR_memory_op(XENMEM_decrease_reservation, &r));
	show("memory_op populate_physmap, extent list at 0x1000", HYPERVISOR_memory_op(XENMEM_populate_physmap, &r));
	uint64_t gfns[2] = { 0x10, (top >> 12) + 100000 };
	r.extent_start = (uint64_t)(uintptr_t)gfns;
	r.nr_extents = 1;
	show("memory_op decrease_reservation of GFN 0x10 (not RAM)", HYPERVISOR_memory_op(XENMEM_decrease_reservation, &r));
	uint64_t si_gfn = boot_start_info->shared_info >> 12;
	r.extent_start = (uint64_t)(uintptr_t)&si_gfn;
	show("memory_op decrease_reservation of the shared-info page", HYPERVISOR_memory_op(XENMEM_decrease_reservation, &r));
	r.extent_start = (uint64_t)(uintptr_t)gfns;
	r.nr_extents = 1ul << 40;
	show("memory_op decrease_reservation, nr_extents 2^40", HYPERVISOR_memory_op(XENMEM_decrease_reservation, &r));
	r.nr_extents = 1;
	r.extent_order = 30;
	show("memory_op populate_physmap, extent_order 30", HYPERVISOR_memory_op(XENMEM_populate_physmap, &r));
	r.extent_order = 0;
	r.domid = DOMID_INVALID;
	show("memory_op populate_physmap for DOMID_INVALID", HYPERVISOR_memory_op(XENMEM_populate_physmap, &r));
	r.domid = DOMID_SELF;
	uint64_t ram_gfn = GUEST_RAM_BASE >> 12;
	r.extent_start = (uint64_t)(uintptr_t)&ram_gfn;
	show("memory_op populate_physmap over a mapped RAM page", HYPERVISOR_memory_op(XENMEM_populate_physmap, &r));
	show("memory_op unknown sub-command 63", HYPERVISOR_memory_op(63, &self));
	show("memory_op current_reservation, continuation start 1",
	     HYPERVISOR_memory_op(XENMEM_current_reservation | (1ul << 6), &self));
	show("memory_op current_reservation unchanged", HYPERVISOR_memory_op(XENMEM_current_reservation, &self) == cur);
	puts("badptr: done");
	return 0;
}
