/* crash - prints a line, then shuts down with SHUTDOWN_crash (main returns nonzero).
 * The runner must exit 1 naming the reason; as a domain, the others must run on. */
#include "tachyxx.h"

int main(void)
{
	puts("crash: about to crash on purpose");
	return 3;
}
