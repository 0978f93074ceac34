/* bench-interp - a stack bytecode VM with computed-goto dispatch (one indirect jump per bytecode,
 * from many sites). The bytecode program hashes the integers 0..n-1 and calls a small bytecode
 * subroutine. Prints the VM result and the number of bytecodes executed. */
#include "tachyxx.h"

/* sizes: override with -DNAME=value (tools/build-guests.mjs uses -DSMALL for the quick variant) */
#if !defined(LOOPS)
#ifdef SMALL
#define LOOPS 20000
#else
#define LOOPS 1500000
#endif
#endif

enum op { PUSH, LOAD, STORE, ADD, SUB, MUL, XOR, AND, SHR, SHL, LT, JZ, JMP, DUP, DROP, CALL, RET, HALT };

struct vm_result { int64_t value; uint64_t steps; };

static NOINLINE struct vm_result run(const int64_t *code, int64_t n)
{
	static void *const dispatch[] = {
		[PUSH] = &&op_push, [LOAD] = &&op_load, [STORE] = &&op_store, [ADD] = &&op_add,
		[SUB] = &&op_sub, [MUL] = &&op_mul, [XOR] = &&op_xor, [AND] = &&op_and,
		[SHR] = &&op_shr, [SHL] = &&op_shl, [LT] = &&op_lt, [JZ] = &&op_jz, [JMP] = &&op_jmp,
		[DUP] = &&op_dup, [DROP] = &&op_drop, [CALL] = &&op_call, [RET] = &&op_ret, [HALT] = &&op_halt,
	};
	int64_t stack[64], locals[8] = { 0 };
	const int64_t *rstack[16];
	int64_t *sp = stack;
	const int64_t **rsp = rstack;
	const int64_t *pc = code;
	uint64_t steps = 0;
	locals[2] = n;
#define NEXT do { steps++; goto *dispatch[*pc++]; } while (0)
	NEXT;
op_push:  *sp++ = *pc++; NEXT;
op_load:  *sp++ = locals[*pc++]; NEXT;
op_store: locals[*pc++] = *--sp; NEXT;
op_add:   sp--; sp[-1] += sp[0]; NEXT;
op_sub:   sp--; sp[-1] -= sp[0]; NEXT;
op_mul:   sp--; sp[-1] *= sp[0]; NEXT;
op_xor:   sp--; sp[-1] ^= sp[0]; NEXT;
op_and:   sp--; sp[-1] &= sp[0]; NEXT;
op_shr:   sp--; sp[-1] = (int64_t)((uint64_t)sp[-1] >> sp[0]); NEXT;
op_shl:   sp--; sp[-1] = (int64_t)((uint64_t)sp[-1] << sp[0]); NEXT;
op_lt:    sp--; sp[-1] = sp[-1] < sp[0]; NEXT;
op_jz:    { int64_t t = *pc++; if (*--sp == 0) pc = code + t; } NEXT;
op_jmp:   pc = code + *pc; NEXT;
op_dup:   sp[0] = sp[-1]; sp++; NEXT;
op_drop:  sp--; NEXT;
op_call:  { int64_t t = *pc++; *rsp++ = pc; pc = code + t; } NEXT;
op_ret:   pc = *--rsp; NEXT;
op_halt:  return (struct vm_result){ sp[-1], steps };
#undef NEXT
}

/* locals: 0 = i, 1 = acc, 2 = n */
static int64_t prog[128];
static int plen;
static void emit(int64_t v) { prog[plen++] = v; }

static void assemble(void)
{
	emit(PUSH); emit(0); emit(STORE); emit(0);
	emit(PUSH); emit(0); emit(STORE); emit(1);
	int loop = plen;
	emit(LOAD); emit(0); emit(LOAD); emit(2); emit(LT); emit(JZ); int jz_end = plen; emit(0);
	/* acc = (acc * 31 + (i ^ (i >> 3))) & 0xffffffff */
	emit(LOAD); emit(1); emit(PUSH); emit(31); emit(MUL);
	emit(LOAD); emit(0); emit(DUP); emit(PUSH); emit(3); emit(SHR); emit(XOR); emit(ADD);
	emit(PUSH); emit(0xffffffff); emit(AND); emit(STORE); emit(1);
	/* if (acc & 1) acc = mix(acc) */
	emit(LOAD); emit(1); emit(PUSH); emit(1); emit(AND); emit(JZ); int jz_skip = plen; emit(0);
	emit(LOAD); emit(1); emit(CALL); int call_at = plen; emit(0); emit(STORE); emit(1);
	prog[jz_skip] = plen;
	/* i = i + 1 */
	emit(LOAD); emit(0); emit(PUSH); emit(1); emit(ADD); emit(STORE); emit(0);
	emit(JMP); emit(loop);
	prog[jz_end] = plen;
	emit(LOAD); emit(1); emit(HALT);
	/* mix(x) = ((x << 5) ^ (x >> 2) ^ 0x9e3779b9) & 0xffffffff - 0 */
	prog[call_at] = plen;
	emit(DUP); emit(PUSH); emit(5); emit(SHL); emit(XOR);
	emit(DUP); emit(PUSH); emit(2); emit(SHR); emit(XOR);
	emit(PUSH); emit(0x9e3779b9); emit(XOR); emit(PUSH); emit(0xffffffff); emit(AND);
	emit(PUSH); emit(0); emit(SUB); emit(RET);
}

int main(void)
{
	assemble();
	struct vm_result r = run(prog, OPAQUE((int64_t)LOOPS));
	printf("bench-interp: loops=%d result=%016lx bytecodes=%lu\n", LOOPS, (uint64_t)r.value, r.steps);
	return 0;
}
