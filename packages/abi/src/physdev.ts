/**
 * Xen's physdev_op ABI (xen/include/public/physdev.h; hypercall 33) for PCI passthrough, plus the
 * Tachyxx config-space sub-ops. Numbers only: `@tachyxx/passthrough` implements them.
 *
 * Xen gives a PV guest config-space access to a passed-through function through pcifront /
 * pciback over xenbus (Linux drivers/xen/xen-pciback): Xen itself has no physdev op for it. The
 * book's PV PCI (section 8.4) goes through the hypervisor, so Tachyxx defines two sub-ops in a
 * range Xen does not use (PHYSDEVOP_TACHYXX_BASE = 0x7a00; Xen's ops end at 31), filtered with
 * pciback's rules (docs/abi.md "PCI passthrough").
 */

/** `PHYSDEVOP_*` numbers (physdev.h) this ABI implements or refers to. */
export const PhysdevOp = {
  eoi: 12,
  irq_status_query: 5,
  map_pirq: 13,
  unmap_pirq: 14,
  manage_pci_add: 15,
  manage_pci_remove: 16,
  get_free_pirq: 23,
  pci_device_add: 25,
  pci_device_remove: 26,
  prepare_msix: 30,
  release_msix: 31,
} as const;

/** First Tachyxx physdev sub-op (a range Xen does not use). */
export const PHYSDEVOP_TACHYXX_BASE = 0x7a00;
/** Tachyxx: read a register of a function assigned to the caller (struct physdev_tachyxx_pci_config). */
export const PHYSDEVOP_tachyxx_pci_config_read = PHYSDEVOP_TACHYXX_BASE + 0;
/** Tachyxx: write a register of a function assigned to the caller (filtered as pciback does). */
export const PHYSDEVOP_tachyxx_pci_config_write = PHYSDEVOP_TACHYXX_BASE + 1;

/** `MAP_PIRQ_TYPE_*` of physdev_map_pirq. */
export const MapPirqType = { MSI: 0, GSI: 1, UNKNOWN: 2, MSI_SEG: 3, MULTI_MSI: 4 } as const;

/**
 * `struct physdev_map_pirq` (size 40): domid_t domid @0; int type @4; int index @8; int pirq @12
 * (IN: -1 = any, OUT: the pirq); int bus @16 (MSI_SEG: segment in bits 31:16); int devfn @20;
 * int entry_nr @24 (the MSI-X table entry); uint64_t table_base @32 (the MSI-X table's address:
 * non-zero means MSI-X).
 */
export const PhysdevMapPirq = {
  size: 40,
  domid: { offset: 0, size: 2 },
  type: { offset: 4, size: 4 },
  index: { offset: 8, size: 4 },
  pirq: { offset: 12, size: 4 },
  bus: { offset: 16, size: 4 },
  devfn: { offset: 20, size: 4 },
  entry_nr: { offset: 24, size: 4 },
  table_base: { offset: 32, size: 8 },
} as const;

/** `struct physdev_unmap_pirq` (size 8): domid_t domid @0; int pirq @4. */
export const PhysdevUnmapPirq = {
  size: 8,
  domid: { offset: 0, size: 2 },
  pirq: { offset: 4, size: 4 },
} as const;

/**
 * Tachyxx `struct physdev_tachyxx_pci_config` (size 12): uint16_t seg @0; uint8_t bus @2;
 * uint8_t devfn @3; uint16_t reg @4 (0..4095, aligned to len); uint8_t len @6 (1, 2 or 4);
 * uint8_t pad @7 (must be 0); uint32_t value @8 (OUT for read, IN for write).
 */
export const PhysdevTachyxxPciConfig = {
  size: 12,
  seg: { offset: 0, size: 2 },
  bus: { offset: 2, size: 1 },
  devfn: { offset: 3, size: 1 },
  reg: { offset: 4, size: 2 },
  len: { offset: 6, size: 1 },
  pad: { offset: 7, size: 1 },
  value: { offset: 8, size: 4 },
} as const;

/** `XEN_DOMCTL_assign_device` / `_test_assign_device` / `_deassign_device` (domctl.h). */
export const XEN_DOMCTL_assign_device = 37;
export const XEN_DOMCTL_test_assign_device = 45;
export const XEN_DOMCTL_deassign_device = 47;
/** `XEN_DOMCTL_DEV_RDM_RELAXED` flag of assign_device (rdm_policy=relaxed). */
export const XEN_DOMCTL_DEV_RDM_RELAXED = 1;

/**
 * The guest's PCI MMIO window: where the toolstack maps a passed-through function's BARs in the
 * guest-physical map. Xen's Arm guest layout (public/arch-arm.h): GUEST_VPCI_MEM_ADDR 0x23000000,
 * GUEST_VPCI_MEM_SIZE 0x10000000 (256 MiB), below guest RAM (0x8000_0000 on Tachyxx).
 */
export const GUEST_VPCI_MEM_ADDR = 0x2300_0000;
export const GUEST_VPCI_MEM_SIZE = 0x1000_0000;
