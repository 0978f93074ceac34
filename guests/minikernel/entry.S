/* entry.S - trap entry and task resume of guests/minikernel.
 *
 * While a PL3 task runs, sscratch holds its struct frame (x0..x31, sepc, kernel stack top);
 * while the kernel runs, sscratch is 0. trap_entry saves all 31 registers and sepc into the
 * frame, switches to the kernel stack and calls trap_c(frame), which returns the frame to resume
 * (the same task or another one after a context switch); task_resume loads it and srets to PL3.
 * A trap taken at PL2 (sscratch = 0) is a kernel bug: kernel_trap reports it and crashes. */

#define CSR_SSCRATCH 0x140
#define CSR_SEPC 0x141
#define CSR_SCAUSE 0x142
#define CSR_STVAL 0x143
#define F_SEPC 256
#define F_KSP 264

	.text
	.balign 4
	.globl trap_entry
trap_entry:
	csrrw	t6, CSR_SSCRATCH, t6	/* t6 = frame of the running task, sscratch = its t6 */
	beqz	t6, kernel_trap
	sd	x1, 8(t6)
	sd	x2, 16(t6)
	sd	x3, 24(t6)
	sd	x4, 32(t6)
	sd	x5, 40(t6)
	sd	x6, 48(t6)
	sd	x7, 56(t6)
	sd	x8, 64(t6)
	sd	x9, 72(t6)
	sd	x10, 80(t6)
	sd	x11, 88(t6)
	sd	x12, 96(t6)
	sd	x13, 104(t6)
	sd	x14, 112(t6)
	sd	x15, 120(t6)
	sd	x16, 128(t6)
	sd	x17, 136(t6)
	sd	x18, 144(t6)
	sd	x19, 152(t6)
	sd	x20, 160(t6)
	sd	x21, 168(t6)
	sd	x22, 176(t6)
	sd	x23, 184(t6)
	sd	x24, 192(t6)
	sd	x25, 200(t6)
	sd	x26, 208(t6)
	sd	x27, 216(t6)
	sd	x28, 224(t6)
	sd	x29, 232(t6)
	sd	x30, 240(t6)
	csrrw	t5, CSR_SSCRATCH, zero	/* the task's t6; sscratch = 0: now in the kernel */
	sd	t5, 248(t6)
	csrr	t5, CSR_SEPC
	sd	t5, F_SEPC(t6)
	ld	sp, F_KSP(t6)
	mv	a0, t6
	call	trap_c
	/* fall through with a0 = the frame to resume */

/* void task_resume(struct frame *f) - enter or re-enter a PL3 task (sstatus.SPP must be 0) */
	.globl task_resume
task_resume:
	ld	t5, F_SEPC(a0)
	csrw	CSR_SEPC, t5
	csrw	CSR_SSCRATCH, a0
	ld	x1, 8(a0)
	ld	x2, 16(a0)
	ld	x3, 24(a0)
	ld	x4, 32(a0)
	ld	x5, 40(a0)
	ld	x6, 48(a0)
	ld	x7, 56(a0)
	ld	x8, 64(a0)
	ld	x9, 72(a0)
	ld	x11, 88(a0)
	ld	x12, 96(a0)
	ld	x13, 104(a0)
	ld	x14, 112(a0)
	ld	x15, 120(a0)
	ld	x16, 128(a0)
	ld	x17, 136(a0)
	ld	x18, 144(a0)
	ld	x19, 152(a0)
	ld	x20, 160(a0)
	ld	x21, 168(a0)
	ld	x22, 176(a0)
	ld	x23, 184(a0)
	ld	x24, 192(a0)
	ld	x25, 200(a0)
	ld	x26, 208(a0)
	ld	x27, 216(a0)
	ld	x28, 224(a0)
	ld	x29, 232(a0)
	ld	x30, 240(a0)
	ld	x31, 248(a0)
	ld	x10, 80(a0)
	sret

/* a trap at PL2: t6 back, then report on the current (kernel) stack */
kernel_trap:
	csrrw	t6, CSR_SSCRATCH, t6
	csrr	a0, CSR_SCAUSE
	csrr	a1, CSR_SEPC
	csrr	a2, CSR_STVAL
	call	kernel_panic
1:	j	1b
