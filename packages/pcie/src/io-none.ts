/**
 * The `none` variants of the PCIeSS's two slots, for hosts without an IOMMU or an interrupt
 * remapper (and for testing pcie alone): device addresses are machine addresses, and MSI writes go
 * straight to whatever their address names. `@tachyxx/iommu` and `@tachyxx/irq-remap` provide the
 * real ones through the same interfaces (core's io.ts).
 */
import type { IoTranslator, MsiRemapper } from '@tachyxx/core';

/** No IOMMU: the device address is the machine address, for every requester; no cost. */
export class IdentityTranslator implements IoTranslator {
  translations = 0;
  translate(_rid: number, iova: number, _access: number, cost: { cycles: number }): number {
    this.translations++;
    cost.cycles = 0;
    return Number.isSafeInteger(iova) && iova >= 0 ? iova : -1;
  }
}

/** One MSI write as the PCIeSS saw it. */
export interface MsiMessage {
  rid: number;
  addr: number;
  data: number;
}

/** How many messages DirectMsiRemapper keeps in `log` (the oldest are dropped). */
export const DIRECT_MSI_LOG = 256;

/**
 * No remapping: every MSI write is delivered as written (the hypervisor must trap the MSI-X table
 * to keep a guest from aiming interrupts anywhere). `deliver` is the platform's interrupt
 * controller (the bare machine raises an external interrupt); messages are also logged.
 */
export class DirectMsiRemapper implements MsiRemapper {
  readonly log: MsiMessage[] = [];
  delivered = 0;
  constructor(public deliver: ((addr: number, data: number, rid: number) => void) | null = null) {}
  msi(rid: number, addr: number, data: number): boolean {
    this.delivered++;
    this.log.push({ rid, addr, data });
    if (this.log.length > DIRECT_MSI_LOG) this.log.shift();
    this.deliver?.(addr, data, rid);
    return true;
  }
}

/**
 * The platform without an interrupt controller (the bare machine today): an MSI is what it is on
 * the wire, a 4-byte posted write of `data` to `addr`; when `addr` is RAM it lands there (a driver
 * sees the completion message in memory), anywhere else it is dropped. Returns the deliver hook
 * for DirectMsiRemapper.
 */
export function msiToMemory(mem: { readonly base: number; readonly size: number; readonly view: DataView; notifyWrite(off: number, len: number): void }): (addr: number, data: number) => void {
  return (addr, data) => {
    const off = addr - mem.base;
    if (off < 0 || off + 4 > mem.size || off % 4 !== 0) return;
    mem.view.setUint32(off, data >>> 0, true);
    mem.notifyWrite(off, 4);
  };
}
