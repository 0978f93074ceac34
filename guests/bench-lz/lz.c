/* bench-lz - an LZ77 compressor and decompressor as small real ones are written (the shape of
 * LZ4-HC / zlib's deflate match finder, without the entropy coder): a hash of the next 4 bytes
 * heads a chain of earlier positions with the same hash (head[] / prev[] over a 64 KiB window),
 * the longest match within MAX_CHAIN candidates wins, one step of lazy matching (a longer match
 * at the next byte defers the current one), and LZ4-style sequences: a token byte with literal
 * length and match length nibbles, 255-extension bytes, the literals, a 16-bit little-endian
 * offset. The decompressor checks every length and offset against its buffers. The input is
 * generated text: words drawn from a vocabulary with a skewed (Zipf-like) distribution, with
 * punctuation, numbers and line breaks. Each round compresses, decompresses, compares with the
 * original and prints the compressed size and a checksum of the compressed stream. */
#include "tachyxx.h"

/* sizes: override with -DNAME=value (tools/build-guests.mjs uses -DSMALL for the quick variant) */
#if !defined(SIZE) && !defined(ROUNDS)
#ifdef SMALL
#define SIZE (24u << 10)
#define ROUNDS 2
#else
#define SIZE (1u << 20) /* 1 MiB */
#define ROUNDS 3
#endif
#endif
#ifndef MAX_CHAIN
#define MAX_CHAIN 48
#endif

#define WINDOW (1u << 16)     /* offsets fit 16 bits; offset 0 is invalid */
#define HASH_BITS 15
#define MIN_MATCH 4
#define LAST_LITERALS 5       /* as LZ4: the last bytes are always literals */
#define BOUND(n) ((n) + (n) / 255 + 16)

static uint8_t src[SIZE];
static uint8_t comp[BOUND(SIZE)];
static uint8_t back[SIZE];
static int32_t head[1u << HASH_BITS];
static int32_t prev[WINDOW];  /* prev[pos % WINDOW]: the previous position with the same hash */

static inline uint32_t read32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint32_t hash4(const uint8_t *p) { return (read32(p) * 2654435761u) >> (32 - HASH_BITS); }

/* ---- text generator ------------------------------------------------------------------------- */

static uint64_t rng;
static inline uint32_t rnd(void)
{
	rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27;
	return (uint32_t)((rng * 0x2545F4914F6CDD1Dull) >> 32);
}

#define VOCAB 512
static char words[VOCAB][12];
static uint8_t wlen[VOCAB];

static void make_vocab(void)
{
	static const char cons[] = "bcdfghjklmnprstvwz", vow[] = "aeiouy";
	for (int w = 0; w < VOCAB; w++) {
		int n = 2 + rnd() % 9;     /* 2..10 letters, alternating consonants and vowels */
		int v = rnd() & 1;
		for (int i = 0; i < n; i++, v ^= 1)
			words[w][i] = v ? vow[rnd() % 6] : cons[rnd() % 18];
		wlen[w] = n;
	}
}

/* Zipf-like: the index of the highest set bit picks a band, so low word numbers dominate. */
static inline int pick_word(void)
{
	uint32_t r = rnd();
	int band = 0;
	while (band < 8 && (r & (1u << band)))
		band++;
	return ((2u << band) - 2 + (rnd() & ((2u << band) - 1))) % VOCAB;
}

static void make_text(uint8_t *p, size_t n)
{
	size_t i = 0;
	int cap = 1;
	while (i < n) {
		int w = pick_word();
		for (int k = 0; k < wlen[w] && i < n; k++, cap = 0)
			p[i++] = cap && k == 0 ? words[w][k] - 32 : words[w][k];
		if (i >= n)
			break;
		uint32_t r = rnd() % 64;
		if (r == 0 && i + 6 < n) { /* a number */
			uint32_t v = rnd() % 100000;
			p[i++] = ' ';
			char t[8]; int m = 0;
			do t[m++] = '0' + v % 10; while (v /= 10);
			while (m && i < n) p[i++] = t[--m];
		}
		if (i >= n)
			break;
		if (r < 3) { p[i++] = '.'; cap = 1; if (i < n) p[i++] = r == 1 ? '\n' : ' '; }
		else if (r < 6) { p[i++] = ','; if (i < n) p[i++] = ' '; }
		else p[i++] = ' ';
	}
}

/* ---- compressor ----------------------------------------------------------------------------- */

/* Longest match for position i (at most limit bytes) among earlier positions on i's hash chain. */
static inline uint32_t longest(const uint8_t *in, uint32_t i, uint32_t limit, uint32_t *off)
{
	uint32_t best = 0;
	int32_t c = head[hash4(in + i)];
	for (int depth = 0; c >= 0 && depth < MAX_CHAIN && i - (uint32_t)c < WINDOW; depth++) {
		const uint8_t *a = in + c, *b = in + i;
		if (a[best] == b[best] && read32(a) == read32(b)) { /* can it beat best? then measure it */
			uint32_t n = 4;
			while (n < limit && a[n] == b[n])
				n++;
			if (n > best) {
				best = n;
				*off = i - c;
				if (n == limit)
					break;
			}
		}
		c = prev[c % WINDOW];
	}
	return best;
}

static inline void insert(const uint8_t *in, uint32_t i)
{
	uint32_t h = hash4(in + i);
	prev[i % WINDOW] = head[h];
	head[h] = i;
}

static uint8_t *put_len(uint8_t *o, uint32_t n)
{
	for (; n >= 255; n -= 255)
		*o++ = 255;
	*o++ = n;
	return o;
}

static uint8_t *put_seq(uint8_t *o, const uint8_t *lit, uint32_t nlit, uint32_t mlen, uint32_t off)
{
	uint32_t ml = mlen ? mlen - MIN_MATCH : 0;
	*o++ = (nlit < 15 ? nlit : 15) << 4 | (ml < 15 ? ml : 15);
	if (nlit >= 15)
		o = put_len(o, nlit - 15);
	memcpy(o, lit, nlit);
	o += nlit;
	if (mlen) {
		*o++ = off;
		*o++ = off >> 8;
		if (ml >= 15)
			o = put_len(o, ml - 15);
	}
	return o;
}

static NOINLINE size_t compress(const uint8_t *in, size_t n, uint8_t *out)
{
	uint8_t *o = out;
	for (uint32_t h = 0; h < (1u << HASH_BITS); h++)
		head[h] = -1;
	uint32_t anchor = 0, i = 0;
	uint32_t end = n > LAST_LITERALS + MIN_MATCH ? n - LAST_LITERALS : 0;
	while (i + MIN_MATCH <= end) {
		uint32_t off = 0, len = longest(in, i, end - i, &off);
		if (len < MIN_MATCH) {
			insert(in, i++);
			continue;
		}
		/* lazy: if the next position has a longer match, emit this byte as a literal instead */
		insert(in, i);
		if (i + 1 + MIN_MATCH <= end) {
			uint32_t off2 = 0, len2 = longest(in, i + 1, end - i - 1, &off2);
			if (len2 > len + 1) {
				i++;
				len = len2;
				off = off2;
				insert(in, i);
			}
		}
		o = put_seq(o, in + anchor, i - anchor, len, off);
		for (uint32_t k = i + 1; k < i + len && k + MIN_MATCH <= n; k++)
			insert(in, k);
		i += len;
		anchor = i;
	}
	return (size_t)(put_seq(o, in + anchor, n - anchor, 0, 0) - out);
}

/* ---- decompressor --------------------------------------------------------------------------- */

/* Returns the decompressed size, or -1 for a malformed stream (a length or offset out of range). */
static NOINLINE long decompress(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	const uint8_t *ip = in, *iend = in + n;
	uint8_t *op = out, *oend = out + cap;
	while (ip < iend) {
		uint32_t tok = *ip++, nlit = tok >> 4;
		if (nlit == 15) {
			uint32_t b;
			do {
				if (ip >= iend)
					return -1;
				nlit += b = *ip++;
			} while (b == 255);
		}
		if (nlit > (size_t)(iend - ip) || nlit > (size_t)(oend - op))
			return -1;
		memcpy(op, ip, nlit);
		op += nlit;
		ip += nlit;
		if (ip == iend)
			break; /* the last sequence has literals only */
		if (iend - ip < 2)
			return -1;
		uint32_t off = ip[0] | ip[1] << 8, mlen = (tok & 15) + MIN_MATCH;
		ip += 2;
		if ((tok & 15) == 15) {
			uint32_t b;
			do {
				if (ip >= iend)
					return -1;
				mlen += b = *ip++;
			} while (b == 255);
		}
		if (off == 0 || off > (size_t)(op - out) || mlen > (size_t)(oend - op))
			return -1;
		const uint8_t *m = op - off;
		while (mlen--) /* byte by byte: the match may overlap what it writes */
			*op++ = *m++;
	}
	return op - out;
}

int main(void)
{
	uint64_t sum = 0;
	for (int round = 0; round < ROUNDS; round++) {
		rng = 0x243F6A8885A308D3ull + round;
		make_vocab();
		make_text(src, SIZE);
		size_t clen = compress(src, SIZE, comp);
		long dlen = decompress(comp, clen, back, SIZE);
		if (dlen != (long)SIZE || memcmp(back, src, SIZE) != 0) {
			size_t k = 0;
			while (dlen > 0 && k < (size_t)dlen && back[k] == src[k])
				k++;
			printf("bench-lz: round %d: round trip failed: %ld bytes back of %u, first difference at %lu\n", round, dlen, SIZE, (unsigned long)k);
			return 1;
		}
		/* a damaged stream must be refused or decode to something else, never run off the buffers */
		comp[clen / 2] ^= 0x5a;
		long bad = decompress(comp, clen, back, SIZE);
		int refused = bad < 0 || bad != (long)SIZE || memcmp(back, src, SIZE) != 0;
		comp[clen / 2] ^= 0x5a;
		if (!refused) {
			printf("bench-lz: round %d: a damaged stream decoded to the original\n", round);
			return 1;
		}
		/* Adler-32 of the compressed stream, reduced every 5552 bytes as zlib's adler32() */
		uint32_t a = 1, b = 0;
		for (size_t k = 0; k < clen;) {
			size_t stop = clen - k < 5552 ? clen : k + 5552;
			for (; k < stop; k++) {
				a += comp[k];
				b += a;
			}
			a %= 65521;
			b %= 65521;
		}
		uint32_t adler = b << 16 | a;
		printf("bench-lz: round %d: %u bytes -> %lu (%lu.%02lu%%), adler32=%08x\n", round, SIZE, (unsigned long)clen,
		       (unsigned long)(clen * 100 / SIZE), (unsigned long)(clen * 10000 / SIZE % 100), adler);
		sum = (sum << 13 | sum >> 51) ^ ((uint64_t)clen << 32 | adler);
	}
	printf("bench-lz: checksum=%016lx\n", sum);
	return 0;
}
