// The toolstack's host: core's host assembly with the components dom0 needs (event channels,
// grant tables, xenstored, the console daemon, xenbus backends and blkback) selected when the host config leaves them out,
// and the topic its domain events travel on (the `events` op streams it to xl).
import { defineTopic, hostConfigFromObject, PluginRegistry, type HostConfig } from '@tachyxx/core';
import { assembleHost, type AssembleOptions, type AssembledHost } from '@tachyxx/hypervisor';
import { EVTCHN_PLUGINS } from '@tachyxx/evtchn';
import { GRANT_PLUGINS } from '@tachyxx/grant';
import { XENSTORE_PLUGINS } from '@tachyxx/xenstore';
import { XENBUS_PLUGINS } from '@tachyxx/xenbus';
import { PVBLK_PLUGINS } from '@tachyxx/pv-blk';
import { PCIE_PLUGINS } from '@tachyxx/pcie';
import { IOMMU_PLUGINS } from '@tachyxx/iommu';
import { IRQ_REMAP_PLUGINS } from '@tachyxx/irq-remap';
import { PASSTHROUGH_PLUGINS } from '@tachyxx/passthrough';
import { PVNET_PLUGINS } from '@tachyxx/pv-net';

/** The components the toolstack needs, with the variant it selects when the config has none. */
export const TOOLSTACK_COMPONENTS: Readonly<Record<string, string>> = Object.freeze({
  evtchn: 'fifo',
  grant: 'v1',
  xenstore: 'cxenstored',
  console: 'xenconsoled',
  xenbus: 'linux',
  'pv-blk': 'file',
  'pv-net': 'bridge',
});

/** A toolstack domain event (created, shutdown + action, destroyed, restarted, renamed, paused, unpaused). */
export interface ToolstackEvent {
  time: number;
  kind: 'created' | 'shutdown' | 'destroyed' | 'restarted' | 'renamed' | 'paused' | 'unpaused';
  domid: number;
  name: string;
  [k: string]: unknown;
}
export const TOOLSTACK_EVENT = defineTopic<ToolstackEvent>('toolstack.domain');

/** A line of the host log (Xen's console: `xl dmesg`); `xl dmesg -F`-style streams subscribe. */
export interface HostLogEvent {
  time: number;
  line: string;
}
export const HOST_LOG = defineTopic<HostLogEvent>('toolstack.host-log');

/**
 * Assembles the host of a toolstack: `config` with TOOLSTACK_COMPONENTS added where it selects
 * none (plugins the registry lacks are added to a copy of it), validated again.
 */
export function assembleToolstackHost(config: HostConfig, registry: PluginRegistry, opts: AssembleOptions): AssembledHost {
  const reg = new PluginRegistry(registry.all());
  for (const pl of [...EVTCHN_PLUGINS, ...GRANT_PLUGINS, ...XENSTORE_PLUGINS, ...XENBUS_PLUGINS, ...PVBLK_PLUGINS, ...PCIE_PLUGINS, ...IOMMU_PLUGINS, ...IRQ_REMAP_PLUGINS, ...PASSTHROUGH_PLUGINS, ...PVNET_PLUGINS]) if (!reg.has(pl.id, pl.variant)) reg.register(pl);
  const components: Record<string, unknown> = { ...config.components };
  for (const [id, variant] of Object.entries(TOOLSTACK_COMPONENTS)) components[id] ??= { variant };
  const cfg = hostConfigFromObject({ ...config, components }, reg);
  return assembleHost(cfg, reg, opts);
}
