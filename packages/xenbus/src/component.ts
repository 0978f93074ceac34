// The xenbus host component: dom0's backend side of XenBus (every registered Backend's devices)
// on the host's event channels, grant tables and xenstored. Its plugin requires all three.
import { bindSingleton, definePlugin, defineToken, resolve } from '@tachyxx/core';
import { EVTCHN_COMPONENT, type EvtchnComponent } from '@tachyxx/evtchn';
import { GRANT_COMPONENT, type GrantComponent } from '@tachyxx/grant';
import type { HostComponent, HostServices } from '@tachyxx/hypervisor';
import { connectLocal, XENSTORED, type Xenstored } from '@tachyxx/xenstore';
import { XenbusBackends } from './backend.js';
import { consoleXenconsoled } from './console-component.js';

export const XENBUS_COMPONENT = defineToken<XenbusComponent>('xenbus.Component');

export class XenbusComponent implements HostComponent {
  readonly id = 'xenbus';
  private b: XenbusBackends | null = null;
  constructor(private readonly xs: Xenstored, private readonly evtchn: EvtchnComponent, private readonly grant: GrantComponent) {}

  attach(services: HostServices): void {
    if (this.b) throw new Error('the xenbus component is already attached');
    this.b = new XenbusBackends({ host: services, xs: connectLocal(this.xs, 0), evtchn: this.evtchn.channels, gnt: this.grant.tables });
  }

  /** The backends (register a Backend here), once attached. */
  get backends(): XenbusBackends {
    if (!this.b) throw new Error('the xenbus component is not attached to a host yet');
    return this.b;
  }
}

export const xenbusPlugin = definePlugin({
  id: 'xenbus',
  variant: 'linux',
  description: 'dom0 XenBus backends: the XenbusState handshake as Linux backends run it, grant-mapped rings, per-device stats and rate limits',
  params: {},
  provides: [XENBUS_COMPONENT],
  requires: [EVTCHN_COMPONENT, GRANT_COMPONENT, XENSTORED],
  component: XENBUS_COMPONENT,
  register(c) {
    bindSingleton(c, XENBUS_COMPONENT, (c) => new XenbusComponent(resolve(c, XENSTORED), resolve(c, EVTCHN_COMPONENT), resolve(c, GRANT_COMPONENT)));
  },
});

/** xenbus's plugins: the XenBus backends and the PV console (xenconsoled). */
export const XENBUS_PLUGINS = [xenbusPlugin, consoleXenconsoled] as const;
