/* hello - the smallest guest: prints a greeting and exercises the printf subset.
 * Output is platform-neutral, so it is byte-identical under Tachyxx and qemu-riscv64. */
#include "tachyxx.h"

int main(void)
{
	puts("Hello from Tachyxx!");
	printf("printf: [%d] [%i] [%u] [%x] [%X] [%c] [%s] [%%]\n", -42, 7, 3000000000u, 0xbeefu, 0xbeefu, 'z', "str");
	printf("longs: [%ld] [%lu] [%lx] [%lld] [%llx]\n", -9223372036854775807L - 1, 18446744073709551615UL,
	       0x0123456789abcdefUL, -1LL, 0xfedcba9876543210ULL);
	printf("width: [%5d] [%-5d] [%05d] [%08x] [%-8s] [%8s] [%.3s]\n", 42, 42, -42, 0xabcu, "ab", "ab", "abcdef");
	printf("pointer: [%p]\n", (void *)0x1234);
	char buf[16];
	int n = snprintf(buf, sizeof buf, "%s-%d-%s", "snprintf", 12345, "truncated");
	printf("snprintf: [%s] %d\n", buf, n);
	return 0;
}
