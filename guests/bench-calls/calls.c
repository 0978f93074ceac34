/* bench-calls - many small non-inlined functions: recursive fib, a chain of noinline calls with
 * stack arguments, and indirect calls through a function table. Prints a checksum. */
#include "tachyxx.h"

/* sizes: override with -DNAME=value (tools/build-guests.mjs uses -DSMALL for the quick variant) */
#if !defined(FIB_N) && !defined(ITERS)
#ifdef SMALL
#define FIB_N 20
#define ITERS 20000
#else
#define FIB_N 30
#define ITERS 6000000
#endif
#endif

static NOINLINE uint64_t fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

static NOINLINE uint64_t f_add(uint64_t a, uint64_t b) { return a + b; }
static NOINLINE uint64_t f_xor(uint64_t a, uint64_t b) { return a ^ (b << 1); }
static NOINLINE uint64_t f_rot(uint64_t a, uint64_t b) { return (a << (b & 63)) | (a >> (-b & 63)); }
static NOINLINE uint64_t f_mix(uint64_t a, uint64_t b) { return f_add(f_xor(a, b), f_rot(b, a)); }

/* more arguments than registers: the rest go on the stack */
static NOINLINE uint64_t f_many(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, uint64_t f,
				uint64_t g, uint64_t h, uint64_t i, uint64_t j)
{
	return a + 3 * b + 5 * c + 7 * d + (e ^ f) + (g ^ h) + (i ^ j);
}

static uint64_t (*const table[4])(uint64_t, uint64_t) = { f_add, f_xor, f_rot, f_mix };

int main(void)
{
	uint64_t acc = fib(OPAQUE(FIB_N));
	uint64_t x = 1;
	for (uint64_t i = 0; i < ITERS; i++) {
		x = f_mix(x, i);
		x = table[(x >> 7) & 3](x, i);
		acc += f_many(x, i, acc, 1, 2, 3, 4, 5, 6, i >> 3);
	}
	printf("bench-calls: fib(%d)=%lu iters=%d checksum=%016lx\n", FIB_N, fib(OPAQUE(FIB_N)), ITERS, acc ^ x);
	return 0;
}
