/* bench-intmix - integer ALU mix: xorshift64 fill, table-driven CRC32 over the bytes, heapsort,
 * repeated ROUNDS times. Prints a checksum. Size: compile-time constants (SMALL: quick variant). */
#include "tachyxx.h"

/* sizes: override with -DNAME=value (tools/build-guests.mjs uses -DSMALL for the quick variant) */
#if !defined(N) && !defined(ROUNDS)
#ifdef SMALL
#define N 4096
#define ROUNDS 2
#else
#define N 65536
#define ROUNDS 24
#endif
#endif

static uint32_t arr[N];
static uint32_t crc_table[256];

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static NOINLINE uint32_t crc32(const uint8_t *p, size_t n, uint32_t crc)
{
	crc = ~crc;
	for (size_t i = 0; i < n; i++)
		crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static NOINLINE uint64_t fill(uint64_t s)
{
	for (size_t i = 0; i < N; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		arr[i] = (uint32_t)(s >> 16);
	}
	return s;
}

static void sift(uint32_t *a, size_t start, size_t end)
{
	size_t root = start;
	uint32_t v = a[root];
	for (;;) {
		size_t child = 2 * root + 1;
		if (child > end)
			break;
		if (child + 1 <= end && a[child] < a[child + 1])
			child++;
		if (v >= a[child])
			break;
		a[root] = a[child];
		root = child;
	}
	a[root] = v;
}

static NOINLINE void heapsort(uint32_t *a, size_t n)
{
	for (size_t s = n / 2; s-- > 0;)
		sift(a, s, n - 1);
	for (size_t end = n - 1; end > 0; end--) {
		uint32_t t = a[0];
		a[0] = a[end];
		a[end] = t;
		sift(a, 0, end - 1);
	}
}

int main(void)
{
	crc_init();
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	uint32_t crc = 0;
	uint64_t sum = 0;
	for (int r = 0; r < ROUNDS; r++) {
		seed = fill(seed);
		crc = crc32((const uint8_t *)arr, sizeof arr, crc);
		heapsort(arr, N);
		for (size_t i = 1; i < N; i++)
			if (arr[i - 1] > arr[i]) {
				printf("bench-intmix: NOT SORTED at %lu\n", (unsigned long)i);
				return 1;
			}
		crc = crc32((const uint8_t *)arr, sizeof arr, crc);
		sum = sum * 31 + arr[N / 2] + arr[N / 7] + arr[N - 1];
	}
	printf("bench-intmix: n=%d rounds=%d crc=%08x sum=%016lx\n", N, ROUNDS, crc, sum);
	return 0;
}
