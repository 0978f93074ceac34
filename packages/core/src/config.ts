/**
 * The host config: what machine to build (pCPUs, memory, clock), which variant of each component,
 * their params and the cost model. Loaded from YAML (with line:col in every error) or from an
 * object, validated against the plugin registry. Every problem is a ConfigError; nothing else is
 * thrown, whatever the input.
 *
 * The validated config has the same shape as the input, with every default filled in, so it can be
 * written back as YAML, shipped to a worker, and validated again to the same value.
 */
import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { ConfigError } from './errors.js';
import { configError, describeValue, isMapping, p, resolveParams, type ConfigSite, type ParamSpec } from './params.js';
import type { Plugin } from './plugin.js';
import type { PluginRegistry } from './registry.js';
import { TOKENS, tokenName } from './tokens.js';

/** One selected component: its variant and its params (defaults filled in). */
export type ComponentConfig = { readonly variant: string } & Readonly<Record<string, unknown>>;

export interface HostConfig {
  /** Seed of the simulation's PRNG (TOKENS.Rng). */
  readonly seed: number;
  readonly cpu: { readonly freqMHz: number };
  /** Physical CPUs. */
  readonly pcpus: number;
  /** Machine memory in MiB. */
  readonly memoryMiB: number;
  /** Selected variant and params per component id. */
  readonly components: Readonly<Record<string, ComponentConfig>>;
  /**
   * Cycle costs, every cost declared by a selected plugin (defaults filled in), namespaced by
   * component: `mmu.walkRef`, `hypervisor.hypercall` (see `costKey`, `componentCosts`).
   */
  readonly costs: Readonly<Record<string, number>>;
  /** NUMA topology; absent = one node with all memory and pCPUs. */
  readonly numa?: NumaTopology;
  /** Dom0 (the TypeScript control domain of the host daemon); absent = the daemon's defaults. */
  readonly dom0?: Dom0Config;
}

/** `dom0:` — memory (MiB, taken from machine memory) and vCPUs of domain 0. */
export interface Dom0Config {
  readonly memoryMiB: number;
  readonly vcpus: number;
}

/** `numa:` — nodes partition the machine memory and the pCPUs; distances as ACPI SLIT (10 = local). */
export interface NumaTopology {
  readonly nodes: readonly { readonly memoryMiB: number; readonly pcpus: readonly number[] }[];
  readonly distances?: readonly (readonly number[])[];
}

/** The top-level scalar keys, with defaults and bounds. */
export const HOST_PARAMS = {
  seed: p.uint(1, 'seed of the simulation PRNG', { max: 0xffff_ffff }),
  pcpus: p.uint(1, 'number of physical CPUs', { min: 1, max: 256 }),
  // One ArrayBuffer holds machine memory (isa PhysMemory): Node 20 caps it at 4 GiB (docs/limits.md).
  memoryMiB: p.uint(256, 'machine memory in MiB', { min: 1, max: 4096 }),
} as const;

export const CPU_PARAMS = {
  freqMHz: p.uint(1000, 'CPU clock frequency in MHz (1 cycle = 1000/freqMHz ns)', { min: 1, max: 1_000_000 }),
} as const;

export const HOST_CONFIG_KEYS = ['seed', 'cpu', 'pcpus', 'memoryMiB', 'components', 'costs', 'numa', 'dom0'] as const;

export interface ConfigSource {
  /** Named in error messages. */
  file?: string;
}

/** Reads and validates a YAML host config file. */
export function loadHostConfig(file: string, registry: PluginRegistry): HostConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError({ file, keyPath: '', reason: code === 'ENOENT' ? 'no such file' : `cannot read: ${(e as Error).message}` });
  }
  return parseHostConfig(text, registry, { file });
}

/** Parses and validates a host config from YAML text. */
export function parseHostConfig(text: string, registry: PluginRegistry, source: ConfigSource = {}): HostConfig {
  const lineCounter = new LineCounter();
  const file = source.file ?? '<yaml>';
  let raw: unknown;
  let site: ConfigSite;
  try {
    const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, logLevel: 'silent' });
    const err = doc.errors[0];
    if (err) {
      const pos = lineCounter.linePos(err.pos[0]);
      throw new ConfigError({ file, keyPath: '', line: pos.line, col: pos.col, reason: `invalid YAML: ${firstLine(err.message)}` });
    }
    raw = doc.toJS({ maxAliasCount: 1000 });
    site = { file, locate: (path, at) => locateInYaml(doc.contents, lineCounter, path, at) };
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError({ file, keyPath: '', reason: `invalid YAML: ${firstLine(e instanceof Error ? e.message : String(e))}` });
  }
  return validateHostConfig(raw, registry, site);
}

/** Validates a host config given as an object (e.g. built in code, or parsed JSON). */
export function hostConfigFromObject(raw: unknown, registry: PluginRegistry, source: ConfigSource = {}): HostConfig {
  return validateHostConfig(raw, registry, { file: source.file });
}

/** The host-config key of a component's cost: `costKey('mmu', 'walkRef')` = 'mmu.walkRef'. */
export function costKey(component: string, name: string): string {
  return `${component}.${name}`;
}

/** The costs of one component with the namespace stripped: `componentCosts(all, 'mmu').walkRef`. */
export function componentCosts(costs: Readonly<Record<string, number>>, component: string): Readonly<Record<string, number>> {
  const prefix = `${component}.`;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(costs)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = v;
  return Object.freeze(out);
}

function firstLine(s: string): string {
  return s.split('\n', 1)[0]!.trim();
}

function locateInYaml(root: unknown, lc: LineCounter, path: readonly string[], at: 'key' | 'value') {
  let node = root as YamlNode | null | undefined;
  let key: YamlNode | undefined;
  for (const segment of path) {
    // A list item (a device instance): the segment is its index.
    if (isSeq(node)) {
      const item = /^\d+$/.test(segment) ? node.items[Number(segment)] : undefined;
      if (item === undefined) return undefined;
      key = undefined;
      node = item as YamlNode | null;
      continue;
    }
    if (!isMap(node)) return undefined;
    const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === segment);
    if (!pair) return undefined;
    key = pair.key as YamlNode;
    node = pair.value as YamlNode | null;
  }
  const target = at === 'key' && key ? key : (node ?? key);
  const offset = target?.range?.[0];
  return offset === undefined ? undefined : lc.linePos(offset);
}

/** A selected plugin with its validated params, in registration order. */
export interface Selection {
  readonly id: string;
  readonly plugin: Plugin<any>;
  readonly params: Record<string, unknown>;
}

const CORE_TOKENS: ReadonlySet<unknown> = new Set(Object.values(TOKENS));

function validateHostConfig(raw: unknown, registry: PluginRegistry, site: ConfigSite): HostConfig {
  if (raw === null || raw === undefined) raw = {};
  if (!isMapping(raw)) throw configError(site, [], 'value', `expected a mapping of host settings, got ${describeValue(raw)}`);
  const top = raw;
  for (const key of Object.keys(top)) {
    if (!(HOST_CONFIG_KEYS as readonly string[]).includes(key)) throw configError(site, [key], 'key', 'unknown key', HOST_CONFIG_KEYS);
  }
  const { seed, pcpus, memoryMiB } = resolveParams(HOST_PARAMS, pick(top, Object.keys(HOST_PARAMS)), [], site);
  const cpu = resolveParams(CPU_PARAMS, top.cpu, ['cpu'], site);
  const selections = selectPlugins(top.components, registry, site);
  const components: Record<string, ComponentConfig> = {};
  for (const s of selections.inConfigOrder) components[s.id] = Object.freeze({ variant: s.plugin.variant, ...s.params });

  // Costs are namespaced by component (`mmu.walkRef`): two components may declare the same name.
  const costSchema: Record<string, ParamSpec<number>> = {};
  for (const s of selections.inConfigOrder) {
    for (const [name, spec] of Object.entries(s.plugin.costs ?? {})) costSchema[costKey(s.id, name)] = spec;
  }
  const costs = resolveParams(costSchema, top.costs, ['costs'], site);
  const numa = top.numa === undefined ? undefined : validateNuma(top.numa, pcpus, memoryMiB, site);
  const dom0 = top.dom0 === undefined ? undefined : validateDom0(top.dom0, memoryMiB, site);

  return Object.freeze({
    seed,
    cpu: Object.freeze(cpu),
    pcpus,
    memoryMiB,
    components: Object.freeze(components),
    costs: Object.freeze(costs),
    ...(numa ? { numa } : {}),
    ...(dom0 ? { dom0 } : {}),
  });
}

function validateDom0(raw: unknown, memoryMiB: number, site: ConfigSite): Dom0Config {
  if (!isMapping(raw)) throw configError(site, ['dom0'], 'value', `expected a mapping { memoryMiB, vcpus }, got ${describeValue(raw)}`);
  const schema = {
    memoryMiB: p.uint(Math.min(512, Math.max(1, Math.floor(memoryMiB / 4))), 'dom0 memory in MiB (taken from machine memory)', { min: 1, max: Math.max(1, memoryMiB - 1) }),
    vcpus: p.uint(1, 'dom0 vCPUs', { min: 1, max: 128 }),
  };
  return Object.freeze(resolveParams(schema, raw, ['dom0'], site));
}

function validateNuma(raw: unknown, pcpus: number, memoryMiB: number, site: ConfigSite): NumaTopology {
  if (!isMapping(raw)) throw configError(site, ['numa'], 'value', `expected a mapping with 'nodes' (and optional 'distances'), got ${describeValue(raw)}`);
  for (const k of Object.keys(raw)) if (k !== 'nodes' && k !== 'distances') throw configError(site, ['numa', k], 'key', 'unknown key', ['nodes', 'distances']);
  const nodesRaw = raw.nodes;
  if (!Array.isArray(nodesRaw) || nodesRaw.length < 1 || nodesRaw.length > 64) {
    throw configError(site, ['numa', 'nodes'], 'value', `expected a list of 1..64 nodes, got ${describeValue(nodesRaw)}`);
  }
  const seen = new Set<number>();
  let total = 0;
  const nodes = nodesRaw.map((n, i) => {
    const path = ['numa', 'nodes', String(i)];
    if (!isMapping(n)) throw configError(site, path, 'value', `expected { memoryMiB, pcpus }, got ${describeValue(n)}`);
    for (const k of Object.keys(n)) if (k !== 'memoryMiB' && k !== 'pcpus') throw configError(site, [...path, k], 'key', 'unknown key', ['memoryMiB', 'pcpus']);
    const { memoryMiB: mem } = resolveParams({ memoryMiB: p.uint(1, 'node memory in MiB', { min: 1, max: memoryMiB }) }, { memoryMiB: n.memoryMiB }, path, site);
    if (!Array.isArray(n.pcpus)) throw configError(site, [...path, 'pcpus'], 'value', `expected a list of pCPU ids, got ${describeValue(n.pcpus)}`);
    const cpus = n.pcpus.map((c, j) => {
      if (!Number.isInteger(c) || (c as number) < 0 || (c as number) >= pcpus) throw configError(site, [...path, 'pcpus', String(j)], 'value', `pCPU ${describeValue(c)} does not exist (pcpus: ${pcpus})`);
      if (seen.has(c as number)) throw configError(site, [...path, 'pcpus', String(j)], 'value', `pCPU ${c} is already in another node`);
      seen.add(c as number);
      return c as number;
    });
    total += mem;
    return Object.freeze({ memoryMiB: mem, pcpus: Object.freeze(cpus) });
  });
  if (total !== memoryMiB) throw configError(site, ['numa', 'nodes'], 'value', `node memory adds up to ${total} MiB, but memoryMiB is ${memoryMiB}`);
  if (seen.size !== pcpus) throw configError(site, ['numa', 'nodes'], 'value', `every pCPU must be in one node (${seen.size} of ${pcpus} are)`);
  let distances: number[][] | undefined;
  if (raw.distances !== undefined) {
    const d = raw.distances;
    if (!Array.isArray(d) || d.length !== nodes.length || d.some((r) => !Array.isArray(r) || r.length !== nodes.length || r.some((x) => !Number.isInteger(x) || x < 1 || x > 255))) {
      throw configError(site, ['numa', 'distances'], 'value', `expected a ${nodes.length} x ${nodes.length} matrix of integers 1..255`);
    }
    distances = d as number[][];
  }
  return Object.freeze({ nodes: Object.freeze(nodes), ...(distances ? { distances: Object.freeze(distances.map((r) => Object.freeze([...r]))) } : {}) });
}

function pick(obj: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (Object.hasOwn(obj, k)) out[k] = obj[k];
  return out;
}

/**
 * Looks up each component's variant, validates its params, and checks the wiring: every required
 * token is provided (by core or a selected plugin), no token is provided twice, no cycles.
 * Returns the selections in config order and in registration order (providers first).
 */
export function selectPlugins(
  rawComponents: unknown,
  registry: PluginRegistry,
  site: ConfigSite = {},
): { inConfigOrder: Selection[]; inRegistrationOrder: Selection[] } {
  if (rawComponents === undefined || rawComponents === null) rawComponents = {};
  if (!isMapping(rawComponents)) throw configError(site, ['components'], 'value', `expected a mapping of component: { variant, params... }, got ${describeValue(rawComponents)}`);
  const selections: Selection[] = [];
  for (const id of Object.keys(rawComponents)) {
    const path = ['components', id];
    if (!registry.has(id)) throw configError(site, path, 'key', `unknown component '${id}'`, registry.components());
    const entry = rawComponents[id];
    let variant: unknown;
    let variantPath = [...path, 'variant'];
    if (typeof entry === 'string') {
      variant = entry;
      variantPath = path;
    } else if (isMapping(entry)) {
      if (!Object.hasOwn(entry, 'variant')) throw configError(site, path, 'key', `missing 'variant'`, registry.variants(id));
      variant = entry.variant;
    } else {
      throw configError(site, path, 'value', `expected a variant name or a mapping with 'variant', got ${describeValue(entry)}`, registry.variants(id));
    }
    if (typeof variant !== 'string' || !registry.has(id, variant)) {
      const shown = typeof variant === 'string' ? `'${variant}'` : describeValue(variant);
      throw configError(site, variantPath, 'value', `unknown variant ${shown} of component '${id}'`, registry.variants(id));
    }
    const plugin = registry.get(id, variant);
    const params = resolveParams(plugin.params, typeof entry === 'string' ? {} : entry, path, site, ['variant']);
    selections.push({ id, plugin, params });
  }
  return { inConfigOrder: selections, inRegistrationOrder: orderByRequires(selections, registry, site) };
}

function orderByRequires(selections: Selection[], registry: PluginRegistry, site: ConfigSite): Selection[] {
  const providerOf = new Map<unknown, Selection>();
  for (const s of selections) {
    for (const token of s.plugin.provides) {
      const other = providerOf.get(token);
      if (CORE_TOKENS.has(token) || other) {
        const by = other ? `component '${other.id}'` : 'core';
        throw configError(site, ['components', s.id], 'key', `${s.id}/${s.plugin.variant} provides ${tokenName(token)}, which ${by} already provides`);
      }
      providerOf.set(token, s);
    }
  }
  for (const s of selections) {
    for (const token of s.plugin.requires) {
      if (CORE_TOKENS.has(token) || providerOf.has(token)) continue;
      const candidates = registry
        .all()
        .filter((pl) => pl.provides.includes(token))
        .map((pl) => `${pl.id}: ${pl.variant}`);
      throw configError(
        site,
        ['components', s.id],
        'key',
        `${s.id}/${s.plugin.variant} requires ${tokenName(token)}, which no selected component provides${candidates.length ? '; select one of' : ' (no known plugin provides it)'}`,
        candidates.length ? candidates : undefined,
      );
    }
  }
  // Depth-first topological order, ties broken by config order (deterministic).
  const ordered: Selection[] = [];
  const state = new Map<Selection, 'visiting' | 'done'>();
  const visit = (s: Selection, chain: Selection[]): void => {
    const st = state.get(s);
    if (st === 'done') return;
    if (st === 'visiting') {
      const cycle = [...chain.slice(chain.indexOf(s)), s].map((c) => c.id).join(' -> ');
      throw configError(site, ['components', s.id], 'key', `components require each other: ${cycle}`);
    }
    state.set(s, 'visiting');
    for (const token of s.plugin.requires) {
      const provider = providerOf.get(token);
      if (provider) visit(provider, [...chain, s]);
    }
    state.set(s, 'done');
    ordered.push(s);
  };
  for (const s of selections) visit(s, []);
  return ordered;
}
