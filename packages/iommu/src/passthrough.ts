// The check a toolstack runs before it passes a PCIe function through to a domain: with no IOMMU
// (variant none) the device's DMA reaches all of machine memory — the book's "safe DMA" problem —
// so the host must say `unsafe-passthrough: true` in the iommu component's config. Xen has no such
// escape: iommu_do_domctl answers XEN_DOMCTL_assign_device with -EOPNOTSUPP when the IOMMU is off
// (xen/drivers/passthrough/iommu.c); the flag plays the part of Linux VFIO's explicit no-IOMMU mode.
import type { IommuVariant } from './iommu.js';

/** Xen's EOPNOTSUPP: what XEN_DOMCTL_assign_device returns without an IOMMU. */
export const EOPNOTSUPP = 95;

export interface PassthroughVerdict {
  readonly allowed: boolean;
  /** 0, or -EOPNOTSUPP when refused (the domctl's answer). */
  readonly errno: number;
  /** Why not (or, when allowed without an IOMMU, the warning to log). */
  readonly reason: string;
}

/**
 * May a device be passed through to a domain on this host? `variant` is the iommu component's
 * variant, `unsafePassthrough` its `unsafe-passthrough` param. shared-stage2 and private always
 * may; none only with the flag (then with a warning: the guest's device can write anywhere).
 */
export function passthroughAllowed(variant: IommuVariant, unsafePassthrough: boolean): PassthroughVerdict {
  if (variant !== 'none') return { allowed: true, errno: 0, reason: `DMA is translated by the IOMMU (${variant})` };
  if (unsafePassthrough) {
    return { allowed: true, errno: 0, reason: 'no IOMMU: the device can read and write all machine memory (unsafe-passthrough is set)' };
  }
  return {
    allowed: false,
    errno: -EOPNOTSUPP,
    reason: "no IOMMU (components.iommu.variant is 'none'): a passed-through device could DMA into any domain's memory; set components.iommu.unsafe-passthrough: true to allow it anyway",
  };
}
