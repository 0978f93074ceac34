/* deadlock - waits for an interrupt with nothing armed: the runner must stop with a deadlock
 * error instead of hanging. */
#include "tachyxx.h"

int main(void)
{
	puts("deadlock: wfi with no timer and no interrupt source");
	console_flush();
	__asm__ volatile("wfi");
	puts("deadlock: woke up (wrong)");
	return 0;
}
