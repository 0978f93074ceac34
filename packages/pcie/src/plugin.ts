// The pcie component's plugin entry: one variant ('ecam': a root complex with ECAM config access),
// its topology string as a param. Binds a factory that builds the host's PCIe over its memory.
import { bindSingleton, ConfigError, definePlugin, defineToken, p, resolve, TOKENS, type ParamSpec, type Plugin } from '@tachyxx/core';
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
    provides: [PCIE_FACTORY],
    requires: [TOKENS.EventQueue],
    register(c, params) {
      const topology = parseTopology(params.topology);
      const bootDrivers: ((host: PcieHost) => void)[] = [];
      bindSingleton(c, PCIE_FACTORY, (c) => ({
        topology,
        bootDrivers,
        create: (mem, timer, extra) => new PcieHost({ bootDrivers, ...extra, mem, topology, timer: timer ?? eventQueueTimer(resolve(c, TOKENS.EventQueue)) }),
      }));
    },
  }),
];
