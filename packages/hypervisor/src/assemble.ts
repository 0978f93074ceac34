// The host assembly: one function builds a whole host from its config. It builds the DI
// container (core's composition root: config, bus, clock, stats, PRNG, costs, every selected
// plugin), creates the Host (pCPUs from `isa` + `mmu`, the scheduler from `sched`), binds the
// host's services, then resolves every selected host component through the container and
// attaches it in dependency order (topological by requires/provides: evtchn before the xenstore
// and console components that need its ports). The runner and the toolstack call only this.
import {
  bindValue, buildContainer, componentOrder, ConfigError, hostConfigFromObject, resolve, tokenName,
  type DependencyContainer, type HostConfig, type PluginRegistry, type Token,
} from '@tachyxx/core';
import { ISA_CPU_FACTORY } from '@tachyxx/isa';
import { MMU_FACTORY } from '@tachyxx/mmu';
import { SCHED_CORE } from '@tachyxx/sched';
import { Host, type HostOptions } from './host/host.js';
import { HOST_SERVICES, type HostComponent, type HostServices } from './services.js';

export interface AssembleOptions extends Omit<HostOptions, 'container'> {
  /** The container to derive from (default: tsyringe's root container). */
  parent?: DependencyContainer;
}

export interface AssembledHost {
  readonly host: Host;
  readonly services: HostServices;
  readonly container: DependencyContainer;
  readonly config: HostConfig;
  /** The attached components by id, in attach order. */
  readonly components: ReadonlyMap<string, HostComponent>;
  /** A component by id (throws naming the attached ones when it is not selected). */
  component<C extends HostComponent = HostComponent>(id: string): C;
  /** Resolves a token of the host's container (e.g. a component's public API token). */
  get<T>(token: Token<T>): T;
  /** Detaches every component, in reverse attach order, and completes the bus. */
  close(): void;
}

/**
 * Builds and assembles a host. `config` is validated again against `registry` (ConfigErrors for
 * bad input, with the keys named). A component whose plugin binds an object with another `id`,
 * or without `attach`, is a bug and throws.
 */
export function assembleHost(config: HostConfig, registry: PluginRegistry, options: AssembleOptions): AssembledHost {
  const cfg = hostConfigFromObject(config, registry);
  const order = componentOrder(cfg, registry);
  const { parent, ...hostOptions } = options;
  const container = buildContainer(cfg, registry, parent ? { parent } : {});
  // The Host itself is built from these (pCPUs, MMUs, the scheduler).
  const missing = ([[ISA_CPU_FACTORY, 'isa'], [MMU_FACTORY, 'mmu'], [SCHED_CORE, 'sched']] as const).filter(([t]) => !container.isRegistered(t, true));
  if (missing.length) {
    throw new ConfigError({
      keyPath: 'components',
      reason: `a hypervisor host needs ${missing.map(([t, id]) => `'${id}' (${tokenName(t)})`).join(', ')}: select ${missing.length > 1 ? 'them' : 'it'} under components`,
      allowed: missing.flatMap(([, id]) => registry.has(id) ? registry.variants(id).map((v) => `${id}: ${v}`) : []),
    });
  }
  const host = new Host({ ...hostOptions, container });
  bindValue(container, HOST_SERVICES, host as HostServices);
  const components = new Map<string, HostComponent>();
  for (const entry of order) {
    const comp = container.resolve(entry.token) as HostComponent;
    if (!comp || typeof comp.attach !== 'function') throw new Error(`component ${entry.id}/${entry.variant}: its plugin bound ${String(comp)}, not a HostComponent`);
    if (comp.id !== entry.id) throw new Error(`component ${entry.id}/${entry.variant}: its plugin bound a component with id '${comp.id}'`);
    if (comp.stats) host.stats.mount(`host.${entry.id}`, comp.stats);
    comp.attach(host);
    components.set(entry.id, comp);
  }
  let closed = false;
  return {
    host,
    services: host,
    container,
    config: cfg,
    components,
    component<C extends HostComponent>(id: string): C {
      const c = components.get(id);
      if (!c) throw new Error(`no component '${id}' in this host (attached: ${[...components.keys()].join(', ') || 'none'})`);
      return c as C;
    },
    get: <T>(token: Token<T>) => resolve(container, token),
    close() {
      if (closed) return;
      closed = true;
      for (const c of [...components.values()].reverse()) c.detach?.();
      host.bus.complete();
    },
  };
}
