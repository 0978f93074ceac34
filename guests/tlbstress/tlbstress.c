/* tlbstress - a TLB / page-walk stress guest for the Tachyxx MMU variants (tools/bench-virt.mjs).
 *
 * At PL2 it builds, like guests/minikernel:
 * - a kernel identity map of RAM with 1 GiB pages (global, no U), shared by every address space;
 * - two Sv48 address spaces, ASID 1 and ASID 2, that map the same 16 MiB data region at
 *   DATA_VA with 4 KiB pages (4096 pages, so a 64-entry TLB cannot hold it) onto different
 *   frames: space 1 page i -> frame A + i, space 2 page i -> frame B + (i ^ 0x7ff) (other order).
 * Then it runs a deterministic workload that alternates between the two spaces by writing satp
 * (no sfence: the tables never change and the ASIDs differ; whether the switch flushes is up to
 * the MMU variant):
 *   1. hot:    a 16-page working set per space (pages k * 257, spread over the TLB sets), random,
 *              switching every 64 accesses: it fits a tagged 64-entry TLB, not an untagged one;
 *   2. random: xorshift walk over all 4096 pages, one word per page, switching every 512;
 *   3. sweep:  sequential, 8 words per page, switching every 256 pages.
 * Each access loads a word, folds it into the space's checksum and stores it back incremented.
 * At the end the words are summed again through the identity map (physical frames) and compared
 * with a sum through each space's translation. The output depends only on the program: it is the
 * same bare and as a domain, and under every MMU variant. */
#include "tachyxx.h"

#define CSR_SATP 0x180

#define PAGE 4096ul
#define RAM_BASE 0x80000000ul
#define GIB (1ul << 30)
#define PTE_V (1ul << 0)
#define PTE_R (1ul << 1)
#define PTE_W (1ul << 2)
#define PTE_X (1ul << 3)
#define PTE_G (1ul << 5)
#define PTE_A (1ul << 6)
#define PTE_D (1ul << 7)
#define SATP_SV48 (9ul << 60)
#define SATP(asid, root) (SATP_SV48 | ((uint64_t)(asid) << 44) | ((uint64_t)(root) >> 12))
#define PTE_PA(pte) (((pte) >> 10) << 12)
#define PA_PTE(pa) (((uint64_t)(pa) >> 12) << 10)

#define DATA_VA 0x10000000ul
#define NPAGES 4096u /* 16 MiB */
#define PERM2 0x7ffu /* space 2: page i -> frame i ^ PERM2 */

#ifndef HOT_QUANTA
#define HOT_QUANTA 4000u
#endif
#define HOT_PAGES 16u
#define HOT_PER 64u
#ifndef RAND_QUANTA
#define RAND_QUANTA 2000u
#endif
#define RAND_PER 512u
#ifndef SWEEP_PASSES
#define SWEEP_PASSES 4u
#endif
#define SWEEP_PAGES 256u
#define SWEEP_WORDS 8u

#define csr_read(csr) ({ uint64_t __v; __asm__ volatile("csrr %0, %1" : "=r"(__v) : "i"(csr) : "memory"); __v; })
#define csr_write(csr, v) __asm__ volatile("csrw %0, %1" : : "i"(csr), "r"((uint64_t)(v)) : "memory")
static inline void sfence_all(void) { __asm__ volatile("sfence.vma zero, zero" ::: "memory"); }

static uint64_t pool_next, pool_end;
static uint64_t satp_of[3]; /* [0] kernel only, [1], [2] the data spaces */
static uint64_t frames_of[3]; /* first data frame of space 1, 2 */
static uint64_t csum[3];
static unsigned long switches;

static __attribute__((noreturn)) void die(const char *msg)
{
	printf("tlbstress: FAIL: %s\n", msg);
	exit(1);
}

static uint64_t alloc_frame(void)
{
	if (pool_next >= pool_end)
		die("out of table frames");
	uint64_t pa = pool_next;
	pool_next += PAGE;
	memset((void *)pa, 0, PAGE);
	return pa;
}

static void map_page(uint64_t root, uint64_t va, uint64_t pa)
{
	uint64_t *table = (uint64_t *)root;
	for (int level = 3; level > 0; level--) {
		uint64_t *e = &table[(va >> (12 + 9 * level)) & 511];
		if (!(*e & PTE_V))
			*e = PA_PTE(alloc_frame()) | PTE_V;
		else if (*e & (PTE_R | PTE_X))
			die("superpage in the way");
		table = (uint64_t *)PTE_PA(*e);
	}
	table[(va >> 12) & 511] = PA_PTE(pa) | PTE_V | PTE_R | PTE_W | PTE_A | PTE_D;
}

/* the word of page i that the random and hot phases touch (the sweep touches 8 per page) */
static inline uint64_t word_off(unsigned i) { return (uint64_t)((i * 13u) & 511u) << 3; }
static inline uint64_t frame_pa(int as, unsigned i)
{
	return frames_of[as] + (uint64_t)(as == 1 ? i : (i ^ PERM2)) * PAGE;
}

static inline void switch_to(int as)
{
	csr_write(CSR_SATP, satp_of[as]); /* ASID-tagged, tables unchanged: no sfence */
	switches++;
}

static inline uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static inline void touch(int as, volatile uint64_t *p)
{
	uint64_t v = *p;
	csum[as] = ((csum[as] << 5) | (csum[as] >> 59)) ^ v;
	*p = v + 1;
}

static NOINLINE unsigned long phase_hot(uint64_t *rng)
{
	unsigned long n = 0;
	for (unsigned q = 0; q < HOT_QUANTA; q++) {
		int as = 1 + (q & 1);
		switch_to(as);
		for (unsigned k = 0; k < HOT_PER; k++) {
			unsigned i = (unsigned)(xorshift(rng) % HOT_PAGES) * (NPAGES / HOT_PAGES + 1); /* one per TLB set */
			touch(as, (volatile uint64_t *)(DATA_VA + i * PAGE + word_off(i)));
		}
		n += HOT_PER;
	}
	return n;
}

static NOINLINE unsigned long phase_random(uint64_t *rng)
{
	unsigned long n = 0;
	for (unsigned q = 0; q < RAND_QUANTA; q++) {
		int as = 1 + (q & 1);
		switch_to(as);
		for (unsigned k = 0; k < RAND_PER; k++) {
			unsigned i = (unsigned)(xorshift(rng) >> 20) & (NPAGES - 1);
			touch(as, (volatile uint64_t *)(DATA_VA + i * PAGE + word_off(i)));
		}
		n += RAND_PER;
	}
	return n;
}

static NOINLINE unsigned long phase_sweep(void)
{
	unsigned long n = 0;
	for (unsigned pass = 0; pass < SWEEP_PASSES; pass++)
		for (unsigned base = 0; base < NPAGES; base += SWEEP_PAGES)
			for (int as = 1; as <= 2; as++) {
				switch_to(as);
				for (unsigned i = base; i < base + SWEEP_PAGES; i++)
					for (unsigned w = 0; w < SWEEP_WORDS; w++) {
						unsigned idx = (w * 64u + i * 13u) & 511u;
						touch(as, (volatile uint64_t *)(DATA_VA + i * PAGE + ((uint64_t)idx << 3)));
					}
				n += SWEEP_PAGES * SWEEP_WORDS;
			}
	return n;
}

/* the sum of the touched words (one per page, word_off) through the current translation */
static uint64_t sum_va(void)
{
	uint64_t s = 0;
	for (unsigned i = 0; i < NPAGES; i++)
		s = s * 31 + *(volatile uint64_t *)(DATA_VA + i * PAGE + word_off(i));
	return s;
}

static uint64_t sum_pa(int as)
{
	uint64_t s = 0;
	for (unsigned i = 0; i < NPAGES; i++)
		s = s * 31 + *(volatile uint64_t *)(frame_pa(as, i) + word_off(i));
	return s;
}

int main(void)
{
	uint64_t nr_pages = boot_start_info->nr_pages;
	uint64_t ram_end = RAM_BASE + nr_pages * PAGE;
	unsigned ram_gib = (unsigned)((nr_pages * PAGE + GIB - 1) / GIB);
	printf("tlbstress: %d address spaces x %u pages of 4 KiB (%u MiB) at VA 0x%lx\n", 2, NPAGES, NPAGES / 256,
	       DATA_VA);

	/* table frames after the image and start_info; the data frames after those, 2 MiB aligned */
	extern char __image_end[];
	uint64_t lo = (uint64_t)__image_end;
	uint64_t si_end = (uint64_t)boot_start_info + sizeof(struct start_info);
	if (si_end > lo)
		lo = si_end;
	pool_next = (lo + PAGE - 1) & ~(PAGE - 1);
	pool_end = pool_next + 64 * PAGE;
	uint64_t mib2 = 2ul << 20;
	frames_of[1] = (pool_end + mib2 - 1) & ~(mib2 - 1);
	frames_of[2] = frames_of[1] + NPAGES * PAGE;
	if (frames_of[2] + NPAGES * PAGE + (1ul << 20) > ram_end)
		die("not enough RAM (needs about 40 MiB)");

	/* kernel identity map: the gigapages of RAM, global */
	uint64_t kroot = alloc_frame(), kl2 = alloc_frame();
	((uint64_t *)kroot)[0] = PA_PTE(kl2) | PTE_V;
	for (unsigned g = 2; g < 2 + ram_gib; g++)
		((uint64_t *)kl2)[g] = PA_PTE((uint64_t)g * GIB) | PTE_V | PTE_R | PTE_W | PTE_X | PTE_G | PTE_A | PTE_D;
	satp_of[0] = SATP(0, kroot);

	unsigned tables0 = (unsigned)((pool_end - pool_next) / PAGE);
	for (int as = 1; as <= 2; as++) {
		uint64_t root = alloc_frame(), l2 = alloc_frame();
		((uint64_t *)root)[0] = PA_PTE(l2) | PTE_V;
		for (unsigned g = 2; g < 2 + ram_gib; g++)
			((uint64_t *)l2)[g] = ((uint64_t *)kl2)[g];
		for (unsigned i = 0; i < NPAGES; i++)
			map_page(root, DATA_VA + i * PAGE, frame_pa(as, i));
		satp_of[as] = SATP(as, root);
	}
	printf("tlbstress: %u table pages (root, L2, L1, %u L0 per space + kernel)\n",
	       tables0 - (unsigned)((pool_end - pool_next) / PAGE), NPAGES / 512);

	sfence_all();
	csr_write(CSR_SATP, satp_of[0]);
	if (csr_read(CSR_SATP) != satp_of[0])
		die("the satp write of Sv48 did not take");
	sfence_all();

	/* initial contents, written through each space (the identity map checks them at the end) */
	for (int as = 1; as <= 2; as++) {
		switch_to(as);
		for (unsigned i = 0; i < NPAGES; i++)
			for (unsigned w = 0; w < 512; w += 64) {
				unsigned idx = (w + i * 13u) & 511u;
				*(volatile uint64_t *)(DATA_VA + i * PAGE + ((uint64_t)idx << 3)) =
					((uint64_t)as << 56) ^ ((uint64_t)i * 0x9e3779b97f4a7c15ul) ^ idx;
			}
	}
	switch_to(0);
	uint64_t init[3] = { 0, sum_pa(1), sum_pa(2) };
	printf("tlbstress: Sv48 on, ASIDs 1 and 2; initial sums 0x%016lx 0x%016lx\n", (unsigned long)init[1],
	       (unsigned long)init[2]);

	uint64_t rng = 0x2545f4914f6cdd1dul;
	struct { const char *name; unsigned long n; } ph[3];
	ph[0].name = "hot";
	ph[0].n = phase_hot(&rng);
	printf("phase hot    (%2u pages/space, switch every %3u): %7lu accesses, checksums 0x%016lx 0x%016lx\n",
	       HOT_PAGES, HOT_PER, ph[0].n, (unsigned long)csum[1], (unsigned long)csum[2]);
	ph[1].name = "random";
	ph[1].n = phase_random(&rng);
	printf("phase random (%u pages/space, switch every %3u): %7lu accesses, checksums 0x%016lx 0x%016lx\n",
	       NPAGES, RAND_PER, ph[1].n, (unsigned long)csum[1], (unsigned long)csum[2]);
	ph[2].name = "sweep";
	ph[2].n = phase_sweep();
	printf("phase sweep  (%u pages/space, switch every %u pages, %u words/page, %u passes): %7lu accesses, checksums 0x%016lx 0x%016lx\n",
	       NPAGES, SWEEP_PAGES, SWEEP_WORDS, SWEEP_PASSES, ph[2].n, (unsigned long)csum[1], (unsigned long)csum[2]);

	/* the same words through each space's translation and through the identity map */
	int ok = 1;
	for (int as = 1; as <= 2; as++) {
		switch_to(as);
		uint64_t v = sum_va();
		switch_to(0);
		uint64_t p = sum_pa(as);
		printf("space %d: sum via VA 0x%016lx, via frames 0x%016lx: %s\n", as, (unsigned long)v, (unsigned long)p,
		       v == p ? "match" : "MISMATCH");
		ok &= v == p;
	}
	sfence_all();
	printf("tlbstress: %lu satp switches, %lu accesses; %s; poweroff\n", switches, ph[0].n + ph[1].n + ph[2].n,
	       ok ? "ok" : "FAILED");
	return ok ? 0 : 1;
}
