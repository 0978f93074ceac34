// @tachyxx/irq-remap: MSI/MSI-X interrupt remapping for a PCIe subsystem (posted, forwarded, none),
// delivering to guests through pirq event channels.
export {
  IrqRemapper, IRQ_REMAP_VARIANTS, DEFAULT_IRQ_REMAP_COSTS, DEFAULT_REMAP_ENTRIES, MAX_REMAP_ENTRIES, MSI_ADDR_BASE, MSI_ADDR_SIZE,
  MSI_ADDR_IF, MSI_ADDR_SHV, MSI_ADDR_HANDLE15, FIRST_DYNAMIC_VECTOR, IRQ_REMAP_FAULT, MSI_DELIVERED,
  type IrqRemapVariant, type IrqRemapCosts, type IrqRemapHost, type IrqRemapperOptions, type RemapTarget, type IrqRemapFault, type MsiDeliveredEvent,
} from './remapper.js';
export { IrqRemapStats, LATENCY_BOUNDS_NS } from './stats.js';
export {
  IrqRemapComponent, IRQ_REMAP_COMPONENT, MSI_REMAPPERS, IRQ_REMAP_PLUGINS, irqRemapPosted, irqRemapForwarded, irqRemapNone,
  type MsiRemappers,
} from './component.js';
