/**
 * Expansion: a sweep becomes runs (workloads x axis values x seeds, in file order), each with its
 * fully resolved host config (validated by core) and its cache key.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError, type HostConfig, type PluginRegistry } from '@tachyxx/core';
import { DEFAULT_COMPONENTS, hostConfigWithDefaults, registry as simRegistry, SIM_VERSION } from '@tachyxx/sim';
import type { AxisValue, SweepSpec, Workload } from './spec.js';

/** Bumped when the meaning of a cached result changes (the key's shape or the result format). */
export const CACHE_FORMAT = 1;

export interface RunImage {
  /** Absolute path (for error messages and the local pool). */
  readonly file: string;
  readonly name?: string;
  readonly memoryMiB: number;
  readonly vcpus: number;
  readonly maxVcpus?: number;
  readonly cmdline?: string;
  /** For a domain from an xl.cfg file: the sha256 of the file's bytes (the run's key covers the cfg
   *  as well as the kernel it names). */
  readonly xlSha256?: string;
  /** sha256 of the bytes (hex). */
  readonly sha256: string;
  /** The bytes, base64: set for runs sent to other machines. */
  readonly base64?: string;
}

/** Everything a worker needs for one run; plain JSON. */
export interface RunJob {
  readonly key: string;
  /** `<workload>/<axis=value>,.../seed=<n>`: readable and unique within the sweep. */
  readonly id: string;
  readonly mode: 'domains' | 'bare';
  readonly config: HostConfig;
  readonly images: readonly RunImage[];
  readonly maxInsns: number;
  readonly timeoutMs: number;
}

export interface RunPlan {
  readonly index: number;
  readonly workload: string;
  readonly axes: Readonly<Record<string, AxisValue>>;
  readonly seed: number;
  readonly job: RunJob;
}

/** Machine memory for a domains run when the host config does not set it (as `tachyxx run --domain`). */
export function domainsMachineMemory(images: readonly { memoryMiB: number }[]): number {
  return Math.min(4096, images.reduce((s, i) => s + i.memoryMiB + 8, 0) + 16);
}

/** Expands a sweep into its runs; ConfigError (with the sweep file's line) on any bad combination. */
export function expandSweep(spec: SweepSpec, reg: PluginRegistry = simRegistry()): RunPlan[] {
  const images = new Map<string, { sha256: string }>();
  spec.workloads.forEach((w, i) =>
    w.images.forEach((img, j) => {
      if (images.has(img.image)) return;
      let bytes: Buffer;
      try {
        bytes = readFileSync(img.image);
      } catch (e) {
        const why = `${img.image}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`;
        if (img.xl) {
          // The kernel an xl.cfg names: blame the cfg's kernel line, at the sweep's xl entry.
          const pos = spec.locate(['workloads', i, 'domains', j, 'xl']) ?? spec.locate(['workloads', i, 'xl', j]) ?? spec.locate(['workloads', i, 'xl']) ?? spec.locate(['workloads', i]);
          throw new ConfigError({ file: spec.file, line: pos?.line, col: pos?.col, keyPath: `workloads[${i}]`, reason: `${img.xl.kernelAt}: kernel: ${why}` });
        }
        const path = w.mode === 'bare' ? ['workloads', i, 'bare', 'image'] : ['workloads', i, 'domains', j, 'image'];
        const pos = spec.locate(path) ?? spec.locate(path.slice(0, -1));
        throw new ConfigError({ file: spec.file, line: pos?.line, col: pos?.col, keyPath: `workloads[${i}]`, reason: why });
      }
      images.set(img.image, { sha256: createHash('sha256').update(bytes).digest('hex') });
    }),
  );

  const combos = cartesian(spec.axes.map((a) => a.values));
  const plans: RunPlan[] = [];
  for (const w of spec.workloads) {
    for (const combo of combos) {
      const axes: Record<string, AxisValue> = {};
      const raw = structuredClone(spec.host) as Record<string, unknown>;
      spec.axes.forEach((a, i) => {
        axes[a.key] = combo[i]!;
        setPath(raw, a.configPath, combo[i]!);
      });
      // An axis over a param of a component the host config does not name: its default variant.
      const comps = raw.components as Record<string, Record<string, unknown>> | undefined;
      for (const [id, c] of Object.entries(comps ?? {})) if (typeof c === 'object' && c !== null && !('variant' in c) && DEFAULT_COMPONENTS[id]) c.variant = DEFAULT_COMPONENTS[id];
      for (const seed of spec.seeds) {
        raw.seed = seed;
        const config = resolveConfig(spec, w, raw, axes, reg);
        const jobImages: RunImage[] = w.images.map((img) => ({
          file: img.image,
          ...(img.name !== undefined ? { name: img.name } : {}),
          memoryMiB: img.memoryMiB,
          vcpus: img.vcpus,
          ...(img.maxVcpus !== undefined ? { maxVcpus: img.maxVcpus } : {}),
          ...(img.cmdline !== undefined ? { cmdline: img.cmdline } : {}),
          ...(img.xl !== undefined ? { xlSha256: img.xl.sha256 } : {}),
          sha256: images.get(img.image)!.sha256,
        }));
        const id = [w.name, ...spec.axes.map((a) => `${a.key}=${axes[a.key]}`), `seed=${seed}`].join('/');
        const key = runKey(w.mode, config, jobImages, spec.maxInsns);
        plans.push({ index: plans.length, workload: w.name, axes: { ...axes }, seed, job: { key, id, mode: w.mode, config, images: jobImages, maxInsns: spec.maxInsns, timeoutMs: Math.round(spec.timeoutSeconds * 1000) } });
      }
    }
  }
  return plans;
}

function resolveConfig(spec: SweepSpec, w: Workload, raw: Record<string, unknown>, axes: Record<string, AxisValue>, reg: PluginRegistry): HostConfig {
  try {
    return hostConfigWithDefaults(raw, w.mode === 'domains' ? { memoryMiB: domainsMachineMemory(w.images) } : {}, spec.hostFile, reg);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    // Blame the axis whose value made the config invalid, at that value's line in the sweep file.
    const axis = spec.axes.find((a) => e.keyPath === a.configPath.join('.') || e.keyPath.startsWith(a.configPath.join('.') + '.'));
    const combo = spec.axes.map((a) => `${a.key}=${axes[a.key]}`).join(', ');
    if (axis) {
      const i = axis.values.indexOf(axes[axis.key]!);
      const pos = spec.locate(['axes', axis.key, i]);
      throw new ConfigError({ file: spec.file, line: pos?.line, col: pos?.col, keyPath: `axes.${axis.key}[${i}]`, reason: `${e.reason}${combo ? ` (with ${combo})` : ''}`, allowed: e.allowed });
    }
    const pos = spec.hostFile === spec.file ? spec.locate(['host', ...e.keyPath.split('.')]) ?? spec.locate(['host']) : undefined;
    throw new ConfigError({ file: spec.hostFile, line: pos?.line ?? e.line, col: pos?.col ?? e.col, keyPath: spec.hostFile === spec.file ? `host.${e.keyPath}` : e.keyPath, reason: `${e.reason}${combo ? ` (with ${combo})` : ''}`, allowed: e.allowed });
  }
}

/**
 * sha256 over (format, simulator version, resolved config, mode, images, instruction limit). An
 * image's maxVcpus and xl.cfg hash are in its identity only when set, so the keys of image
 * workloads without them are what they were before xl.cfg workloads existed.
 */
export function runKey(mode: string, config: HostConfig, images: readonly RunImage[], maxInsns: number): string {
  const identity = {
    format: CACHE_FORMAT,
    version: SIM_VERSION,
    mode,
    config,
    images: images.map((i) => ({ name: i.name ?? null, memoryMiB: i.memoryMiB, vcpus: i.vcpus, maxVcpus: i.maxVcpus, cmdline: i.cmdline ?? null, xl: i.xlSha256, sha256: i.sha256, base: i.file.replace(/^.*[\\/]/, '') })),
    maxInsns,
  };
  return createHash('sha256').update(canonicalJson(identity)).digest('hex');
}

/** JSON with object keys sorted at every level (the same value gives the same text). */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

function cartesian<T>(lists: readonly (readonly T[])[]): T[][] {
  let out: T[][] = [[]];
  for (const l of lists) out = out.flatMap((prefix) => l.map((x) => [...prefix, x]));
  return out;
}

function setPath(obj: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = obj;
  for (const seg of path.slice(0, -1)) {
    let next = node[seg];
    // `mmu: tagged` (a bare variant name) becomes `{ variant: tagged }` so params can be set.
    if (typeof next === 'string') next = { variant: next };
    if (typeof next !== 'object' || next === null || Array.isArray(next)) next = {};
    node[seg] = next;
    node = next as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}
