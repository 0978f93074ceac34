/* bench-muldiv - multiply/divide heavy: modular exponentiation with 32-bit moduli (mul + remu),
 * binary-free Euclid gcd (remu), signed division and mulhu/mulh accumulation. Prints a checksum. */
#include "tachyxx.h"

/* sizes: override with -DNAME=value (tools/build-guests.mjs uses -DSMALL for the quick variant) */
#if !defined(ITERS)
#ifdef SMALL
#define ITERS 8000
#else
#define ITERS 1200000
#endif
#endif

static NOINLINE uint64_t powmod(uint64_t b, uint64_t e, uint64_t m)
{
	uint64_t r = 1 % m;
	b %= m;
	while (e) {
		if (e & 1)
			r = r * b % m;
		b = b * b % m;
		e >>= 1;
	}
	return r;
}

static NOINLINE uint64_t gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

static NOINLINE int64_t sdivmix(int64_t a, int64_t b)
{
	int64_t q = a / b, r = a % b;
	int32_t qw = (int32_t)a / (int32_t)(b | 1), rw = (int32_t)a % (int32_t)(b | 1);
	return q ^ (r << 7) ^ ((int64_t)qw << 13) ^ rw;
}

int main(void)
{
	uint64_t s = 0x243f6a8885a308d3ull, acc = 0;
	for (uint64_t i = 0; i < ITERS; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		uint64_t a = s;
		uint64_t m = (a >> 32) | 0x80000001u; /* odd, < 2^32: products fit in 64 bits */
		acc += powmod(a & 0xffffffffu, a >> 34, m);
		acc ^= gcd(a | 1, (a >> 11) * 0x9e3779b1u + 1);
		acc += (uint64_t)sdivmix((int64_t)a, (int64_t)(a >> 40) - 0x7fffff);
		acc += (uint64_t)(((unsigned __int128)a * acc) >> 64);
		acc ^= (uint64_t)(((__int128)(int64_t)a * (int64_t)i) >> 64);
	}
	printf("bench-muldiv: iters=%d checksum=%016lx\n", ITERS, acc);
	return 0;
}
