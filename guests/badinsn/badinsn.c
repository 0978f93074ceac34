/* badinsn - executes an illegal instruction with no PL2 trap vector installed. The firmware
 * must report a fatal trap naming illegal_instruction, the PC and its disassembly. */
#include "tachyxx.h"

int main(void)
{
	puts("badinsn: executing an illegal instruction");
	console_flush();
	__asm__ volatile(".word 0xffffffff");
	puts("badinsn: still running (wrong)");
	return 0;
}
