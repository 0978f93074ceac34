/* oob - touches guest-physical memory outside its RAM after one line of output.
 * Bare: the firmware reports a fatal load access fault (tachyxx run exits 1).
 * As a domain: the address has no P2M entry, so the load takes a stage-2 (guest-page) fault to
 * the hypervisor, which crashes this domain only; other domains run on (isolation test).
 * The command line selects the access: "write" stores to 0x1000 instead of loading from
 * RAM base + 1 GiB. */
#include "tachyxx.h"

int main(void)
{
	int write = boot_start_info && strcmp(boot_start_info->cmd_line, "write") == 0;
	printf("oob: %s outside RAM\n", write ? "writing 0x1000" : "reading 0x80000000 + 1 GiB");
	console_flush();
	if (write) {
		*(volatile uint64_t *)OPAQUE(0x1000ul) = 0x5a5a5a5a;
	} else {
		uint64_t v = *(volatile uint64_t *)OPAQUE(0x80000000ul + (1ul << 30));
		printf("oob: read %lx\n", v);
	}
	puts("oob: still running after the bad access (not reached)");
	return 1;
}
