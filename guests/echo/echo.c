/* echo - the PV console ring from a domU (guests/xenlib/console.h): reads lines from the ring's
 * `in` side (xl console input, the host's console-input op), writes each back uppercased to the
 * ring's `out` side, and powers off on "quit". */
#include "tachyxx.h"
#include "console.h"

static void say(const char *s) { xen_console_write(s, (uint32_t)strlen(s)); }

int main(void)
{
	if (xen_console_init() < 0) {
		printf("echo: no console ring (bare or no xenconsoled)\n");
		return 1;
	}
	say("echo: ready\n");
	char line[256];
	for (;;) {
		long n = xen_console_readline(line, sizeof line);
		if (!strcmp(line, "quit")) break;
		for (long i = 0; i < n; i++)
			if (line[i] >= 'a' && line[i] <= 'z') line[i] = (char)(line[i] - 'a' + 'A');
		xen_console_write(line, (uint32_t)n);
		say("\n");
	}
	say("echo: bye\n");
	return 0;
}
