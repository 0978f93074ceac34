// The xenstore and console host components. Both need the event-channel component (a port per
// domain ring), so their plugins require EVTCHN_COMPONENT and the host assembly attaches them
// after it.
import { bindSingleton, definePlugin, defineToken, resolve } from '@tachyxx/core';
import { EVTCHN_COMPONENT, type EvtchnComponent } from '@tachyxx/evtchn';
import type { HostComponent, HostServices } from '@tachyxx/hypervisor';
import { attachXenstore, type XenstoreAttachment } from './attach.js';
import { attachConsoleRings, ConsoleStats, type ConsoleRings } from './console.js';
import type { XenstoreStats } from './stats.js';
import type { Xenstored } from './xenstored.js';

/** xenstored as a host component: a store ring + port per domain, introduce/release. */
export class XenstoreComponent implements HostComponent {
  readonly id = 'xenstore';
  readonly stats: XenstoreStats;
  private attachment: XenstoreAttachment | null = null;
  constructor(readonly xs: Xenstored, private readonly evtchn: EvtchnComponent) {
    this.stats = xs.stats;
  }

  attach(services: HostServices): void {
    if (this.attachment) throw new Error('the xenstore component is already attached');
    this.attachment = attachXenstore(services, this.evtchn.channels, { xs: this.xs });
  }

  /** Per-domain ring bindings (once attached). */
  get store(): XenstoreAttachment {
    if (!this.attachment) throw new Error('the xenstore component is not attached to a host yet');
    return this.attachment;
  }
}

export const CONSOLE_COMPONENT = defineToken<ConsoleComponent>('console.Component');

/** xenconsoled as a host component: a PV console ring + port per domain; output joins console_io's. */
export class ConsoleComponent implements HostComponent {
  readonly id = 'console';
  readonly stats = new ConsoleStats();
  private r: ConsoleRings | null = null;
  constructor(private readonly evtchn: EvtchnComponent) {}

  attach(services: HostServices): void {
    if (this.r) throw new Error('the console component is already attached');
    this.r = attachConsoleRings(services, this.evtchn.channels, {
      output: (d, bytes) => services.consoleOutput(d, bytes),
      log: (line) => services.log(line),
      stats: this.stats,
    });
  }

  /** The rings (input, per-domain bindings), once attached. */
  get rings(): ConsoleRings {
    if (!this.r) throw new Error('the console component is not attached to a host yet');
    return this.r;
  }
}

export const consoleXenconsoled = definePlugin({
  id: 'console',
  variant: 'xenconsoled',
  description: 'PV console ring per domain (xencons_interface) served by dom0, as xenconsoled does',
  params: {},
  provides: [CONSOLE_COMPONENT],
  requires: [EVTCHN_COMPONENT],
  component: CONSOLE_COMPONENT,
  register(c) {
    bindSingleton(c, CONSOLE_COMPONENT, (c) => new ConsoleComponent(resolve(c, EVTCHN_COMPONENT)));
  },
});
