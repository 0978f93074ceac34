// The composition root shared by `tachyxx run` and `tachyxx sweep`: every plugin Tachyxx knows, and
// the host config built from a file (optional) or a mapping plus command-line style overrides.
import { createRequire } from 'node:module';
import { PluginRegistry, buildContainer, loadHostConfig, hostConfigFromObject, type DependencyContainer, type HostConfig } from '@tachyxx/core';
import { ISA_PLUGINS } from '@tachyxx/isa';
import { MMU_PLUGINS } from '@tachyxx/mmu';
import { schedPlugins } from '@tachyxx/sched';
import { HYPERVISOR_PLUGINS } from '@tachyxx/hypervisor';
import { EVTCHN_PLUGINS } from '@tachyxx/evtchn';
import { GRANT_PLUGINS } from '@tachyxx/grant';
import { XENSTORE_PLUGINS } from '@tachyxx/xenstore';
import { XENBUS_PLUGINS } from '@tachyxx/xenbus';
import { PVBLK_PLUGINS } from '@tachyxx/pv-blk';
import { IOMMU_PLUGINS } from '@tachyxx/iommu';
import { IRQ_REMAP_PLUGINS } from '@tachyxx/irq-remap';
import { PVNET_PLUGINS } from '@tachyxx/pv-net';
import { PCIE_PLUGINS } from '@tachyxx/pcie';
import { PASSTHROUGH_PLUGINS } from '@tachyxx/passthrough';
import { SRIOV_NIC_PLUGINS } from '@tachyxx/sriov-nic';

/**
 * A registry of every plugin variant (a new one each call: registries are not shared). `iommu` and
 * `irq-remap` are selectable in a host config but not in DEFAULT_COMPONENTS: opt-in until
 * passthrough uses them (a host without them behaves as before).
 */
export function registry(): PluginRegistry {
  return new PluginRegistry([
    ...ISA_PLUGINS, ...MMU_PLUGINS, ...schedPlugins, ...HYPERVISOR_PLUGINS, ...EVTCHN_PLUGINS, ...GRANT_PLUGINS, ...XENSTORE_PLUGINS,
    ...XENBUS_PLUGINS, ...PVBLK_PLUGINS, ...IOMMU_PLUGINS, ...IRQ_REMAP_PLUGINS, ...PVNET_PLUGINS, ...PCIE_PLUGINS, ...PASSTHROUGH_PLUGINS,
    ...SRIOV_NIC_PLUGINS,
  ]);
}

/** The variant each component gets when a config does not name one. */
export const DEFAULT_COMPONENTS: Readonly<Record<string, string>> = Object.freeze({
  isa: 'tachy-v1',
  mmu: 'tagged',
  sched: 'credit',
  hypervisor: 'xen',
  evtchn: 'fifo',
  grant: 'v1',
  xenstore: 'cxenstored',
  console: 'xenconsoled',
  xenbus: 'linux',
  'pv-blk': 'file',
  'pv-net': 'bridge',
  pcie: 'ecam',
});

export interface HostOverrides {
  isa?: string;
  /** Machine memory; applied only when the config does not set `memoryMiB` itself. */
  memoryMiB?: number;
  pcpus?: number;
}

/**
 * Validates `raw` (a host config mapping, as in a host YAML file) with the default components
 * filled in and the overrides applied; ConfigError (naming `file`) on bad input.
 */
export function hostConfigWithDefaults(raw: unknown, o: HostOverrides = {}, file = '(command line)', reg = registry()): HostConfig {
  // Validate the input first, so errors name the user's keys (with line numbers for files).
  const base = hostConfigFromObject(raw, reg, { file });
  const explicitMemory = typeof raw === 'object' && raw !== null && Object.hasOwn(raw, 'memoryMiB');
  return applyDefaults(base, o, explicitMemory, file, reg);
}

function applyDefaults(base: HostConfig, o: HostOverrides, explicitMemory: boolean, file: string, reg: PluginRegistry): HostConfig {
  const raw = JSON.parse(JSON.stringify(base)) as Record<string, any>;
  raw.components ??= {};
  for (const [id, variant] of Object.entries(DEFAULT_COMPONENTS)) raw.components[id] ??= { variant };
  if (o.isa) raw.components.isa = { ...raw.components.isa, variant: o.isa };
  if (o.memoryMiB !== undefined && !explicitMemory) raw.memoryMiB = o.memoryMiB;
  if (o.pcpus !== undefined) raw.pcpus = o.pcpus;
  return hostConfigFromObject(raw, reg, { file });
}

/**
 * Loads `file` (or the defaults), selects the default variant of every component it leaves out
 * and applies command-line overrides; ConfigError on bad input. The registry comes back with it
 * (assembleHost resolves the components through it).
 */
export function hostConfig(file: string | undefined, o: HostOverrides): { config: HostConfig; registry: PluginRegistry } {
  const reg = registry();
  const base = file ? loadHostConfig(file, reg) : hostConfigFromObject({}, reg);
  // A host file always decides machine memory (as `tachyxx run --host` always did).
  const config = applyDefaults(base, o, file !== undefined, file ?? '(command line)', reg);
  return { config, registry: reg };
}

/** `hostConfig` plus its DI container (for the bare machine, which is no hypervisor host). */
export function hostContainer(file: string | undefined, o: HostOverrides): { config: HostConfig; container: DependencyContainer } {
  const { config, registry: reg } = hostConfig(file, o);
  return { config, container: buildContainer(config, reg) };
}

/** This package's version: part of every sweep result's cache key (a new simulator, new results). */
export const SIM_VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
