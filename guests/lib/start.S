/* start.S - crt0 for Tachyxx guests (both targets).
 *
 * PLATFORM_TACHYXX: entered at PL2, translation off, a0 = vCPU id, a1 = guest-physical address of
 *   start_info, sp = top of guest RAM (boot ABI v1).
 * PLATFORM_LINUX: entered by qemu-riscv64 / the kernel with sp -> argc; a0/a1 carry nothing
 *   useful, so they are replaced by 0.
 *
 * Zeroes .bss (the loader is not required to), aligns sp to 16, and calls
 * _tx_cstart(vcpu_id, start_info), which runs main() and never returns. */
#include "platform.h"

	.section .text.start, "ax", @progbits
	.globl _start
	.type _start, @function
_start:
	.option push
	.option norelax
	la	gp, __global_pointer$
	.option pop
#ifdef PLATFORM_LINUX
	li	a0, 0
	li	a1, 0
#endif
	andi	sp, sp, -16
	la	t0, __bss_start
	la	t1, __bss_end
	bgeu	t0, t1, 2f
1:	sd	zero, 0(t0)
	sd	zero, 8(t0)
	addi	t0, t0, 16
	bltu	t0, t1, 1b
2:	mv	fp, zero
	mv	ra, zero
	call	_tx_cstart
3:	j	3b
	.size _start, . - _start
