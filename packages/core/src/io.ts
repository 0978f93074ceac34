/**
 * The contract between devices on PCIe and the PCIe subsystem's IOMMU and interrupt remapper
 * (the book's chapter 9: every PCIeSS holds an IOMMU and DMA engines; MSI writes are remapped).
 * `@tachyxx/pcie` calls these; `@tachyxx/iommu` and `@tachyxx/irq-remap` implement them. They live
 * in core so neither side depends on the other.
 *
 * Addresses are numbers (< 2^53: the host's machine memory is far below that). Requester IDs are
 * PCIe's 16-bit bus/device/function (`bdf`), as the IOMMU's device-context lookup keys them.
 */

/** A DMA access kind, a bit set (a read-modify-write asks for both). */
export const DMA_READ = 1;
export const DMA_WRITE = 2;

/** Why a device access or MSI was refused (RISC-V IOMMU fault classes where they exist). */
export type IoFaultKind =
  | 'no-context' // requester ID without a device context (RISC-V IOMMU cause 258 "DDT entry not valid")
  | 'translation' // no mapping for the address (page fault)
  | 'permission' // mapped, but not for this access kind
  | 'bus-master' // the function's Command.BusMaster is clear: the device may not issue DMA at all
  | 'msi-unmapped' // MSI write with no remapping entry
  | 'msi-wrong-device'; // the entry exists but belongs to another requester

export interface IoFault {
  /** Simulated ns. */
  time: number;
  rid: number;
  /** Device address (IOVA) or, for MSI faults, the MSI address. */
  addr: number;
  kind: IoFaultKind;
  access: number;
}

/**
 * Device-address translation for one PCIeSS (an IOMMU, or the identity of a host without one).
 * Called by DMA engines once per page touched, never per byte; must not throw for device input.
 */
export interface IoTranslator {
  /**
   * Translates the page holding `iova` for requester `rid` and `access` (DMA_READ | DMA_WRITE).
   * Returns the machine address of `iova` (the caller may use it up to the end of that 4 KiB page),
   * or -1 when refused: the fault is recorded by the translator (fault queue, stats, bus event).
   * `cost` receives the simulated cycles the translation took (IOTLB hit, walk references).
   */
  translate(rid: number, iova: number, access: number, cost: { cycles: number }): number;
}

/** MSI/MSI-X delivery for one PCIeSS (an interrupt remapper, or direct delivery without one). */
export interface MsiRemapper {
  /**
   * A device's MSI write: `addr`/`data` as the function's MSI-X table entry holds them, from
   * requester `rid`. Returns true when delivered or queued for its vCPU, false when blocked (the
   * fault is recorded by the remapper). Must not throw for device input.
   */
  msi(rid: number, addr: number, data: number): boolean;
}
