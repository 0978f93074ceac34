/* bench-crc - bitwise CRC over a buffer, as a program that cannot afford a table would: CRC-32
 * (IEEE 802.3, reflected polynomial 0xEDB88320, as zlib's crc32) and CRC-64 (ECMA-182, reflected
 * polynomial 0xC96C5795D7870F42, as xz's crc64) one bit at a time over SIZE bytes of xorshift64*
 * data, PASSES times with the buffer perturbed between passes. 64-bit shifts, masks and xors.
 * Checks the implementation against the standard check values ("123456789") first. */
#include "tachyxx.h"

/* sizes: override with -DNAME=value (tools/build-guests.mjs uses -DSMALL for the quick variant) */
#if !defined(SIZE) && !defined(PASSES)
#ifdef SMALL
#define SIZE (64u << 10)
#define PASSES 2
#else
#define SIZE (4u << 20) /* 4 MiB */
#define PASSES 2
#endif
#endif

static uint64_t buf[SIZE / 8];

static NOINLINE uint32_t crc32_bitwise(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xEDB88320u & -(crc & 1));
	}
	return ~crc;
}

static NOINLINE uint64_t crc64_bitwise(uint64_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xC96C5795D7870F42ull & -(crc & 1));
	}
	return ~crc;
}

static NOINLINE void fill(uint64_t s)
{
	for (size_t i = 0; i < SIZE / 8; i++) {
		s ^= s >> 12;
		s ^= s << 25;
		s ^= s >> 27;
		buf[i] = s * 0x2545F4914F6CDD1Dull;
	}
}

int main(void)
{
	/* The catalogue check values of both CRCs (reveng: CRC-32/ISO-HDLC, CRC-64/XZ). */
	static const uint8_t check[] = "123456789";
	uint32_t c32 = crc32_bitwise(0, check, 9);
	uint64_t c64 = crc64_bitwise(0, check, 9);
	if (c32 != 0xCBF43926u || c64 != 0x995DC9BBDF1939FAull) {
		printf("bench-crc: check values wrong: crc32=%08x crc64=%016lx\n", c32, c64);
		return 1;
	}
	fill(0x9E3779B97F4A7C15ull);
	const uint8_t *bytes = (const uint8_t *)buf;
	uint32_t crc32 = 0;
	uint64_t crc64 = 0;
	for (int pass = 0; pass < PASSES; pass++) {
		crc32 = crc32_bitwise(crc32, bytes, SIZE);
		crc64 = crc64_bitwise(crc64, bytes, SIZE);
		buf[(crc32 ^ crc64) % (SIZE / 8)] ^= crc64; /* the next pass depends on this one */
	}
	/* A message followed by its CRC-32 (little-endian) has the CRC 0x2144DF1C (the residue). */
	uint32_t msg = crc32_bitwise(0, bytes, 4096);
	uint8_t mt[4] = { (uint8_t)msg, (uint8_t)(msg >> 8), (uint8_t)(msg >> 16), (uint8_t)(msg >> 24) };
	uint32_t residue = crc32_bitwise(msg, mt, 4);
	printf("bench-crc: size=%u passes=%d crc32=%08x crc64=%016lx residue=%08x\n", SIZE, PASSES, crc32, crc64, residue);
	return residue == 0x2144DF1Cu ? 0 : 1;
}
