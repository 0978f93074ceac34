/**
 * The variant registry (gem5's ObjectList): every known plugin by component and variant. An
 * unknown name is a ConfigError listing the names that exist.
 */
import { ConfigError } from './errors.js';
import { describeParams } from './params.js';
import type { Plugin } from './plugin.js';
import { tokenName } from './tokens.js';

export class PluginRegistry {
  private readonly byComponent = new Map<string, Map<string, Plugin<any>>>();

  constructor(plugins: Iterable<Plugin<any>> = []) {
    for (const plugin of plugins) this.register(plugin);
  }

  /** Adds a plugin; registering the same component/variant twice is a bug and throws. */
  register(plugin: Plugin<any>): this {
    let variants = this.byComponent.get(plugin.id);
    if (!variants) this.byComponent.set(plugin.id, (variants = new Map()));
    if (variants.has(plugin.variant)) throw new Error(`plugin ${plugin.id}/${plugin.variant} is registered twice`);
    variants.set(plugin.variant, plugin);
    return this;
  }

  /** Component ids, sorted. */
  components(): string[] {
    return [...this.byComponent.keys()].sort();
  }

  /** Variant names of a component, sorted; an unknown component is a ConfigError. */
  variants(id: string): string[] {
    return [...this.variantMap(id).keys()].sort();
  }

  has(id: string, variant?: string): boolean {
    const v = this.byComponent.get(id);
    return v !== undefined && (variant === undefined || v.has(variant));
  }

  /** The plugin for a component's variant; unknown ones are ConfigErrors listing the valid choices. */
  get(id: string, variant: string): Plugin<any> {
    const plugin = this.variantMap(id).get(variant);
    if (!plugin) {
      throw new ConfigError({ keyPath: `components.${id}.variant`, reason: `unknown variant '${variant}' of component '${id}'`, allowed: this.variants(id) });
    }
    return plugin;
  }

  /** All plugins, sorted by component then variant. */
  all(): Plugin<any>[] {
    return this.components().flatMap((id) => this.variants(id).map((v) => this.byComponent.get(id)!.get(v)!));
  }

  /** A plain listing of every variant with its params, provides and requires (for `--help` and docs). */
  catalog() {
    return this.all().map((pl) => ({
      id: pl.id,
      variant: pl.variant,
      description: pl.description,
      params: describeParams(pl.params),
      costs: describeParams(pl.costs ?? {}),
      provides: pl.provides.map(tokenName),
      requires: pl.requires.map(tokenName),
      ...(pl.component ? { component: tokenName(pl.component) } : {}),
    }));
  }

  private variantMap(id: string): Map<string, Plugin<any>> {
    const v = this.byComponent.get(id);
    if (!v) throw new ConfigError({ keyPath: `components.${id}`, reason: `unknown component '${id}'`, allowed: this.components() });
    return v;
  }
}
