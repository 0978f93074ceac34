/* timer - time and timers.
 * Both modes: the guest's own timer: stimecmp + sie.STIE with sstatus.SIE = 0, then wfi wakes
 * once time >= stimecmp (the interrupt stays pending, never taken: no trap vector needed).
 * As a domain, also: shared_info's vcpu_time_info read under the version pair; system time
 * (pvclock: system_time + scaled (time - tsc_timestamp)) against the time CSR; set_timer_op
 * (hypercall 15) with an absolute deadline + SCHEDOP_block wakes after the deadline;
 * VCPUOP_set_singleshot_timer + SCHEDOP_block likewise; VCPU_SSHOTTMR_future in the past ->
 * -ETIME. The periodic tick is stopped first (VCPUOP_stop_periodic_timer) so only our timers
 * wake the vCPU. Only deterministic facts are printed.
 * Golden files: expected-bare.txt, expected-domain.txt. */
#include "xen.h"

#define DELAY_NS 2000000ul /* 2 ms */

static int consistent_reads, version_odd_seen;

/* Reads this vCPU's time info under the version pair (Xen's pvclock protocol). */
static void read_time_info(volatile struct vcpu_time_info *t, struct vcpu_time_info *out)
{
	for (int tries = 0;; tries++) {
		uint32_t v1 = t->version;
		__asm__ volatile("fence r, r" ::: "memory");
		out->tsc_timestamp = t->tsc_timestamp;
		out->system_time = t->system_time;
		out->tsc_to_system_mul = t->tsc_to_system_mul;
		out->tsc_shift = t->tsc_shift;
		__asm__ volatile("fence r, r" ::: "memory");
		uint32_t v2 = t->version;
		out->version = v1;
		if (v1 & 1)
			version_odd_seen++;
		if (!(v1 & 1) && v1 == v2) {
			consistent_reads++;
			return;
		}
	}
}

/* pvclock: system_time + ((tsc - tsc_timestamp) << shift) * mul >> 32 (Xen's scale_delta). */
static uint64_t scale_delta(uint64_t delta, uint32_t mul, int8_t shift)
{
	if (shift < 0)
		delta >>= -shift;
	else
		delta <<= shift;
	uint64_t lo = (delta & 0xffffffffu) * mul, hi = (delta >> 32) * mul;
	return hi + (lo >> 32);
}

static uint64_t system_time_now(volatile struct vcpu_time_info *t)
{
	struct vcpu_time_info s;
	for (;;) {
		read_time_info(t, &s);
		uint64_t tsc = read_time();
		uint32_t v2 = t->version;
		if (v2 == s.version)
			return s.system_time + scale_delta(tsc - s.tsc_timestamp, s.tsc_to_system_mul, s.tsc_shift);
	}
}

static int wfi_test(void)
{
	csr_write(CSR_STIMECMP, -1l);
	csr_clear(CSR_SSTATUS, 2); /* SIE = 0: the interrupt wakes wfi but is not taken */
	csr_set(CSR_SIE, SIE_STIE);
	uint64_t deadline = read_time() + DELAY_NS;
	csr_write(CSR_STIMECMP, deadline);
	int pending_before = (csr_read(CSR_SIP) & SIE_STIE) != 0;
	int wfis = 0;
	while (!(csr_read(CSR_SIP) & SIE_STIE) && wfis < 100) {
		__asm__ volatile("wfi" ::: "memory");
		wfis++;
	}
	uint64_t now = read_time();
	int pending_after = (csr_read(CSR_SIP) & SIE_STIE) != 0;
	csr_write(CSR_STIMECMP, -1l);
	int cleared = !(csr_read(CSR_SIP) & SIE_STIE);
	csr_clear(CSR_SIE, SIE_STIE);
	printf("stimecmp: pending before %s, after wfi %s (%s wfi), woke after deadline: %s, cleared by stimecmp = -1: %s\n",
	       yesno(pending_before), yesno(pending_after), wfis == 1 ? "one" : "several", yesno(now >= deadline), yesno(cleared));
	return !pending_before && pending_after && wfis == 1 && now >= deadline && cleared;
}

/* Blocks until an event; returns how many SCHEDOP_block calls it took (each returns on a wake). */
static int block_until(volatile struct vcpu_time_info *t, uint64_t deadline)
{
	int blocks = 0;
	while (system_time_now(t) < deadline && blocks < 100) {
		HYPERVISOR_sched_op(SCHEDOP_block, 0);
		blocks++;
	}
	return blocks;
}

static void ack_upcall(volatile struct vcpu_info *vi)
{
	vi->evtchn_upcall_pending = 0;
	__asm__ volatile("fence rw, rw" ::: "memory");
}

int main(void)
{
	puts("timer: time and timers");
	int ok = wfi_test();
	volatile struct shared_info *sh = shared_info();
	if (!sh || HYPERVISOR_set_timer_op(0) == -XEN_ENOSYS) {
		printf("timer: bare (shared_info %s, set_timer_op -ENOSYS)\n", sh ? "set" : "0");
		return ok ? 0 : 1;
	}
	volatile struct vcpu_info *vi = &sh->vcpu_info[boot_vcpu_id];
	volatile struct vcpu_time_info *t = &vi->time;
	printf("shared_info: page aligned %s, just above RAM %s\n", yesno(((uintptr_t)sh & 4095) == 0),
	       yesno((uintptr_t)sh >= ram_end()));
	printf("shared_info: wc_version even %s, wc_sec nonzero %s\n", yesno((sh->wc_version & 1) == 0), yesno(sh->wc_sec != 0 || sh->wc_sec_hi != 0));

	struct vcpu_time_info s;
	read_time_info(t, &s);
	printf("vcpu_time_info: version even and stable %s, nonzero %s, mul nonzero %s\n", yesno(consistent_reads == 1),
	       yesno(s.version != 0), yesno(s.tsc_to_system_mul != 0));
	uint64_t prev = 0;
	int monotonic = 1;
	for (int i = 0; i < 1000; i++) {
		uint64_t now = system_time_now(t);
		if (now < prev)
			monotonic = 0;
		prev = now;
	}
	printf("system time: monotonic over 1000 reads %s, odd versions seen %s\n", yesno(monotonic), yesno(version_odd_seen != 0));
	uint64_t st = system_time_now(t), tm = read_time();
	int64_t skew = (int64_t)(tm - st);
	printf("system time vs time CSR: within 1 ms %s\n", yesno(skew < 1000000 && skew > -1000000));
	ok = ok && monotonic;

	long r = HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, boot_vcpu_id, 0);
	printf("stop_periodic_timer -> %ld\n", r);
	ack_upcall(vi);
	/* Event delivery on (sie.SEIE) so a timer upcall can wake SCHEDOP_block; sstatus.SIE stays 0,
	 * so the upcall is never taken as an interrupt. */
	csr_set(CSR_SIE, SIE_SEIE);
	printf("upcall line (sip.SEIP) before any timer: %s\n", yesno(csr_read(CSR_SIP) & SIE_SEIE));

	/* set_timer_op with an absolute deadline, then block */
	uint64_t deadline = system_time_now(t) + DELAY_NS;
	r = HYPERVISOR_set_timer_op(deadline);
	uint64_t before = read_time();
	int blocks = block_until(t, deadline);
	uint64_t now = system_time_now(t), now_csr = read_time();
	printf("set_timer_op -> %ld; block: woke after deadline %s (%s block), time CSR advanced by >= 2 ms %s, upcall pending %s\n",
	       r, yesno(now >= deadline), blocks == 1 ? "one" : "several", yesno(now_csr - before >= DELAY_NS),
	       yesno(vi->evtchn_upcall_pending));
	ok = ok && r == 0 && now >= deadline && blocks == 1;
	ack_upcall(vi);

	/* VCPUOP_set_singleshot_timer */
	struct vcpu_set_singleshot_timer ss = { .timeout_abs_ns = system_time_now(t) + DELAY_NS, .flags = VCPU_SSHOTTMR_future };
	r = HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, boot_vcpu_id, &ss);
	blocks = block_until(t, ss.timeout_abs_ns);
	now = system_time_now(t);
	printf("set_singleshot_timer -> %ld; block: woke after deadline %s (%s block)\n", r, yesno(now >= ss.timeout_abs_ns),
	       blocks == 1 ? "one" : "several");
	ok = ok && r == 0 && now >= ss.timeout_abs_ns && blocks == 1;
	ack_upcall(vi);

	ss.timeout_abs_ns = system_time_now(t) - 1000000;
	r = HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, boot_vcpu_id, &ss);
	printf("set_singleshot_timer 1 ms in the past with VCPU_SSHOTTMR_future -> %ld\n", r);
	ok = ok && r == -XEN_ETIME;
	ss.timeout_abs_ns = system_time_now(t) - 1;
	r = HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, boot_vcpu_id, &ss);
	printf("set_singleshot_timer 1 ns in the past with VCPU_SSHOTTMR_future -> %ld\n", r);
	ok = ok && r == -XEN_ETIME;
	HYPERVISOR_vcpu_op(VCPUOP_stop_singleshot_timer, boot_vcpu_id, 0);
	printf("set_singleshot_timer for another vCPU -> %ld\n", HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, boot_vcpu_id + 1, &ss));

	csr_clear(CSR_SIE, SIE_SEIE);
	/* the guest's own timer again, now as a domain after blocking */
	ok = wfi_test() && ok;
	puts(ok ? "timer: ok" : "timer: FAILED");
	return ok ? 0 : 1;
}
