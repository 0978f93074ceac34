/* selfmod - code written at run time and then executed: with fence.i (the architectural way),
 * without it (Tachyxx invalidates cached code on every store to a code page), code that
 * rewrites an instruction further along the block it is running in, and a hot loop patched
 * between calls (so its compiled code is cached when it is overwritten). */
#include "tachyxx.h"

static uint32_t code[64] __attribute__((aligned(4096), section(".data")));

typedef long (*fn_t)(long);

/* addi a0, a0, imm  /  ret */
static uint32_t addi_a0(int imm) { return ((uint32_t)(imm & 0xfff) << 20) | (10 << 15) | (0 << 12) | (10 << 7) | 0x13; }
#define RET 0x00008067u

static long call(long x) { return ((fn_t)(uintptr_t)code)(x); }

int main(void)
{
	code[0] = addi_a0(1);
	code[1] = RET;
	__asm__ volatile("fence.i" ::: "memory");
	printf("selfmod: f(10) = %ld (expect 11)\n", call(10));

	code[0] = addi_a0(100);
	__asm__ volatile("fence.i" ::: "memory");
	printf("selfmod: after rewrite + fence.i, f(10) = %ld (expect 110)\n", call(10));

	/* Without fence.i: Tachyxx guarantees no stale code after a store to a code page. */
	code[0] = addi_a0(-5);
	BARRIER();
	printf("selfmod: after rewrite, no fence.i, f(10) = %ld (expect 5)\n", call(10));

	/* Hot loop: call many times so the block is compiled, then patch it. */
	long s = 0;
	for (int i = 0; i < 100000; i++) s += call(i & 7);
	code[0] = addi_a0(7);
	BARRIER();
	for (int i = 0; i < 100000; i++) s += call(i & 7);
	/* first loop: sum((i&7) - 5) = 350000 - 500000; second: sum((i&7) + 7) = 350000 + 700000 */
	printf("selfmod: hot patch checksum = %ld (expect 900000)\n", s);

	/* A block that rewrites its own next instruction: the store must take effect before that
	 * instruction executes. code: sw t1,8(a1); nop; addi a0,a0,1 (patched to addi a0,a0,42); ret */
	code[0] = (6u << 20) | (11u << 15) | (2u << 12) | (8u << 7) | 0x23; /* sw t1, 8(a1) */
	code[1] = 0x00000013;                                              /* nop */
	code[2] = addi_a0(1);
	code[3] = RET;
	__asm__ volatile("fence.i" ::: "memory");
	long r;
	register long a0 __asm__("a0") = 0;
	register uintptr_t a1 __asm__("a1") = (uintptr_t)code;
	register uint32_t t1 __asm__("t1") = addi_a0(42);
	__asm__ volatile("jalr ra, 0(%3)" : "+r"(a0) : "r"(a1), "r"(t1), "r"((uintptr_t)code) : "ra", "memory");
	r = a0;
	printf("selfmod: in-block patch result = %ld (expect 42)\n", r);
	return 0;
}
