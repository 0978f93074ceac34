/* gdbdemo - a guest to debug with gdb (built with -g -O0: every local in its stack slot, no
 * inlining). `accumulate` calls `square` (a backtrace two deep under main), and every iteration
 * stores the running sum to the global `counter` (a watchpoint target). Output is
 * platform-neutral, so it is byte-identical under Tachyxx and qemu-riscv64. */
#include "tachyxx.h"

volatile long counter;
long history[8];

long square(long x)
{
	return x * x;
}

long accumulate(long n)
{
	long sum = 0;
	for (long i = 1; i <= n; i++) {
		sum += square(i);
		counter = sum;
	}
	return sum;
}

int main(void)
{
	puts("gdbdemo: start");
	for (int round = 0; round < 8; round++)
		history[round] = accumulate(round + 3);
	printf("gdbdemo: counter=%ld history[7]=%ld\n", counter, history[7]);
	return 0;
}
