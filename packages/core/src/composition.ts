/**
 * The composition root: turns a validated host config into a tsyringe child container holding
 * this simulation's config, bus, clock, event queue, stats root, PRNG and cost model, then each
 * selected plugin, registered providers first. Nothing is global: two hosts built from two
 * configs in one process share nothing.
 */
import 'reflect-metadata'; // before tsyringe, whichever module loads first
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import { EventBus } from './bus.js';
import { SimClock } from './clock.js';
import { hostConfigFromObject, selectPlugins, type HostConfig } from './config.js';
import type { InjectionToken } from 'tsyringe';
import type { HostComponent } from './component.js';
import { EventQueue } from './event-queue.js';
import type { PluginRegistry } from './registry.js';
import { Rng } from './rng.js';
import { StatGroup } from './stats.js';
import { bindValue, TOKENS, tokenName } from './tokens.js';

export interface BuildOptions {
  /** The container to derive from (default: tsyringe's root container). */
  parent?: DependencyContainer;
}

/**
 * Builds the container of one host. `config` is validated again (so a hand-written object is
 * checked too); problems are ConfigErrors. A plugin that does not register a token it declares
 * in `provides` is a bug and throws a plain Error.
 */
export function buildContainer(config: HostConfig, registry: PluginRegistry, options: BuildOptions = {}): DependencyContainer {
  const cfg = hostConfigFromObject(config, registry);
  const c = (options.parent ?? rootContainer).createChildContainer();
  const clock = new SimClock(cfg.cpu.freqMHz);
  bindValue(c, TOKENS.HostConfig, cfg);
  bindValue(c, TOKENS.Bus, new EventBus());
  bindValue(c, TOKENS.Clock, clock);
  bindValue(c, TOKENS.EventQueue, new EventQueue(clock));
  bindValue(c, TOKENS.Stats, new StatGroup());
  bindValue(c, TOKENS.Rng, new Rng(cfg.seed));
  bindValue(c, TOKENS.Costs, cfg.costs);

  for (const { id, plugin, params } of selectPlugins(cfg.components, registry).inRegistrationOrder) {
    plugin.register(c, Object.freeze({ ...params }));
    for (const token of plugin.component ? [...plugin.provides, plugin.component] : plugin.provides) {
      if (!c.isRegistered(token, false)) {
        throw new Error(`plugin ${id}/${plugin.variant} declares that it provides ${tokenName(token)} but register() did not bind it`);
      }
    }
  }
  return c;
}

/** A selected plugin that is a host component, with the token to resolve it by. */
export interface ComponentEntry {
  readonly id: string;
  readonly variant: string;
  readonly token: InjectionToken<HostComponent<any>>;
}

/**
 * The host components of `config`, in attach order: topological by `requires` / `provides`
 * (a provider before every component that requires it; ties in config order). A missing
 * provider or a cycle is a ConfigError naming the components (see `selectPlugins`).
 */
export function componentOrder(config: HostConfig, registry: PluginRegistry): ComponentEntry[] {
  return selectPlugins(config.components, registry)
    .inRegistrationOrder.filter((s) => s.plugin.component !== undefined)
    .map((s) => ({ id: s.id, variant: s.plugin.variant, token: s.plugin.component! }));
}
