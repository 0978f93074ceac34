// The mmu component's plugin entries: `tagged` and `untagged`. The composition root selects one by
// config (`components: { mmu: { variant: tagged, entries: 64, ... } }`) and resolves MMU_FACTORY
// to build one MMU per hart (mounting its stats at `host.cpu<N>.mmu`).
import { bindSingleton, componentCosts, definePlugin, defineToken, p, resolve, TOKENS } from '@tachyxx/core';
import type { PhysMemory } from '@tachyxx/isa';
import { DEFAULT_MMU_COSTS, Mmu, TAGGED_TLB, UNTAGGED_TLB, type AdMode, type MmuOptions, type SoftTlbInvalidator, type TlbTagPolicy } from './mmu.js';
import { MmuStats } from './stats.js';

export type MmuVariant = 'tagged' | 'untagged';

/** Builds the MMU of one hart over the machine's physical memory. */
export interface MmuFactory {
  readonly variant: MmuVariant;
  /** The validated options every MMU of this host is built with (costs included). */
  readonly options: Readonly<Omit<MmuOptions, 'stats' | 'invalidator' | 'bus' | 'clock' | 'hartId' | 'tagged'>>;
  create(memory: PhysMemory, hartId: number, invalidator?: SoftTlbInvalidator): Mmu;
}
export const MMU_FACTORY = defineToken<MmuFactory>('mmu.MmuFactory');

const params = {
  entries: p.uint(64, 'modelled TLB entries (final VA -> MA translations)', { min: 1, max: 65536 }),
  ways: p.uint(4, 'TLB associativity; entries / ways must be a power of two (ways = entries: fully associative)', { min: 1, max: 65536 }),
  pageWalkCache: p.bool(true, 'page-walk caches (one per stage) holding non-leaf PTEs'),
  pwcEntries: p.uint(32, 'page-walk cache entries per stage (4-way)', { min: 4, max: 4096 }),
  nestedTlb: p.bool(true, 'nested TLB caching GPA -> MA stage-2 translations used by 2D walks'),
  nestedTlbEntries: p.uint(32, 'nested TLB entries (4-way)', { min: 4, max: 4096 }),
  adMode: p.enum(['hardware', 'fault'] as const, 'hardware', 'accessed/dirty bits: hardware = the walker sets them (Svadu), fault = page fault (Svade)'),
};

const costs = {
  tlbMiss: p.uint(DEFAULT_MMU_COSTS.tlbMiss, 'cycles per modelled-TLB miss before its page-table references (miss detection, walker start)'),
  walkRef: p.uint(DEFAULT_MMU_COSTS.walkRef, 'cycles per page-table memory reference (a PTE read that hits the L2 cache)'),
  adUpdate: p.uint(DEFAULT_MMU_COSTS.adUpdate, 'cycles per accessed/dirty PTE update (an atomic PTE write)'),
};

// One rule for variants: the plugin binds a strategy (TlbTagPolicy) that the MMU, its consumer, defines.
function mmuPlugin(variant: MmuVariant, policy: TlbTagPolicy, description: string) {
  return definePlugin({
    id: 'mmu',
    variant,
    description,
    params,
    costs,
    provides: [MMU_FACTORY],
    requires: [TOKENS.Costs, TOKENS.Stats, TOKENS.Bus, TOKENS.Clock],
    register(c, prm) {
      bindSingleton(c, MMU_FACTORY, (c) => {
        const all = componentCosts(resolve(c, TOKENS.Costs), 'mmu');
        const stats = resolve(c, TOKENS.Stats);
        const bus = resolve(c, TOKENS.Bus);
        const clock = resolve(c, TOKENS.Clock);
        const options = Object.freeze({
          policy,
          entries: prm.entries,
          ways: prm.ways,
          pageWalkCache: prm.pageWalkCache,
          pwcEntries: prm.pwcEntries,
          nestedTlb: prm.nestedTlb,
          nestedTlbEntries: prm.nestedTlbEntries,
          adMode: prm.adMode as AdMode,
          costs: { tlbMiss: all['tlbMiss']!, walkRef: all['walkRef']!, adUpdate: all['adUpdate']! },
        });
        return {
          variant,
          options,
          create: (memory, hartId, invalidator) =>
            new Mmu(memory, { ...options, hartId, invalidator, bus, clock, stats: stats.mount(`host.cpu${hartId}.mmu`, new MmuStats()) }),
        };
      });
    },
  });
}

export const mmuTagged = mmuPlugin('tagged', TAGGED_TLB, 'TLB tagged with VMID + ASID: entries survive address-space and world switches');
export const mmuUntagged = mmuPlugin('untagged', UNTAGGED_TLB, 'untagged TLB: every satp or p1gatp write flushes the TLB, walk caches and nested TLB');
export const MMU_PLUGINS = [mmuTagged, mmuUntagged] as const;
