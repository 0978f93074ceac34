/* bench-chase - memory-bound pointer chase: a single random cycle (Sattolo's shuffle) over
 * NODES 32-bit indices (32 MiB), followed STEPS times. Prints a checksum of the visited nodes. */
#include "tachyxx.h"

/* sizes: override with -DNAME=value (tools/build-guests.mjs uses -DSMALL for the quick variant) */
#if !defined(NODES) && !defined(STEPS)
#ifdef SMALL
#define NODES (1u << 16)
#define STEPS (1u << 20)
#else
#define NODES (1u << 23) /* 8 Mi entries x 4 bytes = 32 MiB */
#define STEPS (1u << 23) /* host cache misses dominate: keep it ~1 s under qemu */
#endif
#endif

static uint32_t next[NODES];

static NOINLINE void build(uint64_t s)
{
	for (uint32_t i = 0; i < NODES; i++)
		next[i] = i;
	/* Sattolo: j uniform in [0, i) makes one cycle through every node */
	for (uint32_t i = NODES - 1; i > 0; i--) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		uint32_t j = (uint32_t)(((unsigned __int128)s * i) >> 64);
		uint32_t t = next[i];
		next[i] = next[j];
		next[j] = t;
	}
}

static NOINLINE uint64_t chase(uint32_t steps, uint32_t *cycle_len)
{
	uint32_t p = 0, first_return = 0;
	uint64_t sum = 0;
	for (uint32_t k = 1; k <= steps; k++) {
		p = next[p];
		sum += p ^ k;
		if (p == 0 && !first_return)
			first_return = k;
	}
	*cycle_len = first_return;
	return sum;
}

int main(void)
{
	build(0x0123456789abcdefull);
	uint32_t cycle;
	uint64_t sum = chase(STEPS, &cycle);
	printf("bench-chase: nodes=%u steps=%u cycle=%u sum=%016lx\n", NODES, STEPS, cycle, sum);
	return cycle == NODES || (STEPS < NODES && cycle == 0) ? 0 : 1;
}
