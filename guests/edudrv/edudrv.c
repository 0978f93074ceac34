/* edudrv - a bare-metal driver for the edu PCIe test device (QEMU's hw/misc/edu.c register map,
 * MSI-X instead of MSI), run by `tachyxx run --bare` with the host's PCIe topology reachable.
 *
 * The firmware has enumerated the topology (bus numbers, BARs, bridge windows). The driver:
 *  1. walks ECAM (segment 0 at PCIE_ECAM) for vendor 1234 device 11e8 and reads its BARs,
 *  2. turns on Memory Space and Bus Master, points MSI-X vector 0 at a word in RAM (the bare
 *     platform has no interrupt controller: the MSI write lands in memory) and enables MSI-X,
 *  3. checks the id and liveness registers, computes 10! with "interrupt when done",
 *  4. DMAs a buffer RAM -> device and device -> RAM with completion interrupts, and compares,
 *  5. refuses nothing it should not: a DMA with Bus Master off moves no byte.
 * Every wait polls a device register (status / DMA command), as QEMU's edu driver does. */
#include "tachyxx.h"

#define PCIE_ECAM 0x400000000UL /* Tachyxx platform: ECAM of channel 0 (256 buses x 1 MiB) */
#define EDU_VENDOR 0x1234
#define EDU_DEVICE 0x11e8

#define PCI_COMMAND 0x04
#define PCI_CMD_MEMORY 0x2
#define PCI_CMD_MASTER 0x4
#define PCI_CAP_LIST 0x34
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
static inline uint16_t rd16(uintptr_t a) { return *(volatile uint16_t *)a; }
static inline uint8_t rd8(uintptr_t a) { return *(volatile uint8_t *)a; }
static inline void wr32(uintptr_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline void wr16(uintptr_t a, uint16_t v) { *(volatile uint16_t *)a = v; }
static inline void wr64(uintptr_t a, uint64_t v) { *(volatile uint64_t *)a = v; }
static inline uint64_t rd64(uintptr_t a) { return *(volatile uint64_t *)a; }

static uintptr_t cfg(unsigned bus, unsigned devfn, unsigned off) { return PCIE_ECAM + ((uintptr_t)bus << 20) + ((uintptr_t)devfn << 12) + off; }

static volatile uint32_t msi_word; /* MSI-X vector 0 writes its data here */
static uint8_t src_buf[512] __attribute__((aligned(64)));
static uint8_t dst_buf[512] __attribute__((aligned(64)));

static uintptr_t bar(unsigned bus, unsigned devfn, int i)
{
	uint32_t lo = rd32(cfg(bus, devfn, 0x10 + 4 * i));
	uint64_t a = lo & ~0xfu;
	if ((lo & 6) == 4) a |= (uint64_t)rd32(cfg(bus, devfn, 0x14 + 4 * i)) << 32;
	return (uintptr_t)a;
}

/* Waits for the DMA command's run bit to clear; returns the polls it took. */
static unsigned dma_wait(uintptr_t regs)
{
	unsigned n = 0;
	while (rd64(regs + EDU_DMA_CMD) & 1) n++;
	return n;
}

int main(void)
{
	unsigned bus, devfn = 0;
	for (bus = 0; bus < 256; bus++)
		if (rd16(cfg(bus, 0, 0)) == EDU_VENDOR && rd16(cfg(bus, 0, 2)) == EDU_DEVICE) break;
	if (bus == 256) { puts("edu: not found"); return 1; }
	uintptr_t regs = bar(bus, devfn, 0), msix = 0;
	printf("edu: found at %02x:%02x.%u, BAR0 %lx\n", bus, devfn >> 3, devfn & 7, (unsigned long)regs);

	/* MSI-X capability: table BIR and offset */
	unsigned cap = rd8(cfg(bus, devfn, PCI_CAP_LIST)), msix_cap = 0;
	while (cap) {
		if (rd8(cfg(bus, devfn, cap)) == PCI_CAP_ID_MSIX) { msix_cap = cap; break; }
		cap = rd8(cfg(bus, devfn, cap + 1));
	}
	if (!msix_cap) { puts("edu: no MSI-X capability"); return 1; }
	uint32_t tbl = rd32(cfg(bus, devfn, msix_cap + 4));
	msix = bar(bus, devfn, tbl & 7) + (tbl & ~7u);
	printf("edu: MSI-X at cap 0x%x, %u vector(s), table in BAR%u\n", msix_cap, (rd16(cfg(bus, devfn, msix_cap + 2)) & 0x7ff) + 1, tbl & 7);

	wr16(cfg(bus, devfn, PCI_COMMAND), PCI_CMD_MEMORY | PCI_CMD_MASTER);
	wr32(msix + 0, (uint32_t)(uintptr_t)&msi_word);
	wr32(msix + 4, (uint32_t)((uint64_t)(uintptr_t)&msi_word >> 32));
	wr32(msix + 8, 0xed0001);
	wr32(msix + 12, 0); /* unmask */
	wr16(cfg(bus, devfn, msix_cap + 2), MSIX_ENABLE);

	printf("edu: id %08x\n", rd32(regs + EDU_ID));
	wr32(regs + EDU_LIVENESS, 0x12345678);
	printf("edu: liveness %08x\n", rd32(regs + EDU_LIVENESS));

	/* factorial with an interrupt on completion */
	wr32(regs + EDU_STATUS, 0x80);
	wr32(regs + EDU_FACT, 10);
	unsigned polls = 0;
	while (rd32(regs + EDU_STATUS) & 1) polls++;
	printf("edu: 10! = %u (waited: %s), irq status %x, msi %x\n", rd32(regs + EDU_FACT), polls ? "yes" : "no",
	       rd32(regs + EDU_IRQ_STATUS), msi_word);
	wr32(regs + EDU_IRQ_ACK, rd32(regs + EDU_IRQ_STATUS));
	msi_word = 0;

	/* DMA RAM -> device buffer, then back to another RAM buffer */
	for (unsigned i = 0; i < sizeof src_buf; i++) src_buf[i] = (uint8_t)(i * 7 + 3);
	memset(dst_buf, 0, sizeof dst_buf);
	wr64(regs + EDU_DMA_SRC, (uintptr_t)src_buf);
	wr64(regs + EDU_DMA_DST, EDU_DMA_BUF + 0x100);
	wr64(regs + EDU_DMA_CNT, sizeof src_buf);
	wr64(regs + EDU_DMA_CMD, 1 | 4);
	polls = dma_wait(regs);
	printf("edu: DMA to device done (waited: %s), irq status %x, msi %x\n", polls ? "yes" : "no", rd32(regs + EDU_IRQ_STATUS), msi_word);
	wr32(regs + EDU_IRQ_ACK, 0x100);
	msi_word = 0;
	wr64(regs + EDU_DMA_SRC, EDU_DMA_BUF + 0x100);
	wr64(regs + EDU_DMA_DST, (uintptr_t)dst_buf);
	wr64(regs + EDU_DMA_CNT, sizeof dst_buf);
	wr64(regs + EDU_DMA_CMD, 1 | 2 | 4);
	dma_wait(regs);
	printf("edu: DMA to RAM done, msi %x, data %s\n", msi_word, memcmp(src_buf, dst_buf, sizeof src_buf) ? "DIFFERENT" : "identical");
	wr32(regs + EDU_IRQ_ACK, 0x100);

	/* Bus Master off: the device may not touch memory */
	wr16(cfg(bus, devfn, PCI_COMMAND), PCI_CMD_MEMORY);
	memset(dst_buf, 0xaa, sizeof dst_buf);
	wr64(regs + EDU_DMA_SRC, EDU_DMA_BUF + 0x100);
	wr64(regs + EDU_DMA_DST, (uintptr_t)dst_buf);
	wr64(regs + EDU_DMA_CNT, 64);
	wr64(regs + EDU_DMA_CMD, 1 | 2);
	dma_wait(regs);
	printf("edu: DMA without bus master: RAM %s\n", dst_buf[0] == 0xaa && dst_buf[63] == 0xaa ? "untouched" : "WRITTEN");
	return 0;
}
