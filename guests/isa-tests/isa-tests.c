/* isa-tests - RV64IMA corner cases, one line per check, results in hex.
 *
 * Every operation runs through inline assembly on values the compiler cannot see, so the line
 * printed is what the CPU computed. Only position-independent facts are printed (link values as
 * offsets), so the output is byte-identical under Tachyxx and qemu-riscv64 (the oracle). */
#include "tachyxx.h"

typedef uint64_t u64;
typedef int64_t i64;

static unsigned checks;

/* ---------------------------------------------------------------- register-register ops */
#define DEF_RR(name)                                                                       \
	static NOINLINE u64 op_##name(u64 a, u64 b)                                        \
	{                                                                                  \
		u64 r;                                                                     \
		__asm__ volatile(#name " %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));          \
		return r;                                                                  \
	}
#define RR_OPS(X)                                                                          \
	X(add) X(sub) X(sll) X(slt) X(sltu) X(xor) X(srl) X(sra) X(or) X(and)              \
	X(addw) X(subw) X(sllw) X(srlw) X(sraw)                                            \
	X(mul) X(mulh) X(mulhsu) X(mulhu) X(div) X(divu) X(rem) X(remu)                    \
	X(mulw) X(divw) X(divuw) X(remw) X(remuw)
RR_OPS(DEF_RR)
#define RR_ENTRY(name) { #name, op_##name },
static const struct { const char *name; u64 (*fn)(u64, u64); } rr_ops[] = { RR_OPS(RR_ENTRY) };

static const u64 rr_pairs[][2] = {
	{ 0, 0 },
	{ 1, 0 },
	{ (u64)-1, 0 },
	{ 0x8000000000000000, (u64)-1 },
	{ 0x8000000000000000, 1 },
	{ (u64)-7, 2 },
	{ 7, (u64)-2 },
	{ (u64)-7, (u64)-2 },
	{ 0xffffffff80000000, (u64)-1 },           /* INT32_MIN / -1 in the W forms */
	{ 0x0000000080000000, 0xffffffffffffffff },
	{ 0x7fffffff, 1 },
	{ 0x00000000ffffffff, 0x00000000ffffffff },
	{ 0x123456789abcdef0, 0x0fedcba987654321 },
	{ 0xfedcba9876543210, 0x00000000000000ff },
	{ 0x8000000000000001, 63 },                /* shift by 63 */
	{ 0x8000000000000001, 64 + 3 },            /* shamt masking: 67 -> 3 */
	{ 0xffffffff80000001, 31 },                /* W shift by 31 */
	{ 0xffffffff80000001, 32 + 1 },            /* W shamt masking: 33 -> 1 */
	{ 0x7fffffffffffffff, 0x7fffffffffffffff },
	{ 0x8000000000000000, 0x8000000000000000 },
	{ 0xffffffff00000005, 0x00000000fffffffe },  /* W ops ignore the upper halves */
};

static void test_rr(void)
{
	for (unsigned i = 0; i < ARRAY_SIZE(rr_ops); i++) {
		for (unsigned j = 0; j < ARRAY_SIZE(rr_pairs); j++) {
			u64 a = rr_pairs[j][0], b = rr_pairs[j][1];
			printf("%-7s %016lx, %016lx -> %016lx\n", rr_ops[i].name, a, b, rr_ops[i].fn(a, b));
			checks++;
		}
	}
}

/* ---------------------------------------------------------------- register-immediate ops */
#define DEF_RI(id, insn, imm)                                                              \
	static NOINLINE u64 op_##id(u64 a)                                                 \
	{                                                                                  \
		u64 r;                                                                     \
		__asm__ volatile(insn " %0, %1, " #imm : "=r"(r) : "r"(a));                \
		return r;                                                                  \
	}
#define RI_OPS(X)                                                                          \
	X(addi_m1, "addi", -1) X(addi_max, "addi", 2047) X(addi_min, "addi", -2048)        \
	X(slti_m1, "slti", -1) X(slti_0, "slti", 0) X(sltiu_m1, "sltiu", -1)               \
	X(sltiu_1, "sltiu", 1) X(xori_m1, "xori", -1) X(ori_m2048, "ori", -2048)           \
	X(andi_m16, "andi", -16) X(andi_7ff, "andi", 0x7ff)                                \
	X(slli_63, "slli", 63) X(slli_1, "slli", 1) X(srli_63, "srli", 63)                 \
	X(srli_1, "srli", 1) X(srai_63, "srai", 63) X(srai_1, "srai", 1)                   \
	X(addiw_0, "addiw", 0) X(addiw_1, "addiw", 1) X(addiw_m1, "addiw", -1)             \
	X(slliw_31, "slliw", 31) X(slliw_0, "slliw", 0) X(srliw_31, "srliw", 31)           \
	X(srliw_0, "srliw", 0) X(srliw_1, "srliw", 1) X(sraiw_31, "sraiw", 31)             \
	X(sraiw_0, "sraiw", 0) X(sraiw_4, "sraiw", 4)
RI_OPS(DEF_RI)
#define RI_ENTRY(id, insn, imm) { insn, #imm, op_##id },
static const struct { const char *name, *imm; u64 (*fn)(u64); } ri_ops[] = { RI_OPS(RI_ENTRY) };

static const u64 ri_vals[] = {
	0, 1, (u64)-1, 0x7fffffff, 0x80000000, 0xffffffff80000000, 0x8000000000000000,
	0x7fffffffffffffff, 0x00000000fffff800, 0x123456789abcdef0,
};

static void test_ri(void)
{
	for (unsigned i = 0; i < ARRAY_SIZE(ri_ops); i++) {
		for (unsigned j = 0; j < ARRAY_SIZE(ri_vals); j++) {
			u64 a = ri_vals[j];
			printf("%-6s %016lx, %-5s -> %016lx\n", ri_ops[i].name, a, ri_ops[i].imm, ri_ops[i].fn(a));
			checks++;
		}
	}
}

/* ---------------------------------------------------------------- branches */
#define DEF_BR(name)                                                                       \
	static NOINLINE u64 br_##name(u64 a, u64 b)                                        \
	{                                                                                  \
		u64 r;                                                                     \
		__asm__ volatile("li %0, 1\n\t" #name " %1, %2, 1f\n\tli %0, 0\n1:"        \
				 : "=&r"(r) : "r"(a), "r"(b));                             \
		return r;                                                                  \
	}
#define BR_OPS(X) X(beq) X(bne) X(blt) X(bge) X(bltu) X(bgeu)
BR_OPS(DEF_BR)
#define BR_ENTRY(name) { #name, br_##name },
static const struct { const char *name; u64 (*fn)(u64, u64); } br_ops[] = { BR_OPS(BR_ENTRY) };

static void test_branches(void)
{
	static const u64 pairs[][2] = {
		{ 0, 0 }, { (u64)-1, 1 }, { 1, (u64)-1 }, { 0x8000000000000000, 0x7fffffffffffffff },
		{ 0x7fffffffffffffff, 0x8000000000000000 }, { 5, 5 },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(br_ops); i++)
		for (unsigned j = 0; j < ARRAY_SIZE(pairs); j++) {
			printf("%-6s %016lx, %016lx -> %s\n", br_ops[i].name, pairs[j][0], pairs[j][1],
			       br_ops[i].fn(pairs[j][0], pairs[j][1]) ? "taken" : "not taken");
			checks++;
		}
}

/* ---------------------------------------------------------------- lui, auipc, jal, jalr, x0 */
static void test_upper_and_jumps(void)
{
	u64 r, base;
	__asm__ volatile("lui %0, 0x80000" : "=r"(r));
	printf("lui 0x80000 -> %016lx\n", r);
	__asm__ volatile("lui %0, 0x7ffff" : "=r"(r));
	printf("lui 0x7ffff -> %016lx\n", r);
	__asm__ volatile("lui %0, 0xfffff" : "=r"(r));
	printf("lui 0xfffff -> %016lx\n", r);
	__asm__ volatile("auipc %0, 0x80000\n\tauipc %1, 0\n\tsub %0, %0, %1" : "=&r"(r), "=&r"(base));
	printf("auipc 0x80000 - next auipc -> %016lx\n", r);
	__asm__ volatile("auipc %0, 0x7ffff\n\tauipc %1, 0\n\tsub %0, %0, %1" : "=&r"(r), "=&r"(base));
	printf("auipc 0x7ffff - next auipc -> %016lx\n", r);
	__asm__ volatile("auipc %1, 0\n\tjal %0, 1f\n\taddi %0, %0, 0x100\n1:\tsub %0, %0, %1"
			 : "=&r"(r), "=&r"(base));
	printf("jal forward: link - pc = %lx\n", r);
	__asm__ volatile("j 2f\n1:\tjal %0, 3f\n2:\tauipc %1, 0\n\tj 1b\n3:\tsub %0, %0, %1"
			 : "=&r"(r), "=&r"(base));
	printf("jal backward: link - pc = %lx\n", r);
	/* jalr clears bit 0 of the target: base+17-1 = base+16 */
	__asm__ volatile("auipc %1, 0\n\taddi t0, %1, 17\n\tjalr %0, -1(t0)\n\taddi %0, %0, 0x100\n\t"
			 "sub %0, %0, %1"
			 : "=&r"(r), "=&r"(base) : : "t0");
	printf("jalr odd target: link - pc = %lx\n", r);
	__asm__ volatile("auipc %1, 0\n\taddi t0, %1, 21\n\tjalr %0, -4(t0)\n\taddi %0, %0, 0x100\n\t"
			 "sub %0, %0, %1"
			 : "=&r"(r), "=&r"(base) : : "t0");
	printf("jalr target +17: link - pc = %lx\n", r);
	/* rd == rs1: the target uses the old value */
	__asm__ volatile("auipc %1, 0\n\taddi %0, %1, 16\n\tjalr %0, 0(%0)\n\taddi %0, %0, 0x100\n\t"
			 "sub %0, %0, %1"
			 : "=&r"(r), "=&r"(base));
	printf("jalr rd==rs1: link - pc = %lx\n", r);
	__asm__ volatile("addi x0, x0, 5\n\tlui x0, 0x12345\n\tadd %0, x0, x0" : "=r"(r));
	printf("x0 after writes -> %lx\n", r);
	__asm__ volatile("fence\n\tfence.i\n\tfence rw, rw\n\tli %0, 1" : "=r"(r));
	printf("fence, fence.i -> ok %lx\n", r);
	checks += 12;
}

/* ---------------------------------------------------------------- loads, stores, misaligned */
static uint8_t mem[64] __attribute__((aligned(16)));

static void fill_mem(void)
{
	for (unsigned i = 0; i < sizeof mem; i++)
		mem[i] = (uint8_t)(0x80 + 0x11 * i) ^ (i & 1 ? 0xff : 0);
	BARRIER();
}

#define DEF_LD(insn)                                                                       \
	static NOINLINE u64 ld_##insn(const void *p)                                       \
	{                                                                                  \
		u64 r;                                                                     \
		__asm__ volatile(#insn " %0, 0(%1)" : "=r"(r) : "r"(p) : "memory");        \
		return r;                                                                  \
	}
#define LD_OPS(X) X(lb) X(lbu) X(lh) X(lhu) X(lw) X(lwu) X(ld)
LD_OPS(DEF_LD)
#define LD_ENTRY(insn) { #insn, ld_##insn },
static const struct { const char *name; u64 (*fn)(const void *); } ld_ops[] = { LD_OPS(LD_ENTRY) };

#define DEF_ST(insn)                                                                       \
	static NOINLINE void st_##insn(void *p, u64 v)                                     \
	{                                                                                  \
		__asm__ volatile(#insn " %1, 0(%0)" : : "r"(p), "r"(v) : "memory");        \
	}
DEF_ST(sb) DEF_ST(sh) DEF_ST(sw) DEF_ST(sd)

static void dump_mem(const char *what, unsigned from, unsigned n)
{
	printf("%-22s mem[%2u..%2u] =", what, from, from + n - 1);
	for (unsigned i = from; i < from + n; i++)
		printf(" %02x", mem[i]);
	putchar('\n');
}

static void test_loads_stores(void)
{
	fill_mem();
	dump_mem("initial", 0, 16);
	for (unsigned i = 0; i < ARRAY_SIZE(ld_ops); i++) {
		for (unsigned off = 0; off < 8; off++) {
			printf("%-3s offset %u -> %016lx\n", ld_ops[i].name, off, ld_ops[i].fn(mem + off));
			checks++;
		}
	}
	/* a misaligned load that straddles a 16-byte line */
	printf("ld  offset 13 -> %016lx\n", ld_ld(mem + 13));
	printf("lw  offset 15 -> %016lx\n", ld_lw(mem + 15));
	static const u64 v = 0x0123456789abcdefull;
	for (unsigned off = 0; off < 8; off++) {
		char what[32];
		fill_mem();
		st_sd(mem + 16 + off, v);
		snprintf(what, sizeof what, "sd at offset %u", off);
		dump_mem(what, 16, 16);
		fill_mem();
		st_sw(mem + 16 + off, v);
		snprintf(what, sizeof what, "sw at offset %u", off);
		dump_mem(what, 16, 16);
		fill_mem();
		st_sh(mem + 16 + off, v);
		snprintf(what, sizeof what, "sh at offset %u", off);
		dump_mem(what, 16, 16);
		checks += 3;
	}
	fill_mem();
	st_sb(mem + 3, 0xabcdef);
	dump_mem("sb 0xabcdef at 3", 0, 8);
	checks += 3;
}

/* ---------------------------------------------------------------- LR/SC */
static u64 cell[4] __attribute__((aligned(16)));

static void test_lrsc(void)
{
	u64 old, rc, rc2;
	cell[0] = 0x1111111111111111;
	BARRIER();
	__asm__ volatile("lr.d %0, (%2)\n\tsc.d %1, %3, (%2)" : "=&r"(old), "=&r"(rc) : "r"(cell), "r"(0x2222222222222222ull) : "memory");
	printf("lr.d/sc.d same address: loaded %016lx, sc %s, mem %016lx\n", old, rc == 0 ? "succeeded" : "FAILED", cell[0]);
	__asm__ volatile("sc.d %0, %2, (%1)" : "=&r"(rc) : "r"(cell), "r"(0x3333333333333333ull) : "memory");
	printf("sc.d without reservation: sc %s, mem %016lx\n", rc != 0 ? "failed" : "SUCCEEDED", cell[0]);
	__asm__ volatile("lr.d %0, (%3)\n\tsc.d %1, %4, (%3)\n\tsc.d %2, %4, (%3)"
			 : "=&r"(old), "=&r"(rc), "=&r"(rc2) : "r"(cell), "r"(0x4444444444444444ull) : "memory");
	printf("second sc.d after success: first %s, second %s, mem %016lx\n", rc == 0 ? "succeeded" : "FAILED",
	       rc2 != 0 ? "failed" : "SUCCEEDED", cell[0]);
	checks += 3;
}

static NOINLINE void test_lrsc2(void)
{
	u64 old, rc;
	cell[0] = 0x1111111111111111;
	cell[1] = 0x6666666666666666;
	BARRIER();
	__asm__ volatile("lr.d %0, (%2)\n\tsc.d %1, %4, (%3)"
			 : "=&r"(old), "=&r"(rc) : "r"(&cell[0]), "r"(&cell[1]), "r"(0x5555555555555555ull) : "memory");
	printf("lr.d a / sc.d a+8: sc %s, mem[a+8] %016lx\n", rc != 0 ? "failed" : "SUCCEEDED", cell[1]);
	uint32_t *w = (uint32_t *)&cell[2];
	cell[2] = 0xaaaaaaaa80000001;
	BARRIER();
	__asm__ volatile("lr.w %0, (%2)\n\tsc.w %1, %3, (%2)" : "=&r"(old), "=&r"(rc) : "r"(w), "r"(0xffffffff7fffffffull) : "memory");
	printf("lr.w/sc.w: loaded %016lx, sc %s, mem %016lx\n", old, rc == 0 ? "succeeded" : "FAILED", cell[2]);
	__asm__ volatile("lr.w %0, (%2)\n\tsc.w %1, %3, (%2)" : "=&r"(old), "=&r"(rc) : "r"(w + 1), "r"(0x12345678ull) : "memory");
	printf("lr.w/sc.w upper word: loaded %016lx, sc %s, mem %016lx\n", old, rc == 0 ? "succeeded" : "FAILED", cell[2]);
	__asm__ volatile("lr.d.aqrl %0, (%2)\n\tsc.d.aqrl %1, %3, (%2)" : "=&r"(old), "=&r"(rc) : "r"(cell), "r"(0x7777777777777777ull) : "memory");
	printf("lr.d.aqrl/sc.d.aqrl: loaded %016lx, sc %s, mem %016lx\n", old, rc == 0 ? "succeeded" : "FAILED", cell[0]);
	/* a reservation survives a plain load and an unrelated store */
	__asm__ volatile("lr.d %0, (%2)\n\tld t0, 8(%2)\n\tsd t0, 24(%2)\n\tsc.d %1, %3, (%2)"
			 : "=&r"(old), "=&r"(rc) : "r"(cell), "r"(0x8888888888888888ull) : "memory", "t0");
	printf("lr.d; ld; sd elsewhere; sc.d: sc %s, mem %016lx\n", rc == 0 ? "succeeded" : "FAILED", cell[0]);
	checks += 5;
}

/* ---------------------------------------------------------------- AMOs */
#define DEF_AMO(id, insn)                                                                  \
	static NOINLINE u64 amo_##id(void *p, u64 v)                                       \
	{                                                                                  \
		u64 r;                                                                     \
		__asm__ volatile(insn " %0, %2, (%1)" : "=r"(r) : "r"(p), "r"(v) : "memory"); \
		return r;                                                                  \
	}
#define AMO_OPS(X)                                                                         \
	X(swap_d, "amoswap.d") X(add_d, "amoadd.d") X(xor_d, "amoxor.d") X(and_d, "amoand.d") \
	X(or_d, "amoor.d") X(min_d, "amomin.d") X(max_d, "amomax.d") X(minu_d, "amominu.d") \
	X(maxu_d, "amomaxu.d") X(add_d_aqrl, "amoadd.d.aqrl")                              \
	X(swap_w, "amoswap.w") X(add_w, "amoadd.w") X(xor_w, "amoxor.w") X(and_w, "amoand.w") \
	X(or_w, "amoor.w") X(min_w, "amomin.w") X(max_w, "amomax.w") X(minu_w, "amominu.w") \
	X(maxu_w, "amomaxu.w") X(max_w_aq, "amomax.w.aq")
AMO_OPS(DEF_AMO)
#define AMO_ENTRY(id, insn) { insn, amo_##id },
static const struct { const char *name; u64 (*fn)(void *, u64); } amo_ops[] = { AMO_OPS(AMO_ENTRY) };

static void test_amo(void)
{
	static const u64 pairs[][2] = {
		{ 5, (u64)-3 },
		{ (u64)-5, 3 },
		{ 0x8000000000000000, 0x7fffffffffffffff },
		{ 0xffffffff80000000, 0x000000007fffffff },
		{ 0x00000000ffffffff, 1 },
		{ 0x123456789abcdef0, 0xdeadbeef80000001 },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(amo_ops); i++) {
		for (unsigned j = 0; j < ARRAY_SIZE(pairs); j++) {
			/* .w ops act on the low word; the high word must survive */
			cell[0] = pairs[j][0];
			cell[1] = 0x5a5a5a5a5a5a5a5a;
			BARRIER();
			u64 r = amo_ops[i].fn(cell, pairs[j][1]);
			printf("%-13s mem %016lx, rs2 %016lx -> rd %016lx, mem %016lx %016lx\n", amo_ops[i].name, pairs[j][0],
			       pairs[j][1], r, cell[0], cell[1]);
			checks++;
		}
	}
	/* .w at the upper word of a doubleword */
	cell[0] = 0x8000000012345678;
	BARRIER();
	u64 r = amo_add_w((uint32_t *)cell + 1, 0x80000000);
	printf("amoadd.w upper word -> rd %016lx, mem %016lx\n", r, cell[0]);
	checks++;
}

/* ---------------------------------------------------------------- M extension via C */
static void test_c_division(void)
{
	/* the same corners through compiled code (the compiler must not fold: OPAQUE) */
	i64 a = OPAQUE((i64)0x8000000000000000), m1 = OPAQUE((i64)-1), z = OPAQUE((i64)0);
	int32_t wa = OPAQUE((int32_t)0x80000000), wm1 = OPAQUE(-1);
	/* INT64_MIN / -1 is UB in C, so it is computed with the instruction directly */
	printf("div INT64_MIN/-1 = %016lx\n", op_div((u64)a, (u64)m1));
	printf("rem INT64_MIN/-1 = %016lx\n", op_rem((u64)a, (u64)m1));
	printf("divw INT32_MIN/-1 = %016lx\n", op_divw((u64)(i64)wa, (u64)(i64)wm1));
	printf("remw INT32_MIN/-1 = %016lx\n", op_remw((u64)(i64)wa, (u64)(i64)wm1));
	printf("divu x/0 = %016lx\n", op_divu(12345, (u64)z));
	printf("remu x/0 = %016lx\n", op_remu(12345, (u64)z));
	printf("divuw x/0 = %016lx\n", op_divuw(0xffffffff80000000, (u64)z));
	printf("remuw x/0 = %016lx\n", op_remuw(0xffffffff80000000, (u64)z));
	u64 x = OPAQUE(0xfedcba9876543210ull), y = OPAQUE(0x0123456789abcdefull);
	printf("C: x*y = %016lx, x/y = %016lx, x%%y = %016lx, (i64)x/(i64)y = %016lx\n", x * y, x / y, x % y,
	       (u64)((i64)x / (i64)y));
	printf("C: (u128)x*y >> 64 = %016lx\n", (u64)(((unsigned __int128)x * y) >> 64));
	printf("C: (i128)x*y >> 64 = %016lx\n", (u64)(((__int128)(i64)x * (i64)y) >> 64));
	checks += 11;
}

int main(void)
{
	puts("isa-tests: RV64IMA corner cases");
	test_rr();
	test_ri();
	test_branches();
	test_upper_and_jumps();
	test_loads_stores();
	test_lrsc();
	test_lrsc2();
	test_amo();
	test_c_division();
	printf("isa-tests: %u checks printed\n", checks);
	return 0;
}
