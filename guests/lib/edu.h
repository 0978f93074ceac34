/* QEMU's edu PCI device (hw/misc/edu.c) as Tachyxx models it (packages/pcie/src/edu.ts): ids,
 * the BAR0 register map, the DMA buffer window, and the MMIO accessors the edu drivers use
 * (edudrv bare, edupt / eduevil / edubench passed through to a domU). */
#ifndef TACHYXX_EDU_H
#define TACHYXX_EDU_H
#include <stdint.h>

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

static inline uint8_t rd8(uintptr_t a) { return *(volatile uint8_t *)a; }
static inline uint16_t rd16(uintptr_t a) { return *(volatile uint16_t *)a; }
static inline uint32_t rd32(uintptr_t a) { return *(volatile uint32_t *)a; }
static inline uint64_t rd64(uintptr_t a) { return *(volatile uint64_t *)a; }
static inline void wr32(uintptr_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline void wr64(uintptr_t a, uint64_t v) { *(volatile uint64_t *)a = v; }

#endif
