// The event-channel component as core plugins: `evtchn` with variants `2-level` (the 2-level ABI
// only: init_control/expand_array -EOPNOTSUPP, set_priority -ENOSYS) and `fifo` (domains start
// 2-level and switch with EVTCHNOP_init_control, as on Xen). Each binds its configuration
// (EVTCHN_CONFIG) and a host component (EVTCHN_COMPONENT) that the host assembly attaches: it
// registers event_channel_op and becomes the host's InterruptSink and PollProvider.
import { bindSingleton, definePlugin, defineToken, p, resolve, type DependencyContainer } from '@tachyxx/core';
import type { HostComponent, HostServices } from '@tachyxx/hypervisor';
import { DEFAULT_EVTCHN_CONFIG, EventChannels, installEventChannels, type EvtchnConfig, type EvtchnVariant } from './event-channels.js';
import { EvtchnStats } from './stats.js';

export const EVTCHN_CONFIG = defineToken<EvtchnConfig>('evtchn.Config');
export const EVTCHN_COMPONENT = defineToken<EvtchnComponent>('evtchn.Component');

/** The event-channel host component: `channels` exists once attached. */
export class EvtchnComponent implements HostComponent {
  readonly id = 'evtchn';
  readonly stats = new EvtchnStats();
  private ev: EventChannels | null = null;
  constructor(readonly config: Readonly<EvtchnConfig>) {}

  attach(services: HostServices): void {
    if (this.ev) throw new Error('the evtchn component is already attached');
    this.ev = new EventChannels(services, this.config, this.stats).install({ mountStats: false });
  }

  /** The event channels (the libxenevtchn-like API for dom0's TypeScript side). */
  get channels(): EventChannels {
    if (!this.ev) throw new Error('the evtchn component is not attached to a host yet');
    return this.ev;
  }
}

const params = {
  maxEventChannels: p.uint(DEFAULT_EVTCHN_CONFIG.maxEventChannels, 'default highest event-channel port of a domain (xl max_event_channels)', { min: 1, max: 131071 }),
};

function evtchnPlugin(variant: EvtchnVariant, description: string) {
  return definePlugin({
    id: 'evtchn',
    variant,
    description,
    params,
    provides: [EVTCHN_CONFIG, EVTCHN_COMPONENT],
    requires: [],
    component: EVTCHN_COMPONENT,
    register(c, prm) {
      bindSingleton(c, EVTCHN_CONFIG, () => Object.freeze({ variant, maxEventChannels: prm.maxEventChannels }));
      bindSingleton(c, EVTCHN_COMPONENT, (c) => new EvtchnComponent(resolve(c, EVTCHN_CONFIG)));
    },
  });
}

export const evtchn2l = evtchnPlugin('2-level', 'Xen event channels, 2-level ABI: 4096 ports, pending/mask bitmaps in shared_info, per-vCPU selector');
export const evtchnFifo = evtchnPlugin('fifo', 'Xen event channels with the FIFO ABI: up to 131072 ports, 16 priorities, per-vCPU queues in guest pages');
export const EVTCHN_PLUGINS = [evtchn2l, evtchnFifo] as const;

/**
 * Installs event channels into `host` with the variant the host config selected (component
 * `evtchn`); without one in the config, the default (`fifo`, max 1023). For hand-built hosts
 * (tests); an assembled host has its evtchn component attached already.
 */
export function installEventChannelsFrom(host: HostServices, container: DependencyContainer): EventChannels {
  const cfg = container.isRegistered(EVTCHN_CONFIG, true) ? resolve(container, EVTCHN_CONFIG) : DEFAULT_EVTCHN_CONFIG;
  return installEventChannels(host, cfg);
}
