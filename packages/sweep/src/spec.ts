/**
 * The sweep file (SWEEP.yaml): a base host config, axes, workloads, seeds, limits and metrics.
 * Every problem is a ConfigError naming the file, line:col, the key path and the allowed values;
 * the host config (base + one value per axis) is validated by core's own host-config validation.
 *
 * ```yaml
 * name: mmu-tlb
 * host: { memoryMiB: 320 }          # a mapping, or a host YAML file relative to this file
 * axes:
 *   mmu.variant: [tagged, untagged]
 *   mmu.entries: [32, 64, 128]
 * workloads:
 *   - name: tlbstress
 *     domains: [{ image: ../../guests/build/tlbstress.elf, memoryMiB: 256 }]
 *   - { name: hello-bare, bare: { image: ../../guests/build/hello.elf } }
 *   - { name: two-cfgs, xl: [../hello.cfg, ../timer.cfg] }   # xl.cfg files (@tachyxx/xlcfg)
 * seeds: [1]
 * limits: { maxInsns: 400000000, timeoutSeconds: 300 }
 * metrics:
 *   cycles: simCycles
 *   refsPerMiss: tree.host.*.mmu.walkRefs / tree.host.*.mmu.tlbMisses
 * ```
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { ConfigError, HOST_PARAMS, costKey, describeValue, type PluginRegistry } from '@tachyxx/core';
import { registry as simRegistry, WALL_CLOCK_STATS } from '@tachyxx/sim';
import { FormulaError, formulaPaths, parseFormula, type Expr } from './formula.js';
import { resolveXlDomain, XlWorkloadError } from './xl-workload.js';

export const SWEEP_KEYS = ['name', 'host', 'axes', 'workloads', 'seeds', 'limits', 'metrics'] as const;
export const WORKLOAD_KEYS = ['name', 'domains', 'bare', 'xl'] as const;
export const DOMAIN_KEYS = ['image', 'name', 'memoryMiB', 'vcpus', 'maxVcpus', 'cmdline', 'xl'] as const;
export const BARE_KEYS = ['image', 'memoryMiB'] as const;
export const LIMIT_KEYS = ['maxInsns', 'timeoutSeconds'] as const;
/** Host-level axes besides `<component>.variant` and `<component>.<param>`. */
export const HOST_AXES = ['pcpus', 'memoryMiB', 'cpu.freqMHz'] as const;

/** Most runs one sweep may expand to (axes x workloads x seeds). */
export const MAX_RUNS = 10_000;
/** Default instruction limit per run (a run that hits it fails with "stopped after N instructions"). */
export const DEFAULT_MAX_INSNS = 2_000_000_000;
/** Default wall-clock limit per run, seconds (a run that hits it fails with "timeout"). */
export const DEFAULT_TIMEOUT_SECONDS = 600;
/** Per-domain defaults, as `tachyxx run --domain` (64 MiB, 1 vCPU) and `--bare` (256 MiB). */
export const DEFAULT_DOMAIN_MEMORY_MIB = 64;
export const DEFAULT_BARE_MEMORY_MIB = 256;
/** Bounds of one domain: memory (MiB; the host's PhysMemory is one ArrayBuffer of at most 4 GiB) and vCPUs (the host's GUEST_MAX_VCPUS for sweeps). */
export const MAX_DOMAIN_MEMORY_MIB = 4096;
export const MAX_DOMAIN_VCPUS = 32;
/** Most domains in one workload. */
export const MAX_WORKLOAD_DOMAINS = 64;

export type AxisValue = string | number | boolean;

export interface Axis {
  /** As written: `mmu.variant`, `mmu.entries`, `pcpus`, `costs.mmu.walkRef`. */
  readonly key: string;
  /** Where it goes in the host config, e.g. ['components', 'mmu', 'entries']. */
  readonly configPath: readonly string[];
  readonly values: readonly AxisValue[];
}

export interface DomainWorkload {
  readonly name?: string;
  /** Absolute path. */
  readonly image: string;
  readonly memoryMiB: number;
  /** vCPUs online at boot. */
  readonly vcpus: number;
  /** vCPUs the domain may bring up (more than `vcpus`); default `vcpus`. */
  readonly maxVcpus?: number;
  readonly cmdline?: string;
  /** Set for a domain from an xl.cfg file: the file (absolute), the sha256 of its bytes (part of the
   *  run's cache key) and where its kernel was named (`FILE:LINE`, for errors). */
  readonly xl?: { readonly file: string; readonly sha256: string; readonly kernelAt: string };
}

export interface Workload {
  readonly name: string;
  readonly mode: 'domains' | 'bare';
  /** mode 'domains': one or more domains; mode 'bare': exactly one image. */
  readonly images: readonly DomainWorkload[];
}

export interface Metric {
  readonly name: string;
  readonly formula: string;
  readonly expr: Expr;
  /** Reads a wall-clock stat (wallSeconds, mips): reported in timing files only. */
  readonly wallClock: boolean;
}

export interface SweepSpec {
  /** Absolute path of the sweep file ('<inline>' for specs given as objects). */
  readonly file: string;
  readonly name: string;
  /** The base host config mapping (before axes and defaults). */
  readonly host: Readonly<Record<string, unknown>>;
  /** Where the base host config came from (the sweep file or a host file), for errors. */
  readonly hostFile: string;
  readonly axes: readonly Axis[];
  readonly workloads: readonly Workload[];
  readonly seeds: readonly number[];
  readonly maxInsns: number;
  readonly timeoutSeconds: number;
  readonly metrics: readonly Metric[];
  /** line:col of a key path in the sweep file (for errors found after parsing). */
  locate(path: readonly (string | number)[]): { line: number; col: number } | undefined;
}

/** Reads and validates a sweep file. */
export function loadSweep(file: string, reg: PluginRegistry = simRegistry()): SweepSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError({ file, keyPath: '', reason: code === 'ENOENT' ? 'no such file' : `cannot read: ${(e as Error).message}` });
  }
  return parseSweep(text, resolvePath(file), reg);
}

/** Parses and validates sweep YAML; paths in it are relative to `file`'s directory. */
export function parseSweep(text: string, file: string, reg: PluginRegistry = simRegistry()): SweepSpec {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true, logLevel: 'silent' });
  const err = doc.errors[0];
  if (err) {
    const pos = lc.linePos(err.pos[0]);
    throw new ConfigError({ file, keyPath: '', line: pos.line, col: pos.col, reason: `invalid YAML: ${err.message.split('\n', 1)[0]!.trim()}` });
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    throw new ConfigError({ file, keyPath: '', reason: `invalid YAML: ${(e as Error).message.split('\n', 1)[0]}` });
  }
  const locate = (path: readonly (string | number)[], at: 'key' | 'value' = 'value') => locateInYaml(doc.contents, lc, path, at);
  return validateSweep(raw, file, reg, locate);
}

type Locate = (path: readonly (string | number)[], at?: 'key' | 'value') => { line: number; col: number } | undefined;

function validateSweep(raw: unknown, file: string, reg: PluginRegistry, locate: Locate): SweepSpec {
  const fail = (path: readonly (string | number)[], reason: string, allowed?: readonly string[], at: 'key' | 'value' = 'value'): never => {
    const pos = locate(path, at);
    throw new ConfigError({ file, keyPath: keyPathOf(path), line: pos?.line, col: pos?.col, reason, allowed });
  };
  if (!isPlain(raw)) fail([], `expected a mapping with ${SWEEP_KEYS.join(', ')}, got ${describeValue(raw)}`);
  const top = raw as Record<string, unknown>;
  for (const k of Object.keys(top)) if (!(SWEEP_KEYS as readonly string[]).includes(k)) fail([k], 'unknown key', SWEEP_KEYS, 'key');
  const dir = dirname(file);

  const name = top.name === undefined ? file.replace(/^.*[\\/]/, '').replace(/\.ya?ml$/, '') : top.name;
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) fail(['name'], `expected a name of letters, digits, '.', '_', '-' (at most 64), got ${describeValue(top.name)}`);

  // host: a mapping or a file.
  let host: Record<string, unknown> = {};
  let hostFile = file;
  if (typeof top.host === 'string') {
    hostFile = resolvePath(dir, top.host);
    let text: string;
    try {
      text = readFileSync(hostFile, 'utf8');
    } catch {
      return fail(['host'], `cannot read host config '${top.host}' (${hostFile})`);
    }
    const hdoc = parseDocument(text, { uniqueKeys: true, logLevel: 'silent' });
    if (hdoc.errors.length) fail(['host'], `${hostFile}: invalid YAML: ${hdoc.errors[0]!.message.split('\n', 1)[0]}`);
    const h = hdoc.toJS() ?? {};
    if (!isPlain(h)) fail(['host'], `${hostFile}: expected a mapping of host settings`);
    host = h as Record<string, unknown>;
  } else if (top.host !== undefined) {
    if (!isPlain(top.host)) fail(['host'], `expected a host config mapping or a host YAML file name, got ${describeValue(top.host)}`);
    host = top.host as Record<string, unknown>;
  }

  // axes
  const axes: Axis[] = [];
  if (top.axes !== undefined) {
    if (!isPlain(top.axes)) fail(['axes'], `expected a mapping of axis: [values...], got ${describeValue(top.axes)}`);
    for (const [key, vals] of Object.entries(top.axes as Record<string, unknown>)) {
      const configPath = axisConfigPath(key, reg, (reason, allowed) => fail(['axes', key], reason, allowed, 'key'));
      if (!Array.isArray(vals) || vals.length === 0) fail(['axes', key], `expected a non-empty list of values, got ${describeValue(vals)}`);
      const values: AxisValue[] = [];
      (vals as unknown[]).forEach((v, i) => {
        if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') fail(['axes', key, i], `expected a scalar value, got ${describeValue(v)}`);
        if (values.includes(v as AxisValue)) fail(['axes', key, i], `duplicate value ${describeValue(v)}`);
        if (configPath[2] === 'variant' && configPath.length === 3) {
          const comp = configPath[1]!;
          if (typeof v !== 'string' || !reg.has(comp, v)) fail(['axes', key, i], `unknown variant ${describeValue(v)} of component '${comp}'`, reg.variants(comp));
        }
        values.push(v as AxisValue);
      });
      axes.push({ key, configPath, values });
    }
  }

  // workloads
  if (!Array.isArray(top.workloads) || top.workloads.length === 0) fail(['workloads'], `expected a non-empty list of workloads ({ name, domains: [...] }, { name, xl: [cfg files] } or { name, bare: {...} }), got ${describeValue(top.workloads)}`);
  const workloads: Workload[] = [];
  (top.workloads as unknown[]).forEach((w, i) => {
    const at = ['workloads', i];
    if (!isPlain(w)) fail(at, `expected { name, domains: [...] }, { name, xl: [cfg files] } or { name, bare: {...} }, got ${describeValue(w)}`);
    const wl = w as Record<string, unknown>;
    for (const k of Object.keys(wl)) if (!(WORKLOAD_KEYS as readonly string[]).includes(k)) fail([...at, k], 'unknown key', WORKLOAD_KEYS, 'key');
    if (typeof wl.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(wl.name)) fail([...at, 'name'], `expected a workload name of letters, digits, '.', '_', '-', got ${describeValue(wl.name)}`);
    if (workloads.some((x) => x.name === wl.name)) fail([...at, 'name'], `duplicate workload name '${wl.name}'`);
    if ([wl.domains, wl.bare, wl.xl].filter((x) => x !== undefined).length !== 1) fail(at, "give exactly one of 'domains', 'xl' and 'bare'");
    if (wl.bare !== undefined) {
      const b = wl.bare;
      if (!isPlain(b)) fail([...at, 'bare'], `expected { image, memoryMiB }, got ${describeValue(b)}`);
      const bb = b as Record<string, unknown>;
      for (const k of Object.keys(bb)) if (!(BARE_KEYS as readonly string[]).includes(k)) fail([...at, 'bare', k], 'unknown key', BARE_KEYS, 'key');
      const image = imagePath(bb.image, [...at, 'bare', 'image']);
      const memoryMiB = uintField(bb.memoryMiB, DEFAULT_BARE_MEMORY_MIB, 1, MAX_DOMAIN_MEMORY_MIB, [...at, 'bare', 'memoryMiB']);
      workloads.push({ name: wl.name as string, mode: 'bare', images: [{ image, memoryMiB, vcpus: 1 }] });
      return;
    }
    if (wl.xl !== undefined) {
      // `xl: FILE` or `xl: [FILE, ...]`: every domain from an xl.cfg file.
      const files = Array.isArray(wl.xl) ? (wl.xl as unknown[]) : [wl.xl];
      if (files.length === 0 || files.length > MAX_WORKLOAD_DOMAINS) fail([...at, 'xl'], `expected an xl.cfg file or a list of 1..${MAX_WORKLOAD_DOMAINS} of them, got ${describeValue(wl.xl)}`);
      const images = files.map((f, j) => xlDomain(f, Array.isArray(wl.xl) ? [...at, 'xl', j] : [...at, 'xl']));
      workloads.push({ name: wl.name as string, mode: 'domains', images });
      return;
    }
    if (!Array.isArray(wl.domains) || wl.domains.length === 0 || wl.domains.length > MAX_WORKLOAD_DOMAINS) fail([...at, 'domains'], `expected a list of 1..${MAX_WORKLOAD_DOMAINS} domains ({ image, memoryMiB, vcpus } or { xl: cfg file }), got ${describeValue(wl.domains)}`);
    const images = (wl.domains as unknown[]).map((d, j): DomainWorkload => {
      const dat = [...at, 'domains', j];
      if (typeof d === 'string') return { image: imagePath(d, dat), memoryMiB: DEFAULT_DOMAIN_MEMORY_MIB, vcpus: 1 };
      if (!isPlain(d)) fail(dat, `expected an image file, { image, memoryMiB, vcpus, maxVcpus, name, cmdline } or { xl: cfg file }, got ${describeValue(d)}`);
      const dd = d as Record<string, unknown>;
      for (const k of Object.keys(dd)) if (!(DOMAIN_KEYS as readonly string[]).includes(k)) fail([...dat, k], 'unknown key', DOMAIN_KEYS, 'key');
      if (dd.xl !== undefined) {
        const other = Object.keys(dd).find((k) => k !== 'xl');
        if (other !== undefined) fail([...dat, other], `a domain from an xl.cfg file takes every setting from the file: set '${other}' there`, undefined, 'key');
        return xlDomain(dd.xl, [...dat, 'xl']);
      }
      if (dd.name !== undefined && (typeof dd.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(dd.name))) fail([...dat, 'name'], `expected a domain name, got ${describeValue(dd.name)}`);
      if (dd.cmdline !== undefined && typeof dd.cmdline !== 'string') fail([...dat, 'cmdline'], `expected a string, got ${describeValue(dd.cmdline)}`);
      const vcpus = uintField(dd.vcpus, 1, 1, MAX_DOMAIN_VCPUS, [...dat, 'vcpus']);
      const maxVcpus = uintField(dd.maxVcpus, vcpus, vcpus, MAX_DOMAIN_VCPUS, [...dat, 'maxVcpus']);
      return {
        image: imagePath(dd.image, [...dat, 'image']),
        memoryMiB: uintField(dd.memoryMiB, DEFAULT_DOMAIN_MEMORY_MIB, 1, MAX_DOMAIN_MEMORY_MIB, [...dat, 'memoryMiB']),
        vcpus,
        ...(maxVcpus > vcpus ? { maxVcpus } : {}),
        ...(dd.name !== undefined ? { name: dd.name as string } : {}),
        ...(dd.cmdline !== undefined ? { cmdline: dd.cmdline as string } : {}),
      };
    });
    workloads.push({ name: wl.name as string, mode: 'domains', images });
  });

  /** A domain from an xl.cfg file (relative to the sweep file): any problem in the file makes the sweep invalid, with the cfg's file:line. */
  function xlDomain(v: unknown, at: (string | number)[]): DomainWorkload {
    if (typeof v !== 'string' || v === '') return fail(at, `expected an xl.cfg file name, got ${describeValue(v)}`);
    try {
      return resolveXlDomain(resolvePath(dir, v), { maxMemoryMiB: MAX_DOMAIN_MEMORY_MIB, maxVcpus: MAX_DOMAIN_VCPUS });
    } catch (e) {
      if (e instanceof XlWorkloadError) return fail(at, e.message);
      throw e;
    }
  }
  function imagePath(v: unknown, at: (string | number)[]): string {
    if (typeof v !== 'string' || v === '') fail(at, `expected an image file name, got ${describeValue(v)}`);
    return resolvePath(dir, v as string);
  }
  function uintField(v: unknown, dflt: number, min: number, max: number, at: (string | number)[]): number {
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) fail(at, `expected an integer in ${min}..${max}, got ${describeValue(v)}`);
    return v as number;
  }

  // seeds
  let seeds: number[] = [HOST_PARAMS.seed.default];
  if (top.seeds !== undefined) {
    if (!Array.isArray(top.seeds) || top.seeds.length === 0) fail(['seeds'], `expected a non-empty list of seeds, got ${describeValue(top.seeds)}`);
    seeds = (top.seeds as unknown[]).map((s, i) => {
      const r = HOST_PARAMS.seed.check(s);
      if (!r.ok || typeof s !== 'number') fail(['seeds', i], r.ok ? `expected an integer seed, got ${describeValue(s)}` : r.reason);
      if ((top.seeds as unknown[]).indexOf(s) !== i) fail(['seeds', i], `duplicate seed ${s}`);
      return s as number;
    });
  }
  if (Object.hasOwn(host, 'seed')) fail(['host'], "the host config must not set 'seed': list the seeds under 'seeds'");

  // limits
  let maxInsns = DEFAULT_MAX_INSNS;
  let timeoutSeconds = DEFAULT_TIMEOUT_SECONDS;
  if (top.limits !== undefined) {
    if (!isPlain(top.limits)) fail(['limits'], `expected { maxInsns, timeoutSeconds }, got ${describeValue(top.limits)}`);
    const l = top.limits as Record<string, unknown>;
    for (const k of Object.keys(l)) if (!(LIMIT_KEYS as readonly string[]).includes(k)) fail(['limits', k], 'unknown key', LIMIT_KEYS, 'key');
    maxInsns = uintField(l.maxInsns, DEFAULT_MAX_INSNS, 1, Number.MAX_SAFE_INTEGER, ['limits', 'maxInsns']);
    if (l.timeoutSeconds !== undefined && (typeof l.timeoutSeconds !== 'number' || !(l.timeoutSeconds > 0) || l.timeoutSeconds > 86_400)) fail(['limits', 'timeoutSeconds'], `expected a number of seconds in (0, 86400], got ${describeValue(l.timeoutSeconds)}`);
    timeoutSeconds = (l.timeoutSeconds as number | undefined) ?? DEFAULT_TIMEOUT_SECONDS;
  }

  // metrics
  if (!isPlain(top.metrics) || Object.keys(top.metrics as object).length === 0) fail(['metrics'], `expected a mapping of name: stats path or formula, got ${describeValue(top.metrics)}`);
  const reserved = new Set(['run', 'key', 'workload', 'seed', 'status', 'reason', ...axes.map((a) => a.key)]);
  const metrics: Metric[] = [];
  for (const [mname, f] of Object.entries(top.metrics as Record<string, unknown>)) {
    if (!/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/.test(mname)) fail(['metrics', mname], `a metric name is a letter or '_' then letters, digits, '_', '.', '-'`, undefined, 'key');
    if (reserved.has(mname)) fail(['metrics', mname], `'${mname}' is already a column (run, key, workload, seed, status, reason or an axis)`, undefined, 'key');
    if (typeof f !== 'string' && typeof f !== 'number') fail(['metrics', mname], `expected a stats path or a formula, got ${describeValue(f)}`);
    let expr: Expr;
    try {
      expr = parseFormula(String(f));
    } catch (e) {
      if (e instanceof FormulaError) fail(['metrics', mname], `bad formula '${f}': ${e.message}`);
      throw e;
    }
    const wallClock = formulaPaths(expr!).some((p) => WALL_CLOCK_STATS.includes(p[0]!));
    metrics.push({ name: mname, formula: String(f), expr: expr!, wallClock });
  }

  const spec: SweepSpec = {
    file,
    name: name as string,
    host,
    hostFile,
    axes,
    workloads,
    seeds,
    maxInsns,
    timeoutSeconds,
    metrics,
    locate: (p) => locate(p),
  };
  const runs = axes.reduce((n, a) => n * a.values.length, 1) * workloads.length * seeds.length;
  if (runs > MAX_RUNS) fail(['axes'], `the sweep expands to ${runs} runs, more than ${MAX_RUNS}`);
  return spec;
}

/**
 * Maps an axis key to its place in the host config, or calls `fail` with the allowed keys:
 * `<component>.variant`, `<component>.<param of any of its variants>`, `costs.<component>.<cost>`, or one of
 * HOST_AXES.
 */
export function axisConfigPath(key: string, reg: PluginRegistry, fail: (reason: string, allowed: readonly string[]) => never): string[] {
  if ((HOST_AXES as readonly string[]).includes(key)) return key.split('.');
  const dot = key.indexOf('.');
  const head = dot < 0 ? key : key.slice(0, dot);
  const rest = dot < 0 ? '' : key.slice(dot + 1);
  if (head === 'costs') {
    // Costs are namespaced by the component whose plugin declares them (`mmu.walkRef`).
    const costs = [...new Set(reg.all().flatMap((pl) => Object.keys(pl.costs ?? {}).map((c) => costKey(pl.id, c))))].sort();
    if (!costs.includes(rest)) return fail(`unknown cost '${rest}'`, costs.map((c) => `costs.${c}`));
    return ['costs', rest];
  }
  if (reg.has(head)) {
    const params = [...new Set(reg.variants(head).flatMap((v) => Object.keys(reg.get(head, v).params ?? {})))].sort();
    const allowed = ['variant', ...params].map((p) => `${head}.${p}`);
    if (rest !== 'variant' && !params.includes(rest)) return fail(`unknown axis '${key}' of component '${head}'`, allowed);
    return ['components', head, rest];
  }
  return fail(`unknown axis '${key}'`, [...HOST_AXES, ...reg.components().map((c) => `${c}.*`), 'costs.*']);
}

function keyPathOf(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i ? `.${p}` : p)).join('');
}

function isPlain(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function locateInYaml(root: unknown, lc: LineCounter, path: readonly (string | number)[], at: 'key' | 'value') {
  let node = root as YamlNode | null | undefined;
  let key: YamlNode | undefined;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === String(seg));
      if (!pair) break;
      key = pair.key as YamlNode;
      node = pair.value as YamlNode | null;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as YamlNode | undefined;
      if (!item) break;
      key = undefined;
      node = item;
    } else break;
  }
  const target = at === 'key' && key ? key : (node ?? key);
  const offset = target?.range?.[0];
  return offset === undefined ? undefined : lc.linePos(offset);
}
