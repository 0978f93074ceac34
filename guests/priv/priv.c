/* priv - the Tachyxx privileged architecture seen from PL2 (docs/isa.md section 2).
 *
 * Installs a trap vector, then checks: sensitive instructions (trap with cause 22 under
 * tachy-v1, silent under legacy-silent), ordinary PL2 exceptions, a PL3 task (syscalls,
 * privileged instructions at PL3, timer preemption), the PL2 timer (stimecmp, STIP, wfi,
 * vectored mode) and the PL2 software interrupt (sip.SSIP). One line per check; the last line is
 * "priv: all N checks passed" or "priv: K of N checks FAILED". Golden outputs:
 * expected-tachy-v1.txt, expected-legacy-silent.txt. Tachyxx only (not run under qemu). */
#include "tachyxx.h"

#define CSR_SSTATUS 0x100
#define CSR_SIE 0x104
#define CSR_STVEC 0x105
#define CSR_SCOUNTEREN 0x106
#define CSR_SIP 0x144
#define CSR_STIMECMP 0x14d
#define CSR_TIME 0xc01

#define SSTATUS_SIE (1ul << 1)
#define SSTATUS_SPIE (1ul << 5)
#define SSTATUS_SPP (1ul << 8)
#define SIP_SSIP (1ul << 1)
#define SIP_STIP (1ul << 5)
#define INTR (1ul << 63)

#define csr_read(csr) ({ uint64_t __v; __asm__ volatile("csrr %0, %1" : "=r"(__v) : "i"(csr) : "memory"); __v; })
#define csr_write(csr, v) __asm__ volatile("csrw %0, %1" : : "i"(csr), "r"((uint64_t)(v)) : "memory")
#define csr_set(csr, v) __asm__ volatile("csrs %0, %1" : : "i"(csr), "r"((uint64_t)(v)) : "memory")
#define csr_clear(csr, v) __asm__ volatile("csrc %0, %1" : : "i"(csr), "r"((uint64_t)(v)) : "memory")

struct frame {
	uint64_t x[32];
	uint64_t sepc, sstatus, scause, stval;
};

struct trap_rec { uint64_t cause, epc, tval, sstatus; };

/* ---- assembly (priv.S) */
extern char trap_entry[], vec_table[], user_trampoline[];
extern volatile uint64_t vec_hit;
long run_user(long (*fn)(long), void *user_sp, long arg);
__attribute__((noreturn)) void resume_kernel(long code);
long user_syscall(long nr, long a0, long a1, long a2);
extern char probe_user_ecall[];
#define DECL_PROBE(name) uint64_t name(void); extern char name##_insn[];
DECL_PROBE(probe_csrr_p1scratch) DECL_PROBE(probe_csrw_p1scratch) DECL_PROBE(probe_csrr_mstatus)
DECL_PROBE(probe_csrs_p1status) DECL_PROBE(probe_hret) DECL_PROBE(probe_mret)
DECL_PROBE(probe_csrr_unknown) DECL_PROBE(probe_csrw_time) DECL_PROBE(probe_fadd)
DECL_PROBE(probe_ebreak) DECL_PROBE(probe_csrr_sstatus) DECL_PROBE(probe_sret) DECL_PROBE(probe_wfi)
DECL_PROBE(probe_rdtime)
uint64_t probe_amo_misaligned(void *p); extern char probe_amo_misaligned_insn[];
uint64_t probe_lr_misaligned(void *p); extern char probe_lr_misaligned_insn[];
uint64_t probe_jump_misaligned(void); extern char probe_jump_misaligned_insn[];
void probe_ssip(void); extern char probe_ssip_next[];
void probe_sie_on(void); extern char probe_sie_next[];

/* ---- trap log */
#define MAX_TRAPS 16
static volatile struct trap_rec traps[MAX_TRAPS];
static volatile unsigned ntraps;
static volatile unsigned unexpected;
static volatile int kill_on_timer;
#define KILLED_BY_TIMER (-100)

static void trap_log_reset(void) { ntraps = 0; vec_hit = 0; }

/* syscalls of the little PL3 task ABI: write(fd, buf, len) = 64, exit(code) = 93 */
static void syscall(struct frame *f)
{
	uint64_t nr = f->x[17];
	switch (nr) {
	case 64:
		console_write((const char *)f->x[11], f->x[12]);
		f->x[10] = f->x[12];
		break;
	case 93:
		resume_kernel((long)f->x[10]);
	default:
		f->x[10] = (uint64_t)-38;
	}
}

__attribute__((used)) void trap_c(struct frame *f)
{
	unsigned k = ntraps;
	if (k < MAX_TRAPS) {
		traps[k].cause = f->scause;
		traps[k].epc = f->sepc;
		traps[k].tval = f->stval;
		traps[k].sstatus = f->sstatus;
	}
	ntraps = k + 1;
	if (f->scause & INTR) {
		switch (f->scause & ~INTR) {
		case 5:
			csr_write(CSR_STIMECMP, -1l);
			if (kill_on_timer && !(f->sstatus & SSTATUS_SPP)) {
				kill_on_timer = 0;
				resume_kernel(KILLED_BY_TIMER);
			}
			break;
		case 1:
			csr_clear(CSR_SIP, SIP_SSIP);
			break;
		default:
			unexpected++;
			csr_write(CSR_SIE, 0);
		}
		return;
	}
	if (f->scause == 8)
		syscall(f);
	/* every synchronous trap in this program is resumed after the faulting instruction */
	f->sepc += 4;
}

/* ---- checks */
static unsigned nchecks, nfail;

static void result(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void result(int ok, const char *fmt, ...)
{
	va_list ap;
	nchecks++;
	if (!ok) {
		nfail++;
		putstr("FAIL: ");
	}
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void describe_traps(void)
{
	for (unsigned i = 0; i < ntraps && i < MAX_TRAPS; i++)
		printf("      trap %u: cause=%lx epc=%lx tval=%lx sstatus=%lx\n", i, traps[i].cause, traps[i].epc,
		       traps[i].tval, traps[i].sstatus);
}

static uint32_t insn_bits(const char *p) { return *(const volatile uint32_t *)p; }

/* trap number k was exactly cause at insn (tval = encoding or given), from PL2 (spp=1) or PL3 */
static int trap_is(unsigned k, uint64_t cause, const char *insn, uint64_t tval, int spp)
{
	return ntraps > k && traps[k].cause == cause && traps[k].epc == (uintptr_t)insn && traps[k].tval == tval &&
	       !!(traps[k].sstatus & SSTATUS_SPP) == spp;
}

static void expect_one_trap(const char *what, uint64_t cause, const char *insn, uint64_t tval, int spp)
{
	int ok = ntraps == 1 && trap_is(0, cause, insn, tval, spp);
	result(ok, "%s: trapped cause=%lu", what, cause);
	if (!ok)
		describe_traps();
}

/* ---- (a) sensitive instructions at PL2 */
static void test_sensitive(void)
{
	static const struct { const char *what; uint64_t (*probe)(void); char *insn; } s[] = {
		{ "sensitive csr read", probe_csrr_p1scratch, probe_csrr_p1scratch_insn },
		{ "sensitive csr write", probe_csrw_p1scratch, probe_csrw_p1scratch_insn },
		{ "sensitive csr read (PL0 mstatus)", probe_csrr_mstatus, probe_csrr_mstatus_insn },
		{ "sensitive csr set (p1status)", probe_csrs_p1status, probe_csrs_p1status_insn },
		{ "sensitive hret", probe_hret, probe_hret_insn },
		{ "sensitive mret", probe_mret, probe_mret_insn },
	};
	unsigned trapped = 0, silent = 0;
	for (unsigned i = 0; i < ARRAY_SIZE(s); i++) {
		trap_log_reset();
		s[i].probe();
		if (ntraps == 0) {
			silent++;
			result(1, "%s: silent", s[i].what);
		} else {
			trapped++;
			expect_one_trap(s[i].what, 22, s[i].insn, insn_bits(s[i].insn), 1);
		}
	}
	if (trapped == ARRAY_SIZE(s))
		result(1, "sensitive instructions: all %u trap (tachy-v1 behaviour)", trapped);
	else if (silent == ARRAY_SIZE(s))
		result(1, "sensitive instructions: all %u silent (legacy-silent behaviour)", silent);
	else
		result(0, "sensitive instructions: %u trapped, %u silent (inconsistent)", trapped, silent);
}

/* ---- PL2 exceptions that trap in both variants */
static uint64_t amo_cell[2] __attribute__((aligned(16)));

static void test_pl2_exceptions(void)
{
	static const struct { const char *what; uint64_t (*probe)(void); char *insn; uint64_t cause; int tval_is_bits; } s[] = {
		{ "unknown csr read (0x1c0)", probe_csrr_unknown, probe_csrr_unknown_insn, 2, 1 },
		{ "write to read-only csr (time)", probe_csrw_time, probe_csrw_time_insn, 2, 1 },
		{ "F-extension instruction (fadd.s)", probe_fadd, probe_fadd_insn, 2, 1 },
		{ "ebreak", probe_ebreak, probe_ebreak_insn, 3, 0 },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(s); i++) {
		trap_log_reset();
		s[i].probe();
		expect_one_trap(s[i].what, s[i].cause, s[i].insn, s[i].tval_is_bits ? insn_bits(s[i].insn) : 0, 1);
	}

	char *mis = (char *)amo_cell + 4;
	trap_log_reset();
	probe_amo_misaligned(mis);
	expect_one_trap("misaligned amoadd.d", 6, probe_amo_misaligned_insn, (uintptr_t)mis, 1);
	trap_log_reset();
	probe_lr_misaligned(mis);
	expect_one_trap("misaligned lr.d", 6, probe_lr_misaligned_insn, (uintptr_t)mis, 1);

	trap_log_reset();
	uint64_t link = probe_jump_misaligned();
	expect_one_trap("jump to a misaligned target", 0, probe_jump_misaligned_insn,
			(uintptr_t)probe_jump_misaligned_insn + 6, 1);
	result(link == 0x5a, "misaligned jump did not write its link register");

	trap_log_reset();
	uint64_t t1 = probe_rdtime(), t2 = probe_rdtime();
	result(ntraps == 0 && t2 >= t1, "rdtime at PL2: no trap, monotonic");
	uint64_t ss = csr_read(CSR_SSTATUS);
	result(((ss >> 32) & 3) == 2, "sstatus.UXL reads 2");
}

/* ---- (b) a PL3 task */
static uint64_t user_stack[1024] __attribute__((aligned(16)));
#define USER_SP ((void *)(user_stack + ARRAY_SIZE(user_stack)))
static volatile uint64_t user_counter;
static volatile uint64_t user_value;

static void uputs(const char *s) { user_syscall(64, 1, (long)s, (long)strlen(s)); }

static long user_hello(long arg)
{
	uputs("user: hello from PL3 via syscall\n");
	return arg + 1;
}

static long user_privileged(long arg)
{
	probe_csrr_sstatus();
	probe_sret();
	probe_hret();
	probe_csrr_p1scratch();
	probe_wfi();
	probe_ebreak();
	return 0;
}

static long user_rdtime(long arg)
{
	user_value = probe_rdtime();
	return 0;
}

static long user_spin(long arg)
{
	for (uint64_t i = 0; i < 20000000; i++)
		user_counter++;
	return 1; /* the timer never fired */
}

static void test_user(void)
{
	trap_log_reset();
	long rc = run_user(user_hello, USER_SP, 41);
	result(rc == 42, "PL3 task exit code %ld", rc);
	result(ntraps == 2 && trap_is(0, 8, probe_user_ecall, 0, 0),
	       "PL3 ecall: cause=8 at PL2 with SPP=0, sepc at the ecall");
	if (ntraps != 2)
		describe_traps();

	trap_log_reset();
	rc = run_user(user_privileged, USER_SP, 0);
	static const struct { const char *what; char *insn; uint64_t cause; int tval_is_bits; } s[] = {
		{ "PL3 read of a PL2 csr (sstatus)", probe_csrr_sstatus_insn, 2, 1 },
		{ "PL3 sret", probe_sret_insn, 2, 1 },
		{ "PL3 hret", probe_hret_insn, 2, 1 },
		{ "PL3 read of a PL1 csr (p1scratch)", probe_csrr_p1scratch_insn, 2, 1 },
		{ "PL3 wfi", probe_wfi_insn, 2, 1 },
		{ "PL3 ebreak", probe_ebreak_insn, 3, 0 },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(s); i++) {
		int ok = trap_is(i, s[i].cause, s[i].insn, s[i].tval_is_bits ? insn_bits(s[i].insn) : 0, 0);
		result(ok, "%s: trapped cause=%lu to PL2", s[i].what, s[i].cause);
	}
	result(rc == 0 && ntraps == ARRAY_SIZE(s) + 1 && traps[ARRAY_SIZE(s)].cause == 8, "PL3 task survived its traps");
	if (nfail)
		describe_traps();

	csr_write(CSR_SCOUNTEREN, 0);
	trap_log_reset();
	run_user(user_rdtime, USER_SP, 0);
	result(trap_is(0, 2, probe_rdtime_insn, insn_bits(probe_rdtime_insn), 0),
	       "PL3 rdtime with scounteren.TM=0: trapped cause=2");
	csr_write(CSR_SCOUNTEREN, 2);
	result(csr_read(CSR_SCOUNTEREN) == 2, "scounteren is writable at PL2");
	trap_log_reset();
	user_value = 0;
	run_user(user_rdtime, USER_SP, 0);
	result(ntraps == 1 && traps[0].cause == 8 && user_value != 0, "PL3 rdtime with scounteren.TM=1: no trap");
	csr_write(CSR_SCOUNTEREN, 0);

	/* timer preemption of a PL3 loop: SIE is clear at PL2, but an interrupt targeting PL2 is
	 * always taken while the hart runs at PL3 */
	trap_log_reset();
	user_counter = 0;
	csr_clear(CSR_SSTATUS, SSTATUS_SIE);
	csr_set(CSR_SIE, SIP_STIP);
	kill_on_timer = 1;
	csr_write(CSR_STIMECMP, csr_read(CSR_TIME) + 100000);
	rc = run_user(user_spin, USER_SP, 0);
	kill_on_timer = 0;
	csr_clear(CSR_SIE, SIP_STIP);
	result(rc == KILLED_BY_TIMER && ntraps == 1 && traps[0].cause == (INTR | 5) && !(traps[0].sstatus & SSTATUS_SPP),
	       "timer preempted a PL3 loop: cause=0x8000000000000005 with SPP=0");
	result(user_counter > 0 && user_counter < 20000000, "the PL3 loop ran and was cut short");
	result(!(csr_read(CSR_SIP) & SIP_STIP), "timer disarmed by stimecmp = -1");
	if (nfail)
		describe_traps();
}

/* ---- (c) the PL2 timer */
static int wait_for_traps(unsigned n)
{
	for (unsigned long i = 0; i < 10000000 && ntraps < n; i++)
		__asm__ volatile("wfi");
	return ntraps >= n;
}

static void test_timer(void)
{
	csr_clear(CSR_SSTATUS, SSTATUS_SIE);
	csr_write(CSR_STIMECMP, -1l);
	result(!(csr_read(CSR_SIP) & SIP_STIP), "STIP clear while stimecmp is in the future");

	trap_log_reset();
	csr_set(CSR_SIE, SIP_STIP);
	csr_write(CSR_STIMECMP, csr_read(CSR_TIME));
	result((csr_read(CSR_SIP) & SIP_STIP) && ntraps == 0, "STIP pending but not taken while sstatus.SIE=0");
	csr_write(CSR_STIMECMP, -1l);
	result(!(csr_read(CSR_SIP) & SIP_STIP), "STIP clears when stimecmp moves to the future");

	trap_log_reset();
	uint64_t deadline = csr_read(CSR_TIME) + 100000;
	csr_write(CSR_STIMECMP, deadline);
	csr_set(CSR_SSTATUS, SSTATUS_SIE);
	int fired = wait_for_traps(1);
	csr_clear(CSR_SSTATUS, SSTATUS_SIE);
	uint64_t now = csr_read(CSR_TIME);
	result(fired && ntraps == 1 && traps[0].cause == (INTR | 5) && (traps[0].sstatus & SSTATUS_SPP),
	       "timer interrupt at PL2 (wfi): cause=0x8000000000000005 with SPP=1");
	result(now >= deadline, "timer fired no earlier than stimecmp");
	result(fired && (traps[0].sstatus & SSTATUS_SPIE), "sstatus.SPIE holds the SIE of the interrupted code");

	trap_log_reset();
	csr_write(CSR_STVEC, (uintptr_t)vec_table | 1);
	csr_write(CSR_STIMECMP, csr_read(CSR_TIME) + 1000);
	csr_set(CSR_SSTATUS, SSTATUS_SIE);
	fired = wait_for_traps(1);
	csr_clear(CSR_SSTATUS, SSTATUS_SIE);
	csr_write(CSR_STVEC, (uintptr_t)trap_entry);
	result(fired && vec_hit == 5, "vectored stvec: timer interrupt entered at BASE + 4*5");
	csr_clear(CSR_SIE, SIP_STIP);
	if (nfail)
		describe_traps();
}

/* ---- (e) the PL2 software interrupt */
static void test_ssip(void)
{
	csr_clear(CSR_SSTATUS, SSTATUS_SIE);
	csr_set(CSR_SIE, SIP_SSIP);
	trap_log_reset();
	csr_set(CSR_SIP, SIP_SSIP);
	result((csr_read(CSR_SIP) & SIP_SSIP) && ntraps == 0, "SSIP pending but not taken while sstatus.SIE=0");
	probe_sie_on();
	result(ntraps == 1 && traps[0].cause == (INTR | 1) && traps[0].epc == (uintptr_t)probe_sie_next,
	       "setting sstatus.SIE takes the pending software interrupt before the next instruction");
	result(!(csr_read(CSR_SIP) & SIP_SSIP), "handler cleared sip.SSIP");

	trap_log_reset();
	csr_set(CSR_SSTATUS, SSTATUS_SIE);
	probe_ssip();
	csr_clear(CSR_SSTATUS, SSTATUS_SIE);
	result(ntraps == 1 && traps[0].cause == (INTR | 1) && traps[0].epc == (uintptr_t)probe_ssip_next,
	       "software interrupt via sip.SSIP: cause=0x8000000000000001, sepc = next instruction");

	trap_log_reset();
	csr_write(CSR_STVEC, (uintptr_t)vec_table | 1);
	csr_set(CSR_SSTATUS, SSTATUS_SIE);
	probe_ssip();
	csr_clear(CSR_SSTATUS, SSTATUS_SIE);
	csr_write(CSR_STVEC, (uintptr_t)trap_entry);
	result(ntraps == 1 && vec_hit == 1, "vectored stvec: software interrupt entered at BASE + 4*1");

	trap_log_reset();
	csr_clear(CSR_SIE, SIP_SSIP);
	csr_set(CSR_SSTATUS, SSTATUS_SIE);
	csr_set(CSR_SIP, SIP_SSIP);
	uint64_t pending = csr_read(CSR_SIP) & SIP_SSIP;
	csr_clear(CSR_SIP, SIP_SSIP);
	csr_clear(CSR_SSTATUS, SSTATUS_SIE);
	result(pending && ntraps == 0, "SSIP not taken while sie.SSIE=0");
	if (nfail)
		describe_traps();
}

static uint64_t trap_stack[1024] __attribute__((aligned(16)));

int main(void)
{
	puts("priv: Tachyxx privileged architecture at PL2");
	csr_write(CSR_STIMECMP, -1l);
	csr_write(CSR_SIE, 0);
	__asm__ volatile("csrw sscratch, %0" : : "r"(trap_stack + ARRAY_SIZE(trap_stack)));
	csr_write(CSR_STVEC, (uintptr_t)trap_entry);
	result(csr_read(CSR_STVEC) == (uintptr_t)trap_entry, "stvec installed");

	test_sensitive();
	test_pl2_exceptions();
	test_user();
	test_timer();
	test_ssip();
	result(unexpected == 0, "no unexpected interrupts");

	if (nfail)
		printf("priv: %u of %u checks FAILED\n", nfail, nchecks);
	else
		printf("priv: all %u checks passed\n", nchecks);
	return nfail != 0;
}
