/* edupt - a domU driver for a passed-through edu device (QEMU's hw/misc/edu.c register map with
 * MSI-X), the book's PV PCI (section 8.4) on Tachyxx:
 *  1. finds edu among the functions assigned to this domain through physdev config reads (a
 *     function not ours answers -ENODEV, as pcifront sees only its own), reads its BARs (guest-
 *     physical addresses in the guest PCI window the toolstack mapped) and its MSI-X capability;
 *  2. maps MSI-X entry 0 to a pirq (PHYSDEVOP_map_pirq: the hypervisor writes the table entry and
 *     the interrupt remapper's entry) and binds it to an event channel (EVTCHNOP_bind_pirq);
 *  3. enables MSI-X, Memory Space and Bus Master through the filtered config space;
 *  4. computes 10! with "interrupt when done" and sleeps until the upcall;
 *  5. DMAs a buffer of its own RAM to the device and back (device addresses = guest-physical
 *     addresses: the IOMMU walks this domain's stage 2), each completion an MSI-X upcall;
 *  6. shows that the filter keeps its BAR where the toolstack put it.
 * The output does not depend on the interrupt path (posted or forwarded): only its cost does. */
#include "tachyxx.h"
#include "xen.h"
#include "evtchn.h"
#include "pcifront.h"

#define EDU_VENDOR 0x1234
#define EDU_DEVICE 0x11e8
#define PCI_CAP_ID_MSIX 0x11
#define MSIX_ENABLE 0x8000
#define EDU_ID 0x00
#define EDU_LIVENESS 0x04
#define EDU_FACT 0x08
#define EDU_STATUS 0x20
#define EDU_IRQ_STATUS 0x24
#define EDU_IRQ_ACK 0x64
#define EDU_DMA_SRC 0x80
#define EDU_DMA_DST 0x88
#define EDU_DMA_CNT 0x90
#define EDU_DMA_CMD 0x98
#define EDU_DMA_BUF 0x40000

static inline uint32_t rd32(uintptr_t a) { return *(volatile uint32_t *)a; }
static inline void wr32(uintptr_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline void wr64(uintptr_t a, uint64_t v) { *(volatile uint64_t *)a = v; }

static volatile unsigned irqs;
static uintptr_t regs;
static uint8_t src_buf[2048] __attribute__((aligned(4096)));
static uint8_t dst_buf[2048] __attribute__((aligned(4096)));

static void edu_irq(evtchn_port_t port, void *arg)
{
	(void)port; (void)arg;
	irqs++;
}

/* Starts a DMA with a completion interrupt and sleeps until the upcall. */
static void dma(uint64_t src, uint64_t dst, uint64_t cnt, unsigned to_ram)
{
	unsigned before = irqs;
	wr64(regs + EDU_DMA_SRC, src);
	wr64(regs + EDU_DMA_DST, dst);
	wr64(regs + EDU_DMA_CNT, cnt);
	wr64(regs + EDU_DMA_CMD, 1 | (to_ram ? 2 : 0) | 4);
	xen_wait_until(irqs != before);
	wr32(regs + EDU_IRQ_ACK, 0x100);
}

int main(void)
{
	if (xen_evtchn_init() < 0) { puts("edupt: needs a Xen domain (run with xl create)"); return 1; }
	unsigned bus, devfn;
	if (pci_find_device(0, EDU_VENDOR, EDU_DEVICE, &bus, &devfn) < 0) { puts("edupt: no edu assigned to this domain (pci = ['01:00.0'] and xl pci-assignable-add)"); return 1; }
	regs = (uintptr_t)pci_bar(0, bus, devfn, 0);
	printf("edupt: edu at 0000:%02x:%02x.%u, BAR0 at guest %lx\n", bus, devfn >> 3, devfn & 7, (unsigned long)regs);
	unsigned cap = pci_find_cap(0, bus, devfn, PCI_CAP_ID_MSIX);
	if (!cap) { puts("edupt: no MSI-X"); return 1; }
	uint32_t tbl = (uint32_t)pci_conf_read(0, bus, devfn, cap + 4, 4);
	uint64_t table = pci_bar(0, bus, devfn, tbl & 7) + (tbl & ~7u);
	long pirq = pci_map_msix(0, bus, devfn, 0, table);
	if (pirq < 0) { printf("edupt: map_pirq -> %ld\n", pirq); return 1; }
	long port = xen_evtchn_bind_pirq((uint32_t)pirq);
	if (port < 0) { printf("edupt: bind_pirq -> %ld\n", port); return 1; }
	xen_evtchn_set_handler((evtchn_port_t)port, edu_irq, 0);
	printf("edupt: MSI-X entry 0 -> pirq %ld -> event channel %ld\n", pirq, port);
	pci_conf_write(0, bus, devfn, cap + 2, 2, MSIX_ENABLE);
	pci_conf_write(0, bus, devfn, 0x04, 2, 0x2 | 0x4); /* Memory Space, Bus Master */

	printf("edupt: id %08x\n", rd32(regs + EDU_ID));
	wr32(regs + EDU_LIVENESS, 0x12345678);
	printf("edupt: liveness %08x\n", rd32(regs + EDU_LIVENESS));

	unsigned before = irqs;
	wr32(regs + EDU_STATUS, 0x80);
	wr32(regs + EDU_FACT, 10);
	xen_wait_until(irqs != before);
	printf("edupt: 10! = %u, irq status %x\n", rd32(regs + EDU_FACT), rd32(regs + EDU_IRQ_STATUS));
	wr32(regs + EDU_IRQ_ACK, 1);

	for (unsigned i = 0; i < sizeof src_buf; i++) src_buf[i] = (uint8_t)(i * 13 + 5);
	memset(dst_buf, 0, sizeof dst_buf);
	dma((uintptr_t)src_buf, EDU_DMA_BUF, sizeof src_buf, 0);
	dma(EDU_DMA_BUF, (uintptr_t)dst_buf, sizeof dst_buf, 1);
	printf("edupt: DMA %u bytes to the device and back through the IOMMU: %s\n", (unsigned)sizeof src_buf,
	       memcmp(src_buf, dst_buf, sizeof src_buf) ? "DIFFERENT" : "identical");

	/* The filter: a BAR write does not move the BAR (sizing still works). */
	pci_conf_write(0, bus, devfn, 0x10, 4, 0x80000000u);
	uint64_t after = pci_bar(0, bus, devfn, 0);
	pci_conf_write(0, bus, devfn, 0x10, 4, 0xffffffffu);
	uint32_t size = ~((uint32_t)pci_conf_read(0, bus, devfn, 0x10, 4) & ~0xfu) + 1;
	pci_conf_write(0, bus, devfn, 0x10, 4, (uint32_t)regs);
	printf("edupt: BAR0 write refused: still at %lx, size %u KiB\n", (unsigned long)after, size >> 10);
	printf("edupt: %u interrupts, done\n", irqs);
	return 0;
}
