/* user.S - start of the user image (see user.c): linked right before user.c */
	.section .text.user, "ax", @progbits
	.balign 4096
	.globl user_image_start
user_image_start:
