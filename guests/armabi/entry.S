/* Entry of a secondary vCPU (VCPUOP_initialise: pc = here, sp, a0 = vCPU id): tp = the id. */
	.section .text, "ax", @progbits
	.globl secondary_entry
	.type secondary_entry, @function
	.balign 4
secondary_entry:
	.option push
	.option norelax
	la	gp, __global_pointer$
	.option pop
	mv	tp, a0
	mv	fp, zero
	mv	ra, zero
	call	secondary_main
1:	j	1b
	.size secondary_entry, . - secondary_entry
