// The MMU's stats tree (gem5 style): one `VmidStats` group per VMID (= per domain), created when
// that VMID first becomes current, under an `MmuStats` root with machine-wide formulas.
import { StatGroup, type Counter } from '@tachyxx/core';

/** The trap causes the MMU can produce, in the order the `faults` group lists them. */
export const MMU_FAULT_CAUSES = [1, 5, 7, 12, 13, 15, 20, 21, 23] as const;

/** Bounds of the references-per-walk histogram: one bucket per count 0..24, then 25-28, 29-32, more. */
export const WALK_REF_BOUNDS = [...Array.from({ length: 25 }, (_, i) => i), 28, 32] as const;

export class FlushStats extends StatGroup {
  readonly all = this.counter('all', 'count', 'flushes of every entry of every VMID (hypervisor)');
  readonly vmid = this.counter('vmid', 'count', 'flushes of one whole VMID (hypervisor, or sfence.vma x0, x0)');
  readonly asid = this.counter('asid', 'count', 'sfence.vma x0, asid: one address space within the VMID');
  readonly page = this.counter('page', 'count', 'sfence.vma va[, asid]: one virtual page within the VMID');
  readonly gpa = this.counter('gpa', 'count', 'hypervisor flush of one guest-physical page of a VMID');
  readonly switch = this.counter('switch', 'count', 'untagged TLB: flush-all on a satp or p1gatp write');
  readonly dropped = this.counter('dropped', 'count', 'TLB entries dropped by flushes');
}

export class VmidStats extends StatGroup {
  readonly tlbHits = this.counter('tlbHits', 'count', 'modelled-TLB hits seen by translate() (CPU soft-TLB misses that hit)');
  readonly softTlbHits = this.counter('softTlbHits', 'count', 'accesses that hit in the CPU soft-TLB (reported by the CPU; each is a modelled hit)');
  readonly tlbMisses = this.counter('tlbMisses', 'count', 'modelled-TLB misses (each starts a walk)');
  readonly tlbLookups = this.formula('tlbLookups', 'count', 'tlbHits + softTlbHits + tlbMisses', () => this.tlbHits.value + this.softTlbHits.value + this.tlbMisses.value);
  readonly tlbHitRatio = this.formula('tlbHitRatio', 'ratio', 'hits / lookups', () => (this.tlbHits.value + this.softTlbHits.value) / this.tlbLookups.value);
  readonly tlbFills = this.counter('tlbFills', 'count', 'entries written into the modelled TLB');
  readonly tlbEvictions = this.counter('tlbEvictions', 'count', 'valid entries replaced (LRU) by a fill of this VMID');
  readonly walks = this.counter('walks', 'count', 'page walks (1D or 2D), including those that fault');
  readonly walkRefs = this.counter('walkRefs', 'count', 'page-table memory references (PTE reads) of all walks');
  readonly walkRefsS1 = this.counter('walkRefsS1', 'count', 'stage-1 PTE reads');
  readonly walkRefsS2 = this.counter('walkRefsS2', 'count', 'stage-2 PTE reads (for stage-1 table pages and for the final GPA)');
  readonly refsPerWalk = this.histogram('refsPerWalk', 'count', 'PTE reads per walk (a cold 2D walk is 24)', WALK_REF_BOUNDS);
  readonly refsPerWalkMean = this.formula('refsPerWalkMean', 'ratio', 'walkRefs / walks', () => this.walkRefs.value / this.walks.value);
  readonly adUpdates = this.counter('adUpdates', 'count', 'PTE writes setting A/D (hardware A/D mode); not in walkRefs');
  readonly walkCycles = this.counter('walkCycles', 'cycle', 'simulated cycles charged for misses, walks and A/D updates');
  readonly pwcHits = this.counter('pwcHits', 'count', 'page-walk cache hits (a walk starting below the root, per stage)');
  readonly pwcMisses = this.counter('pwcMisses', 'count', 'page-walk cache misses (a walk from the root, per stage)');
  readonly nestedTlbHits = this.counter('nestedTlbHits', 'count', 'nested-TLB hits (GPA -> MA without a stage-2 walk)');
  readonly nestedTlbMisses = this.counter('nestedTlbMisses', 'count', 'nested-TLB misses (stage-2 walks)');
  readonly flushes = this.mount('flushes', new FlushStats());
  readonly faultGroup = this.group('faults');
  /** Fault counters indexed by cause (undefined for causes the MMU never raises). */
  readonly faults: (Counter | undefined)[] = [];

  constructor() {
    super();
    const names: Record<number, string> = {
      1: 'instruction access fault', 5: 'load access fault', 7: 'store/AMO access fault',
      12: 'instruction page fault', 13: 'load page fault', 15: 'store/AMO page fault',
      20: 'instruction guest-page fault', 21: 'load guest-page fault', 23: 'store/AMO guest-page fault',
    };
    for (const c of MMU_FAULT_CAUSES) this.faults[c] = this.faultGroup.counter(`cause${c}`, 'count', names[c]!);
  }
}

/** Root of one MMU's stats: machine-wide formulas, then `vmid<N>` groups. */
export class MmuStats extends StatGroup {
  readonly byVmid = new Map<number, VmidStats>();
  readonly bareTranslations = this.counter('bareTranslations', 'count', 'translate() calls with translation off (PL0/PL1, or PL2/PL3 with satp and p1gatp bare)');
  readonly walks = this.formula('walks', 'count', 'walks over all VMIDs', () => this.sum((s) => s.walks.value));
  readonly walkRefs = this.formula('walkRefs', 'count', 'PTE reads over all VMIDs', () => this.sum((s) => s.walkRefs.value));
  readonly tlbMisses = this.formula('tlbMisses', 'count', 'modelled-TLB misses over all VMIDs', () => this.sum((s) => s.tlbMisses.value));
  readonly tlbHits = this.formula('tlbHits', 'count', 'modelled-TLB hits (seen + soft-TLB) over all VMIDs', () => this.sum((s) => s.tlbHits.value + s.softTlbHits.value));
  readonly walkCycles = this.formula('walkCycles', 'cycle', 'cycles charged over all VMIDs', () => this.sum((s) => s.walkCycles.value));

  /** The group of `vmid`, created (and mounted as `vmid<N>`) on first use. */
  forVmid(vmid: number): VmidStats {
    let s = this.byVmid.get(vmid);
    if (s === undefined) {
      s = this.mount(`vmid${vmid}`, new VmidStats());
      this.byVmid.set(vmid, s);
    }
    return s;
  }

  private sum(f: (s: VmidStats) => number): number {
    let t = 0;
    for (const s of this.byVmid.values()) t += f(s);
    return t;
  }
}
