/* platform.h - the two targets a guest program is built for.
 *
 *   PLATFORM_TACHYXX  boot ABI v1: entered at PL2, console and shutdown are Xen hypercalls
 *                     (ecall, a7 = hypercall number).
 *   PLATFORM_LINUX    Linux-user shim for the qemu-riscv64 oracle: write(2) = syscall 64 on
 *                     fd 1, exit_group(2) = syscall 94.
 *
 * Exactly one is defined by the build (tools/build-guests.mjs passes -DPLATFORM_...). */
#ifndef TACHYXX_PLATFORM_H
#define TACHYXX_PLATFORM_H

#if defined(PLATFORM_TACHYXX) + defined(PLATFORM_LINUX) != 1
#error "define exactly one of PLATFORM_TACHYXX, PLATFORM_LINUX"
#endif

#ifdef PLATFORM_TACHYXX
#define PLATFORM_NAME "tachyxx"
#else
#define PLATFORM_NAME "linux"
#endif

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>

/* Write len bytes to the console (unbuffered). Returns bytes written or a negative errno. */
long platform_write(const void *buf, size_t len);
/* Terminate the program: code 0 = poweroff / exit(0); nonzero = crash / exit(code). */
__attribute__((noreturn)) void platform_exit(int code);
#endif

#endif
