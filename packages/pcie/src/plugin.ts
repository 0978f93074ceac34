// The pcie component's plugin entry: one variant ('ecam': a root complex with ECAM config access),
// its topology string as a param. Binds a factory that builds the host's PCIe over its memory.
import { bindSingleton, ConfigError, definePlugin, defineToken, p, resolve, TOKENS, type HostComponent, type ParamSpec, type Plugin } from '@tachyxx/core';
import type { PhysMemory } from '@tachyxx/isa';
import { DEFAULT_TOPOLOGY, MAX_CHANNELS, parseTopology, PcieHost, type TopologySpec, type PcieHostOptions } from './host.js';
import { eventQueueTimer, type DeviceTimer } from './edu.js';

/** Builds the configured PCIe of a host over its machine memory (and its MMIO bus). */
export interface PcieFactory {
  readonly topology: TopologySpec;
  /** Dom0 drivers every created host runs after enumeration (other plugins' register() adds them). */
  readonly bootDrivers: ((host: PcieHost) => void)[];
  create(mem: PhysMemory, timer?: DeviceTimer, extra?: Partial<PcieHostOptions>): PcieHost;
}
export const PCIE_FACTORY = defineToken<PcieFactory>('pcie.Factory');
export const PCIE_COMPONENT = defineToken<PcieComponent>('pcie.Component');

/** What the pcie component needs of a hypervisor host (structurally the hypervisor's HostServices). */
export interface PcieHostServices {
  readonly machine: { readonly mem: PhysMemory };
  readonly queue: Parameters<typeof eventQueueTimer>[0];
  /** HostServices.addWakeSource: device work in flight will wake a vCPU (by its interrupt). */
  addWakeSource?(pending: () => boolean): void;
}

/**
 * The host component: on attach it builds the configured PCIe over the host's machine memory
 * (the CPUs' MMIO bus), its devices' time on the host's event queue, and dom0's boot-time
 * enumeration runs (dom0's TypeScript kernel owns every function until passthrough moves one).
 */
export class PcieComponent implements HostComponent<PcieHostServices> {
  readonly id = 'pcie';
  private built: PcieHost | null = null;
  constructor(private readonly factory: PcieFactory) {}
  attach(services: PcieHostServices): void {
    if (this.built !== null) throw new Error('the pcie component is already attached');
    // Device work in flight (a DMA, a computation) is a wake source: a guest blocked until its
    // completion interrupt is waiting, not idle for good.
    const base = eventQueueTimer(services.queue);
    let inFlight = 0;
    const timer: DeviceTimer = {
      now: base.now,
      cyclesToNs: base.cyclesToNs,
      after: (ns, action) => { inFlight++; base.after(ns, () => { inFlight--; action(); }); },
    };
    services.addWakeSource?.(() => inFlight > 0);
    this.built = this.factory.create(services.machine.mem, timer);
    this.built.enumerate();
  }
  /** The host's PCIe (after attach). */
  get pcie(): PcieHost {
    if (this.built === null) throw new Error('the pcie component is not attached to a host yet');
    return this.built;
  }
}

/** A string param whose value must parse as a topology (so the config error carries its line). */
function topologyParam(): ParamSpec<string> {
  const base = p.string(DEFAULT_TOPOLOGY, "channels ';', root ports ',', each '-', a device model (edu, edu-ari) or switch(port, ...)");
  return {
    ...base,
    check(raw) {
      const r = base.check(raw);
      if (!r.ok) return r;
      try {
        parseTopology(r.value);
        return r;
      } catch (e) {
        if (e instanceof ConfigError) return e.allowed ? { ok: false, reason: e.reason, allowed: e.allowed } : { ok: false, reason: e.reason };
        throw e;
      }
    },
  };
}

export const PCIE_PLUGINS: readonly Plugin<any>[] = [
  definePlugin({
    id: 'pcie',
    variant: 'ecam',
    description: `PCIe root complex with ECAM, up to ${MAX_CHANNELS} channels into PCIeSSs, root ports, switches, device-model endpoints`,
    params: {
      topology: topologyParam(),
    },
    provides: [PCIE_FACTORY, PCIE_COMPONENT],
    requires: [TOKENS.EventQueue],
    component: PCIE_COMPONENT,
    register(c, params) {
      const topology = parseTopology(params.topology);
      const bootDrivers: ((host: PcieHost) => void)[] = [];
      bindSingleton(c, PCIE_FACTORY, (c) => ({
        topology,
        bootDrivers,
        create: (mem, timer, extra) => new PcieHost({ bootDrivers, ...extra, mem, topology, timer: timer ?? eventQueueTimer(resolve(c, TOKENS.EventQueue)) }),
      }));
      bindSingleton(c, PCIE_COMPONENT, (c) => new PcieComponent(resolve(c, PCIE_FACTORY)));
    },
  }),
];
