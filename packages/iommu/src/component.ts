// The iommu host component: one Iommu per PCIe subsystem (made on first use by the PCIe topology,
// `unit(n)`), following the host's P2M changes and domain deaths, its fault interrupt handled at
// PL1 (the fault queue drained by a host event, a log line, hooks for the hypervisor).
// Variants: shared-stage2, private, none (the plugin registry lists them for an unknown name).
import { bindSingleton, componentCosts, definePlugin, defineToken, p, resolve, StatGroup, TOKENS, type DependencyContainer, type IoTranslator } from '@tachyxx/core';
import type { HostComponent, HostServices, Vcpu } from '@tachyxx/hypervisor';
import { DEFAULT_COMMAND_QUEUE_ENTRIES, DEFAULT_FAULT_QUEUE_ENTRIES, DEFAULT_IOMMU_COSTS, Iommu, type IommuCosts, type IommuFaultRecord, type IommuVariant } from './iommu.js';
import { passthroughAllowed, type PassthroughVerdict } from './passthrough.js';
import { IommuStats } from './stats.js';

/** The component's settings (its plugin params). */
export interface IommuConfig {
  readonly variant: IommuVariant;
  readonly iotlbEntries: number;
  readonly iotlbWays: number;
  readonly pageWalkCache: boolean;
  readonly pwcEntries: number;
  readonly commandQueueEntries: number;
  readonly faultQueueEntries: number;
  /** Variant none: allow passthrough anyway (see passthroughAllowed). */
  readonly unsafePassthrough: boolean;
}

/**
 * What the PCIe side resolves to find the translator of each PCIeSS. Declared by name, so
 * `@tachyxx/pcie` can declare the same token (`defineToken<IoTranslators>('io.IoTranslators')`)
 * without depending on this package.
 */
export interface IoTranslators {
  translator(pciess: number): IoTranslator;
}
export const IO_TRANSLATORS = defineToken<IoTranslators>('io.IoTranslators');
export const IOMMU_COMPONENT = defineToken<IommuComponent>('iommu.Component');

export class IommuComponent implements HostComponent, IoTranslators {
  readonly id = 'iommu';
  readonly stats = new StatGroup();
  private host: HostServices | null = null;
  private readonly units: Iommu[] = [];
  private readonly faultHooks: ((records: IommuFaultRecord[], iommu: Iommu) => void)[] = [];
  /** Fault records PL1 took off the queues (all IOMMUs). */
  handledFaults = 0;

  constructor(readonly config: IommuConfig, readonly costs: IommuCosts) {}

  attach(services: HostServices): void {
    if (this.host) throw new Error('the iommu component is already attached');
    this.host = services;
    services.onDomainDestroyed((d) => { for (const u of this.units) u.domainDestroyed(d.domid); });
  }

  detach(): void {
    for (const u of this.units) u.dispose();
  }

  /** The IOMMU of PCIe subsystem `pciess` (0, 1, ...), made on first use. */
  unit(pciess: number): Iommu {
    if (!Number.isInteger(pciess) || pciess < 0 || pciess > 255) throw new RangeError(`PCIeSS index ${pciess} out of range 0..255`);
    const h = this.host;
    if (!h) throw new Error('the iommu component is not attached to a host yet');
    let u = this.units[pciess];
    if (u) return u;
    const id = `pciess${pciess}`;
    u = new Iommu({
      variant: this.config.variant,
      id,
      machine: h.machine,
      domains: h.domains,
      iotlbEntries: this.config.iotlbEntries,
      iotlbWays: this.config.iotlbWays,
      pageWalkCache: this.config.pageWalkCache,
      pwcEntries: this.config.pwcEntries,
      commandQueueEntries: this.config.commandQueueEntries,
      faultQueueEntries: this.config.faultQueueEntries,
      costs: this.costs,
      stats: this.stats.mount(id, new IommuStats()),
      bus: h.bus,
      clock: h.clock,
      log: (line) => h.log(line),
      charge: (domid, cycles) => this.chargeDomain(domid, cycles),
    });
    // The fault interrupt: PL1 runs its handler as a host event (not inside the device's DMA).
    u.onFaultInterrupt((iommu) => {
      h.queue.at(h.clock.now, `iommu.${iommu.id}.fault-irq`, () => this.handleFaults(iommu));
    });
    this.units[pciess] = u;
    return u;
  }

  /** IoTranslators: the translator of PCIeSS `pciess`. */
  translator(pciess: number): IoTranslator { return this.unit(pciess); }

  /** IOMMUs made so far. */
  get all(): readonly Iommu[] { return this.units.filter((u) => u !== undefined); }

  /** Hook for the hypervisor (passthrough: crash or report the guest): every batch of fault records PL1 takes. */
  onFaults(hook: (records: IommuFaultRecord[], iommu: Iommu) => void): void { this.faultHooks.push(hook); }

  /** May a device be passed through on this host (see passthroughAllowed)? */
  passthroughAllowed(): PassthroughVerdict {
    return passthroughAllowed(this.config.variant, this.config.unsafePassthrough);
  }

  private handleFaults(iommu: Iommu): void {
    const recs = iommu.drainFaults();
    if (recs.length === 0) return;
    this.handledFaults += recs.length;
    for (const hook of this.faultHooks) hook(recs, iommu);
  }

  /** Hypervisor work for `domid` (P2M sync, flushes): charged to its vCPU running now, if any. */
  private chargeDomain(domid: number, cycles: number): void {
    const h = this.host;
    if (!h || cycles <= 0) return;
    const d = h.domains.get(domid);
    if (!d) return;
    const v = d.vcpus.find((x: Vcpu) => x.loadedOn >= 0);
    if (v) h.chargeCycles(v, cycles);
  }
}

const params = {
  iotlbEntries: p.uint(64, 'IOTLB entries (device address -> machine address, tagged by domain and requester ID)', { min: 1, max: 65536 }),
  iotlbWays: p.uint(4, 'IOTLB associativity; entries / ways must be a power of two', { min: 1, max: 65536 }),
  pageWalkCache: p.bool(true, 'page-walk cache of non-leaf stage-2 PTEs'),
  pwcEntries: p.uint(32, 'page-walk cache entries (4-way)', { min: 4, max: 4096 }),
  commandQueueEntries: p.uint(DEFAULT_COMMAND_QUEUE_ENTRIES, 'command-queue entries (Linux RISC-V IOMMU driver default)', { min: 2, max: 1 << 20 }),
  faultQueueEntries: p.uint(DEFAULT_FAULT_QUEUE_ENTRIES, 'fault-queue entries; faults past a full queue are counted and dropped', { min: 1, max: 1 << 20 }),
  'unsafe-passthrough': p.bool(false, 'variant none: allow passing devices through anyway (their DMA reaches all machine memory)'),
};

const costs = {
  iotlbHit: p.uint(DEFAULT_IOMMU_COSTS.iotlbHit, 'cycles of every translation (the IOTLB lookup)'),
  iotlbMiss: p.uint(DEFAULT_IOMMU_COSTS.iotlbMiss, 'cycles of an IOTLB miss before its page-table references'),
  walkRef: p.uint(DEFAULT_IOMMU_COSTS.walkRef, 'cycles per I/O page-table reference (a DRAM read from the PCIeSS)'),
  ddtRef: p.uint(DEFAULT_IOMMU_COSTS.ddtRef, 'cycles per device-directory reference on a context-cache miss (2 per load)'),
  command: p.uint(DEFAULT_IOMMU_COSTS.command, 'cycles per command-queue command (invalidation, fence)'),
  privatePte: p.uint(DEFAULT_IOMMU_COSTS.privatePte, 'hypervisor cycles per private I/O page-table leaf written (variant private)'),
  p2mSync: p.uint(DEFAULT_IOMMU_COSTS.p2mSync, 'hypervisor cycles per P2M change mirrored into the private tables (variant private)'),
};

function iommuPlugin(variant: IommuVariant, description: string) {
  return definePlugin({
    id: 'iommu',
    variant,
    description,
    params,
    costs,
    provides: [IOMMU_COMPONENT, IO_TRANSLATORS],
    requires: [TOKENS.Costs],
    component: IOMMU_COMPONENT,
    register(c, prm) {
      bindSingleton(c, IOMMU_COMPONENT, (c: DependencyContainer) => {
        const own = componentCosts(resolve(c, TOKENS.Costs), 'iommu');
        const all: IommuCosts = { ...DEFAULT_IOMMU_COSTS };
        for (const k of Object.keys(all) as (keyof IommuCosts)[]) if (own[k] !== undefined) all[k] = own[k]!;
        return new IommuComponent({
          variant,
          iotlbEntries: prm.iotlbEntries,
          iotlbWays: prm.iotlbWays,
          pageWalkCache: prm.pageWalkCache,
          pwcEntries: prm.pwcEntries,
          commandQueueEntries: prm.commandQueueEntries,
          faultQueueEntries: prm.faultQueueEntries,
          unsafePassthrough: prm['unsafe-passthrough'],
        }, all);
      });
      bindSingleton(c, IO_TRANSLATORS, (c: DependencyContainer) => resolve(c, IOMMU_COMPONENT));
    },
  });
}

export const iommuSharedStage2 = iommuPlugin('shared-stage2', "the book's IOMMU: devices walk their domain's stage-2 (P2M) tables, the CPU's walker and PTE format");
export const iommuPrivate = iommuPlugin('private', 'separate I/O page tables kept in step with every P2M change by the hypervisor (cost on each change)');
export const iommuNone = iommuPlugin('none', "no IOMMU: device address = machine address; passthrough only with unsafe-passthrough (the book's unsafe DMA)");
export const IOMMU_PLUGINS = [iommuSharedStage2, iommuPrivate, iommuNone] as const;
