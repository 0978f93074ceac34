/* minikernel - a small PL2 kernel for the Tachyxx CPU (issue 3, section 4).
 *
 * - Sv48 stage-1 paging: the kernel identity-maps guest RAM with 1 GiB pages (global, no U);
 *   every task has its own root table (and level-2 table, sharing the kernel's gigapage
 *   entries), its own copy of the user program (user.c) at USER_CODE_VA, a private data page,
 *   a stack below USER_STACK_TOP and a demand-paged heap at USER_HEAP_VA; ASID = pid.
 * - Three PL3 tasks, round-robin, preempted by a periodic PL2 timer tick (stimecmp, every
 *   TICK_NS of simulated time); a context switch saves all 31 registers + sepc (entry.S) and writes satp.
 * - Syscalls (ecall from PL3, scause 8): write(buf, len) copies from the user VA by walking the
 *   task's tables (so a kernel or unmapped pointer gets -EFAULT), getpid, yield, exit.
 * - Page faults: a heap page is allocated, mapped and sfence'd on first touch; any other fault
 *   (task "rogue" loads from kernel memory) kills the task with a message.
 * - Then a summary per task and poweroff.
 *
 * Deterministic output: how far a task gets before a timer tick depends on the cost model, so
 * the interleaving of the tasks' output would too. The kernel therefore keeps a line queue per
 * task (user writes and the kernel's messages about that task) and releases the lines in rounds
 * (line 1 of pid 1, 2, 3, then line 2 of each, ...): a line is printed as soon as everything
 * before it in that order has been. The printed text depends only on what each task does, never
 * on where the ticks fell; the summary prints "preempted: yes" rather than a count.
 *
 * If the CPU ignores the Sv48 satp write (MODE 9 not implemented yet), the kernel says so and
 * runs the tasks without translation (each at its physical copy; no demand paging, no rogue). */
#include "tachyxx.h"

#define CSR_SSTATUS 0x100
#define CSR_SIE 0x104
#define CSR_STVEC 0x105
#define CSR_SSCRATCH 0x140
#define CSR_SCAUSE 0x142
#define CSR_STVAL 0x143
#define CSR_STIMECMP 0x14d
#define CSR_SATP 0x180
#define CSR_TIME 0xc01

#define SSTATUS_SPP (1ul << 8)
#define SSTATUS_SUM (1ul << 18)
#define SIE_STIE (1ul << 5)
#define INTR (1ul << 63)

#define csr_read(csr) ({ uint64_t __v; __asm__ volatile("csrr %0, %1" : "=r"(__v) : "i"(csr) : "memory"); __v; })
#define csr_write(csr, v) __asm__ volatile("csrw %0, %1" : : "i"(csr), "r"((uint64_t)(v)) : "memory")
#define csr_set(csr, v) __asm__ volatile("csrs %0, %1" : : "i"(csr), "r"((uint64_t)(v)) : "memory")
#define csr_clear(csr, v) __asm__ volatile("csrc %0, %1" : : "i"(csr), "r"((uint64_t)(v)) : "memory")

#ifndef TICK_NS
#define TICK_NS 1000000ul /* 1 ms of simulated time */
#endif

/* ---- Sv48 */
#define PAGE 4096ul
#define RAM_BASE 0x80000000ul
#define GIB (1ul << 30)
#define PTE_V (1ul << 0)
#define PTE_R (1ul << 1)
#define PTE_W (1ul << 2)
#define PTE_X (1ul << 3)
#define PTE_U (1ul << 4)
#define PTE_G (1ul << 5)
#define PTE_A (1ul << 6)
#define PTE_D (1ul << 7)
#define SATP_SV48 (9ul << 60)
#define SATP(asid, root) (SATP_SV48 | ((uint64_t)(asid) << 44) | ((uint64_t)(root) >> 12))
#define PTE_PA(pte) (((pte) >> 10) << 12)
#define PA_PTE(pa) (((uint64_t)(pa) >> 12) << 10)

/* ---- user address-space layout */
#define USER_CODE_VA 0x10000ul
#define USER_DATA_VA 0x200000ul /* one private page */
#define USER_HEAP_VA 0x10000000ul
#define USER_HEAP_MAX (16 * PAGE)
#define USER_STACK_TOP 0x7fff0000ul
#define USER_STACK_PAGES 4
#define USER_BAD_VA RAM_BASE /* the kernel: mapped, but not U */

#define SYS_write 64
#define SYS_exit 93
#define SYS_yield 124
#define SYS_getpid 172
#define EFAULT 14
#define ENOSYS 38

/* ---- the kernel frame pool: a bump allocator over RAM after the image and start_info */
#define POOL_PAGES 256
static uint64_t pool_next, pool_end, pool_base;

static void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static uint64_t alloc_frame(void)
{
	if (pool_next >= pool_end)
		panic("out of frames");
	uint64_t pa = pool_next;
	pool_next += PAGE;
	memset((void *)pa, 0, PAGE);
	return pa;
}

static unsigned frame_no(uint64_t pa) { return (unsigned)((pa - pool_base) / PAGE); }

/* ---- tasks */
struct frame {
	uint64_t x[32]; /* x[0] unused */
	uint64_t sepc;  /* 256 */
	uint64_t ksp;   /* 264: kernel stack top for trap_entry */
};
_Static_assert(__builtin_offsetof(struct frame, sepc) == 256, "entry.S layout");
_Static_assert(__builtin_offsetof(struct frame, ksp) == 264, "entry.S layout");

enum state { READY, EXITED };

#define LINE_MAX 120
#define MAX_LINES 48
struct task {
	struct frame f; /* first: the frame pointer is the task pointer */
	int pid;
	enum state state;
	const char *name;
	uint64_t root, satp;
	uint64_t code_pa, data_pa, stack_pa, heap_pa; /* heap_pa: only without paging */
	unsigned code_frames, heap_pages;
	long exit_code;
	int killed;
	unsigned long syscalls, preemptions, faults, timer_ticks;
	/* console: complete lines waiting for release, and the line being written */
	char lines[MAX_LINES][LINE_MAX + 1];
	unsigned nlines;
	char cur[LINE_MAX + 1];
	unsigned curlen;
};

#define NTASKS 3
static struct task tasks[NTASKS];
static struct task *cur;
static int paging;
static uint64_t kroot, kl2, ksatp;
static unsigned ram_gib;
static uint8_t kstack[16384] __attribute__((aligned(16)));
static unsigned long switches, ticks;

extern char trap_entry[], user_image_start[], user_image_end[];
extern void task_primes(uint64_t *, uint64_t *, uint64_t);
extern void task_heap(uint64_t *, uint64_t *, uint64_t);
extern void task_rogue(uint64_t *, uint64_t *, uint64_t);
__attribute__((noreturn)) void task_resume(struct frame *f);

/* ---- ordered console release (see the header comment) */
static unsigned rel_round, rel_idx;

static void release_lines(void)
{
	for (;;) {
		int more = 0;
		for (int i = 0; i < NTASKS; i++)
			if (tasks[i].state != EXITED || rel_round < tasks[i].nlines)
				more = 1;
		if (!more)
			return;
		struct task *t = &tasks[rel_idx];
		if (rel_round < t->nlines)
			printf("[pid %d] %s\n", t->pid, t->lines[rel_round]);
		else if (t->state != EXITED)
			return; /* its next line is not written yet */
		if (++rel_idx == NTASKS) {
			rel_idx = 0;
			rel_round++;
		}
	}
}

static void task_line_end(struct task *t)
{
	t->cur[t->curlen] = 0;
	if (t->nlines < MAX_LINES)
		memcpy(t->lines[t->nlines++], t->cur, t->curlen + 1);
	else
		memcpy(t->lines[MAX_LINES - 1], "(output truncated)", 19);
	t->curlen = 0;
}

static void task_putc(struct task *t, char c)
{
	if (c == '\n') {
		task_line_end(t);
		return;
	}
	if (t->curlen < LINE_MAX)
		t->cur[t->curlen++] = c;
}

/* a kernel message about task t, in t's line sequence */
static void tlog(struct task *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tlog(struct task *t, const char *fmt, ...)
{
	char buf[LINE_MAX + 1];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (t->curlen)
		task_line_end(t);
	for (const char *s = "kernel: "; *s; s++)
		task_putc(t, *s);
	for (const char *s = buf; *s; s++)
		task_putc(t, *s);
	task_line_end(t);
}

/* ---- page tables */
static uint64_t *pte_slot(uint64_t root, uint64_t va, int alloc, int *created)
{
	uint64_t *table = (uint64_t *)root;
	for (int level = 3; level > 0; level--) {
		uint64_t *e = &table[(va >> (12 + 9 * level)) & 511];
		if (!(*e & PTE_V)) {
			if (!alloc)
				return 0;
			*e = PA_PTE(alloc_frame()) | PTE_V;
			if (created)
				*created = 1;
		} else if (*e & (PTE_R | PTE_X)) {
			return 0; /* a superpage leaf on the way */
		}
		table = (uint64_t *)PTE_PA(*e);
	}
	return &table[(va >> 12) & 511];
}

static int map_page(struct task *t, uint64_t va, uint64_t pa, uint64_t flags)
{
	int created = 0;
	uint64_t *e = pte_slot(t->root, va, 1, &created);
	if (!e)
		panic("map_page: superpage in the way at 0x%lx", (unsigned long)va);
	*e = PA_PTE(pa) | flags | PTE_V | PTE_A | ((flags & PTE_W) ? PTE_D : 0);
	return created;
}

/* VA -> PA for a user access of task t, checked like the hardware would for PL3 (U, R or W);
 * 0 when not allowed. Walks any leaf size. */
static uint64_t user_translate(struct task *t, uint64_t va, int write)
{
	if (!paging) {
		uint64_t lo[3] = { t->code_pa, t->data_pa, t->stack_pa };
		uint64_t len[3] = { t->code_frames * PAGE, PAGE, USER_STACK_PAGES * PAGE };
		for (int i = 0; i < 3; i++)
			if (va >= lo[i] && va < lo[i] + len[i] && (i || !write))
				return va;
		if (t->heap_pa && va >= t->heap_pa && va < t->heap_pa + t->heap_pages * PAGE)
			return va;
		return 0;
	}
	if (va >= (1ul << 47))
		return 0; /* user VAs are in the lower half */
	uint64_t *table = (uint64_t *)t->root;
	for (int level = 3; level >= 0; level--) {
		uint64_t pte = table[(va >> (12 + 9 * level)) & 511];
		if (!(pte & PTE_V))
			return 0;
		if (pte & (PTE_R | PTE_X)) {
			if (!(pte & PTE_U) || !(pte & PTE_R) || (write && !(pte & PTE_W)))
				return 0;
			uint64_t mask = (1ul << (12 + 9 * level)) - 1;
			return (PTE_PA(pte) & ~mask) | (va & mask);
		}
		if (level == 0)
			return 0;
		table = (uint64_t *)PTE_PA(pte);
	}
	return 0;
}

static inline void sfence_all(void) { __asm__ volatile("sfence.vma zero, zero" ::: "memory"); }
static inline void sfence_asid(uint64_t asid) { __asm__ volatile("sfence.vma zero, %0" ::"r"(asid) : "memory"); }
static inline void sfence_page(uint64_t va, uint64_t asid) { __asm__ volatile("sfence.vma %0, %1" ::"r"(va), "r"(asid) : "memory"); }

/* ---- task creation */
static void task_create(struct task *t, int pid, const char *name, void (*entry)(uint64_t *, uint64_t *, uint64_t))
{
	uint64_t image = (uint64_t)user_image_start, size = (uint64_t)user_image_end - image;
	t->pid = pid;
	t->name = name;
	t->state = READY;
	t->code_frames = (unsigned)((size + PAGE - 1) / PAGE);
	/* the copies first, so each range is physically contiguous (used without paging) */
	t->code_pa = pool_next;
	for (unsigned i = 0; i < t->code_frames; i++)
		alloc_frame();
	memcpy((void *)t->code_pa, user_image_start, size);
	t->data_pa = alloc_frame();
	t->stack_pa = pool_next;
	for (int i = 0; i < USER_STACK_PAGES; i++)
		alloc_frame();
	uint64_t code_va, data_va, heap_va, sp, bad;
	if (paging) {
		t->root = alloc_frame();
		uint64_t l2 = alloc_frame();
		((uint64_t *)t->root)[0] = PA_PTE(l2) | PTE_V;
		for (unsigned g = 2; g < 2 + ram_gib; g++) /* the kernel's gigapages, shared */
			((uint64_t *)l2)[g] = ((uint64_t *)kl2)[g];
		for (unsigned i = 0; i < t->code_frames; i++)
			map_page(t, USER_CODE_VA + i * PAGE, t->code_pa + i * PAGE, PTE_R | PTE_X | PTE_U);
		map_page(t, USER_DATA_VA, t->data_pa, PTE_R | PTE_W | PTE_U);
		for (int i = 0; i < USER_STACK_PAGES; i++)
			map_page(t, USER_STACK_TOP - (USER_STACK_PAGES - i) * PAGE, t->stack_pa + i * PAGE, PTE_R | PTE_W | PTE_U);
		t->satp = SATP(pid, t->root);
		code_va = USER_CODE_VA;
		data_va = USER_DATA_VA;
		heap_va = USER_HEAP_VA;
		sp = USER_STACK_TOP;
		bad = USER_BAD_VA;
	} else {
		/* no translation: run at the physical copies; the heap is pre-allocated */
		t->heap_pages = 4;
		t->heap_pa = pool_next;
		for (unsigned i = 0; i < t->heap_pages; i++)
			alloc_frame();
		t->satp = 0;
		code_va = t->code_pa;
		data_va = t->data_pa;
		heap_va = t->heap_pa;
		sp = t->stack_pa + USER_STACK_PAGES * PAGE;
		bad = 0;
	}
	t->f.sepc = code_va + ((uint64_t)entry - image);
	t->f.x[2] = sp;
	t->f.x[10] = data_va;
	t->f.x[11] = heap_va;
	t->f.x[12] = bad;
	t->f.ksp = (uint64_t)(kstack + sizeof kstack);
	if (paging)
		printf("task %d %-6s asid %d, root frame #%u; code 0x%lx (%u pages, frames #%u-#%u), data 0x%lx, stack 0x%lx-0x%lx, heap 0x%lx on demand\n",
		       pid, name, pid, frame_no(t->root), (unsigned long)code_va, t->code_frames, frame_no(t->code_pa),
		       frame_no(t->code_pa) + t->code_frames - 1, (unsigned long)data_va,
		       (unsigned long)(USER_STACK_TOP - USER_STACK_PAGES * PAGE), (unsigned long)USER_STACK_TOP,
		       (unsigned long)USER_HEAP_VA);
	else
		printf("task %d %-6s untranslated: code at frame #%u, %u heap pages pre-allocated\n", pid, name,
		       frame_no(t->code_pa), t->heap_pages);
}

/* ---- scheduling */
static __attribute__((noreturn)) void finish(void);

/* a periodic tick, independent of yields: every task that runs long enough gets preempted */
static uint64_t next_tick;

static void tick_advance(void)
{
	uint64_t now = csr_read(CSR_TIME);
	next_tick = next_tick ? next_tick + TICK_NS : now + TICK_NS;
	if (next_tick <= now)
		next_tick = now + TICK_NS;
	csr_write(CSR_STIMECMP, next_tick);
}

/* the next READY task after prev in round-robin order (prev itself last) */
static struct frame *schedule(struct task *prev)
{
	int base = prev ? (int)(prev - tasks) : NTASKS - 1;
	struct task *next = 0;
	for (int k = 1; k <= NTASKS && !next; k++) {
		struct task *t = &tasks[(base + k) % NTASKS];
		if (t->state == READY)
			next = t;
	}
	release_lines();
	if (!next)
		finish();
	if (next != prev) {
		switches++;
		if (paging)
			csr_write(CSR_SATP, next->satp); /* ASID-tagged: no flush needed */
	}
	cur = next;
	return &next->f;
}

static void task_exit(struct task *t, long code)
{
	if (t->curlen)
		task_line_end(t);
	t->state = EXITED;
	t->exit_code = code;
}

/* ---- syscalls */
static long sys_write(struct task *t, uint64_t va, uint64_t len)
{
	if (len > 4096)
		return -EFAULT;
	/* check the whole buffer first: nothing is written when part of it is bad */
	for (uint64_t p = va & ~(PAGE - 1); p < va + len; p += PAGE)
		if (!user_translate(t, p < va ? va : p, 0))
			return -EFAULT;
	for (uint64_t i = 0; i < len; i++)
		task_putc(t, *(const char *)user_translate(t, va + i, 0));
	return (long)len;
}

static struct frame *syscall(struct task *t)
{
	struct frame *f = &t->f;
	t->syscalls++;
	f->sepc += 4;
	switch (f->x[17]) {
	case SYS_write:
		f->x[10] = (uint64_t)sys_write(t, f->x[10], f->x[11]);
		break;
	case SYS_getpid:
		f->x[10] = (uint64_t)t->pid;
		break;
	case SYS_yield:
		f->x[10] = 0;
		return schedule(t);
	case SYS_exit:
		tlog(t, "exit(%ld) after %lu syscalls", (long)f->x[10], t->syscalls);
		task_exit(t, (long)f->x[10]);
		return schedule(t);
	default:
		f->x[10] = (uint64_t)-ENOSYS;
	}
	return f;
}

/* ---- faults */
static const char *cause_name(uint64_t c)
{
	switch (c) {
	case 0: return "instruction address misaligned";
	case 2: return "illegal instruction";
	case 3: return "breakpoint";
	case 6: return "store/AMO address misaligned";
	case 12: return "instruction page fault";
	case 13: return "load page fault";
	case 15: return "store/AMO page fault";
	default: return "unexpected trap";
	}
}

static struct frame *kill(struct task *t, uint64_t cause, uint64_t tval, const char *why)
{
	t->killed = 1;
	tlog(t, "killed pid %d: %s at 0x%lx (%s), pc 0x%lx", t->pid, cause_name(cause), (unsigned long)tval, why,
	     (unsigned long)t->f.sepc);
	task_exit(t, -1);
	return schedule(t);
}

static struct frame *page_fault(struct task *t, uint64_t cause, uint64_t va)
{
	t->faults++;
	if (cause != 12 && paging && va >= USER_HEAP_VA && va < USER_HEAP_VA + USER_HEAP_MAX) {
		uint64_t page = va & ~(PAGE - 1);
		uint64_t *e = pte_slot(t->root, page, 0, 0);
		if (!e || !(*e & PTE_V)) {
			uint64_t pa = alloc_frame();
			int created = map_page(t, page, pa, PTE_R | PTE_W | PTE_U);
			if (created)
				sfence_asid((uint64_t)t->pid); /* a new table: pointer entries changed */
			else
				sfence_page(page, (uint64_t)t->pid);
			t->heap_pages++;
			tlog(t, "%s at 0x%lx: heap page %u demand-mapped%s", cause_name(cause), (unsigned long)va,
			     t->heap_pages, created ? " (new level-0 table)" : "");
			return &t->f;
		}
	}
	const char *why = "unmapped";
	if (paging) {
		uint64_t *e = va < (1ul << 47) ? pte_slot(t->root, va & ~(PAGE - 1), 0, 0) : 0;
		if (!e && va >= RAM_BASE && va < RAM_BASE + (uint64_t)ram_gib * GIB)
			why = "kernel page, no U";
		else if (e && (*e & PTE_V))
			why = "permission";
	}
	return kill(t, cause, va, why);
}

__attribute__((used)) struct frame *trap_c(struct frame *f)
{
	struct task *t = cur;
	uint64_t cause = csr_read(CSR_SCAUSE), tval = csr_read(CSR_STVAL);
	if (f != &t->f)
		panic("trap frame %p is not the current task's", (void *)f);
	if (cause & INTR) {
		if ((cause & ~INTR) != 5)
			panic("unexpected interrupt 0x%lx", (unsigned long)cause);
		ticks++;
		t->timer_ticks++;
		tick_advance();
		struct frame *next = schedule(t);
		if (next != f)
			t->preemptions++;
		return next;
	}
	switch (cause) {
	case 8:
		return syscall(t);
	case 12:
	case 13:
	case 15:
		return page_fault(t, cause, tval);
	default:
		t->faults++;
		return kill(t, cause, tval, "fatal");
	}
}

__attribute__((used, noreturn)) void kernel_panic(uint64_t cause, uint64_t epc, uint64_t tval)
{
	panic("trap at PL2: cause 0x%lx (%s), sepc 0x%lx, stval 0x%lx", (unsigned long)cause,
	      cause & INTR ? "interrupt" : cause_name(cause), (unsigned long)epc, (unsigned long)tval);
}

static void panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("minikernel: PANIC: ");
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(1);
}

/* ---- the end */
static void finish(void)
{
	csr_write(CSR_STIMECMP, -1l);
	csr_clear(CSR_SIE, SIE_STIE);
	if (paging) {
		csr_write(CSR_SATP, ksatp);
		sfence_all();
	}
	release_lines();
	printf("minikernel: all tasks done\n");
	printf("  pid  name    result   syscalls  page faults  preempted\n");
	for (int i = 0; i < NTASKS; i++) {
		struct task *t = &tasks[i];
		char res[16];
		if (t->killed)
			snprintf(res, sizeof res, "killed");
		else
			snprintf(res, sizeof res, "exit(%ld)", t->exit_code);
		printf("  %-4d %-7s %-8s %8lu  %11lu  %s\n", t->pid, t->name, res, t->syscalls, t->faults,
		       t->preemptions ? "yes" : "no");
	}
	printf("minikernel: %u frames used, paging %s; poweroff\n", (unsigned)((pool_next - pool_base) / PAGE),
	       paging ? "on (Sv48)" : "OFF (satp ignored MODE 9)");
	exit(0);
}

int main(void)
{
	uint64_t nr_pages = boot_start_info->nr_pages;
	uint64_t ram_end = RAM_BASE + nr_pages * PAGE;
	ram_gib = (unsigned)((nr_pages * PAGE + GIB - 1) / GIB);
	printf("minikernel: boot on vCPU %lu, %lu MiB RAM\n", boot_vcpu_id, (unsigned long)(nr_pages >> 8));

	/* frames: after the image and start_info, well below the boot stack at the top of RAM */
	extern char __image_end[];
	uint64_t lo = (uint64_t)__image_end;
	uint64_t si_end = (uint64_t)boot_start_info + sizeof(struct start_info);
	if (si_end > lo)
		lo = si_end;
	pool_base = pool_next = (lo + PAGE - 1) & ~(PAGE - 1);
	pool_end = pool_base + POOL_PAGES * PAGE;
	if (pool_end + 64 * 1024 > ram_end)
		panic("not enough RAM for %d frames", POOL_PAGES);

	/* traps: sscratch = 0 means "in the kernel" (entry.S) */
	csr_write(CSR_SSCRATCH, 0);
	csr_write(CSR_STVEC, (uint64_t)trap_entry);
	csr_write(CSR_STIMECMP, -1l);

	/* kernel address space: identity map of RAM with 1 GiB pages, global, no U */
	kroot = alloc_frame();
	kl2 = alloc_frame();
	((uint64_t *)kroot)[0] = PA_PTE(kl2) | PTE_V;
	for (unsigned g = 2; g < 2 + ram_gib; g++)
		((uint64_t *)kl2)[g] = PA_PTE((uint64_t)g * GIB) | PTE_V | PTE_R | PTE_W | PTE_X | PTE_G | PTE_A | PTE_D;
	ksatp = SATP(0, kroot);
	sfence_all();
	csr_write(CSR_SATP, ksatp);
	uint64_t back = csr_read(CSR_SATP);
	paging = back == ksatp;
	if (paging) {
		sfence_all();
		printf("minikernel: Sv48 on: kernel identity map 0x%lx-0x%lx with %u gigapage(s), satp mode 9 asid 0\n",
		       RAM_BASE, (unsigned long)(RAM_BASE + ram_gib * GIB), ram_gib);
	} else {
		printf("minikernel: WARNING: satp write of 0x%lx did not take (reads back 0x%lx): this CPU ignores Sv48 "
		       "(MODE 9); running the tasks WITHOUT paging (no demand paging, no rogue task)\n",
		       (unsigned long)ksatp, (unsigned long)back);
	}
	printf("minikernel: user image %lu bytes; timer tick %lu ns\n",
	       (unsigned long)(user_image_end - user_image_start), (unsigned long)TICK_NS);

	task_create(&tasks[0], 1, "primes", task_primes);
	task_create(&tasks[1], 2, "heap", task_heap);
	task_create(&tasks[2], 3, "rogue", task_rogue);
	if (!paging) {
		tasks[2].state = EXITED; /* its bad access would be a fatal access fault without paging */
		tasks[2].exit_code = 0;
		printf("task 3 rogue  not started (needs paging)\n");
	}

	/* first task: SPP = 0 so sret enters PL3; the PL2 timer interrupt is always taken at PL3 */
	csr_clear(CSR_SSTATUS, SSTATUS_SPP | SSTATUS_SUM);
	csr_set(CSR_SIE, SIE_STIE);
	printf("minikernel: starting %d tasks, round-robin\n", NTASKS);
	tick_advance();
	task_resume(schedule(0));
}
