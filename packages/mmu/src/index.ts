// @tachyxx/mmu: stage-1/stage-2 translation, the modelled TLB and its variants, translation stats.
export { Mmu, DEFAULT_MMU_COSTS, TAGGED_TLB, UNTAGGED_TLB } from './mmu.js';
export type { MmuOptions, MmuCosts, AdMode, SoftTlbInvalidator, TlbTagPolicy, TlbSwitchTarget } from './mmu.js';
export { AssocCache, F_GLOBAL, F_S1ON } from './cache.js';
export { MmuStats, VmidStats, FlushStats, MMU_FAULT_CAUSES, WALK_REF_BOUNDS } from './stats.js';
export * from './pte.js';
export { walkStage2, Stage2Walk, S2_WALK_NOT_RAM, S2_WALK_INVALID } from './stage2.js';
export { MMU_FACTORY, MMU_PLUGINS, mmuTagged, mmuUntagged } from './plugin.js';
export type { MmuFactory, MmuVariant } from './plugin.js';
