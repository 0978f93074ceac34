// The passthrough host component (variant `pv`: PV PCI through physdev_op, the book's section
// 8.4): puts each PCIeSS's IOMMU and interrupt remapper into the slots of the host's PCIe (built
// and enumerated by the pcie component), registers physdev_op (hypercall 33) and takes devices
// back when their domain dies. Opt-in like iommu and irq-remap, which it requires.
import { Hypercall } from '@tachyxx/abi';
import { bindSingleton, definePlugin, defineToken, resolve, StatGroup, type DependencyContainer } from '@tachyxx/core';
import { EVTCHN_COMPONENT, type EvtchnComponent } from '@tachyxx/evtchn';
import type { HostComponent, HostServices } from '@tachyxx/hypervisor';
import { IOMMU_COMPONENT, type IommuComponent } from '@tachyxx/iommu';
import { IRQ_REMAP_COMPONENT, type IrqRemapComponent } from '@tachyxx/irq-remap';
import { PCIE_COMPONENT, type PcieComponent, type PcieHost } from '@tachyxx/pcie';
import { Passthrough, PassthroughStats } from './passthrough.js';

export const PASSTHROUGH_COMPONENT = defineToken<PassthroughComponent>('passthrough.Component');

export class PassthroughComponent implements HostComponent {
  readonly id = 'passthrough';
  readonly stats = new StatGroup();
  private pt: Passthrough | null = null;
  private pcieHost: PcieHost | null = null;

  constructor(private readonly pcieComponent: PcieComponent, private readonly iommu: IommuComponent, private readonly irq: IrqRemapComponent, private readonly evtchn: EvtchnComponent) {}

  attach(h: HostServices): void {
    if (this.pt) throw new Error('the passthrough component is already attached');
    const iommu = this.iommu, irq = this.irq, ev = this.evtchn;
    // The host's PCIe (the pcie component built and enumerated it): each PCIeSS's IOMMU and
    // interrupt-remapper slots get this host's units, so device DMA is translated and MSIs are
    // remapped from now on (no device has been given a DMA or MSI target before this).
    const pcie = this.pcieComponent.pcie;
    for (const ss of pcie.channels) {
      ss.translator = iommu.unit(ss.segment);
      ss.remapper = irq.unit(ss.segment);
    }
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
  requires: [PCIE_COMPONENT, IOMMU_COMPONENT, IRQ_REMAP_COMPONENT, EVTCHN_COMPONENT],
  component: PASSTHROUGH_COMPONENT,
  register(c) {
    bindSingleton(c, PASSTHROUGH_COMPONENT, (c: DependencyContainer) =>
      new PassthroughComponent(resolve(c, PCIE_COMPONENT), resolve(c, IOMMU_COMPONENT), resolve(c, IRQ_REMAP_COMPONENT), resolve(c, EVTCHN_COMPONENT)));
  },
});
export const PASSTHROUGH_PLUGINS = [passthroughPv] as const;
