/* spin - prints one line, then loops forever and never shuts down: one domain that never
 * yields must not stop the others (the tests bound the run with --max-insns). */
#include "tachyxx.h"

int main(void)
{
	puts("spin: looping forever");
	console_flush();
	volatile uint64_t n = 0;
	for (;;)
		n = n + 1;
	return 0;
}
