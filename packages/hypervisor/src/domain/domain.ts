/**
 * A domain (Xen's `struct domain`, reduced): identity, memory accounting, lifecycle state and
 * the P2M. The run loop fills `vcpus`; the domain table creates, builds and destroys domains.
 */
import { ShutdownReason } from '@tachyxx/abi';
import type { GuestAccess } from '../memory/guest-access.js';
import type { P2m } from '../memory/p2m.js';

/** running: unpaused and alive; paused: pause count > 0; shutdown: asked to stop (reason kept); dying: being destroyed; dead: gone. */
export type DomainState = 'running' | 'paused' | 'shutdown' | 'dying' | 'dead';

export class Domain<V = unknown> {
  /** Frames the domain holds (Xen's tot_pages): guest RAM, ballooned-in pages, unmapped extents. */
  totPages = 0;
  /**
   * Hypervisor pages shared with the domain (shared info, ...: Xen's xenheap pages given with
   * share_xen_page_with_guest). Owned by the domain, mapped in its P2M, not in totPages, and
   * never released by decrease_reservation. GFN -> mfn.
   */
  readonly specialPages = new Map<number, number>();
  /** GPA of the shared-info page (0 = none yet); set by whoever maps it. */
  sharedInfoGpa = 0;
  /** Guest-physical address of start_info (boot ABI v1), set by the domain builder; 0 until built. */
  startInfoGpa = 0;
  /** Why the domain crashed, when the hypervisor crashed it (for reports). */
  crashMessage: string | null = null;
  /** Upper bound of totPages (Xen's max_pages). */
  maxPages: number;
  /** Xen's controller pause count: paused while > 0. A new domain starts paused (count 1). */
  pauseCount = 1;
  /** Set by shutdown(): Xen's SHUTDOWN_* code (the recorded code when there is one). */
  shutdownCode: number | null = null;
  /**
   * The code the guest recorded with SCHEDOP_shutdown_code before it shut down (Xen's
   * d->shutdown_code while !is_shutting_down): the first recorded code wins, and the domain's
   * later shutdown, whatever asks for it (a crash, the watchdog, the toolstack), reports it.
   */
  recordedShutdownCode: number | null = null;
  isDying = false;
  isDead = false;
  /** The vCPUs (filled by the run loop). */
  readonly vcpus: V[] = [];
  /** NUMA nodes the domain's memory comes from (placement), preferred first. */
  nodes: number[];

  constructor(
    readonly domid: number,
    readonly name: string,
    readonly uuid: string,
    /** The stage-2 table; null = stage 2 off (GPA = MA, dom0 style). */
    readonly p2m: P2m | null,
    /** Guest memory access for hypercall handlers. */
    readonly access: GuestAccess,
    /** Stage-2 VMID that tags this domain's TLB entries. */
    readonly vmid: number,
    maxPages: number,
    /** Simulated ns at creation. */
    readonly createdAt: number,
    nodes: number[],
    /** Control domain (may operate on others' memory, like dom0). */
    readonly privileged: boolean,
  ) {
    this.maxPages = maxPages;
    this.nodes = nodes;
  }

  /** Preferred NUMA node (the first of `nodes`). */
  get node(): number { return this.nodes[0] ?? 0; }

  /** Paging mode translate: the domain runs under a P2M. */
  get translated(): boolean { return this.p2m !== null; }

  get state(): DomainState {
    if (this.isDead) return 'dead';
    if (this.isDying) return 'dying';
    if (this.shutdownCode !== null) return 'shutdown';
    return this.pauseCount > 0 ? 'paused' : 'running';
  }

  /** Name of the shutdown reason (`poweroff`, `crash`, ...) or null. */
  get shutdownReason(): string | null {
    if (this.shutdownCode === null) return null;
    const e = Object.entries(ShutdownReason).find(([, v]) => v === this.shutdownCode);
    return e ? e[0] : `unknown(${this.shutdownCode})`;
  }

  /** True when the run loop may schedule the domain's vCPUs. */
  get runnable(): boolean { return this.state === 'running'; }
}
