/* bootinfo - what boot ABI v1 hands a guest: a0 (vCPU id), a1 (start_info) and the hypercall
 * ABI. Tachyxx only: the values differ from anything the Linux shim could fake.
 * expected.txt is the output bare with the default --memory 256 and no command line. */
#include "tachyxx.h"

extern char __image_start[], __image_end[];

int main(void)
{
	const struct start_info *si = boot_start_info;
	printf("Hello from Tachyxx! vCPU %lu\n", boot_vcpu_id);
	if (!si) {
		puts("bootinfo: no start_info");
		return 1;
	}
	int magic_ok = strncmp(si->magic, START_INFO_MAGIC, sizeof si->magic) == 0;
	printf("start_info: magic \"%.32s\" (%s)\n", si->magic, magic_ok ? "ok" : "BAD");
	printf("start_info: nr_pages %lu (%lu MiB)\n", si->nr_pages, si->nr_pages >> 8);
	printf("start_info: flags %x\n", si->flags);
	printf("start_info: cmd_line \"%.1024s\"\n", si->cmd_line);
	uintptr_t sia = (uintptr_t)si, ram_end = 0x80000000ul + (si->nr_pages << 12);
	printf("start_info: page aligned %s, above the image %s, inside RAM %s\n", sia % 4096 ? "no" : "yes",
	       sia >= (uintptr_t)__image_end ? "yes" : "no", sia + sizeof *si <= ram_end ? "yes" : "no");
	uintptr_t sp;
	__asm__ volatile("mv %0, sp" : "=r"(sp));
	printf("stack: inside the top 64 KiB of RAM %s\n", sp < ram_end && sp > ram_end - 65536 ? "yes" : "no");
	long r = hypercall6(31 /* __HYPERVISOR_xenoprof_op: served nowhere */, 0, 0, 0, 0, 0, 0);
	printf("hypercall 31 (xenoprof_op) -> %ld\n", r);
	r = hypercall6(999, 0, 0, 0, 0, 0, 0);
	printf("hypercall 999 -> %ld\n", r);
	r = HYPERVISOR_console_io(CONSOLEIO_write, 0, "");
	printf("console_io write of 0 bytes -> %ld\n", r);
	return magic_ok ? 0 : 1;
}
