/* pcifront.h - a PV PCI front end over physdev_op (packages/abi/src/physdev.ts, docs/abi.md "PCI
 * passthrough"): config-space access to the functions the toolstack assigned to this domain
 * (Tachyxx sub-ops 0x7a00 / 0x7a01, filtered as Linux pciback does), MSI-X entries mapped to pirqs
 * with Xen's PHYSDEVOP_map_pirq and bound to event channels with EVTCHNOP_bind_pirq.
 * Include after evtchn.h. */
#ifndef TACHYXX_XENLIB_PCIFRONT_H
#define TACHYXX_XENLIB_PCIFRONT_H
#include "evtchn.h"

#define __HYPERVISOR_physdev_op 33
#define PHYSDEVOP_irq_status_query 5
#define PHYSDEVOP_eoi              12
#define PHYSDEVOP_map_pirq         13
#define PHYSDEVOP_unmap_pirq       14
#define PHYSDEVOP_manage_pci_add   15
#define PHYSDEVOP_manage_pci_remove 16
#define PHYSDEVOP_get_free_pirq    23
#define PHYSDEVOP_pci_device_add   25
#define PHYSDEVOP_pci_device_remove 26
#define PHYSDEVOP_prepare_msix     30
#define PHYSDEVOP_release_msix     31
#define MAP_PIRQ_TYPE_MSI       0
#define MAP_PIRQ_TYPE_GSI       1
#define MAP_PIRQ_TYPE_UNKNOWN   2
#define PHYSDEVOP_tachyxx_pci_config_read 0x7a00
#define PHYSDEVOP_tachyxx_pci_config_write 0x7a01
#define MAP_PIRQ_TYPE_MSI_SEG   3
#define MAP_PIRQ_TYPE_MULTI_MSI 4
#define EVTCHNOP_bind_pirq 2
#define XEN_ENODEV 19

/* The guest PCI MMIO window (Xen's Arm GUEST_VPCI_MEM_ADDR / _SIZE). */
#define GUEST_VPCI_MEM_ADDR 0x23000000UL
#define GUEST_VPCI_MEM_SIZE 0x10000000UL

struct physdev_tachyxx_pci_config { uint16_t seg; uint8_t bus; uint8_t devfn; uint16_t reg; uint8_t len; uint8_t pad; uint32_t value; };
_Static_assert(sizeof(struct physdev_tachyxx_pci_config) == 12, "physdev_tachyxx_pci_config layout");
struct physdev_map_pirq { uint16_t domid; int32_t type; int32_t index; int32_t pirq; int32_t bus; int32_t devfn; int32_t entry_nr; uint64_t table_base; };
_Static_assert(sizeof(struct physdev_map_pirq) == 40, "physdev_map_pirq layout");
_Static_assert(__builtin_offsetof(struct physdev_map_pirq, table_base) == 32, "physdev_map_pirq layout");
struct physdev_unmap_pirq { uint16_t domid; int32_t pirq; };
/* struct evtchn_bind_pirq: evtchn.h */

static inline long HYPERVISOR_physdev_op(int cmd, void *arg) { return hypercall6(__HYPERVISOR_physdev_op, cmd, (long)arg, 0, 0, 0, 0); }

/* Reads `len` bytes at `reg`; the value, or -errno. */
static inline long pci_conf_read(unsigned seg, unsigned bus, unsigned devfn, unsigned reg, unsigned len)
{
	struct physdev_tachyxx_pci_config c = { (uint16_t)seg, (uint8_t)bus, (uint8_t)devfn, (uint16_t)reg, (uint8_t)len, 0, 0 };
	long rc = HYPERVISOR_physdev_op(PHYSDEVOP_tachyxx_pci_config_read, &c);
	return rc < 0 ? rc : (long)c.value;
}

static inline long pci_conf_write(unsigned seg, unsigned bus, unsigned devfn, unsigned reg, unsigned len, uint32_t v)
{
	struct physdev_tachyxx_pci_config c = { (uint16_t)seg, (uint8_t)bus, (uint8_t)devfn, (uint16_t)reg, (uint8_t)len, 0, v };
	return HYPERVISOR_physdev_op(PHYSDEVOP_tachyxx_pci_config_write, &c);
}

/* The guest-physical address of BAR `i` (as the toolstack mapped it). */
static inline uint64_t pci_bar(unsigned seg, unsigned bus, unsigned devfn, int i)
{
	uint32_t lo = (uint32_t)pci_conf_read(seg, bus, devfn, 0x10 + 4 * i, 4);
	uint64_t a = lo & ~0xfu;
	if ((lo & 6) == 4) a |= (uint64_t)(uint32_t)pci_conf_read(seg, bus, devfn, 0x14 + 4 * i, 4) << 32;
	return a;
}

/* Offset of capability `id`, or 0. */
static inline unsigned pci_find_cap(unsigned seg, unsigned bus, unsigned devfn, unsigned id)
{
	unsigned cap = (unsigned)pci_conf_read(seg, bus, devfn, 0x34, 1) & 0xfc;
	for (int n = 0; cap >= 0x40 && n < 48; n++) {
		if ((unsigned)pci_conf_read(seg, bus, devfn, cap, 1) == id) return cap;
		cap = (unsigned)pci_conf_read(seg, bus, devfn, cap + 1, 1) & 0xfc;
	}
	return 0;
}

/* Finds the first assigned function with these ids on segment `seg`: *bus / *devfn; 0 or -1. */
static inline int pci_find_device(unsigned seg, uint16_t vendor, uint16_t device, unsigned *bus, unsigned *devfn)
{
	for (unsigned b = 0; b < 256; b++)
		for (unsigned df = 0; df < 256; df += 8) {
			long id = pci_conf_read(seg, b, df, 0, 4);
			if (id == -XEN_ENODEV || id < 0) continue; /* not ours: as absent */
			if ((id & 0xffff) == vendor && ((uint32_t)id >> 16) == device) { *bus = b; *devfn = df; return 0; }
		}
	return -1;
}

/* PHYSDEVOP_map_pirq for MSI-X entry `entry` (the hypervisor programs the table); the pirq or -errno. */
static inline long pci_map_msix(unsigned seg, unsigned bus, unsigned devfn, unsigned entry, uint64_t table_base)
{
	struct physdev_map_pirq m = { DOMID_SELF, MAP_PIRQ_TYPE_MSI_SEG, -1, -1, (int32_t)((seg << 16) | bus), (int32_t)devfn, (int32_t)entry, table_base };
	long rc = HYPERVISOR_physdev_op(PHYSDEVOP_map_pirq, &m);
	return rc < 0 ? rc : m.pirq;
}

/* EVTCHNOP_bind_pirq; the port or -errno. */
static inline long xen_evtchn_bind_pirq(uint32_t pirq)
{
	struct evtchn_bind_pirq b = { pirq, 0, 0 };
	long rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_pirq, &b);
	return rc < 0 ? rc : (long)b.port;
}
#endif
