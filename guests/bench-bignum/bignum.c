/* bench-bignum - multi-precision arithmetic as an RSA or Diffie-Hellman library does it: 1024-bit
 * modular exponentiation by square-and-multiply in the Montgomery domain (CIOS multiplication,
 * L = 16 x 64-bit limbs: mul + mulhu, add-with-carry through sltu), EXPS exponentiations with random
 * odd moduli, bases and exponents. Each result is self-checked: a^e1 * a^e2 == a^(e1+e2) (mod m),
 * with e1 + e2 added as bignums. Prints a checksum of the results. */
#include "tachyxx.h"

/* sizes: override with -DNAME=value (tools/build-guests.mjs uses -DSMALL for the quick variant) */
#if !defined(EXPS) && !defined(L)
#ifdef SMALL
#define EXPS 2
#define L 4 /* limbs: 256 bits */
#else
#define EXPS 12
#define L 16 /* limbs: 1024 bits */
#endif
#endif

typedef unsigned __int128 u128;

struct mont {
	uint64_t m[L];  /* odd modulus */
	uint64_t minv;  /* -m^-1 mod 2^64 */
	uint64_t r2[L]; /* R^2 mod m, R = 2^(64 L) */
};

static uint64_t rng = 0x853C49E6748FEA9Bull;
static uint64_t next64(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* r = a * b * R^-1 mod m (CIOS; a, b < m; r may alias a or b) */
static NOINLINE void mont_mul(uint64_t *r, const uint64_t *a, const uint64_t *b, const struct mont *M)
{
	uint64_t t[L + 2] = { 0 };
	for (int i = 0; i < L; i++) {
		uint64_t c = 0;
		for (int j = 0; j < L; j++) {
			u128 p = (u128)a[j] * b[i] + t[j] + c;
			t[j] = (uint64_t)p;
			c = (uint64_t)(p >> 64);
		}
		u128 s = (u128)t[L] + c;
		t[L] = (uint64_t)s;
		t[L + 1] = (uint64_t)(s >> 64);
		uint64_t q = t[0] * M->minv;
		u128 p = (u128)q * M->m[0] + t[0];
		c = (uint64_t)(p >> 64);
		for (int j = 1; j < L; j++) {
			p = (u128)q * M->m[j] + t[j] + c;
			t[j - 1] = (uint64_t)p;
			c = (uint64_t)(p >> 64);
		}
		s = (u128)t[L] + c;
		t[L - 1] = (uint64_t)s;
		t[L] = t[L + 1] + (uint64_t)(s >> 64);
	}
	/* t < 2m: subtract m once if t >= m */
	uint64_t d[L], borrow = 0;
	for (int j = 0; j < L; j++) {
		uint64_t x = t[j] - M->m[j];
		uint64_t b1 = t[j] < M->m[j];
		d[j] = x - borrow;
		borrow = b1 | (x < borrow);
	}
	int use_d = t[L] || !borrow;
	for (int j = 0; j < L; j++)
		r[j] = use_d ? d[j] : t[j];
}

/* x = x + x mod m (x < m) */
static void mod_double(uint64_t *x, const uint64_t *m)
{
	uint64_t carry = 0;
	for (int j = 0; j < L; j++) {
		uint64_t top = x[j] >> 63;
		x[j] = (x[j] << 1) | carry;
		carry = top;
	}
	uint64_t d[L], borrow = 0;
	for (int j = 0; j < L; j++) {
		uint64_t v = x[j] - m[j];
		uint64_t b1 = x[j] < m[j];
		d[j] = v - borrow;
		borrow = b1 | (v < borrow);
	}
	if (carry || !borrow)
		memcpy(x, d, sizeof d);
}

static void mont_setup(struct mont *M)
{
	for (int j = 0; j < L; j++)
		M->m[j] = next64();
	M->m[0] |= 1;
	M->m[L - 1] |= 1ull << 63;
	/* Newton: inv = m0^-1 mod 2^64, doubling the correct bits each step */
	uint64_t inv = M->m[0];
	for (int k = 0; k < 6; k++)
		inv *= 2 - M->m[0] * inv;
	M->minv = -inv;
	/* R mod m = 2^(64L) - m (m has its top bit set), then double it 64L times: R^2 mod m */
	uint64_t borrow = 0;
	for (int j = 0; j < L; j++) {
		uint64_t v = 0 - M->m[j] - borrow;
		borrow = (M->m[j] | borrow) != 0;
		M->r2[j] = v;
	}
	for (int k = 0; k < 64 * L; k++)
		mod_double(M->r2, M->m);
}

/* r = a^e mod m (a in normal form < m; e has `bits` bits) */
static NOINLINE void mont_pow(uint64_t *r, const uint64_t *a, const uint64_t *e, int bits, const struct mont *M)
{
	uint64_t one[L] = { 1 }, x[L], acc[L];
	mont_mul(x, a, M->r2, M);     /* a R */
	mont_mul(acc, one, M->r2, M); /* R */
	for (int i = bits - 1; i >= 0; i--) {
		mont_mul(acc, acc, acc, M);
		if ((e[i / 64] >> (i % 64)) & 1)
			mont_mul(acc, acc, x, M);
	}
	mont_mul(r, acc, one, M); /* out of the Montgomery domain */
}

static int is_less(const uint64_t *a, const uint64_t *b)
{
	for (int j = L - 1; j >= 0; j--)
		if (a[j] != b[j])
			return a[j] < b[j];
	return 0;
}

int main(void)
{
	uint64_t checksum = 0;
	for (int n = 0; n < EXPS; n++) {
		struct mont M;
		mont_setup(&M);
		uint64_t a[L], e1[L + 1] = { 0 }, e2[L + 1] = { 0 }, e3[L + 1];
		for (int j = 0; j < L; j++)
			a[j] = next64();
		a[L - 1] >>= 1; /* a < m */
		for (int j = 0; j < L; j++) {
			e1[j] = next64();
			e2[j] = next64();
		}
		uint64_t c = 0; /* e3 = e1 + e2, 1025 bits */
		for (int j = 0; j < L; j++) {
			u128 s = (u128)e1[j] + e2[j] + c;
			e3[j] = (uint64_t)s;
			c = (uint64_t)(s >> 64);
		}
		e3[L] = c;
		uint64_t r1[L], r2[L], r3[L], prod[L], r2m[L];
		mont_pow(r1, a, e1, 64 * L, &M);
		mont_pow(r2, a, e2, 64 * L, &M);
		mont_pow(r3, a, e3, 64 * L + 1, &M);
		/* r1 * r2 mod m in normal form: mont_mul(r1, r2 R^2 R^-1) */
		mont_mul(r2m, r2, M.r2, &M);
		mont_mul(prod, r1, r2m, &M);
		if (memcmp(prod, r3, sizeof prod) || !is_less(r1, M.m)) {
			printf("bench-bignum: exponentiation %d: a^e1 * a^e2 != a^(e1+e2) mod m\n", n);
			return 1;
		}
		for (int j = 0; j < L; j++)
			checksum = (checksum ^ r3[j]) * 0x100000001B3ull + (checksum >> 29);
		printf("bench-bignum: %d: a^(e1+e2) mod m = ...%016lx%016lx\n", n, r3[1], r3[0]);
	}
	printf("bench-bignum: exps=%d bits=%d checksum=%016lx\n", EXPS, 64 * L, checksum);
	return 0;
}
