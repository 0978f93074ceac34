/**
 * The host-component contract: a piece of the host (event channels, grant tables, xenstored, the
 * console daemon, later every device) that plugs into the running host through the services the
 * host offers, `S` (the hypervisor's `HostServices`). Core only fixes the shape; the services
 * interface belongs to the hypervisor's public API, so core never depends on it.
 *
 * A component is built by its plugin's `register` (bound to `Plugin.component`, so it can resolve
 * its params and the components it `requires` through the container) and attached by the host
 * assembly once the host exists, providers before the components that require them.
 */
import type { StatGroup } from './stats.js';

export interface HostComponent<S = unknown> {
  /** The component id (the host config's `components:` key), e.g. 'evtchn'. */
  readonly id: string;
  /**
   * Its stats group. The assembly mounts it at `host.<id>` before `attach` (a component with
   * instances hangs them below it: `host.evtchn.d1`).
   */
  readonly stats?: StatGroup;
  /** Plugs into the host: registers hypercalls, lifecycle hooks, interrupt sinks, subscriptions. */
  attach(services: S): void;
  /** Undoes `attach` where it matters (subscriptions, sockets); called in reverse attach order. */
  detach?(): void;
}
