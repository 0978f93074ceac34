/* printf.c - a printf subset: %d %i %u %x %X %o %s %c %p %% with length modifiers
 * h hh l ll z j t, flags '-' '0' '+' ' ', width (digits or '*') and precision for %s. */
#include "tachyxx.h"

struct sink {
	char *buf;      /* NULL: write to the console */
	size_t size;
	size_t len;     /* characters produced so far (snprintf semantics) */
};

static void emit(struct sink *s, char c)
{
	if (!s->buf)
		console_write(&c, 1);
	else if (s->len + 1 < s->size)
		s->buf[s->len] = c;
	s->len++;
}

static void emit_pad(struct sink *s, char c, int n)
{
	while (n-- > 0)
		emit(s, c);
}

static int fmt_num(char *tmp, uint64_t v, unsigned base, int upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	int n = 0;
	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	return n; /* reversed */
}

static int do_format(struct sink *s, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			emit(s, *fmt);
			continue;
		}
		fmt++;
		int left = 0, zero = 0, plus = 0, space = 0, width = 0, prec = -1, lng = 0;
		for (;; fmt++) {
			if (*fmt == '-') left = 1;
			else if (*fmt == '0') zero = 1;
			else if (*fmt == '+') plus = 1;
			else if (*fmt == ' ') space = 1;
			else break;
		}
		if (*fmt == '*') {
			width = va_arg(ap, int);
			if (width < 0) { left = 1; width = -width; }
			fmt++;
		} else {
			while (*fmt >= '0' && *fmt <= '9')
				width = width * 10 + (*fmt++ - '0');
		}
		if (*fmt == '.') {
			fmt++;
			prec = 0;
			if (*fmt == '*') { prec = va_arg(ap, int); fmt++; }
			else while (*fmt >= '0' && *fmt <= '9') prec = prec * 10 + (*fmt++ - '0');
		}
		for (;; fmt++) {
			if (*fmt == 'l') lng++;
			else if (*fmt == 'z' || *fmt == 'j' || *fmt == 't') lng = 2;
			else if (*fmt == 'h') ;
			else break;
		}
		char c = *fmt;
		if (!c)
			break;
		char tmp[24];
		const char *str = tmp;
		int n = 0, neg = 0, upper = 0;
		const char *prefix = "";
		switch (c) {
		case 'd': case 'i': {
			int64_t v = lng ? va_arg(ap, long) : va_arg(ap, int);
			uint64_t u = (uint64_t)v;
			if (v < 0) { neg = 1; u = -u; }
			n = fmt_num(tmp, u, 10, 0);
			prefix = neg ? "-" : plus ? "+" : space ? " " : "";
			goto number;
		}
		case 'u': case 'x': case 'X': case 'o': case 'p': {
			uint64_t u;
			if (c == 'p') { u = (uintptr_t)va_arg(ap, void *); prefix = "0x"; }
			else u = lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
			upper = c == 'X';
			n = fmt_num(tmp, u, c == 'u' ? 10 : c == 'o' ? 8 : 16, upper);
			goto number;
		}
		number: {
			int plen = (int)strlen(prefix);
			int pad = width - n - plen;
			if (!left && !zero) emit_pad(s, ' ', pad);
			for (int i = 0; i < plen; i++) emit(s, prefix[i]);
			if (!left && zero) emit_pad(s, '0', pad);
			while (n) emit(s, tmp[--n]);
			if (left) emit_pad(s, ' ', pad);
			continue;
		}
		case 's':
			str = va_arg(ap, const char *);
			if (!str) str = "(null)";
			n = (int)strlen(str);
			if (prec >= 0 && n > prec) n = prec;
			break;
		case 'c':
			tmp[0] = (char)va_arg(ap, int);
			n = 1;
			break;
		case '%':
			tmp[0] = '%';
			n = 1;
			break;
		default: /* unknown: print it verbatim */
			emit(s, '%');
			tmp[0] = c;
			n = 1;
			break;
		}
		if (!left) emit_pad(s, ' ', width - n);
		for (int i = 0; i < n; i++) emit(s, str[i]);
		if (left) emit_pad(s, ' ', width - n);
	}
	return (int)s->len;
}

int vprintf(const char *fmt, va_list ap)
{
	struct sink s = { 0, 0, 0 };
	return do_format(&s, fmt, ap);
}

int printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vprintf(fmt, ap);
	va_end(ap);
	return r;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	char dummy;
	struct sink s = { size ? buf : &dummy, size ? size : 1, 0 };
	int r = do_format(&s, fmt, ap);
	s.buf[s.len < s.size ? s.len : s.size - 1] = 0;
	return r;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return r;
}
