/* eduevil - a hostile driver for a passed-through edu (tools/hostile/passthrough-*.test.ts). The
 * test writes a mission at MISSION (guest-physical) before the domain runs; the driver then
 *  1. DMAs 4 KiB of 0xee from the device to each of up to 4 device addresses it was given
 *     (outside its domain: the IOMMU must refuse and record a fault; without an IOMMU they land),
 *  2. optionally writes its MSI-X table entry with another domain's remapping handle and makes
 *     the device raise it (the remapper must block it: wrong requester), or asks map_pirq for a
 *     function it does not hold,
 *  3. writes its BAR0 to an address over other memory (the config filter must keep the BAR),
 * printing what it saw after each step, then powers off. Every wait is bounded (a yield loop):
 * a blocked interrupt must not hang it. */
#include "tachyxx.h"
#include "xen.h"
#include "evtchn.h"
#include "pcifront.h"

#define MISSION 0x80f00000UL
#define MAGIC 0x4c495645u /* "EVIL" */
struct mission {
	uint32_t magic;
	uint32_t ndma;
	uint64_t dma[4];
	uint32_t msi;        /* 0 none, 1 aim the table entry at `handle`, 2 map_pirq on `victim_bdf` */
	uint32_t handle;
	uint32_t victim_bdf; /* bus << 8 | devfn */
	uint32_t pad;
	uint64_t bar;        /* 0: leave the BAR alone */
};

static inline uint32_t rd32(uintptr_t a) { return *(volatile uint32_t *)a; }
static inline void wr32(uintptr_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline void wr64(uintptr_t a, uint64_t v) { *(volatile uint64_t *)a = v; }
static inline uint64_t rd64(uintptr_t a) { return *(volatile uint64_t *)a; }

static volatile unsigned irqs;
static void on_irq(evtchn_port_t p, void *a) { (void)p; (void)a; irqs++; }

/* Polls the DMA run bit, yielding between polls (device time passes while this vCPU is off). */
static int dma_done(uintptr_t regs)
{
	for (int i = 0; i < 2000; i++) {
		if (!(rd64(regs + 0x98) & 1)) return 1;
		HYPERVISOR_sched_op(SCHEDOP_yield, 0);
	}
	return 0;
}

int main(void)
{
	volatile struct mission *m = (volatile struct mission *)MISSION;
	if (xen_evtchn_init() < 0 || m->magic != MAGIC) { puts("eduevil: no mission"); return 1; }
	unsigned bus, devfn;
	if (pci_find_device(0, 0x1234, 0x11e8, &bus, &devfn) < 0) { puts("eduevil: no edu"); return 1; }
	uintptr_t regs = (uintptr_t)pci_bar(0, bus, devfn, 0);
	unsigned cap = pci_find_cap(0, bus, devfn, 0x11);
	uint32_t tbl = (uint32_t)pci_conf_read(0, bus, devfn, cap + 4, 4);
	uintptr_t table = (uintptr_t)pci_bar(0, bus, devfn, tbl & 7) + (tbl & ~7u);
	long pirq = pci_map_msix(0, bus, devfn, 0, table);
	long port = pirq < 0 ? pirq : xen_evtchn_bind_pirq((uint32_t)pirq);
	if (port > 0) xen_evtchn_set_handler((evtchn_port_t)port, on_irq, 0);
	pci_conf_write(0, bus, devfn, cap + 2, 2, 0x8000);
	pci_conf_write(0, bus, devfn, 0x04, 2, 0x6);
	printf("eduevil: edu at %02x:%02x.%u, pirq %ld\n", bus, devfn >> 3, devfn & 7, pirq);

	for (unsigned i = 0; i < 4096; i += 4) wr32(regs + 0x40000 + i, 0xeeeeeeeeu);
	for (unsigned i = 0; i < m->ndma && i < 4; i++) {
		wr64(regs + 0x80, 0x40000);
		wr64(regs + 0x88, m->dma[i]);
		wr64(regs + 0x90, 4096);
		wr64(regs + 0x98, 1 | 2 | 4);
		int ok = dma_done(regs);
		wr32(regs + 0x64, 0x100);
		printf("eduevil: DMA to %lx: %s\n", (unsigned long)m->dma[i], ok ? "completed" : "stuck");
	}

	if (m->msi == 1) {
		unsigned before = irqs;
		wr32(table + 0, 0xfee00000u | ((m->handle & 0x7fff) << 5) | 0x10);
		wr32(table + 4, 0);
		wr32(table + 8, 0);
		wr32(table + 12, 0);
		wr32(regs + 0x60, 0x2); /* raise */
		for (int i = 0; i < 50; i++) HYPERVISOR_sched_op(SCHEDOP_yield, 0);
		wr32(regs + 0x64, 0x2);
		printf("eduevil: MSI aimed at handle %u: own interrupts %u\n", m->handle, irqs - before);
	} else if (m->msi == 2) {
		long rc = pci_map_msix(0, m->victim_bdf >> 8, m->victim_bdf & 0xff, 0, 0x23100000);
		printf("eduevil: map_pirq on %02x:%02x.%u -> %ld\n", m->victim_bdf >> 8, (m->victim_bdf & 0xff) >> 3, m->victim_bdf & 7, rc);
	}

	if (m->bar) {
		long rc = pci_conf_write(0, bus, devfn, 0x10, 4, (uint32_t)m->bar);
		pci_conf_write(0, bus, devfn, 0x14, 4, (uint32_t)(m->bar >> 32));
		printf("eduevil: BAR0 write %lx -> %ld, BAR0 now %lx, id %08x\n", (unsigned long)m->bar, rc,
		       (unsigned long)pci_bar(0, bus, devfn, 0), rd32(regs));
	}
	puts("eduevil: done");
	return 0;
}
