/**
 * The plugin contract: one variant of one component (gem5's SimObject subclass, chosen by name).
 * The composition root picks one variant per component from the host config, validates its
 * params against `params`, and calls `register` on a per-host child container.
 */
import type { DependencyContainer, InjectionToken } from 'tsyringe';
import type { ParamSchema, ParamSpec, ParamsOf } from './params.js';
import type { HostComponent } from './component.js';

export interface Plugin<P = Record<string, unknown>> {
  /** The component this is a variant of, e.g. 'isa', 'mmu.tlb'. */
  readonly id: string;
  /** The variant name, e.g. 'tachy-v1', 'tagged'. */
  readonly variant: string;
  /** One line for listings. */
  readonly description: string;
  /** Typed params with defaults and descriptions; the config sets them next to `variant`. */
  readonly params: ParamSchema<P>;
  /**
   * Cycle costs this variant charges, with defaults (e.g. `{ trap: p.uint(376, 'cycles to take a trap') }`).
   * The host config's `costs:` may override any cost declared by a selected plugin, and no other.
   */
  readonly costs?: Readonly<Record<string, ParamSpec<number>>>;
  /** Tokens `register` binds. */
  readonly provides: readonly InjectionToken<unknown>[];
  /** Tokens this variant resolves; each must be provided by core or another selected plugin. */
  readonly requires: readonly InjectionToken<unknown>[];
  /**
   * A host component (`HostComponent`): the token `register` binds to it. The host assembly
   * resolves it after the host exists and attaches it, in dependency order (`requires` /
   * `provides`). Absent for plugins that only bind factories or values (isa, mmu, sched).
   */
  readonly component?: InjectionToken<HostComponent<any>>;
  /** Binds `provides` in `container` (lazily: resolve other tokens inside factories). */
  register(container: DependencyContainer, params: P): void;
}

/** Writes a plugin with its params type inferred from the schema. */
export function definePlugin<S extends Record<string, ParamSpec<any>>>(
  plugin: Omit<Plugin<ParamsOf<S>>, 'params'> & { params: S },
): Plugin<ParamsOf<S>> {
  return plugin as unknown as Plugin<ParamsOf<S>>;
}
