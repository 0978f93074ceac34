/* console.c - buffered console output on top of platform_write. */
#include "tachyxx.h"

#define CONSOLE_BUF 1024
static char cbuf[CONSOLE_BUF];
static size_t clen;

void console_flush(void)
{
	size_t off = 0;
	while (off < clen) {
		long r = platform_write(cbuf + off, clen - off);
		if (r <= 0)
			break; /* nothing sensible to do: drop the rest */
		off += (size_t)r;
	}
	clen = 0;
}

void console_write(const char *s, size_t n)
{
	int nl = 0;
	for (size_t i = 0; i < n; i++) {
		if (clen == CONSOLE_BUF)
			console_flush();
		cbuf[clen++] = s[i];
		nl |= s[i] == '\n';
	}
	if (nl)
		console_flush();
}

int putchar(int c)
{
	char ch = (char)c;
	console_write(&ch, 1);
	return (unsigned char)c;
}

void putstr(const char *s)
{
	console_write(s, strlen(s));
}

int puts(const char *s)
{
	putstr(s);
	putchar('\n');
	return 0;
}
