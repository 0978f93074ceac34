/* edubench - DMA throughput on a passed-through edu (tools/bench-passthrough.mjs): maps MSI-X to
 * an event channel, then DMAS times copies one 4 KiB page of a RING_PAGES-page ring in its own RAM
 * into the device (device addresses = guest-physical: every page goes through the IOMMU), waits
 * for each completion as an upcall, and prints a checksum of what the device holds. */
#include "tachyxx.h"
#include "xen.h"
#include "evtchn.h"
#include "pcifront.h"

#define DMAS 2048
#define RING_PAGES 512

static inline uint32_t rd32(uintptr_t a) { return *(volatile uint32_t *)a; }
static inline void wr32(uintptr_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline void wr64(uintptr_t a, uint64_t v) { *(volatile uint64_t *)a = v; }

static uint8_t ring[RING_PAGES][4096] __attribute__((aligned(4096)));
static volatile unsigned irqs;
static void on_irq(evtchn_port_t p, void *a) { (void)p; (void)a; irqs++; }

int main(void)
{
	if (xen_evtchn_init() < 0) { puts("edubench: needs a Xen domain"); return 1; }
	unsigned bus, devfn;
	if (pci_find_device(0, 0x1234, 0x11e8, &bus, &devfn) < 0) { puts("edubench: no edu"); return 1; }
	uintptr_t regs = (uintptr_t)pci_bar(0, bus, devfn, 0);
	unsigned cap = pci_find_cap(0, bus, devfn, 0x11);
	uint32_t tbl = (uint32_t)pci_conf_read(0, bus, devfn, cap + 4, 4);
	long pirq = pci_map_msix(0, bus, devfn, 0, pci_bar(0, bus, devfn, tbl & 7) + (tbl & ~7u));
	long port = pirq < 0 ? pirq : xen_evtchn_bind_pirq((uint32_t)pirq);
	if (port < 0) { printf("edubench: MSI-X -> %ld\n", port); return 1; }
	xen_evtchn_set_handler((evtchn_port_t)port, on_irq, 0);
	pci_conf_write(0, bus, devfn, cap + 2, 2, 0x8000);
	pci_conf_write(0, bus, devfn, 0x04, 2, 0x6);
	for (unsigned p = 0; p < RING_PAGES; p++) for (unsigned i = 0; i < 4096; i += 512) ring[p][i] = (uint8_t)(p + i / 512);
	for (unsigned n = 0; n < DMAS; n++) {
		unsigned before = irqs;
		wr64(regs + 0x80, (uintptr_t)ring[n % RING_PAGES]);
		wr64(regs + 0x88, 0x40000);
		wr64(regs + 0x90, 4096);
		wr64(regs + 0x98, 1 | 4);
		xen_wait_until(irqs != before);
		wr32(regs + 0x64, 0x100);
	}
	uint32_t sum = 0;
	for (unsigned i = 0; i < 4096; i += 512) sum = sum * 31 + rd32(regs + 0x40000 + i);
	printf("edubench: %u DMAs of 4096 bytes, %u interrupts, checksum %08x\n", DMAS, irqs, sum);
	return 0;
}
