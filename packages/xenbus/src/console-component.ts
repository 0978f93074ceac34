// The console host component (xenconsoled): a PV console ring + port per domain, served by dom0.
// Its plugin requires only the event-channel component (a port per ring); the host assembly
// attaches it after that. It moved here from @tachyxx/xenstore with the ring itself (issue 10 §3):
// the console is a dom0 PV backend, not part of xenstored.
import { bindSingleton, definePlugin, defineToken, resolve } from '@tachyxx/core';
import { EVTCHN_COMPONENT, type EvtchnComponent } from '@tachyxx/evtchn';
import type { HostComponent, HostServices } from '@tachyxx/hypervisor';
import { attachConsoleRings, ConsoleStats, type ConsoleRings } from './console.js';

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
