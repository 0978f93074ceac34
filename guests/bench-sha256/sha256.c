/* bench-sha256 - SHA-256 (FIPS 180-4) as a library would write it: a context with init / update /
 * final, the 64-round compression function on 32-bit words (rotates, adds and the W-suffixed
 * instructions on RV64), big-endian loads and stores by bytes. Checks the FIPS 180-4 / NIST
 * example vectors first ("abc", the empty message, the 448-bit two-block message and, in the full
 * build, one million 'a'). Then hashes SIZE bytes of xorshift64* data PASSES times, once in one
 * update and once streamed in uneven pieces (the two digests must agree), and runs a hash chain
 * (h = SHA-256(h || i)) of CHAIN short messages. Prints the digests and a checksum. */
#include "tachyxx.h"

/* sizes: override with -DNAME=value (tools/build-guests.mjs uses -DSMALL for the quick variant) */
#if !defined(SIZE) && !defined(PASSES) && !defined(CHAIN)
#ifdef SMALL
#define SIZE (32u << 10)
#define PASSES 1
#define CHAIN 500
#else
#define SIZE (4u << 20) /* 4 MiB */
#define PASSES 2
#define CHAIN 50000
#define MILLION_A 1
#endif
#endif

struct sha256 {
	uint32_t h[8];
	uint64_t len;       /* bytes hashed so far */
	uint8_t buf[64];    /* a partial block */
	uint32_t fill;      /* bytes in buf */
};

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t ror(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
static inline uint32_t load_be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static inline void store_be32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }

/* FIPS 180-4 section 6.2.2: one 512-bit block. */
static NOINLINE void sha256_block(uint32_t h[8], const uint8_t *p)
{
	uint32_t w[64];
	for (int t = 0; t < 16; t++)
		w[t] = load_be32(p + 4 * t);
	for (int t = 16; t < 64; t++) {
		uint32_t s0 = ror(w[t - 15], 7) ^ ror(w[t - 15], 18) ^ (w[t - 15] >> 3);
		uint32_t s1 = ror(w[t - 2], 17) ^ ror(w[t - 2], 19) ^ (w[t - 2] >> 10);
		w[t] = w[t - 16] + s0 + w[t - 7] + s1;
	}
	uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
	for (int t = 0; t < 64; t++) {
		uint32_t t1 = hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + w[t];
		uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		hh = g; g = f; f = e; e = d + t1;
		d = c; c = b; b = a; a = t1 + t2;
	}
	h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

static void sha256_init(struct sha256 *s)
{
	static const uint32_t iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	memcpy(s->h, iv, sizeof iv);
	s->len = 0;
	s->fill = 0;
}

static NOINLINE void sha256_update(struct sha256 *s, const void *data, size_t n)
{
	const uint8_t *p = data;
	s->len += n;
	if (s->fill) {
		size_t take = 64 - s->fill < n ? 64 - s->fill : n;
		memcpy(s->buf + s->fill, p, take);
		s->fill += take; p += take; n -= take;
		if (s->fill < 64)
			return;
		sha256_block(s->h, s->buf);
		s->fill = 0;
	}
	for (; n >= 64; p += 64, n -= 64)
		sha256_block(s->h, p);
	memcpy(s->buf, p, n);
	s->fill = n;
}

/* FIPS 180-4 section 5.1.1: a 1 bit, zeros to 56 mod 64 bytes, the length in bits (big-endian). */
static NOINLINE void sha256_final(struct sha256 *s, uint8_t out[32])
{
	uint64_t bits = s->len * 8;
	s->buf[s->fill++] = 0x80;
	if (s->fill > 56) {
		memset(s->buf + s->fill, 0, 64 - s->fill);
		sha256_block(s->h, s->buf);
		s->fill = 0;
	}
	memset(s->buf + s->fill, 0, 56 - s->fill);
	store_be32(s->buf + 56, (uint32_t)(bits >> 32));
	store_be32(s->buf + 60, (uint32_t)bits);
	sha256_block(s->h, s->buf);
	for (int i = 0; i < 8; i++)
		store_be32(out + 4 * i, s->h[i]);
}

static void sha256(const void *data, size_t n, uint8_t out[32])
{
	struct sha256 s;
	sha256_init(&s);
	sha256_update(&s, data, n);
	sha256_final(&s, out);
}

static void hex(char *dst, const uint8_t *d, int n)
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < n; i++) {
		dst[2 * i] = digits[d[i] >> 4];
		dst[2 * i + 1] = digits[d[i] & 15];
	}
	dst[2 * n] = 0;
}

/* Compares a digest with the expected hex string; prints both on a mismatch. */
static int check(const char *what, const uint8_t d[32], const char *want)
{
	char got[65];
	hex(got, d, 32);
	if (strcmp(got, want) == 0)
		return 0;
	printf("bench-sha256: %s: got %s, want %s\n", what, got, want);
	return 1;
}

static uint8_t data[SIZE];

int main(void)
{
	uint8_t d[32], d2[32];
	int bad = 0;

	/* FIPS 180-4 examples (NIST CSRC "SHA256.pdf", "SHA256_2.pdf") and the empty message. */
	sha256("abc", 3, d);
	bad |= check("\"abc\"", d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256("", 0, d);
	bad |= check("\"\"", d, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	static const char two[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	sha256(two, sizeof two - 1, d);
	bad |= check("448-bit message", d, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
#ifdef MILLION_A
	{
		/* one million 'a', fed 1000 bytes at a time */
		static uint8_t a[1000];
		memset(a, 'a', sizeof a);
		struct sha256 s;
		sha256_init(&s);
		for (int i = 0; i < 1000; i++)
			sha256_update(&s, a, sizeof a);
		sha256_final(&s, d);
		bad |= check("one million 'a'", d, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	}
#endif
	if (bad)
		return 1;

	uint64_t sum = 0;
	uint64_t x = 0x9E3779B97F4A7C15ull;
	for (int pass = 0; pass < PASSES; pass++) {
		/* xorshift64* bytes, the low byte of every word more likely zero (text-like runs) */
		for (size_t i = 0; i < SIZE; i += 8) {
			x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
			uint64_t v = x * 0x2545F4914F6CDD1Dull;
			if ((v >> 60) == 0)
				v &= ~0xffull;
			memcpy(data + i, &v, 8);
		}
		sha256(data, SIZE, d);
		/* the same bytes streamed in uneven pieces (1..1021 bytes) */
		struct sha256 s;
		sha256_init(&s);
		uint32_t r = 12345u + pass;
		for (size_t off = 0; off < SIZE;) {
			r = r * 1103515245u + 12345u;
			size_t n = 1 + (r >> 16) % 1021;
			if (n > SIZE - off)
				n = SIZE - off;
			sha256_update(&s, data + off, n);
			off += n;
		}
		sha256_final(&s, d2);
		if (memcmp(d, d2, 32) != 0) {
			char a[65], b[65];
			hex(a, d, 32); hex(b, d2, 32);
			printf("bench-sha256: pass %d: one update %s, streamed %s\n", pass, a, b);
			return 1;
		}
		char h[65];
		hex(h, d, 32);
		printf("bench-sha256: pass %d: %u bytes sha256=%s\n", pass, SIZE, h);
		for (int i = 0; i < 8; i++)
			sum = (sum << 8 | sum >> 56) ^ load_be32(d + 4 * i);
	}

	/* hash chain: h = SHA-256(h || le32(i)), 36-byte messages (one block each, padding in it) */
	uint8_t msg[36];
	memcpy(msg, d, 32);
	for (uint32_t i = 0; i < CHAIN; i++) {
		msg[32] = i; msg[33] = i >> 8; msg[34] = i >> 16; msg[35] = i >> 24;
		sha256(msg, sizeof msg, msg);
	}
	char h[65];
	hex(h, msg, 32);
	printf("bench-sha256: chain of %u: %s\n", CHAIN, h);
	for (int i = 0; i < 8; i++)
		sum = (sum << 8 | sum >> 56) ^ load_be32(msg + 4 * i);
	printf("bench-sha256: checksum=%016lx\n", sum);
	return 0;
}
