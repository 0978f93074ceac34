// The event-channel component as core plugins: `evtchn` with variants `2-level` (the 2-level ABI
// only: init_control/expand_array -EOPNOTSUPP, set_priority -ENOSYS) and `fifo` (domains start
// 2-level and switch with EVTCHNOP_init_control, as on Xen). The plugin binds the configuration;
// `installEventChannels(host, resolve(container, EVTCHN_CONFIG))` puts it into a Host.
import { bindSingleton, definePlugin, defineToken, p, resolve, type DependencyContainer } from '@tachyxx/core';
import type { Host } from '@tachyxx/hypervisor';
import { DEFAULT_EVTCHN_CONFIG, installEventChannels, type EventChannels, type EvtchnConfig, type EvtchnVariant } from './event-channels.js';

export const EVTCHN_CONFIG = defineToken<EvtchnConfig>('evtchn.Config');

const params = {
  maxEventChannels: p.uint(DEFAULT_EVTCHN_CONFIG.maxEventChannels, 'default highest event-channel port of a domain (xl max_event_channels)', { min: 1, max: 131071 }),
};

function evtchnPlugin(variant: EvtchnVariant, description: string) {
  return definePlugin({
    id: 'evtchn',
    variant,
    description,
    params,
    provides: [EVTCHN_CONFIG],
    requires: [],
    register(c, prm) {
      bindSingleton(c, EVTCHN_CONFIG, () => Object.freeze({ variant, maxEventChannels: prm.maxEventChannels }));
    },
  });
}

export const evtchn2l = evtchnPlugin('2-level', 'Xen event channels, 2-level ABI: 4096 ports, pending/mask bitmaps in shared_info, per-vCPU selector');
export const evtchnFifo = evtchnPlugin('fifo', 'Xen event channels with the FIFO ABI: up to 131072 ports, 16 priorities, per-vCPU queues in guest pages');
export const EVTCHN_PLUGINS = [evtchn2l, evtchnFifo] as const;

/**
 * Installs event channels into `host` with the variant the host config selected (component
 * `evtchn`); without one in the config, the default (`fifo`, max 1023). Returns the component.
 */
export function installEventChannelsFrom(host: Host, container: DependencyContainer): EventChannels {
  const cfg = container.isRegistered(EVTCHN_CONFIG, true) ? resolve(container, EVTCHN_CONFIG) : DEFAULT_EVTCHN_CONFIG;
  return installEventChannels(host, cfg);
}
