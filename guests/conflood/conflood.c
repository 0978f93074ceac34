/* conflood - a hostile guest: writes console output as fast as it can, forever, through
 * console_io (the hypervisor's console) in 1 KiB writes. The host must rate-limit it
 * (xenconsoled's RATE_LIMIT_ALLOWANCE per RATE_LIMIT_PERIOD) and cap its log file; the other
 * domains keep running (issue 8, tools/hostile/control-console-flood). */
#include "tachyxx.h"

int main(void)
{
	char line[1024];
	for (int i = 0; i < (int)sizeof line - 1; i++) line[i] = (char)('a' + i % 26);
	line[sizeof line - 1] = '\n';
	for (uint64_t n = 0;; n++) {
		/* a line number first, so a reader can tell which lines were dropped */
		char head[24];
		int k = snprintf(head, sizeof head, "%llu ", (unsigned long long)n);
		console_write(head, (size_t)k);
		console_write(line, sizeof line);
		console_flush();
	}
	return 0;
}
