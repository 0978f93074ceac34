// The irq-remap host component: one IrqRemapper per PCIe subsystem (made on first use by the PCIe
// topology, `unit(n)`), delivering through the event channels' pirq ports, fed the host's
// vCPU-running and domain-death hooks. Variants posted, forwarded, none.
import { bindSingleton, componentCosts, definePlugin, defineToken, p, resolve, StatGroup, TOKENS, type DependencyContainer, type MsiRemapper } from '@tachyxx/core';
import { EVTCHN_COMPONENT, type EvtchnComponent } from '@tachyxx/evtchn';
import type { HostComponent, HostServices } from '@tachyxx/hypervisor';
import { DEFAULT_IRQ_REMAP_COSTS, DEFAULT_REMAP_ENTRIES, IrqRemapper, type IrqRemapCosts, type IrqRemapVariant } from './remapper.js';
import { IrqRemapStats } from './stats.js';

/**
 * What the PCIe side resolves to find the interrupt remapper of each PCIeSS; declared by name so
 * `@tachyxx/pcie` can declare the same token without depending on this package.
 */
export interface MsiRemappers {
  remapper(pciess: number): MsiRemapper;
  /** The MSI-X table write check (see IrqRemapper.checkMsixWrite). */
  checkMsixWrite(pciess: number, rid: number, addr: number, data: number): { trap: boolean; allowed: boolean; reason: string };
}
export const MSI_REMAPPERS = defineToken<MsiRemappers>('io.MsiRemappers');
export const IRQ_REMAP_COMPONENT = defineToken<IrqRemapComponent>('irq-remap.Component');

export class IrqRemapComponent implements HostComponent, MsiRemappers {
  readonly id = 'irq-remap';
  readonly stats = new StatGroup();
  private host: HostServices | null = null;
  private readonly units: IrqRemapper[] = [];

  constructor(readonly variant: IrqRemapVariant, readonly entries: number, readonly costs: IrqRemapCosts, private readonly evtchn: EvtchnComponent) {}

  attach(services: HostServices): void {
    if (this.host) throw new Error('the irq-remap component is already attached');
    this.host = services;
    services.onVcpuRunning((v, now) => { for (const u of this.units) u?.vcpuRunning(v, now); });
    services.onDomainDestroyed((d) => { for (const u of this.units) u?.domainDestroyed(d.domid); });
    // Interrupts waiting for a vCPU are work in flight that will wake it.
    services.addWakeSource(() => this.units.some((u) => u !== undefined && u.waitingInterrupts > 0));
  }

  /** The remapper of PCIe subsystem `pciess`, made on first use. */
  unit(pciess: number): IrqRemapper {
    if (!Number.isInteger(pciess) || pciess < 0 || pciess > 255) throw new RangeError(`PCIeSS index ${pciess} out of range 0..255`);
    const h = this.host;
    if (!h) throw new Error('the irq-remap component is not attached to a host yet');
    let u = this.units[pciess];
    if (u) return u;
    const id = `pciess${pciess}`;
    const ev = this.evtchn;
    u = new IrqRemapper({
      variant: this.variant, id, host: h, entries: this.entries, costs: this.costs, bus: h.bus,
      stats: this.stats.mount(id, new IrqRemapStats()),
      deliver: (domid, pirq) => ev.channels.sendPirq(domid, pirq),
    });
    this.units[pciess] = u;
    return u;
  }

  remapper(pciess: number): MsiRemapper { return this.unit(pciess); }

  checkMsixWrite(pciess: number, rid: number, addr: number, data: number): { trap: boolean; allowed: boolean; reason: string } {
    return this.unit(pciess).checkMsixWrite(rid, addr, data);
  }
}

const params = {
  entries: p.uint(DEFAULT_REMAP_ENTRIES, 'remapping-table entries per PCIeSS (16-bit handles: at most 65536)', { min: 1, max: 65536 }),
};
const costs = {
  irqTrap: p.uint(DEFAULT_IRQ_REMAP_COSTS.irqTrap, 'hypervisor cycles to take a physical interrupt at PL1 (forwarded, none; Xen-ARM trap, Dall et al. ISCA 2016)'),
  inject: p.uint(DEFAULT_IRQ_REMAP_COSTS.inject, 'hypervisor cycles to inject the virtual interrupt (forwarded, none; Xen-ARM virtual IRQ)'),
  postLatency: p.uint(DEFAULT_IRQ_REMAP_COSTS.postLatency, 'hardware cycles from the MSI to a running vCPU (posted; not hypervisor time)'),
};

function irqRemapPlugin(variant: IrqRemapVariant, description: string) {
  return definePlugin({
    id: 'irq-remap',
    variant,
    description,
    params,
    costs,
    provides: [IRQ_REMAP_COMPONENT, MSI_REMAPPERS],
    requires: [EVTCHN_COMPONENT, TOKENS.Costs],
    component: IRQ_REMAP_COMPONENT,
    register(c, prm) {
      bindSingleton(c, IRQ_REMAP_COMPONENT, (c: DependencyContainer) => {
        const own = componentCosts(resolve(c, TOKENS.Costs), 'irq-remap');
        const all: IrqRemapCosts = { ...DEFAULT_IRQ_REMAP_COSTS };
        for (const k of Object.keys(all) as (keyof IrqRemapCosts)[]) if (own[k] !== undefined) all[k] = own[k]!;
        return new IrqRemapComponent(variant, prm.entries, all, resolve(c, EVTCHN_COMPONENT));
      });
      bindSingleton(c, MSI_REMAPPERS, (c: DependencyContainer) => resolve(c, IRQ_REMAP_COMPONENT));
    },
  });
}

export const irqRemapPosted = irqRemapPlugin('posted', "the book's remapper: interrupts posted per vCPU, delivered when it next runs, no hypervisor code");
export const irqRemapForwarded = irqRemapPlugin('forwarded', 'remapped, not posted: every interrupt traps to PL1 and the hypervisor injects it (trap + injection cost)');
export const irqRemapNone = irqRemapPlugin('none', 'no remapping: compatibility-format MSIs go where their vector says; the hypervisor must trap MSI-X table writes');
export const IRQ_REMAP_PLUGINS = [irqRemapPosted, irqRemapForwarded, irqRemapNone] as const;
