/* bench-sort - sorting and hashing 64-bit keys: N keys from splitmix64 (with duplicates), counted
 * into an open-addressing hash set (linear probing, multiplicative 64-bit hash), sorted with an
 * iterative median-of-3 quicksort (insertion sort below 16), then checked: sorted order, the
 * distinct count from the sorted run equals the hash set's, and every key is found in the set.
 * Prints a 64-bit hash of the sorted sequence. ROUNDS rounds with different seeds. */
#include "tachyxx.h"

/* sizes: override with -DNAME=value (tools/build-guests.mjs uses -DSMALL for the quick variant) */
#if !defined(N) && !defined(ROUNDS)
#ifdef SMALL
#define N (1u << 13)
#define ROUNDS 2
#else
#define N (1u << 19) /* 512 Ki keys = 4 MiB */
#define ROUNDS 2
#endif
#endif
#ifndef TBITS
#ifdef SMALL
#define TBITS 14
#else
#define TBITS 20 /* hash set slots: 2 x N (load <= 0.5) */
#endif
#endif
#if (1u << TBITS) < 2 * N
#error "TBITS too small for N"
#endif

static uint64_t keys[N];
static uint64_t set[1u << TBITS]; /* 0 = empty slot (keys are made nonzero) */

static inline uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

/* Inserts k; returns 1 if it was new. */
static NOINLINE int set_insert(uint64_t k)
{
	uint32_t mask = (1u << TBITS) - 1, i = (uint32_t)((k * 0x9E3779B97F4A7C15ull) >> (64 - TBITS));
	for (;;) {
		if (set[i] == k)
			return 0;
		if (set[i] == 0) {
			set[i] = k;
			return 1;
		}
		i = (i + 1) & mask;
	}
}

static NOINLINE int set_has(uint64_t k)
{
	uint32_t mask = (1u << TBITS) - 1, i = (uint32_t)((k * 0x9E3779B97F4A7C15ull) >> (64 - TBITS));
	while (set[i] != 0) {
		if (set[i] == k)
			return 1;
		i = (i + 1) & mask;
	}
	return 0;
}

static NOINLINE void insertion(uint64_t *a, long lo, long hi)
{
	for (long i = lo + 1; i <= hi; i++) {
		uint64_t v = a[i];
		long j = i - 1;
		while (j >= lo && a[j] > v) {
			a[j + 1] = a[j];
			j--;
		}
		a[j + 1] = v;
	}
}

static NOINLINE void quicksort(uint64_t *a, long n)
{
	long stack[128], sp = 0;
	stack[sp++] = 0;
	stack[sp++] = n - 1;
	while (sp) {
		long hi = stack[--sp], lo = stack[--sp];
		while (hi - lo >= 16) {
			long mid = lo + (hi - lo) / 2;
			uint64_t x = a[lo], y = a[mid], z = a[hi], t;
			/* median of three as the pivot */
			uint64_t p = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
			long i = lo - 1, j = hi + 1;
			for (;;) { /* Hoare partition */
				do i++; while (a[i] < p);
				do j--; while (a[j] > p);
				if (i >= j)
					break;
				t = a[i]; a[i] = a[j]; a[j] = t;
			}
			/* recurse into the smaller half later (bounded stack), loop on the larger */
			if (j - lo < hi - j) {
				stack[sp++] = j + 1; stack[sp++] = hi;
				hi = j;
			} else {
				stack[sp++] = lo; stack[sp++] = j;
				lo = j + 1;
			}
		}
		insertion(a, lo, hi);
	}
}

int main(void)
{
	uint64_t total = 0;
	for (int round = 0; round < ROUNDS; round++) {
		uint64_t s = 0x0123456789ABCDEFull ^ ((uint64_t)round << 56);
		memset(set, 0, sizeof set);
		uint32_t distinct = 0;
		for (uint32_t i = 0; i < N; i++) {
			/* ~3/4 distinct: a key is drawn from 3N/4 values, spread over 64 bits */
			uint64_t r = splitmix64(&s) % (3 * (uint64_t)N / 4);
			uint64_t k = (r * 0xD6E8FEB86659FD93ull) ^ (r << 40) ^ 0x8000000000000001ull;
			keys[i] = k;
			distinct += set_insert(k);
		}
		quicksort(keys, N);
		uint32_t runs = 1, missing = 0;
		uint64_t h = 0xCBF29CE484222325ull;
		for (uint32_t i = 0; i < N; i++) {
			if (i && keys[i] < keys[i - 1]) {
				printf("bench-sort: not sorted at %u\n", i);
				return 1;
			}
			if (i && keys[i] != keys[i - 1])
				runs++;
			missing += !set_has(keys[i]);
			h = rotl((h ^ keys[i]) * 0x100000001B3ull, 29) + i;
		}
		if (runs != distinct || missing) {
			printf("bench-sort: distinct %u by sorting, %u by hashing, %u missing\n", runs, distinct, missing);
			return 1;
		}
		printf("bench-sort: round %d: n=%u distinct=%u min=%016lx max=%016lx hash=%016lx\n", round, N, distinct, keys[0], keys[N - 1], h);
		total ^= h;
	}
	printf("bench-sort: checksum=%016lx\n", total);
	return 0;
}
