// The runner's composition root: every plugin the runner knows, and the host config it builds
// from `--host FILE` (optional) plus command-line overrides.
import { PluginRegistry, buildContainer, loadHostConfig, hostConfigFromObject, type DependencyContainer, type HostConfig } from '@tachyxx/core';
import { ISA_PLUGINS } from '@tachyxx/isa';
import { MMU_PLUGINS } from '@tachyxx/mmu';
import { schedPlugins } from '@tachyxx/sched';
import { HYPERVISOR_PLUGINS } from '@tachyxx/hypervisor';
import { EVTCHN_PLUGINS } from '@tachyxx/evtchn';

export function registry(): PluginRegistry {
  return new PluginRegistry([...ISA_PLUGINS, ...MMU_PLUGINS, ...schedPlugins, ...HYPERVISOR_PLUGINS, ...EVTCHN_PLUGINS]);
}

export interface HostOverrides {
  isa?: string;
  memoryMiB?: number;
  pcpus?: number;
}

/** Loads `file` (or the defaults) and applies command-line overrides; ConfigError on bad input. */
export function hostContainer(file: string | undefined, o: HostOverrides): { config: HostConfig; container: DependencyContainer } {
  const reg = registry();
  const base = file ? loadHostConfig(file, reg) : hostConfigFromObject({}, reg);
  const raw = JSON.parse(JSON.stringify(base)) as Record<string, any>;
  raw.components ??= {};
  raw.components.isa ??= { variant: 'tachy-v1' };
  raw.components.mmu ??= { variant: 'tagged' };
  raw.components.sched ??= { variant: 'credit' };
  raw.components.hypervisor ??= { variant: 'xen' };
  raw.components.evtchn ??= { variant: 'fifo' };
  if (o.isa) raw.components.isa = { ...raw.components.isa, variant: o.isa };
  if (o.memoryMiB !== undefined && !file) raw.memoryMiB = o.memoryMiB;
  if (o.pcpus !== undefined) raw.pcpus = o.pcpus;
  const config = hostConfigFromObject(raw, reg, { file: file ?? '(command line)' });
  return { config, container: buildContainer(config, reg) };
}
