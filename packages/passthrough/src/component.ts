// The passthrough host component (variant `pv`: PV PCI through physdev_op, the book's section
// 8.4): builds the host's PCIe over machine memory with each PCIeSS's IOMMU and interrupt
// remapper, enumerates it as dom0 does at boot, registers physdev_op (hypercall 33) and takes
// devices back when their domain dies. Opt-in like iommu and irq-remap, which it requires.
import { Hypercall } from '@tachyxx/abi';
import { bindSingleton, definePlugin, defineToken, resolve, StatGroup, type DependencyContainer } from '@tachyxx/core';
import { EVTCHN_COMPONENT, type EvtchnComponent } from '@tachyxx/evtchn';
import type { HostComponent, HostServices } from '@tachyxx/hypervisor';
import { IOMMU_COMPONENT, type IommuComponent } from '@tachyxx/iommu';
import { IRQ_REMAP_COMPONENT, type IrqRemapComponent } from '@tachyxx/irq-remap';
import { eventQueueTimer, PCIE_FACTORY, type DeviceTimer, type PcieFactory, type PcieHost } from '@tachyxx/pcie';
import { Passthrough, PassthroughStats } from './passthrough.js';

export const PASSTHROUGH_COMPONENT = defineToken<PassthroughComponent>('passthrough.Component');

export class PassthroughComponent implements HostComponent {
  readonly id = 'passthrough';
  readonly stats = new StatGroup();
  private pt: Passthrough | null = null;
  private pcieHost: PcieHost | null = null;

  constructor(private readonly factory: PcieFactory, private readonly iommu: IommuComponent, private readonly irq: IrqRemapComponent, private readonly evtchn: EvtchnComponent) {}

  attach(h: HostServices): void {
    if (this.pt) throw new Error('the passthrough component is already attached');
    const iommu = this.iommu, irq = this.irq, ev = this.evtchn;
    // The PCIe topology of the host config, over machine memory and the CPU's MMIO bus; device
    // time is the host's event queue (eventQueueTimer), DMA through each PCIeSS's IOMMU.
    // Device work in flight (a DMA, a computation) is a wake source: a guest blocked waiting for
    // its completion interrupt is waiting, not idle for good.
    const base = eventQueueTimer(h.queue);
    let inFlight = 0;
    const timer: DeviceTimer = {
      now: base.now,
      cyclesToNs: base.cyclesToNs,
      after: (ns, action) => { inFlight++; base.after(ns, () => { inFlight--; action(); }); },
    };
    h.addWakeSource(() => inFlight > 0);
    const pcie = this.factory.create(h.machine.mem, timer, { translator: (k) => iommu.unit(k), remapper: (k) => irq.unit(k) });
    pcie.enumerate();
    this.pcieHost = pcie;
    const pt = new Passthrough({
      host: h,
      pcie,
      iommu: (seg) => iommu.unit(seg),
      remapper: (seg) => irq.unit(seg),
      irqVariant: irq.variant,
      verdict: () => iommu.passthroughAllowed(),
      permitPirq: (domid, pirq, allow) => ev.channels.permitPirq(domid, pirq, allow),
    }, this.stats.mount('devices', new PassthroughStats()));
    this.pt = pt;
    h.registerHypercall(Hypercall.physdev_op, (v, a) => pt.physdevOp(v, a.a0, a.a1), 'physdev_op');
    h.onDomainDestroyed((d) => pt.domainDestroyed(d.domid));
    iommu.onFaults((recs, unit) => pt.onIommuFaults(recs, Number(unit.id.replace('pciess', ''))));
  }

  /** The passthrough state (assign, deassign, assignable, physdev_op). */
  get passthrough(): Passthrough {
    if (!this.pt) throw new Error('the passthrough component is not attached to a host yet');
    return this.pt;
  }

  /** The host's PCIe (lspci, tests). */
  get pcie(): PcieHost {
    if (!this.pcieHost) throw new Error('the passthrough component is not attached to a host yet');
    return this.pcieHost;
  }
}

export const passthroughPv = definePlugin({
  id: 'passthrough',
  variant: 'pv',
  description: "PCI passthrough, PV style: physdev_op map_pirq and pciback-filtered config access; needs iommu and irq-remap (xl pci-attach, pci = [...])",
  params: {},
  provides: [PASSTHROUGH_COMPONENT],
  requires: [PCIE_FACTORY, IOMMU_COMPONENT, IRQ_REMAP_COMPONENT, EVTCHN_COMPONENT],
  component: PASSTHROUGH_COMPONENT,
  register(c) {
    bindSingleton(c, PASSTHROUGH_COMPONENT, (c: DependencyContainer) =>
      new PassthroughComponent(resolve(c, PCIE_FACTORY), resolve(c, IOMMU_COMPONENT), resolve(c, IRQ_REMAP_COMPONENT), resolve(c, EVTCHN_COMPONENT)));
  },
});
export const PASSTHROUGH_PLUGINS = [passthroughPv] as const;
