/* user.c - the PL3 programs of guests/minikernel.
 *
 * Everything here is placed in the sections .text.user (code) and .text.user.ro (constants),
 * bracketed by user_image_start (user.S: page aligned, linked just before this file) and
 * user_image_end (user_end.S, linked just after it: the build links a program's sources in
 * name order and keeps each file's sections in order). The kernel copies that range
 * into fresh frames for every task and maps them at USER_CODE_VA, so the code must be position
 * independent: the rules are
 *   - no string literals (they would land in the kernel's .rodata): use the S() constants below;
 *   - no 64-bit constants that need a constant pool and no division by constants (the magic
 *     multiplier would come from a pool in the kernel's data): load them from a const array
 *     through a KEEP() pointer, or hide the value with KEEP(), so the compiler must use the register;
 *   - no writable globals (each task gets its data page, heap and stack from the kernel in a0-a2);
 *   - no switch jump tables (guest.json builds with -fno-jump-tables; they hold absolute
 *     addresses), no calls outside this file (no memcpy/memset: no large struct copies or
 *     initialisers), no arrays of pointers.
 * clang -mcmodel=medany reaches code and constants pc-relative (auipc), so a copy at any VA works.
 *
 * Entry: a0 = the task's private data page, a1 = its heap base (demand paged), a2 = an address it
 * must not be able to touch. Syscalls: ecall with a7 = number, args a0.., result a0. */
#include <stdint.h>

#pragma clang section text = ".text.user" rodata = ".text.user.ro"

/* the compiler must treat x as unknown: no folding into an immediate or a constant pool */
#define KEEP(x) ({ __typeof__(x) __v = (x); __asm__("" : "+r"(__v)); __v; })

#define SYS_write 64
#define SYS_exit 93
#define SYS_yield 124
#define SYS_getpid 172

static inline long sys3(long nr, long a0, long a1, long a2)
{
	register long r0 __asm__("a0") = a0;
	register long r1 __asm__("a1") = a1;
	register long r2 __asm__("a2") = a2;
	register long r7 __asm__("a7") = nr;
	__asm__ volatile("ecall" : "+r"(r0) : "r"(r1), "r"(r2), "r"(r7) : "memory");
	return r0;
}

static long sys_write(const void *buf, long len) { return sys3(SYS_write, (long)buf, len, 0); }
static long sys_getpid(void) { return sys3(SYS_getpid, 0, 0, 0); }
static void sys_yield(void) { sys3(SYS_yield, 0, 0, 0); }
__attribute__((noreturn)) static void sys_exit(long code)
{
	for (;;)
		sys3(SYS_exit, code, 0, 0);
}

/* ---- a line builder on the stack */
struct line {
	int n;
	char b[124];
};

static void l_str(struct line *l, const char *s)
{
	while (*s && l->n < (int)sizeof l->b - 1)
		l->b[l->n++] = *s++;
}

static void l_num(struct line *l, long v)
{
	char tmp[24];
	int k = 0;
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v, ten = KEEP(10ull);
	if (v < 0)
		l_str(l, (const char[]){ '-', 0 });
	do {
		tmp[k++] = (char)('0' + u % ten);
		u /= ten;
	} while (u);
	while (k && l->n < (int)sizeof l->b - 1)
		l->b[l->n++] = tmp[--k];
}

static void l_hex(struct line *l, uint64_t v)
{
	char tmp[20];
	int k = 0;
	do {
		unsigned d = v & 15;
		tmp[k++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
		v >>= 4;
	} while (v);
	if (l->n < (int)sizeof l->b - 3) {
		l->b[l->n++] = '0';
		l->b[l->n++] = 'x';
	}
	while (k && l->n < (int)sizeof l->b - 1)
		l->b[l->n++] = tmp[--k];
}

static long l_send(struct line *l)
{
	l->b[l->n++] = '\n';
	long r = sys_write(l->b, l->n);
	l->n = 0;
	return r;
}

#define S(name, text) static const char name[] = text
S(s_hello, "hello from pid ");
S(s_primes_task, ": counting primes below ");
S(s_primes_below, "primes below ");
S(s_colon, ": ");
S(s_private, "private page ");
S(s_holds, " holds ");
S(s_mine, " (mine: intact)");
S(s_not_mine, " (CORRUPTED)");
S(s_heap_task, ": filling heap pages at ");
S(s_pages, " pages)");
S(s_open, " (");
S(s_filled, "heap filled, first word ");
S(s_pass, "pass ");
S(s_checksum, " checksum ");
S(s_collatz_task, ": longest Collatz chain below ");
S(s_collatz_res, "longest chain below ");
S(s_starts, " starts at ");
S(s_steps, " steps");
S(s_write_bad, "write(");
S(s_write_bad2, ", 16) = ");
S(s_load_bad, "now loading from ");
S(s_survived, "survived the bad load?!");

static void hello(struct line *l, long pid, const char *what)
{
	l_str(l, s_hello);
	l_num(l, pid);
	l_str(l, what);
}

static void check_private(uint64_t *data, long pid)
{
	struct line l;
	l.n = 0;
	uint64_t want = 0x1111 * (uint64_t)pid;
	l_str(&l, s_private);
	l_hex(&l, (uint64_t)data);
	l_str(&l, s_holds);
	l_hex(&l, *data);
	l_str(&l, *data == want ? s_mine : s_not_mine);
	l_send(&l);
}

/* ---- task "primes": trial division, progress per chunk, yield after each line */
#define PRIMES_LIMIT 100000
#define PRIMES_CHUNKS 4

static int is_prime(uint32_t n)
{
	if (n < 2)
		return 0;
	for (uint32_t d = 2; d * d <= n; d++)
		if (n % d == 0)
			return 0;
	return 1;
}

__attribute__((noreturn)) void task_primes(uint64_t *data, uint64_t *heap, uint64_t bad)
{
	struct line l;
	l.n = 0;
	long pid = sys_getpid();
	*data = 0x1111 * (uint64_t)pid;
	hello(&l, pid, s_primes_task);
	l_num(&l, PRIMES_LIMIT);
	l_send(&l);
	sys_yield();
	long count = 0;
	for (int c = 0; c < PRIMES_CHUNKS; c++) {
		uint32_t lo = c * (PRIMES_LIMIT / PRIMES_CHUNKS), hi = lo + PRIMES_LIMIT / PRIMES_CHUNKS;
		for (uint32_t n = lo; n < hi; n++)
			count += is_prime(n);
		l_str(&l, s_primes_below);
		l_num(&l, hi);
		l_str(&l, s_colon);
		l_num(&l, count);
		l_send(&l);
		sys_yield();
	}
	check_private(data, pid);
	sys_exit(0);
}

/* ---- task "heap": touches HEAP_PAGES fresh pages (each first store is a page fault the kernel
 * serves by mapping a zeroed frame), then checksums them in passes */
#define HEAP_PAGES 4
#define HEAP_WORDS (HEAP_PAGES * 512)
#define HEAP_PASSES 4
#define HEAP_ROUNDS 192
static const uint64_t lcg[4] = { 0x9e3779b97f4a7c15ull, 6364136223846793005ull, 1442695040888963407ull,
				 0x100000001b3ull };

__attribute__((noreturn)) void task_heap(uint64_t *data, uint64_t *heap, uint64_t bad)
{
	struct line l;
	l.n = 0;
	long pid = sys_getpid();
	*data = 0x1111 * (uint64_t)pid;
	hello(&l, pid, s_heap_task);
	l_hex(&l, (uint64_t)heap);
	l_str(&l, s_open);
	l_num(&l, HEAP_PAGES);
	l_str(&l, s_pages);
	l_send(&l);
	sys_yield();
	const uint64_t *k = KEEP(&lcg[0]); /* loads, not immediates */
	uint64_t x = k[0], mul = k[1], inc = k[2], fnv = k[3];
	for (int i = 0; i < HEAP_WORDS; i++) {
		x = x * mul + inc;
		heap[i] = x ^ (uint64_t)i;
	}
	l_str(&l, s_filled);
	l_hex(&l, heap[0]);
	l_send(&l);
	sys_yield();
	uint64_t sum = 0;
	for (int p = 0; p < HEAP_PASSES; p++) {
		for (int r = 0; r < HEAP_ROUNDS; r++)
			for (int i = 0; i < HEAP_WORDS; i++) {
				sum = (sum ^ heap[i]) * fnv;
				heap[i] += sum >> 7;
			}
		l_str(&l, s_pass);
		l_num(&l, p + 1);
		l_str(&l, s_checksum);
		l_hex(&l, sum);
		l_send(&l);
		sys_yield();
	}
	check_private(data, pid);
	sys_exit(0);
}

/* ---- task "rogue": honest work first, then a bad pointer to write() (refused with -EFAULT)
 * and a load from kernel memory (a page fault; the kernel kills it) */
#define COLLATZ_LIMIT 40000

__attribute__((noreturn)) void task_rogue(uint64_t *data, uint64_t *heap, uint64_t bad)
{
	struct line l;
	l.n = 0;
	long pid = sys_getpid();
	*data = 0x1111 * (uint64_t)pid;
	hello(&l, pid, s_collatz_task);
	l_num(&l, COLLATZ_LIMIT);
	l_send(&l);
	sys_yield();
	long best = 0, best_n = 0;
	for (long n = 1; n < COLLATZ_LIMIT; n++) {
		long steps = 0;
		for (uint64_t v = n; v != 1; steps++)
			v = (v & 1) ? 3 * v + 1 : v >> 1;
		if (steps > best) {
			best = steps;
			best_n = n;
		}
	}
	l_str(&l, s_collatz_res);
	l_num(&l, COLLATZ_LIMIT);
	l_str(&l, s_starts);
	l_num(&l, best_n);
	l_str(&l, s_colon);
	l_num(&l, best);
	l_str(&l, s_steps);
	l_send(&l);
	check_private(data, pid);
	l_str(&l, s_write_bad);
	l_hex(&l, bad);
	l_str(&l, s_write_bad2);
	long r = sys_write((const void *)bad, 16);
	l_num(&l, r);
	l_send(&l);
	l_str(&l, s_load_bad);
	l_hex(&l, bad);
	l_send(&l);
	volatile uint64_t *p = (volatile uint64_t *)bad;
	data[1] = *p;
	l_str(&l, s_survived);
	l_send(&l);
	sys_exit(1);
}
