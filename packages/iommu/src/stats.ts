// The IOMMU's stats tree: one IommuStats per IOMMU (per PCIeSS), with a DeviceStats group per
// requester ID that ever issued a transaction or got a context (`rid<N>`, N = the 16-bit BDF).
import { InstanceGroups, StatGroup, type Counter } from '@tachyxx/core';
import type { IoFaultKind } from '@tachyxx/core';

/** The fault kinds an IOMMU records (the MSI kinds belong to the interrupt remapper). */
export const IOMMU_FAULT_KINDS = ['no-context', 'translation', 'permission', 'bus-master'] as const satisfies readonly IoFaultKind[];
export type IommuFaultKind = (typeof IOMMU_FAULT_KINDS)[number];

/** Bounds of the references-per-walk histogram (a cold stage-2 walk is 4; the page-walk cache makes it 1). */
export const IOMMU_WALK_REF_BOUNDS = [0, 1, 2, 3, 4] as const;

export class DeviceStats extends StatGroup {
  readonly translations = this.counter('translations', 'count', 'translate() calls from this requester (one per page a DMA touches)');
  readonly iotlbHits = this.counter('iotlbHits', 'count', 'translations served by the IOTLB');
  readonly iotlbMisses = this.counter('iotlbMisses', 'count', 'translations that walked the I/O page table');
  readonly walkRefs = this.counter('walkRefs', 'count', 'page-table references (PTE reads) of its walks');
  readonly faults = this.counter('faults', 'count', 'translations refused (every kind)');
  readonly invalidations = this.counter('invalidations', 'count', 'device-selective invalidations (IODIR.INVAL_DDT with DV=1 for it)');
  readonly cycles = this.counter('cycles', 'cycle', 'simulated cycles of its translations (IOTLB lookups, context loads, walks)');
}

export class InvalidationStats extends StatGroup {
  readonly gvmaAddr = this.counter('gvmaAddr', 'count', 'IOTINVAL.GVMA GV=1 AV=1: one domain, an address range');
  readonly gvmaDomain = this.counter('gvmaDomain', 'count', 'IOTINVAL.GVMA GV=1 AV=0: one domain');
  readonly gvmaGlobal = this.counter('gvmaGlobal', 'count', 'IOTINVAL.GVMA GV=0: every domain');
  readonly vma = this.counter('vma', 'count', 'IOTINVAL.VMA (first-stage entries: none are cached, no effect)');
  readonly ddtDevice = this.counter('ddtDevice', 'count', 'IODIR.INVAL_DDT DV=1: one device context (and its IOTLB entries)');
  readonly ddtAll = this.counter('ddtAll', 'count', 'IODIR.INVAL_DDT DV=0: every device context');
  readonly fences = this.counter('fences', 'count', 'IOFENCE.C completions');
  readonly droppedEntries = this.counter('droppedEntries', 'count', 'IOTLB entries dropped by invalidations');
  readonly queueFull = this.counter('queueFull', 'count', 'commands refused because the command queue was full');
}

export class IommuStats extends StatGroup {
  readonly translations = this.counter('translations', 'count', 'translate() calls (one per page a DMA touches)');
  readonly iotlbHits = this.counter('iotlbHits', 'count', 'translations served by the IOTLB');
  readonly iotlbMisses = this.counter('iotlbMisses', 'count', 'translations that walked the I/O page table');
  readonly iotlbHitRatio = this.formula('iotlbHitRatio', 'ratio', 'iotlbHits / (iotlbHits + iotlbMisses)', () => this.iotlbHits.value / (this.iotlbHits.value + this.iotlbMisses.value));
  readonly iotlbEvictions = this.counter('iotlbEvictions', 'count', 'valid IOTLB entries replaced (LRU within the set)');
  readonly walks = this.counter('walks', 'count', 'I/O page-table walks (including those that fault)');
  readonly walkRefs = this.counter('walkRefs', 'count', 'page-table references (PTE reads) of all walks');
  readonly refsPerWalk = this.histogram('refsPerWalk', 'count', 'PTE reads per walk', IOMMU_WALK_REF_BOUNDS);
  readonly pwcHits = this.counter('pwcHits', 'count', 'page-walk cache hits (a walk starting below the root)');
  readonly pwcMisses = this.counter('pwcMisses', 'count', 'page-walk cache misses (a walk from the root)');
  readonly contextLoads = this.counter('contextLoads', 'count', 'device contexts read from the device directory (context-cache misses)');
  readonly passthrough = this.counter('passthrough', 'count', 'translations with no IOMMU (variant none): device address = machine address');
  readonly unclaimed = this.counter('unclaimed', 'count', 'variant none: a device address outside RAM (master abort, nothing written)');
  readonly cycles = this.counter('cycles', 'cycle', 'simulated cycles of all translations');
  readonly faultGroup = this.group('faults');
  readonly faults: Readonly<Record<IommuFaultKind, Counter>>;
  readonly faultRecords = this.counter('faultRecords', 'count', 'records written to the fault queue');
  readonly faultOverflows = this.counter('faultOverflows', 'count', 'faults dropped because the fault queue was full (fqcsr.fqof)');
  readonly faultInterrupts = this.counter('faultInterrupts', 'count', 'fault interrupts raised to PL1 (fip 0 -> 1)');
  readonly invalidations = this.mount('invalidations', new InvalidationStats());
  readonly p2mSyncs = this.counter('p2mSyncs', 'count', 'P2M changes the IOMMU followed (private: table writes; shared: IOTLB invalidations)');
  readonly p2mSyncCycles = this.counter('p2mSyncCycles', 'cycle', 'hypervisor cycles spent keeping the IOMMU in step with P2M changes');
  readonly privatePtes = this.counter('privatePtes', 'count', 'private I/O page-table leaves written or cleared (variant private)');
  readonly devices: InstanceGroups<DeviceStats>;

  constructor() {
    super();
    const f = {} as Record<IommuFaultKind, Counter>;
    for (const k of IOMMU_FAULT_KINDS) f[k] = this.faultGroup.counter(k, 'count', `${k} faults`);
    this.faults = f;
    this.devices = new InstanceGroups(this.group('devices'), 'rid', () => new DeviceStats());
  }
}
