/* tachyxx.h - the guest library API (guests/lib). Include this from every program. */
#ifndef TACHYXX_H
#define TACHYXX_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include "platform.h"
#include "hypercall.h"
#include "start_info.h"

#define NOINLINE __attribute__((noinline))
#define UNUSED __attribute__((unused))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Set by crt0 before main(): vCPU id (a0) and start_info (a1). Both 0 on PLATFORM_LINUX. */
extern unsigned long boot_vcpu_id;
extern const struct start_info *boot_start_info;

/* The program's entry point. Returning 0 powers off (Linux: exit 0); nonzero crashes
 * (SHUTDOWN_crash; Linux: exit with that status). */
int main(void);

/* Console: buffered; flushed on '\n', when the buffer is full, by console_flush() and at exit. */
void console_write(const char *s, size_t n);
void console_flush(void);
int putchar(int c);
int puts(const char *s);            /* appends '\n' like C's puts */
void putstr(const char *s);         /* no newline */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/* Flush the console and stop: exit(0) = poweroff, nonzero = crash. */
__attribute__((noreturn)) void exit(int code);

/* string.c */
void *memset(void *d, int c, size_t n);
void *memcpy(void *restrict d, const void *restrict s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

/* Keep the compiler from constant-folding or eliminating a value. */
#define OPAQUE(x) ({ __typeof__(x) __v = (x); __asm__ volatile("" : "+r"(__v)); __v; })
#define BARRIER() __asm__ volatile("" ::: "memory")

#endif
