/* priv.S - trap entry, vector table, PL3 entry/exit and the probe instructions of guests/priv.
 * Every probe has a global label on the instruction under test so the C side can compare
 * sepc and stval with its address and encoding. Tachyxx target only. */

#define FRAME 288 /* x0..x31, sepc, sstatus, scause, stval */
#define F_SEPC 256
#define F_SSTATUS 264
#define F_SCAUSE 272
#define F_STVAL 280
#define CSR_SSCRATCH 0x140
#define CSR_SEPC 0x141
#define CSR_SCAUSE 0x142
#define CSR_STVAL 0x143
#define CSR_SSTATUS 0x100

	.text
/* sscratch always holds the top of the trap stack: every trap (from PL2 or PL3) runs its C
 * handler there. Traps do not nest in this program. */
	.balign 4
	.globl trap_entry
trap_entry:
	csrrw	sp, CSR_SSCRATCH, sp
	addi	sp, sp, -FRAME
	sd	x1, 8(sp)
	sd	x3, 24(sp)
	sd	x4, 32(sp)
	sd	x5, 40(sp)
	sd	x6, 48(sp)
	sd	x7, 56(sp)
	sd	x8, 64(sp)
	sd	x9, 72(sp)
	sd	x10, 80(sp)
	sd	x11, 88(sp)
	sd	x12, 96(sp)
	sd	x13, 104(sp)
	sd	x14, 112(sp)
	sd	x15, 120(sp)
	sd	x16, 128(sp)
	sd	x17, 136(sp)
	sd	x18, 144(sp)
	sd	x19, 152(sp)
	sd	x20, 160(sp)
	sd	x21, 168(sp)
	sd	x22, 176(sp)
	sd	x23, 184(sp)
	sd	x24, 192(sp)
	sd	x25, 200(sp)
	sd	x26, 208(sp)
	sd	x27, 216(sp)
	sd	x28, 224(sp)
	sd	x29, 232(sp)
	sd	x30, 240(sp)
	sd	x31, 248(sp)
	csrr	t0, CSR_SSCRATCH	/* the interrupted sp */
	sd	t0, 16(sp)
	addi	t0, sp, FRAME
	csrw	CSR_SSCRATCH, t0
	csrr	t0, CSR_SEPC
	sd	t0, F_SEPC(sp)
	csrr	t0, CSR_SSTATUS
	sd	t0, F_SSTATUS(sp)
	csrr	t0, CSR_SCAUSE
	sd	t0, F_SCAUSE(sp)
	csrr	t0, CSR_STVAL
	sd	t0, F_STVAL(sp)
	mv	a0, sp
	call	trap_c
	ld	t0, F_SEPC(sp)
	csrw	CSR_SEPC, t0
	ld	x1, 8(sp)
	ld	x3, 24(sp)
	ld	x4, 32(sp)
	ld	x5, 40(sp)
	ld	x6, 48(sp)
	ld	x7, 56(sp)
	ld	x8, 64(sp)
	ld	x9, 72(sp)
	ld	x10, 80(sp)
	ld	x11, 88(sp)
	ld	x12, 96(sp)
	ld	x13, 104(sp)
	ld	x14, 112(sp)
	ld	x15, 120(sp)
	ld	x16, 128(sp)
	ld	x17, 136(sp)
	ld	x18, 144(sp)
	ld	x19, 152(sp)
	ld	x20, 160(sp)
	ld	x21, 168(sp)
	ld	x22, 176(sp)
	ld	x23, 184(sp)
	ld	x24, 192(sp)
	ld	x25, 200(sp)
	ld	x26, 208(sp)
	ld	x27, 216(sp)
	ld	x28, 224(sp)
	ld	x29, 232(sp)
	ld	x30, 240(sp)
	ld	x31, 248(sp)
	ld	sp, 16(sp)
	sret

/* Vectored mode (stvec = vec_table | 1): interrupts go to vec_table + 4 * code. The stubs
 * record the vector they came through in vec_hit, then continue in trap_entry. */
	.balign 256
	.globl vec_table
vec_table:
	j	trap_entry	/* 0: exceptions */
	j	vec_stub1	/* 1: PL2 software */
	j	trap_entry
	j	trap_entry
	j	trap_entry
	j	vec_stub5	/* 5: PL2 timer */
	j	trap_entry
	j	trap_entry
	j	trap_entry
	j	trap_entry	/* 9: PL2 external */
	j	trap_entry
	j	trap_entry
vec_stub1:
	addi	sp, sp, -16
	sd	t0, 0(sp)
	sd	t1, 8(sp)
	li	t1, 1
	j	vec_common
vec_stub5:
	addi	sp, sp, -16
	sd	t0, 0(sp)
	sd	t1, 8(sp)
	li	t1, 5
vec_common:
	la	t0, vec_hit
	sd	t1, 0(t0)
	ld	t0, 0(sp)
	ld	t1, 8(sp)
	addi	sp, sp, 16
	j	trap_entry

/* long run_user(long (*fn)(long), void *user_sp, long arg): runs fn(arg) at PL3 on user_sp.
 * Returns the task's exit code (syscall exit, or the value the kernel passes to
 * resume_kernel when it kills the task). */
	.globl run_user
run_user:
	la	t0, kctx
	sd	ra, 0(t0)
	sd	sp, 8(t0)
	sd	s0, 16(t0)
	sd	s1, 24(t0)
	sd	s2, 32(t0)
	sd	s3, 40(t0)
	sd	s4, 48(t0)
	sd	s5, 56(t0)
	sd	s6, 64(t0)
	sd	s7, 72(t0)
	sd	s8, 80(t0)
	sd	s9, 88(t0)
	sd	s10, 96(t0)
	sd	s11, 104(t0)
	la	t0, user_trampoline
	csrw	CSR_SEPC, t0
	li	t0, 0x100	/* SPP = 0: sret goes to PL3 */
	csrc	CSR_SSTATUS, t0
	mv	sp, a1
	mv	t1, a0
	mv	a0, a2
	li	ra, 0
	sret

/* resume_kernel(long code): called from trap_c on the trap stack; returns from run_user. */
	.globl resume_kernel
resume_kernel:
	la	t0, kctx
	ld	ra, 0(t0)
	ld	sp, 8(t0)
	ld	s0, 16(t0)
	ld	s1, 24(t0)
	ld	s2, 32(t0)
	ld	s3, 40(t0)
	ld	s4, 48(t0)
	ld	s5, 56(t0)
	ld	s6, 64(t0)
	ld	s7, 72(t0)
	ld	s8, 80(t0)
	ld	s9, 88(t0)
	ld	s10, 96(t0)
	ld	s11, 104(t0)
	ret

/* PL3 code starts here: call fn(arg), then exit(its return value) with syscall 93. */
	.globl user_trampoline
user_trampoline:
	jalr	t1
	li	a7, 93
	ecall
1:	j	1b

/* long user_syscall(long nr, long a0, long a1, long a2) - ecall from PL3 */
	.globl user_syscall
user_syscall:
	mv	a7, a0
	mv	a0, a1
	mv	a1, a2
	mv	a2, a3
	.globl probe_user_ecall
probe_user_ecall:
	ecall
	ret

/* ---- probes: each returns a0 (preloaded with a marker so "no effect" is visible) */
#define PROBE(name, ...)		\
	.globl name;			\
	.globl name##_insn;		\
name:					\
	li	a0, 0x5a;		\
name##_insn:				\
	__VA_ARGS__;			\
	ret

PROBE(probe_csrr_p1scratch, csrr a0, 0x640)
PROBE(probe_csrw_p1scratch, csrw 0x640, a0)
PROBE(probe_csrr_mstatus, csrr a0, 0x300)
PROBE(probe_csrs_p1status, csrs 0x600, a0)
PROBE(probe_hret, .word 0x20200073)
PROBE(probe_mret, .word 0x30200073)
PROBE(probe_csrr_unknown, csrr a0, 0x1c0)
PROBE(probe_csrw_time, csrw 0xc01, a0)
PROBE(probe_fadd, .word 0x00000053)
PROBE(probe_ebreak, ebreak)
PROBE(probe_csrr_sstatus, csrr a0, CSR_SSTATUS)
PROBE(probe_sret, sret)
PROBE(probe_wfi, wfi)
PROBE(probe_rdtime, csrr a0, 0xc01)

/* amoadd.d on a misaligned address (a0 = the address) */
	.globl probe_amo_misaligned, probe_amo_misaligned_insn
probe_amo_misaligned:
	mv	t0, a0
	li	a0, 0x5a
probe_amo_misaligned_insn:
	amoadd.d a0, a0, (t0)
	ret

/* lr.d on a misaligned address */
	.globl probe_lr_misaligned, probe_lr_misaligned_insn
probe_lr_misaligned:
	mv	t0, a0
	li	a0, 0x5a
probe_lr_misaligned_insn:
	lr.d	a0, (t0)
	ret

/* jalr to a 2-byte aligned target: traps at the jalr, which must not write its link register */
	.globl probe_jump_misaligned, probe_jump_misaligned_insn
probe_jump_misaligned:
	la	t0, 1f
	addi	t0, t0, 2
	li	a0, 0x5a
probe_jump_misaligned_insn:
	jalr	a0, 0(t0)
1:	ret

/* raise SSIP; an enabled PL2 software interrupt is taken before the next instruction, whose
 * address (probe_ssip_next) must be sepc */
	.globl probe_ssip, probe_ssip_insn, probe_ssip_next
probe_ssip:
	li	t0, 2
probe_ssip_insn:
	csrs	0x144, t0
probe_ssip_next:
	nop
	ret

/* set sstatus.SIE with an interrupt pending: taken right after the csrs */
	.globl probe_sie_on, probe_sie_next
probe_sie_on:
	li	t0, 2
	csrs	CSR_SSTATUS, t0
probe_sie_next:
	nop
	csrc	CSR_SSTATUS, t0
	ret

	.bss
	.balign 8
	.globl vec_hit
vec_hit:
	.zero 8
kctx:
	.zero 112
