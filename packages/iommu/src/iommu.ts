// The IOMMU of one PCIe subsystem (the book's chapter 9): it translates every DMA page a device
// touches, from the device's address (IOVA = the domain's guest-physical address) to a machine
// address, through the domain's stage-2 tables — walked by the same walker as the CPU's MMU
// (walkStage2 from @tachyxx/mmu) — or through private I/O page tables kept in step with the P2M.
// Where the book is silent it follows the RISC-V IOMMU specification v1.0: device contexts
// found by requester ID (the device directory, DDT), an IOTLB tagged by GSCID, a command queue
// (IOTINVAL.VMA / IOTINVAL.GVMA / IODIR.INVAL_DDT / IOFENCE.C) and a fault queue whose records
// carry the spec's CAUSE and TTYP codes. The mapping is documented in README.md.
//
// translate() is the hot path: no allocation on a hit or a walk (a fault allocates its record).
import { DMA_READ, DMA_WRITE, defineTopic, type EventBus, type IoFault, type IoFaultKind, type IoTranslator, type SimClock } from '@tachyxx/core';
import { AssocCache, PTE_A, PTE_D, PTE_R, PTE_W, S2_WALK_NOT_RAM, Stage2Walk, walkStage2 } from '@tachyxx/mmu';
import { P2m, P2M_FOREIGN, type Domain, type MachineMemory } from '@tachyxx/hypervisor';
import { IommuStats, type DeviceStats, type IommuFaultKind } from './stats.js';

export type IommuVariant = 'shared-stage2' | 'private' | 'none';
export const IOMMU_VARIANTS: readonly IommuVariant[] = ['shared-stage2', 'private', 'none'];

/** Simulated cycle costs (host config `costs: iommu.<name>`). Model constants, not measurements. */
export interface IommuCosts {
  /** Every translation: the IOTLB lookup. */
  iotlbHit: number;
  /** Fixed cycles of an IOTLB miss before its page-table references (walker start). */
  iotlbMiss: number;
  /** One page-table reference: a DRAM read from the PCIeSS (the IOMMU has no CPU cache). */
  walkRef: number;
  /** One device-directory reference on a context-cache miss (two per load: a 2-level DDT). */
  ddtRef: number;
  /** One command executed from the command queue (an invalidation or a fence). */
  command: number;
  /** Hypervisor cycles per private I/O page-table leaf written or cleared (variant private). */
  privatePte: number;
  /** Hypervisor cycles of bookkeeping per P2M change followed by the private tables (variant private). */
  p2mSync: number;
}
export const DEFAULT_IOMMU_COSTS: Readonly<IommuCosts> = Object.freeze({
  iotlbHit: 2, iotlbMiss: 10, walkRef: 100, ddtRef: 100, command: 50, privatePte: 40, p2mSync: 300,
});

/** Linux's RISC-V IOMMU driver queue sizes (drivers/iommu/riscv/iommu.c: RISCV_IOMMU_DEF_CQ_COUNT / _FQ_COUNT). */
export const DEFAULT_COMMAND_QUEUE_ENTRIES = 8192;
export const DEFAULT_FAULT_QUEUE_ENTRIES = 4096;

/**
 * RISC-V IOMMU fault-record CAUSE codes this model writes (spec v1.0 table "fault record CAUSE"):
 * the guest-page faults are the G-stage (stage-2) ones since devices use IOVA = GPA.
 */
export const IOMMU_CAUSE = {
  readAccessFault: 5,
  writeAccessFault: 7,
  readGuestPageFault: 21,
  writeGuestPageFault: 23,
  ddtEntryInvalid: 258,
  transactionTypeDisallowed: 260,
} as const;
/** Fault-record TTYP: untranslated read / untranslated write (spec v1.0). */
export const TTYP_UNTRANSLATED_READ = 2;
export const TTYP_UNTRANSLATED_WRITE = 3;

/** Xen's printk ratelimit (xen/drivers/char/console.c: printk_ratelimit_ms 5000, burst 10): fault log lines. */
export const FAULT_LOG_BURST = 10;
export const FAULT_LOG_WINDOW_NS = 5_000_000_000;

/** A fault-queue record: the IoFault plus the RISC-V record's CAUSE / TTYP and the context's domain. */
export interface IommuFaultRecord extends IoFault {
  /** The IOMMU (PCIeSS) that recorded it. */
  iommu: string;
  cause: number;
  ttyp: number;
  /** The domain of the device's context, or -1 (no context). */
  domid: number;
}

/** Published on the bus for every fault the IOMMU records (also when the queue overflowed). */
export const IOMMU_FAULT = defineTopic<IommuFaultRecord & { overflow: boolean }>('iommu.fault');

/** A command for the command queue (RISC-V IOMMU section 3.1; GSCID = domid in this model). */
export type IommuCommand =
  /** IOTINVAL.GVMA: `gscid` absent = GV=0 (all); `addr` absent = AV=0 (whole domain); `pages` from `addr` (default 1). */
  | { readonly op: 'IOTINVAL.GVMA'; readonly gscid?: number; readonly addr?: number; readonly pages?: number }
  /** IOTINVAL.VMA: first-stage entries; this IOMMU caches none (no first stage), so it completes with no effect. */
  | { readonly op: 'IOTINVAL.VMA'; readonly gscid?: number; readonly addr?: number }
  /** IODIR.INVAL_DDT: `rid` absent = DV=0 (every cached context); else that device's context and its IOTLB entries. */
  | { readonly op: 'IODIR.INVAL_DDT'; readonly rid?: number }
  /** IOFENCE.C: completes after every earlier command; `onComplete` gets the completion time (simulated ns). */
  | { readonly op: 'IOFENCE.C'; readonly onComplete?: (time: number) => void };

/** A device-directory entry: what `setContext` writes (the device context's fields that matter here). */
export interface DeviceContextSpec {
  /** The domain the device belongs to (its GSCID and the owner of the translation root). */
  readonly domid: number;
  /** Allowed transaction types, DMA_READ | DMA_WRITE (default both): a read-only device gets DMA_READ. */
  readonly perms?: number;
}

/** The domains an IOMMU can see (the host's DomainTable fits). */
export interface IommuDomains {
  get(domid: number): Domain<unknown> | undefined;
}

export interface IommuOptions {
  variant: IommuVariant;
  machine: MachineMemory;
  domains: IommuDomains;
  /** The IOMMU's name (its PCIeSS), in fault records, logs and stats. Default 'pciess0'. */
  id?: string;
  /** IOTLB entries (default 64) and ways (default 4); entries / ways a power of two. */
  iotlbEntries?: number;
  iotlbWays?: number;
  /** Page-walk cache of non-leaf PTEs (default true) and its entries (default 32, 4-way). */
  pageWalkCache?: boolean;
  pwcEntries?: number;
  commandQueueEntries?: number;
  faultQueueEntries?: number;
  costs?: Partial<IommuCosts>;
  stats?: IommuStats;
  bus?: EventBus;
  clock?: SimClock;
  /** Host log (a fault line, rate limited as Xen's printk). */
  log?: (line: string) => void;
  /**
   * Follow P2M changes through the machine's map / unmap hooks (default true): the hypervisor's
   * side of the IOMMU (Xen's iommu_iotlb_flush after a p2m change; iommu_map/unmap for private
   * tables). False leaves invalidation to whoever drives the command queue (tests showing a
   * stale IOTLB entry).
   */
  followP2m?: boolean;
  /** Charges hypervisor cycles spent for `domid` (P2M sync, device assignment). */
  charge?: (domid: number, cycles: number) => void;
}

/** A device context as the IOMMU caches it (the context cache). */
interface CachedContext {
  rid: number;
  domid: number;
  perms: number;
  /** Machine address of the translation root (a stage-2 root), or -1: iohgatp Bare (GPA = MA). */
  root: number;
  stats: DeviceStats;
}

const SHIFT_POW = [2 ** 12, 2 ** 21, 2 ** 30, 2 ** 39] as const;
const TWO53 = 2 ** 53;
const PAGE = 4096;

export class Iommu implements IoTranslator {
  readonly id: string;
  readonly variant: IommuVariant;
  readonly costs: Readonly<IommuCosts>;
  readonly stats: IommuStats;
  readonly iotlb: AssocCache;
  readonly pwc: AssocCache | null;
  readonly commandQueueEntries: number;
  readonly faultQueueEntries: number;
  /** fqcsr.fqof: a fault was dropped since the queue was last drained. */
  faultOverflow = false;
  /** ipsr.fip: the fault interrupt is pending (raised, not yet handled by PL1). */
  faultInterruptPending = false;

  private readonly machine: MachineMemory;
  private readonly domains: IommuDomains;
  private readonly bus?: EventBus;
  private readonly clock?: SimClock;
  private readonly logLine?: (line: string) => void;
  private readonly charge?: (domid: number, cycles: number) => void;
  /** The device directory (DDT) in memory: rid -> context. */
  private readonly ddt = new Map<number, { domid: number; perms: number }>();
  /** The device-context cache. */
  private readonly dcCache = new Map<number, CachedContext>();
  /** Domains with at least one device context: vmid -> domid (the P2M hooks speak VMIDs). */
  private readonly byVmid = new Map<number, number>();
  /** Private I/O page tables by domid (variant private). */
  private readonly mirrors = new Map<number, P2m>();
  private readonly cq: IommuCommand[] = [];
  private readonly fq: IommuFaultRecord[] = [];
  private readonly interruptHooks: ((iommu: Iommu) => void)[] = [];
  private readonly unsubscribe: (() => void)[] = [];
  private readonly walk = new Stage2Walk();
  private readonly ramBase: number;
  private readonly ramEnd: number;
  private logTokens = FAULT_LOG_BURST;
  private logWindowStart = 0;
  private logSuppressed = 0;

  constructor(opts: IommuOptions) {
    if (!IOMMU_VARIANTS.includes(opts.variant)) throw new RangeError(`unknown IOMMU variant '${String(opts.variant)}' (known: ${IOMMU_VARIANTS.join(', ')})`);
    this.variant = opts.variant;
    this.id = opts.id ?? 'pciess0';
    this.machine = opts.machine;
    this.domains = opts.domains;
    this.costs = Object.freeze({ ...DEFAULT_IOMMU_COSTS, ...opts.costs });
    this.stats = opts.stats ?? new IommuStats();
    this.bus = opts.bus;
    this.clock = opts.clock;
    this.logLine = opts.log;
    this.charge = opts.charge;
    const entries = opts.iotlbEntries ?? 64;
    this.iotlb = new AssocCache(entries, Math.min(opts.iotlbWays ?? 4, entries), () => { this.stats.iotlbEvictions.value++; });
    const pwcN = opts.pwcEntries ?? 32;
    this.pwc = (opts.pageWalkCache ?? true) ? new AssocCache(pwcN, Math.min(4, pwcN)) : null;
    this.commandQueueEntries = positive(opts.commandQueueEntries ?? DEFAULT_COMMAND_QUEUE_ENTRIES, 'commandQueueEntries');
    this.faultQueueEntries = positive(opts.faultQueueEntries ?? DEFAULT_FAULT_QUEUE_ENTRIES, 'faultQueueEntries');
    this.ramBase = this.machine.mem.base;
    this.ramEnd = this.machine.mem.base + this.machine.mem.size;
    if ((opts.followP2m ?? true) && this.variant !== 'none') {
      this.unsubscribe.push(this.machine.onUnmap((vmid, gpa, bytes) => this.p2mUnmapped(vmid, gpa, bytes)));
      this.unsubscribe.push(this.machine.onMap((vmid, gfn, mfn, perms, pages) => this.p2mMapped(vmid, gfn, mfn, perms, pages)));
    }
  }

  /** Stops following the P2M and frees the private tables. */
  dispose(): void {
    for (const u of this.unsubscribe.splice(0)) u();
    for (const m of this.mirrors.values()) m.teardown();
    this.mirrors.clear();
  }

  // =====================================================================================
  // IoTranslator (the device side)
  // =====================================================================================

  translate(rid: number, iova: number, access: number, cost: { cycles: number }): number {
    const st = this.stats;
    st.translations.value++;
    if (this.variant === 'none') {
      cost.cycles = 0;
      st.passthrough.value++;
      if (iova >= this.ramBase && iova < this.ramEnd && Math.floor(iova) === iova) return iova;
      st.unclaimed.value++;
      return -1;
    }
    const c = this.costs;
    let cycles = c.iotlbHit;
    let ctx = this.dcCache.get(rid);
    if (ctx === undefined) {
      cycles += 2 * c.ddtRef;
      const loaded = this.loadContext(rid);
      if (loaded === null) return this.fail(cost, cycles, null, 'no-context', rid, iova, access, IOMMU_CAUSE.ddtEntryInvalid);
      ctx = loaded;
    }
    const ds = ctx.stats;
    ds.translations.value++;
    const write = (access & DMA_WRITE) !== 0;
    if ((access !== DMA_READ && access !== DMA_WRITE && access !== (DMA_READ | DMA_WRITE)) || (access & ~ctx.perms) !== 0) {
      return this.fail(cost, cycles, ctx, 'permission', rid, iova, access, IOMMU_CAUSE.transactionTypeDisallowed);
    }
    const gpf = write ? IOMMU_CAUSE.writeGuestPageFault : IOMMU_CAUSE.readGuestPageFault;
    const accessFault = write ? IOMMU_CAUSE.writeAccessFault : IOMMU_CAUSE.readAccessFault;
    if (!(iova >= 0 && iova < TWO53) || Math.floor(iova) !== iova) return this.fail(cost, cycles, ctx, 'translation', rid, iova, access, gpf);
    if (ctx.root < 0) {
      // iohgatp Bare: a domain without a P2M (GPA = MA, dom0 style).
      if (iova >= this.ramBase && iova < this.ramEnd) return this.done(cost, cycles, ds, iova);
      return this.fail(cost, cycles, ctx, 'translation', rid, iova, access, accessFault);
    }
    const domid = ctx.domid;
    const tlb = this.iotlb;
    for (let k = 0; k < 4; k++) {
      const pow = SHIFT_POW[k]!;
      const tag = Math.floor(iova / pow);
      const i = tlb.find(k, tag, domid, rid, 0);
      if (i < 0) continue;
      const p = tlb.p2[i]!;
      if ((p & PTE_R) !== 0 && (!write || (p & PTE_W) !== 0)) {
        tlb.touch(i);
        st.iotlbHits.value++;
        ds.iotlbHits.value++;
        return this.done(cost, cycles, ds, tlb.a[i]! + (iova - tag * pow));
      }
      // Cached, but not for this access (a read-only grant written to): walk, so the fault
      // comes from the table as it is now.
      tlb.invalidate(i);
      break;
    }
    st.iotlbMisses.value++;
    ds.iotlbMisses.value++;
    const w = this.walk;
    const leaf = walkStage2(this.machine.mem, ctx.root, iova, this.pwc, domid, w);
    st.walks.value++;
    st.walkRefs.value += w.refs;
    st.refsPerWalk.sample(w.refs);
    ds.walkRefs.value += w.refs;
    if (w.pwc === 1) st.pwcHits.value++;
    else if (w.pwc === 2) st.pwcMisses.value++;
    cycles += c.iotlbMiss + w.refs * c.walkRef;
    if (leaf === S2_WALK_NOT_RAM) return this.fail(cost, cycles, ctx, 'translation', rid, iova, access, accessFault);
    if (leaf < 0) return this.fail(cost, cycles, ctx, 'translation', rid, iova, access, gpf);
    const lo = w.pteLo;
    if ((lo & PTE_R) === 0 || (write && (lo & PTE_W) === 0)) return this.fail(cost, cycles, ctx, 'permission', rid, iova, access, gpf);
    // DC.tc.GADE = 0: the IOMMU does not update A/D, a clear bit is a guest-page fault (spec
    // 2.1.3). The P2M presets both, so this only catches a table someone else wrote.
    if ((lo & PTE_A) === 0 || (write && (lo & PTE_D) === 0)) return this.fail(cost, cycles, ctx, 'translation', rid, iova, access, gpf);
    const size = SHIFT_POW[w.level]!;
    const ma = leaf + (iova % size);
    if (leaf >= TWO53 || ma < this.ramBase || ma >= this.ramEnd) return this.fail(cost, cycles, ctx, 'translation', rid, iova, access, accessFault);
    const i = tlb.insert(w.level, Math.floor(iova / size), domid, rid, 0);
    tlb.a[i] = leaf;
    tlb.p2[i] = lo & 0xff;
    return this.done(cost, cycles, ds, ma);
  }

  private done(cost: { cycles: number }, cycles: number, ds: DeviceStats, ma: number): number {
    cost.cycles = cycles;
    this.stats.cycles.value += cycles;
    ds.cycles.value += cycles;
    return ma;
  }

  private fail(cost: { cycles: number }, cycles: number, ctx: CachedContext | null, kind: IommuFaultKind, rid: number, iova: number, access: number, cause: number): number {
    cost.cycles = cycles;
    this.stats.cycles.value += cycles;
    if (ctx !== null) {
      ctx.stats.cycles.value += cycles;
      ctx.stats.faults.value++;
    } else if (Number.isInteger(rid) && rid >= 0 && rid <= 0xffff) {
      this.stats.devices.get(rid).faults.value++;
    }
    this.recordFault(kind, rid, iova, access, cause, ctx?.domid ?? -1);
    return -1;
  }

  // =====================================================================================
  // Device directory (the hypervisor side)
  // =====================================================================================

  /**
   * Writes (or with null, clears) the device-directory entry of requester `rid`. Like a store
   * to the DDT in memory it does not reach a context the IOMMU has cached: follow it with
   * IODIR.INVAL_DDT (or use assignDevice / deassignDevice, which do). Returns 0 or -22 (EINVAL:
   * a bad rid or perms) / -3 (ESRCH: no such domain).
   */
  setContext(rid: number, spec: DeviceContextSpec | null): number {
    if (!Number.isInteger(rid) || rid < 0 || rid > 0xffff) return -22;
    if (spec === null) {
      const old = this.ddt.get(rid);
      this.ddt.delete(rid);
      if (old) this.forgetDomainIfUnused(old.domid);
      return 0;
    }
    const perms = spec.perms ?? (DMA_READ | DMA_WRITE);
    if (!Number.isInteger(perms) || perms <= 0 || (perms & ~(DMA_READ | DMA_WRITE)) !== 0) return -22;
    const d = this.domains.get(spec.domid);
    if (!d || d.isDying) return -3;
    const old = this.ddt.get(rid);
    this.ddt.set(rid, { domid: spec.domid, perms });
    this.byVmid.set(d.vmid, d.domid);
    if (this.variant === 'private' && d.p2m !== null && !this.mirrors.has(d.domid)) this.buildMirror(d);
    if (old && old.domid !== spec.domid) this.forgetDomainIfUnused(old.domid);
    this.stats.devices.get(rid);
    return 0;
  }

  /** The device-directory entry of `rid` (not the cached copy). */
  context(rid: number): { domid: number; perms: number } | undefined {
    const c = this.ddt.get(rid);
    return c ? { ...c } : undefined;
  }

  /** Requester IDs with a device-directory entry. */
  devices(): number[] { return [...this.ddt.keys()].sort((a, b) => a - b); }

  /**
   * Assigns requester `rid` to `domid` as the hypervisor does (Xen's assign_device /
   * reassign_device): writes the context, then IODIR.INVAL_DDT for it and IOFENCE.C, waited for.
   * Returns 0 or -errno (see setContext). Under variant none there is nothing to program: 0.
   */
  assignDevice(rid: number, domid: number, perms = DMA_READ | DMA_WRITE): number {
    if (this.variant === 'none') return 0;
    const r = this.setContext(rid, { domid, perms });
    if (r < 0) return r;
    const cycles = this.runSync([{ op: 'IODIR.INVAL_DDT', rid }, { op: 'IOFENCE.C' }]);
    this.charge?.(domid, cycles);
    return 0;
  }

  /** Removes `rid`'s context and everything cached for it (IODIR.INVAL_DDT + IOFENCE.C). */
  deassignDevice(rid: number): number {
    if (this.variant === 'none') return 0;
    const old = this.ddt.get(rid);
    const r = this.setContext(rid, null);
    if (r < 0) return r;
    const cycles = this.runSync([{ op: 'IODIR.INVAL_DDT', rid }, { op: 'IOFENCE.C' }]);
    if (old) this.charge?.(old.domid, cycles);
    return 0;
  }

  /** A domain is being destroyed: every device it holds loses its context (Xen's pci_release_devices). */
  domainDestroyed(domid: number): void {
    for (const [rid, c] of [...this.ddt]) if (c.domid === domid) this.deassignDevice(rid);
    this.dropCachedContexts(domid);
    const m = this.mirrors.get(domid);
    if (m) { m.teardown(); this.mirrors.delete(domid); }
  }

  private loadContext(rid: number): CachedContext | null {
    const e = this.ddt.get(rid);
    if (e === undefined) return null;
    const d = this.domains.get(e.domid);
    if (!d || d.isDying || d.isDead) return null;
    let root = -1;
    if (d.p2m !== null) {
      if (d.p2m.isDestroyed) return null;
      const table = this.variant === 'private' ? this.mirrors.get(d.domid) : d.p2m;
      if (!table) return null;
      root = table.rootMfn * PAGE;
    }
    this.stats.contextLoads.value++;
    const ctx: CachedContext = { rid, domid: e.domid, perms: e.perms, root, stats: this.stats.devices.get(rid) };
    this.dcCache.set(rid, ctx);
    return ctx;
  }

  private forgetDomainIfUnused(domid: number): void {
    for (const c of this.ddt.values()) if (c.domid === domid) return;
    for (const [vmid, id] of this.byVmid) if (id === domid) this.byVmid.delete(vmid);
    const m = this.mirrors.get(domid);
    if (m) {
      // Before its frames are freed nothing cached may point into the table (the hypervisor's
      // flush before freeing I/O page tables).
      this.dropCachedContexts(domid);
      m.teardown();
      this.mirrors.delete(domid);
    }
  }

  /** Drops cached contexts and IOTLB / walk-cache entries of `domid` (IODIR.INVAL_DDT per device + IOTINVAL.GVMA). */
  private dropCachedContexts(domid: number): void {
    const cmds: IommuCommand[] = [];
    for (const c of this.dcCache.values()) if (c.domid === domid) cmds.push({ op: 'IODIR.INVAL_DDT', rid: c.rid });
    cmds.push({ op: 'IOTINVAL.GVMA', gscid: domid }, { op: 'IOFENCE.C' });
    this.runSync(cmds);
  }

  // =====================================================================================
  // Private I/O page tables (variant private)
  // =====================================================================================

  /** The private table of `domid` (variant private), for tests and inspection. */
  privateTable(domid: number): P2m | undefined { return this.mirrors.get(domid); }

  /**
   * Builds the private copy of `d`'s P2M: every leaf written once (charged to `d`), as Xen fills a
   * domain's IOMMU tables when its first device is assigned (arch_iommu_populate_page_table).
   */
  private buildMirror(d: Domain<unknown>): void {
    const src = d.p2m!;
    const m = P2m.create(this.machine, d.vmid, { mirror: true, superpages: true, node: d.node });
    if (m === null) throw new Error(`IOMMU ${this.id}: no memory for the private I/O page table of domain ${d.domid}`);
    this.mirrors.set(d.domid, m);
    let ptes = 0;
    src.forEachMapping((gfn, mfn, perms, pages) => {
      m.map(gfn, mfn, perms & ~P2M_FOREIGN, pages === 512 ? 9 : 0);
      ptes++;
    });
    this.stats.privatePtes.value += ptes;
    const cycles = this.costs.p2mSync + ptes * this.costs.privatePte;
    this.stats.p2mSyncCycles.value += cycles;
    this.charge?.(d.domid, cycles);
  }


  // =====================================================================================
  // Following the P2M (machine map / unmap hooks)
  // =====================================================================================

  private p2mUnmapped(vmid: number, gpa: number, bytes: number): void {
    const domid = this.byVmid.get(vmid);
    if (domid === undefined) return; // no device of that domain behind this IOMMU: nothing cached
    if (bytes >= TWO53) { this.domainDestroyed(domid); return; }
    let cycles = 0;
    const pages = Math.max(1, Math.ceil(bytes / PAGE));
    const m = this.mirrors.get(domid);
    if (m) {
      const gfn = Math.floor(gpa / PAGE);
      for (let i = 0; i < pages; i++) m.unmap(gfn + i);
      this.stats.privatePtes.value += pages;
      cycles += this.costs.p2mSync + pages * this.costs.privatePte;
    }
    cycles += this.runSync([{ op: 'IOTINVAL.GVMA', gscid: domid, addr: gpa, pages }, { op: 'IOFENCE.C' }]);
    this.stats.p2mSyncs.value++;
    this.stats.p2mSyncCycles.value += cycles;
    this.charge?.(domid, cycles);
  }

  private p2mMapped(vmid: number, gfn: number, mfn: number, perms: number, pages: number): void {
    const domid = this.byVmid.get(vmid);
    if (domid === undefined) return;
    const m = this.mirrors.get(domid);
    if (!m) return; // shared tables: a new mapping needs no invalidation (nothing negative is cached)
    m.map(gfn, mfn, perms & ~P2M_FOREIGN, pages === 512 ? 9 : 0);
    for (let i = 1; i < pages && pages !== 512; i++) m.map(gfn + i, mfn + i, perms & ~P2M_FOREIGN);
    const ptes = pages === 512 ? 1 : pages;
    this.stats.privatePtes.value += ptes;
    const cycles = this.costs.p2mSync + ptes * this.costs.privatePte;
    this.stats.p2mSyncs.value++;
    this.stats.p2mSyncCycles.value += cycles;
    this.charge?.(domid, cycles);
  }

  // =====================================================================================
  // Command queue
  // =====================================================================================

  /** Commands written but not yet executed. */
  get pendingCommands(): number { return this.cq.length; }

  /** Writes a command at the queue's tail. False (counted) when the queue is full. */
  submit(cmd: IommuCommand): boolean {
    if (this.cq.length >= this.commandQueueEntries) {
      this.stats.invalidations.queueFull.value++;
      return false;
    }
    this.cq.push(cmd);
    return true;
  }

  /**
   * The IOMMU consumes the queue up to its tail (cqh catches up with cqt). Returns the cycles
   * the commands took. Until this runs, cached entries the commands would drop are still used.
   */
  processCommands(): number {
    let cycles = 0;
    const q = this.cq;
    for (let n = 0; n < q.length; n++) {
      this.execute(q[n]!);
      cycles += this.costs.command;
    }
    q.length = 0;
    return cycles;
  }

  /** Submits `cmds` (after whatever is queued) and waits for them: the hypervisor's synchronous flush. */
  runSync(cmds: readonly IommuCommand[]): number {
    let cycles = 0;
    for (const c of cmds) {
      if (!this.submit(c)) { cycles += this.processCommands(); this.submit(c); }
    }
    return cycles + this.processCommands();
  }

  private execute(cmd: IommuCommand): void {
    const inv = this.stats.invalidations;
    switch (cmd.op) {
      case 'IOTINVAL.GVMA': {
        const tlb = this.iotlb;
        let dropped = 0;
        if (cmd.gscid === undefined) {
          inv.gvmaGlobal.value++;
          dropped = tlb.clear();
          this.pwc?.clear();
        } else if (cmd.addr === undefined) {
          inv.gvmaDomain.value++;
          for (let i = 0; i < tlb.entries; i++) if (tlb.valid[i] !== 0 && tlb.vmid[i] === cmd.gscid) { tlb.invalidate(i); dropped++; }
          const pwc = this.pwc;
          if (pwc !== null) for (let i = 0; i < pwc.entries; i++) if (pwc.valid[i] !== 0 && pwc.vmid[i] === cmd.gscid) pwc.invalidate(i);
        } else {
          // Leaf entries only, as HFENCE.GVMA with an address: the P2M never frees an interior
          // table before teardown, so cached non-leaf PTEs stay right.
          inv.gvmaAddr.value++;
          const lo = cmd.addr;
          const hi = lo + (cmd.pages ?? 1) * PAGE;
          for (let i = 0; i < tlb.entries; i++) {
            if (tlb.valid[i] === 0 || tlb.vmid[i] !== cmd.gscid) continue;
            const size = SHIFT_POW[tlb.kind[i]!]!;
            const base = tlb.tag[i]! * size;
            if (base < hi && base + size > lo) { tlb.invalidate(i); dropped++; }
          }
        }
        inv.droppedEntries.value += dropped;
        return;
      }
      case 'IOTINVAL.VMA':
        inv.vma.value++;
        return;
      case 'IODIR.INVAL_DDT': {
        if (cmd.rid === undefined) {
          inv.ddtAll.value++;
          this.dcCache.clear();
          return;
        }
        inv.ddtDevice.value++;
        this.dcCache.delete(cmd.rid);
        // IOTLB entries are tagged with the requester (as VT-d's source-id): a device-selective
        // invalidation drops them too.
        const tlb = this.iotlb;
        let dropped = 0;
        for (let i = 0; i < tlb.entries; i++) if (tlb.valid[i] !== 0 && tlb.asid[i] === cmd.rid) { tlb.invalidate(i); dropped++; }
        inv.droppedEntries.value += dropped;
        if (this.stats.devices.has(cmd.rid)) this.stats.devices.get(cmd.rid).invalidations.value++;
        return;
      }
      case 'IOFENCE.C':
        inv.fences.value++;
        cmd.onComplete?.(this.clock?.now ?? 0);
        return;
    }
  }

  // =====================================================================================
  // Fault queue and its interrupt
  // =====================================================================================

  /** Registers the PL1 handler of the fault interrupt (called on fip 0 -> 1, after the record is queued). */
  onFaultInterrupt(hook: (iommu: Iommu) => void): void { this.interruptHooks.push(hook); }

  /** Records waiting in the fault queue. */
  get queuedFaults(): number { return this.fq.length; }

  /** PL1's fault handler: takes every queued record, clears fqof and fip. */
  drainFaults(): IommuFaultRecord[] {
    const out = this.fq.splice(0);
    this.faultOverflow = false;
    this.faultInterruptPending = false;
    return out;
  }

  private recordFault(kind: IommuFaultKind, rid: number, addr: number, access: number, cause: number, domid: number): void {
    const st = this.stats;
    st.faults[kind].value++;
    const rec: IommuFaultRecord = {
      time: this.clock?.now ?? 0, rid, addr, kind: kind as IoFaultKind, access, iommu: this.id, cause,
      ttyp: (access & DMA_WRITE) !== 0 ? TTYP_UNTRANSLATED_WRITE : TTYP_UNTRANSLATED_READ, domid,
    };
    const overflow = this.fq.length >= this.faultQueueEntries;
    if (overflow) {
      st.faultOverflows.value++;
      this.faultOverflow = true;
    } else {
      this.fq.push(rec);
      st.faultRecords.value++;
    }
    const bus = this.bus;
    if (bus !== undefined && bus.hasSubscribers(IOMMU_FAULT)) bus.publish(IOMMU_FAULT, { ...rec, overflow });
    this.log(rec, overflow);
    if (!overflow && !this.faultInterruptPending) {
      this.faultInterruptPending = true;
      st.faultInterrupts.value++;
      for (const h of this.interruptHooks) h(this);
    }
  }

  private log(r: IommuFaultRecord, overflow: boolean): void {
    if (!this.logLine) return;
    const now = r.time;
    if (now - this.logWindowStart >= FAULT_LOG_WINDOW_NS) {
      if (this.logSuppressed > 0) this.logLine(`(XEN) IOMMU ${this.id}: ${this.logSuppressed} fault messages suppressed`);
      this.logWindowStart = now;
      this.logTokens = FAULT_LOG_BURST;
      this.logSuppressed = 0;
    }
    if (this.logTokens === 0) { this.logSuppressed++; return; }
    this.logTokens--;
    const dir = (r.access & DMA_WRITE) !== 0 ? 'Write' : 'Read';
    this.logLine(`(XEN) IOMMU ${this.id}: DMA ${dir} fault: device ${bdf(r.rid)} d${r.domid} addr ${hexAddr(r.addr)} ${r.kind} (cause ${r.cause})${overflow ? ' [fault queue full, record dropped]' : ''}`);
  }
}

function positive(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${what} must be a positive integer, got ${n}`);
  return n;
}

/** A requester ID as bus:device.function (`00:01.0`). */
export function bdf(rid: number): string {
  if (!Number.isInteger(rid) || rid < 0 || rid > 0xffff) return `rid(${String(rid)})`;
  return `${(rid >> 8).toString(16).padStart(2, '0')}:${((rid >> 3) & 31).toString(16).padStart(2, '0')}.${rid & 7}`;
}

function hexAddr(a: number): string {
  return Number.isFinite(a) && a >= 0 && Number.isInteger(a) ? `0x${a.toString(16)}` : String(a);
}
