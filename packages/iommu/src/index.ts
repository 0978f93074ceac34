// @tachyxx/iommu: the IOMMU of a PCIe subsystem (device contexts, IOTLB, stage-2 walks shared with
// the CPU's MMU, command and fault queues) and its host component (variants shared-stage2, private, none).
export {
  Iommu, IOMMU_VARIANTS, DEFAULT_IOMMU_COSTS, DEFAULT_COMMAND_QUEUE_ENTRIES, DEFAULT_FAULT_QUEUE_ENTRIES,
  IOMMU_CAUSE, TTYP_UNTRANSLATED_READ, TTYP_UNTRANSLATED_WRITE, FAULT_LOG_BURST, FAULT_LOG_WINDOW_NS, IOMMU_FAULT, bdf,
  type IommuVariant, type IommuCosts, type IommuOptions, type IommuCommand, type IommuFaultRecord, type DeviceContextSpec, type IommuDomains,
} from './iommu.js';
export { IommuStats, DeviceStats, InvalidationStats, IOMMU_FAULT_KINDS, IOMMU_WALK_REF_BOUNDS, type IommuFaultKind } from './stats.js';
export { passthroughAllowed, EOPNOTSUPP, type PassthroughVerdict } from './passthrough.js';
export {
  IommuComponent, IOMMU_COMPONENT, IO_TRANSLATORS, IOMMU_PLUGINS, iommuSharedStage2, iommuPrivate, iommuNone,
  type IommuConfig, type IoTranslators,
} from './component.js';
