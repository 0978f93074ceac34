/**
 * The domain table: domid and VMID allocation, create / build / destroy, pause / unpause,
 * shutdown, lookup. Domain-facing results follow Xen: a Domain, 0, or a negative Xen errno.
 *
 * - domids: dom0 = 0 is reserved (only an explicit `domid: 0` gets it); domUs get ids from 1 to
 *   DOMID_MAX (0x7FEF) from a rover, as Xen's domctl does: the next free id after the last one
 *   handed out (deterministic: it depends only on the sequence of creates and destroys).
 * - VMIDs (14 bits): dom0 gets 0, others the lowest free of 1..16383 (-EBUSY when none is left,
 *   as Xen on Arm's p2m_alloc_vmid).
 * - Memory: guest RAM is populated at GPA GUEST_RAM_BASE (0x8000_0000) with frames from the
 *   placement's nodes, mapped RWX. Every frame of a domain, and every P2M table frame, is
 *   released on destroy.
 */
import { DOMID_FIRST_RESERVED, DOMID_SELF, Errno, GUEST_RAM_BASE } from '@tachyxx/abi';
import { DOMAIN_LIFECYCLE, Rng, type DomainLifecycleKind, type EventBus } from '@tachyxx/core';
import { VMID_BITS } from '@tachyxx/mmu';
import { IdentityGuestAccess, P2mGuestAccess, type GuestAccess } from '../memory/guest-access.js';
import { PAGE_SIZE, type MachineMemory } from '../memory/machine-memory.js';
import { P2m, P2M_INVALID_MFN, P2M_RW, P2M_RWX, P2M_SUPERPAGE_ORDER } from '../memory/p2m.js';
import { Domain } from './domain.js';

/** Highest domid of an ordinary domain. */
export const DOMID_MAX = DOMID_FIRST_RESERVED - 1;
export const VMID_MAX = (1 << VMID_BITS) - 1;
/** GFN of the first page of guest RAM. */
export const GUEST_RAM_BASE_GFN = GUEST_RAM_BASE / PAGE_SIZE;

export interface DomainTableOptions {
  readonly machine: MachineMemory;
  /** DOMAIN_LIFECYCLE events go here (only when someone is subscribed). */
  readonly bus?: EventBus;
  /** Simulated time source (core's SimClock has `now`). Default: always 0. */
  readonly clock?: { readonly now: number };
  /** Seed for the domains' UUIDs. Default 1. */
  readonly seed?: number;
  /** Default for CreateDomainOptions.superpages. */
  readonly superpages?: boolean;
}

export interface CreateDomainOptions {
  /** Unique name (-EEXIST when taken). */
  readonly name: string;
  /** Guest RAM to populate at GUEST_RAM_BASE, in 4 KiB pages (or give memoryMiB). Default 0. */
  readonly memoryPages?: number;
  readonly memoryMiB?: number;
  /** Xen's max_pages. Default: the initial memory. */
  readonly maxPages?: number;
  /** Where the memory goes: a NUMA placement decision (sched's numaPlacement result fits). Default: none (the allocator chooses). */
  readonly placement?: { readonly nodes: readonly number[] } | null;
  /** An explicit domid (0 for dom0). Default: the lowest free id >= 1. */
  readonly domid?: number;
  /** Control domain (may adjust others' memory). Default: domid 0. */
  readonly privileged?: boolean;
  /** Run under a P2M (stage 2). Default true; false = GPA = MA on the same frames (dom0 style). */
  readonly translated?: boolean;
  /** Map guest RAM with 2 MiB stage-2 leaves where aligned. */
  readonly superpages?: boolean;
}

export type DomainHook<V> = (d: Domain<V>) => void;

export class DomainTable<V = unknown> {
  /** The last domid handed out (Xen's rover). */
  private domidRover = 0;
  readonly machine: MachineMemory;
  private readonly bus: EventBus | undefined;
  private readonly clock: { readonly now: number } | undefined;
  private readonly seed: number;
  private readonly superpages: boolean;
  private readonly byId = new Map<number, Domain<V>>();
  private readonly byName = new Map<string, Domain<V>>();
  private readonly vmidUsed = new Uint8Array(VMID_MAX + 1);
  private readonly destroyHooks: DomainHook<V>[] = [];

  constructor(opts: DomainTableOptions) {
    this.machine = opts.machine;
    this.bus = opts.bus;
    this.clock = opts.clock;
    this.seed = opts.seed ?? 1;
    this.superpages = opts.superpages ?? false;
    // A frame a domain released while it was grant-mapped leaves its tot_pages only now.
    this.machine.onDeferredRelease((owner, frames) => {
      const d = this.byId.get(owner);
      if (d && !d.isDying) d.totPages -= frames;
    });
  }

  get size(): number { return this.byId.size; }
  /** Live domains by ascending domid. */
  list(): Domain<V>[] { return [...this.live()]; }
  /**
   * Live domains by ascending domid, as one shared array rebuilt only when a domain is created
   * or destroyed: for the run loop's per-round checks (no allocation per call). Do not modify it.
   */
  live(): readonly Domain<V>[] {
    return this.liveCache ??= [...this.byId.values()].sort((a, b) => a.domid - b.domid);
  }
  private liveCache: Domain<V>[] | null = null;
  get(domid: number): Domain<V> | undefined { return this.byId.get(domid); }
  getByName(name: string): Domain<V> | undefined { return this.byName.get(name); }
  /** `domid`, with DOMID_SELF meaning `current` (Xen's rcu_lock_domain_by_any_id). */
  resolve(domid: number, current: Domain<V> | undefined): Domain<V> | undefined {
    return domid === DOMID_SELF ? current : this.byId.get(domid);
  }

  /** Called before a domain's memory is released (the run loop drops its vCPUs, timers, ...). */
  onDestroy(hook: DomainHook<V>): void { this.destroyHooks.push(hook); }

  /** Deterministic UUID of `domid` under this table's seed (RFC 4122 v4 layout). */
  uuidFor(domid: number): string {
    const r = new Rng(this.seed).fork(`domain-uuid/${domid}`);
    const b = new Uint8Array(16);
    new DataView(b.buffer).setUint32(0, r.nextU32());
    new DataView(b.buffer).setUint32(4, r.nextU32());
    new DataView(b.buffer).setUint32(8, r.nextU32());
    new DataView(b.buffer).setUint32(12, r.nextU32());
    b[6] = (b[6]! & 0x0f) | 0x40;
    b[8] = (b[8]! & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  /**
   * Creates a domain (paused, pause count 1, as Xen's createdomain) and populates its memory.
   * Returns the Domain or -EINVAL (bad name/ids/sizes), -EEXIST (name or domid taken),
   * -ENOMEM (no free domid, or not enough memory), -EBUSY (no free VMID).
   */
  create(opts: CreateDomainOptions): Domain<V> | number {
    const name = opts.name;
    if (typeof name !== 'string' || name.length === 0 || name.length > 64) return -Errno.EINVAL;
    if (this.byName.has(name)) return -Errno.EEXIST;
    const pages = opts.memoryPages ?? (opts.memoryMiB !== undefined ? opts.memoryMiB * 256 : 0);
    const maxPages = opts.maxPages ?? pages;
    if (!Number.isInteger(pages) || pages < 0 || !Number.isInteger(maxPages) || maxPages < pages) return -Errno.EINVAL;
    let domid: number;
    if (opts.domid !== undefined) {
      domid = opts.domid;
      if (!Number.isInteger(domid) || domid < 0 || domid > DOMID_MAX) return -Errno.EINVAL;
      if (this.byId.has(domid)) return -Errno.EEXIST;
    } else {
      // Xen's rover (domctl.c): the next free id after the last one handed out, wrapping at
      // DOMID_MAX, so a restarted domain gets a new id instead of its predecessor's.
      domid = -1;
      for (let i = 0; i < DOMID_MAX; i++) {
        this.domidRover = this.domidRover >= DOMID_MAX ? 1 : this.domidRover + 1;
        if (!this.byId.has(this.domidRover)) { domid = this.domidRover; break; }
      }
      if (domid < 0) return -Errno.ENOMEM;
    }
    const translated = opts.translated ?? true;
    const vmid = domid === 0 ? 0 : this.allocVmid();
    if (vmid < 0) return -Errno.EBUSY;
    const nodes = opts.placement ? [...opts.placement.nodes] : [];
    let p2m: P2m | null = null;
    let access: GuestAccess;
    if (translated) {
      p2m = P2m.create(this.machine, vmid, { superpages: opts.superpages ?? this.superpages, node: nodes[0] });
      if (!p2m) { this.vmidUsed[vmid] = 0; return -Errno.ENOMEM; }
      access = new P2mGuestAccess(this.machine, p2m, domid);
    } else {
      access = new IdentityGuestAccess(this.machine.mem, domid, { machine: this.machine, owner: domid });
    }
    this.vmidUsed[vmid] = 1;
    const d = new Domain<V>(domid, name, this.uuidFor(domid), p2m, access, vmid, maxPages, this.now(),
      nodes, opts.privileged ?? domid === 0);
    this.byId.set(domid, d);
    this.liveCache = null;
    this.byName.set(name, d);
    if (pages > 0) {
      const rc = this.buildMemory(d, pages);
      if (rc < 0) {
        this.destroy(domid, false);
        return rc;
      }
    }
    this.publish(d, 'created');
    return d;
  }

  /**
   * Populates `pages` of guest RAM from GUEST_RAM_BASE_GFN + d.totPages upward: from the
   * domain's placement nodes in order (exact), then any node by distance. 2 MiB extents where
   * the domain maps superpages and the GFN is aligned, else 4 KiB. Returns 0 or -ENOMEM (what
   * was populated stays; destroy releases it).
   */
  buildMemory(d: Domain<V>, pages: number): number {
    if (d.totPages + pages > d.maxPages) return -Errno.ENOMEM;
    let gfn = GUEST_RAM_BASE_GFN + d.totPages;
    const end = gfn + pages;
    if (!d.p2m) {
      // GPA = MA: the domain owns the very frames its guest-physical RAM names.
      if (!this.machine.claim(d.domid, gfn, pages)) return -Errno.ENOMEM;
      for (let i = 0; i < pages; i++) this.machine.m2p.set(gfn + i, gfn + i);
      d.totPages += pages;
      return 0;
    }
    const p2m = d.p2m;
    const big = p2m.superpages;
    while (gfn < end) {
      const order = big && gfn % 512 === 0 && end - gfn >= 512 ? P2M_SUPERPAGE_ORDER : 0;
      let mfn = this.allocFor(d, order);
      let got = order;
      if (mfn < 0 && order > 0) { mfn = this.allocFor(d, 0); got = 0; }
      if (mfn < 0) return -Errno.ENOMEM;
      if (!p2m.map(gfn, mfn, P2M_RWX, got)) {
        this.machine.free(mfn, 2 ** got, d.domid);
        return -Errno.ENOMEM;
      }
      d.totPages += 2 ** got;
      gfn += 2 ** got;
    }
    return 0;
  }

  /**
   * Maps a fresh, zeroed hypervisor page for `d` at `gfn` (RW, not executable), like Xen's
   * shared-info page: owned by the domain (so its hypercall buffers may live there), not counted
   * in totPages or max_pages, refused by decrease_reservation, freed on destroy.
   * Returns the mfn, or -EINVAL (bad or already mapped GFN), -ENOMEM.
   */
  mapSpecialPage(d: Domain<V>, gfn: number): number {
    if (d.isDying || !Number.isInteger(gfn) || gfn < 0) return -Errno.EINVAL;
    if (d.p2m && d.p2m.lookup(gfn) !== P2M_INVALID_MFN) return -Errno.EINVAL;
    if (!d.p2m) {
      // GPA = MA: the page is the frame with that number.
      if (!this.machine.claim(d.domid, gfn, 1)) return -Errno.ENOMEM;
      d.specialPages.set(gfn, gfn);
      return gfn;
    }
    const mfn = this.machine.allocExtent(d.domid, 0, { node: d.nodes[0] });
    if (mfn < 0) return -Errno.ENOMEM;
    if (!d.p2m.map(gfn, mfn, P2M_RW)) {
      this.machine.free(mfn, 1, d.domid);
      return -Errno.EINVAL;
    }
    d.specialPages.set(gfn, mfn);
    return mfn;
  }

  /**
   * One extent of 2^order frames for `d` (Xen's alloc_domheap_pages + assign_pages): -1 when it
   * would exceed max_pages, the domain is dying, or no frames are free. `node`/`exact` as in
   * XENMEMF_node / XENMEMF_exact_node_request; default: the domain's nodes, then any.
   * Does not change totPages (the caller accounts once the extent is used).
   */
  allocFor(d: Domain<V>, order: number, node?: number, exact = false): number {
    if (d.isDying || d.totPages + 2 ** order > d.maxPages) return -1;
    if (node !== undefined) return this.machine.allocExtent(d.domid, order, { node, exact });
    for (const n of d.nodes) {
      const mfn = this.machine.allocExtent(d.domid, order, { node: n, exact: true });
      if (mfn >= 0) return mfn;
    }
    return this.machine.allocExtent(d.domid, order, { node: d.nodes[0] });
  }

  /**
   * Destroys a domain: dying, destroy hooks, every frame it owns freed (scrubbed), its P2M
   * tables freed, its domid and VMID released, dead. 0 or -ESRCH.
   */
  destroy(domid: number, publish = true): number {
    const d = this.byId.get(domid);
    if (!d) return -Errno.ESRCH;
    d.isDying = true;
    for (const h of this.destroyHooks) h(d);
    this.machine.freeAllOwnedBy(domid);
    d.p2m?.teardown();
    d.totPages = 0;
    d.specialPages.clear();
    if (d.vmid !== 0 || domid === 0) this.vmidUsed[d.vmid] = 0;
    this.byId.delete(domid);
    this.liveCache = null;
    this.byName.delete(d.name);
    d.isDead = true;
    if (publish) this.publish(d, 'destroyed');
    return 0;
  }

  /** Xen's domain_pause_by_systemcontroller: counted. 0 or -ESRCH / -EINVAL (dying). */
  pause(domid: number): number {
    const d = this.byId.get(domid);
    if (!d) return -Errno.ESRCH;
    if (d.isDying) return -Errno.EINVAL;
    if (d.pauseCount++ === 0 && d.shutdownCode === null) this.publish(d, 'paused');
    return 0;
  }

  /** Xen's domain_unpause_by_systemcontroller: -EINVAL when not paused. */
  unpause(domid: number): number {
    const d = this.byId.get(domid);
    if (!d) return -Errno.ESRCH;
    if (d.isDying || d.pauseCount === 0) return -Errno.EINVAL;
    if (--d.pauseCount === 0 && d.shutdownCode === null) this.publish(d, 'unpaused');
    return 0;
  }

  /**
   * Xen's domain_shutdown(d, reason): records the reason (a SHUTDOWN_* code, any u8 as in Xen)
   * the first time - or, when the guest recorded one with SCHEDOP_shutdown_code, that one
   * (xen/common/domain.c: `if (d->shutdown_code == SHUTDOWN_CODE_INVALID) d->shutdown_code =
   * reason; reason = d->shutdown_code;`); later calls change nothing (Xen ignores a second
   * shutdown). 0 or -ESRCH.
   */
  shutdown(domid: number, reason: number): number {
    const d = this.byId.get(domid);
    if (!d) return -Errno.ESRCH;
    if (d.isDying || d.shutdownCode !== null) return 0;
    d.shutdownCode = (d.recordedShutdownCode ?? reason) & 0xff;
    this.publish(d, 'shutdown');
    return 0;
  }

  private allocVmid(): number {
    for (let v = 1; v <= VMID_MAX; v++) if (!this.vmidUsed[v]) return v;
    return -1;
  }

  private now(): number { return this.clock?.now ?? 0; }

  private publish(d: Domain<V>, kind: DomainLifecycleKind): void {
    if (this.bus?.hasSubscribers(DOMAIN_LIFECYCLE)) {
      this.bus.publish(DOMAIN_LIFECYCLE, { time: this.now(), domid: d.domid, kind, name: d.name });
    }
  }
}
