// The runner's composition root: every plugin the runner knows, and the host config it builds
// from `--host FILE` (optional) plus command-line overrides.
import { PluginRegistry, buildContainer, loadHostConfig, hostConfigFromObject, type DependencyContainer, type HostConfig } from '@tachyxx/core';
import { ISA_PLUGINS } from '@tachyxx/isa';
import { MMU_PLUGINS } from '@tachyxx/mmu';
import { schedPlugins } from '@tachyxx/sched';
import { HYPERVISOR_PLUGINS } from '@tachyxx/hypervisor';
import { EVTCHN_PLUGINS } from '@tachyxx/evtchn';
import { GRANT_PLUGINS } from '@tachyxx/grant';
import { XENSTORE_PLUGINS } from '@tachyxx/xenstore';

export function registry(): PluginRegistry {
  return new PluginRegistry([...ISA_PLUGINS, ...MMU_PLUGINS, ...schedPlugins, ...HYPERVISOR_PLUGINS, ...EVTCHN_PLUGINS, ...GRANT_PLUGINS, ...XENSTORE_PLUGINS]);
}

/** The variant of each component a host config does not select. */
export const DEFAULT_COMPONENTS: Readonly<Record<string, string>> = Object.freeze({
  isa: 'tachy-v1',
  mmu: 'tagged',
  sched: 'credit',
  hypervisor: 'xen',
  evtchn: 'fifo',
  grant: 'v1',
  xenstore: 'cxenstored',
  console: 'xenconsoled',
});

export interface HostOverrides {
  isa?: string;
  memoryMiB?: number;
  pcpus?: number;
}

/**
 * Loads `file` (or the defaults), selects the default variant of every component it leaves out
 * and applies command-line overrides; ConfigError on bad input.
 */
export function hostConfig(file: string | undefined, o: HostOverrides): { config: HostConfig; registry: PluginRegistry } {
  const reg = registry();
  const base = file ? loadHostConfig(file, reg) : hostConfigFromObject({}, reg);
  const raw = JSON.parse(JSON.stringify(base)) as Record<string, any>;
  raw.components ??= {};
  for (const [id, variant] of Object.entries(DEFAULT_COMPONENTS)) raw.components[id] ??= { variant };
  if (o.isa) raw.components.isa = { ...raw.components.isa, variant: o.isa };
  if (o.memoryMiB !== undefined && !file) raw.memoryMiB = o.memoryMiB;
  if (o.pcpus !== undefined) raw.pcpus = o.pcpus;
  const config = hostConfigFromObject(raw, reg, { file: file ?? '(command line)' });
  return { config, registry: reg };
}

/** `hostConfig` plus its DI container (for the bare machine, which is no hypervisor host). */
export function hostContainer(file: string | undefined, o: HostOverrides): { config: HostConfig; container: DependencyContainer } {
  const { config, registry: reg } = hostConfig(file, o);
  return { config, container: buildContainer(config, reg) };
}
