/* user_end.S - end of the user image (see user.c): linked right after user.c */
	.section .text.user.zend, "ax", @progbits
	.globl user_image_end
user_image_end:
