/* armabi - a guest that finds its way as a guest of Xen on Arm does (issue 10): no start_info
 * beyond the boot registers. xen_version first (the version, extraversion, features, page size);
 * HVMOP_get_param for the xenstore and console rings (checked against start_info, which Tachyxx
 * also fills); XENMEM_add_to_physmap(XENMAPSPACE_shared_info) into a page of its own image;
 * VCPUOP_register_vcpu_info for each of its 4 vCPUs (vCPUs > 0 have no vcpu_info before);
 * a runstate area; then one IPI event channel per vCPU, each delivered through the 2-level ABI in
 * the Arm layout (shared_info's pending/mask bitmaps, the vCPU's own evtchn_pending_sel and
 * evtchn_upcall_pending) to an upcall handler running on that vCPU, which takes only the ports
 * bound to it (as Linux's per-CPU evtchn mask).
 * Run with --domain armabi.elf --vcpus 4. Bare: "armabi: bare". */
#define XEN_EVTCHN_2L_ONLY
#include "evtchn.h"

#define NV 4
static uint8_t si_page[4096] __attribute__((aligned(4096)));
static struct vcpu_info vinfo[NV] __attribute__((aligned(4096)));
static struct vcpu_runstate_info runstate __attribute__((aligned(64)));
static uint8_t stacks[NV][4096] __attribute__((aligned(16)));
static volatile struct shared_info *sh;
static volatile uint32_t ports[NV];
static volatile uint64_t got[NV], wrong, failures;
static volatile uint32_t ready, done;
extern char secondary_entry[];

static inline unsigned long my_id(void) { unsigned long t; __asm__ volatile("mv %0, tp" : "=r"(t)); return t; }
static inline void add64(volatile uint64_t *p, uint64_t v) { __atomic_fetch_add((uint64_t *)p, v, __ATOMIC_SEQ_CST); }
static inline void add32(volatile uint32_t *p, uint32_t v) { __atomic_fetch_add((uint32_t *)p, v, __ATOMIC_SEQ_CST); }

/* Ports of word `w` bound to vCPU `id` (each vCPU's IPI port). */
static uint64_t mine(unsigned long id, unsigned w)
{
	uint32_t p = ports[id];
	return p && p / 64 == w ? 1ull << (p % 64) : 0;
}

/* The 2-level scan of Xen's evtchn_2l_handle_events, for the vCPU it runs on. */
static void upcall(void)
{
	unsigned long id = my_id();
	volatile struct vcpu_info *vi = &vinfo[id];
	vi->evtchn_upcall_pending = 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	uint64_t sel;
	while ((sel = __atomic_exchange_n((uint64_t *)&vi->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST)) != 0) {
		while (sel) {
			unsigned w = (unsigned)__builtin_ctzll(sel);
			sel &= sel - 1;
			/* only the ports bound to this vCPU (Linux's cpu_evtchn_mask): the bitmaps are shared */
			uint64_t bits = sh->evtchn_pending[w] & ~sh->evtchn_mask[w] & mine(id, w);
			while (bits) {
				unsigned b = (unsigned)__builtin_ctzll(bits);
				bits &= bits - 1;
				uint32_t port = w * 64 + b;
				__atomic_fetch_and((uint64_t *)&sh->evtchn_pending[w], ~(1ull << b), __ATOMIC_SEQ_CST);
				add64(ports[id] == port ? &got[id] : &wrong, 1);
			}
		}
	}
}

__attribute__((interrupt("supervisor"), aligned(4))) static void trap(void)
{
	if (csr_read(CSR_SCAUSE) == ((1ull << 63) | 9)) {
		upcall();
		csr_clear(CSR_SIE, SIE_SEIE); /* the line stays up until the hypervisor looks again */
		return;
	}
	add64(&failures, 1000);
	struct sched_shutdown sd = { SHUTDOWN_crash };
	HYPERVISOR_sched_op(SCHEDOP_shutdown, &sd);
}

/* Sleep in SCHEDOP_block until this vCPU has had an event (interrupts off around the check). */
static void wait_event(unsigned long id)
{
	for (;;) {
		csr_clear(CSR_SSTATUS, SSTATUS_SIE);
		if (got[id]) break;
		csr_set(CSR_SIE, SIE_SEIE);
		HYPERVISOR_sched_op(SCHEDOP_block, 0);
		csr_set(CSR_SSTATUS, SSTATUS_SIE);
	}
	csr_set(CSR_SSTATUS, SSTATUS_SIE);
}

static void vcpu_setup(unsigned long id)
{
	csr_write(CSR_STVEC, (uintptr_t)trap);
	HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, id, 0);
	if (xen_register_vcpu_info(id, &vinfo[id]) != 0) add64(&failures, 1);
}

__attribute__((used, noreturn)) void secondary_main(unsigned long id)
{
	vcpu_setup(id);
	add32(&ready, 1);
	wait_event(id);
	add32(&done, 1);
	HYPERVISOR_vcpu_op(VCPUOP_down, id, 0);
	for (;;) add64(&failures, 1);
}

static const char *agree(uint64_t a, uint64_t b) { return a == b ? "agrees" : "DIFFERS"; }

int main(void)
{
	long v = HYPERVISOR_xen_version(XENVER_version, 0);
	if (v == -38) {
		puts("armabi: bare");
		return 0;
	}
	char extra[16] = { 0 };
	struct xen_feature_info fi = { 0, 0 };
	long re = HYPERVISOR_xen_version(XENVER_extraversion, extra);
	long rf = HYPERVISOR_xen_version(XENVER_get_features, &fi);
	printf("armabi: xen %ld.%ld%s (%ld), page size %ld, features %s%s (%ld)\n", v >> 16, v & 0xffff, extra, re,
	       HYPERVISOR_xen_version(XENVER_pagesize, 0), (fi.submap >> XENFEAT_auto_translated_physmap) & 1 ? "auto_translated_physmap" : "",
	       (fi.submap >> XENFEAT_not_direct_mapped) & 1 ? " not_direct_mapped" : "", rf);
	long r1, r2, r3, r4;
	uint64_t spfn = xen_hvm_get_param(HVM_PARAM_STORE_PFN, &r1), sev = xen_hvm_get_param(HVM_PARAM_STORE_EVTCHN, &r2);
	uint64_t cpfn = xen_hvm_get_param(HVM_PARAM_CONSOLE_PFN, &r3), cev = xen_hvm_get_param(HVM_PARAM_CONSOLE_EVTCHN, &r4);
	printf("armabi: hvm params (%ld %ld %ld %ld): xenstore pfn %s, port %s; console pfn %s, port %s with start_info\n", r1, r2, r3, r4,
	       agree(spfn, boot_start_info->store_mfn), agree(sev, boot_start_info->store_evtchn),
	       agree(cpfn, boot_start_info->console_mfn), agree(cev, boot_start_info->console_evtchn));
	printf("armabi: xenstore ring %s, console ring %s\n", spfn ? "found" : "none", cpfn ? "found" : "none");

	long rm = xen_map_shared_info((uintptr_t)si_page >> 12);
	sh = (volatile struct shared_info *)si_page;
	printf("armabi: add_to_physmap(shared_info) -> %ld, wallclock %s\n", rm, (sh->wc_version & 1) == 0 && (sh->wc_sec || sh->wc_sec_hi) ? "present" : "MISSING");

	__asm__ volatile("mv tp, zero");
	vcpu_setup(0);
	struct vcpu_register_runstate_memory_area ra = { (uintptr_t)&runstate };
	long rr = HYPERVISOR_vcpu_op(VCPUOP_register_runstate_memory_area, 0, &ra);
	printf("armabi: vcpu_info registered on vCPU 0 (again: %ld), runstate area %ld, state %u\n",
	       xen_register_vcpu_info(0, &vinfo[0]), rr, runstate.state);

	unsigned n = 1;
	for (unsigned i = 1; i < NV; i++) {
		struct vcpu_guest_context c = { .pc = (uintptr_t)secondary_entry, .sp = (uintptr_t)stacks[i] + 4096, .a0 = i };
		if (HYPERVISOR_vcpu_op(VCPUOP_initialise, i, &c) == 0 && HYPERVISOR_vcpu_op(VCPUOP_up, i, 0) == 0) n++;
	}
	for (long k = 0; ready != n - 1 && k < 1000000; k++) HYPERVISOR_sched_op(SCHEDOP_yield, 0);
	printf("armabi: %u vCPUs up and registered\n", n);

	for (unsigned i = 0; i < n; i++) {
		long p = xen_evtchn_bind_ipi(i);
		ports[i] = p > 0 ? (uint32_t)p : 0;
	}
	for (unsigned i = 0; i < n; i++) xen_evtchn_send(ports[i]);
	wait_event(0);
	for (long k = 0; done != n - 1 && k < 1000000; k++) HYPERVISOR_sched_op(SCHEDOP_yield, 0);
	printf("armabi: events by vCPU:");
	for (unsigned i = 0; i < n; i++) printf(" %lu", (unsigned long)got[i]);
	printf(" (wrong vCPU or port: %lu, failures %lu)\n", (unsigned long)wrong, (unsigned long)failures);
	printf("armabi: runstate area: state %u, running time %s\n", runstate.state, runstate.time[0] ? "counted" : "ZERO");
	return n == NV && !wrong && !failures && got[0] == 1 && got[1] == 1 && got[2] == 1 && got[3] == 1 ? 0 : 1;
}
