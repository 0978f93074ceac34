/**
 * Typed, documented parameters (gem5's `Param.*`): each has a kind, a default and a description,
 * and validates and coerces a raw config value. Strings are accepted for numbers and booleans
 * ("64", "0x40", "true") so command-line overrides work; everything else must have the right type.
 */
import { ConfigError } from './errors.js';

export type ParamKind = 'uint' | 'int' | 'number' | 'bool' | 'enum' | 'string' | 'list';

/** The outcome of checking one raw value. */
export type ParamCheck<T> =
  | { ok: true; value: T }
  | {
      ok: false;
      reason: string;
      allowed?: readonly string[];
      /** Where inside the value the problem is (a list item's index, then its key). */
      at?: readonly string[];
      /** Whether `at` names a key (unknown key) or a value. */
      atKey?: boolean;
    };

export interface ParamSpec<T> {
  readonly kind: ParamKind;
  readonly default: T;
  readonly description: string;
  readonly min?: number;
  readonly max?: number;
  /** For `enum`: the accepted values. */
  readonly values?: readonly string[];
  /** For `list`: the schema of each item (a device instance's fields). */
  readonly item?: ParamSchema<any>;
  /** Validates and coerces a raw value (never throws). */
  check(raw: unknown): ParamCheck<T>;
}

/** A schema for params of type P: one spec per key. */
export type ParamSchema<P> = { readonly [K in keyof P]-?: ParamSpec<P[K]> };

/** The params type a schema describes. */
export type ParamsOf<S> = { -readonly [K in keyof S]: S[K] extends ParamSpec<infer T> ? T : never };

export interface NumberBounds {
  min?: number;
  max?: number;
}

/** A short human description of any value, safe on every input (null prototypes, symbols...). */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
    case 'number':
      return Object.is(v, -0) ? '0' : String(v);
    case 'boolean':
    case 'bigint':
      return String(v);
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
  }
  if (Array.isArray(v)) return 'a list';
  if (ArrayBuffer.isView(v)) return 'binary data';
  return 'a mapping';
}

const NUMBER_TEXT = /^[+-]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const HEX_TEXT = /^0x[0-9a-fA-F][0-9a-fA-F_]*$/;

function toNumber(raw: unknown): number | undefined {
  if (typeof raw === 'number') return raw;
  if (typeof raw !== 'string') return undefined;
  const s = raw.trim();
  if (HEX_TEXT.test(s)) return parseInt(s.slice(2).replace(/_/g, ''), 16);
  if (NUMBER_TEXT.test(s)) return Number(s.replace(/_/g, ''));
  return undefined;
}

function numeric(kind: 'uint' | 'int' | 'number', def: number, description: string, bounds: NumberBounds): ParamSpec<number> {
  const integer = kind !== 'number';
  const min = bounds.min ?? (kind === 'uint' ? 0 : undefined);
  const max = bounds.max;
  const noun = kind === 'uint' ? 'a non-negative integer' : integer ? 'an integer' : 'a number';
  let range = '';
  if (min !== undefined && max !== undefined) range = ` in ${min}..${max}`;
  else if (max !== undefined) range = ` <= ${max}`;
  else if (min !== undefined && !(kind === 'uint' && min === 0)) range = ` >= ${min}`;
  const expected = `expected ${noun}${range}`;
  const spec: ParamSpec<number> = {
    kind,
    default: def,
    description,
    min,
    max,
    check(raw) {
      const n = toNumber(raw);
      if (n === undefined || Number.isNaN(n) || !Number.isFinite(n)) return { ok: false, reason: `${expected}, got ${describeValue(raw)}` };
      if (integer && !Number.isSafeInteger(n)) return { ok: false, reason: `${expected}, got ${describeValue(raw)}` };
      if ((min !== undefined && n < min) || (max !== undefined && n > max)) return { ok: false, reason: `${expected}, got ${describeValue(raw)}` };
      return { ok: true, value: n === 0 ? 0 : n };
    },
  };
  const d = spec.check(def);
  if (!d.ok) throw new Error(`param default ${def} is invalid: ${d.reason}`);
  return spec;
}

/** Param spec builders, e.g. `{ entries: p.uint(64, 'TLB entries', { min: 1, max: 4096 }) }`. */
export const p = {
  /** A non-negative safe integer (min defaults to 0). */
  uint: (def: number, description: string, bounds: NumberBounds = {}) => numeric('uint', def, description, bounds),
  /** A safe integer. */
  int: (def: number, description: string, bounds: NumberBounds = {}) => numeric('int', def, description, bounds),
  /** A finite number. */
  number: (def: number, description: string, bounds: NumberBounds = {}) => numeric('number', def, description, bounds),
  bool(def: boolean, description: string): ParamSpec<boolean> {
    return {
      kind: 'bool',
      default: def,
      description,
      check(raw) {
        if (typeof raw === 'boolean') return { ok: true, value: raw };
        if (raw === 'true' || raw === 'false') return { ok: true, value: raw === 'true' };
        return { ok: false, reason: `expected true or false, got ${describeValue(raw)}`, allowed: ['true', 'false'] };
      },
    };
  },
  enum<const V extends readonly string[]>(values: V, def: V[number], description: string): ParamSpec<V[number]> {
    if (!values.includes(def)) throw new Error(`param default '${def}' is not one of ${values.join(', ')}`);
    return {
      kind: 'enum',
      default: def,
      description,
      values,
      check(raw) {
        if (typeof raw === 'string' && values.includes(raw)) return { ok: true, value: raw };
        return { ok: false, reason: `unknown value ${describeValue(raw)}`, allowed: values };
      },
    };
  },
  string(def: string, description: string): ParamSpec<string> {
    return {
      kind: 'string',
      default: def,
      description,
      check(raw) {
        if (typeof raw === 'string') return { ok: true, value: raw };
        if (typeof raw === 'number' && Number.isFinite(raw)) return { ok: true, value: String(raw) };
        return { ok: false, reason: `expected a string, got ${describeValue(raw)}` };
      },
    };
  },
  /**
   * A list of instances, each a mapping checked against `item` (unknown keys and bad values are
   * errors naming the index and key, e.g. `components.pcie.devices.1.bar0`; missing keys take their
   * defaults): how a component takes device instances (disks, NICs, PCIe functions) from the host
   * config. At most `max` items (default 256).
   */
  list<S extends ParamSchema<any>>(item: S, description: string, bounds: { max?: number } = {}): ParamSpec<ParamsOf<S>[]> {
    const max = bounds.max ?? 256;
    return {
      kind: 'list',
      default: [],
      description,
      max,
      item,
      check(raw) {
        if (raw === undefined || raw === null) return { ok: true, value: [] };
        if (!Array.isArray(raw)) return { ok: false, reason: `expected a list, got ${describeValue(raw)}` };
        if (raw.length > max) return { ok: false, reason: `at most ${max} items, got ${raw.length}` };
        const out: ParamsOf<S>[] = [];
        for (let i = 0; i < raw.length; i++) {
          const r = checkRecord(item, raw[i]);
          if (!r.ok) return { ...r, at: [String(i), ...(r.at ?? [])] };
          out.push(r.value as ParamsOf<S>);
        }
        return { ok: true, value: out };
      },
    };
  },
} as const;

/** Where a value sits, for error messages: the file and a way to find a key path's line:col. */
export interface ConfigSite {
  file?: string;
  /** Finds the 1-based line:col of a key path (the key itself when `at` is 'key'). */
  locate?(path: readonly string[], at: 'key' | 'value'): { line: number; col: number } | undefined;
}

/** Builds a ConfigError for `path`, with file and line:col when the site knows them. */
export function configError(site: ConfigSite, path: readonly string[], at: 'key' | 'value', reason: string, allowed?: readonly string[]): ConfigError {
  const pos = site.locate?.(path, at);
  return new ConfigError({ reason, keyPath: path.join('.'), file: site.file, line: pos?.line, col: pos?.col, allowed });
}

/** True for a plain mapping (not null, not a list, not binary data). */
export function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v) && !(v instanceof Date) && !(v instanceof Map) && !(v instanceof Set);
}

/** Checks one mapping against `schema` without throwing (list items use it). */
function checkRecord(schema: ParamSchema<any>, raw: unknown, skip: readonly string[] = []): ParamCheck<Record<string, unknown>> {
  if (raw !== undefined && raw !== null && !isMapping(raw)) return { ok: false, reason: `expected a mapping, got ${describeValue(raw)}` };
  const input: Record<string, unknown> = raw ?? {};
  const known = Object.keys(schema);
  for (const key of Object.keys(input)) {
    if (!Object.hasOwn(schema, key) && !skip.includes(key)) return { ok: false, reason: 'unknown key', allowed: [...skip, ...known], at: [key], atKey: true };
  }
  const out: Record<string, unknown> = {};
  for (const key of known) {
    const spec = schema[key] as ParamSpec<unknown>;
    if (!Object.hasOwn(input, key) || input[key] === undefined) {
      out[key] = spec.default;
      continue;
    }
    const r = spec.check(input[key]);
    if (!r.ok) return { ...r, at: [key, ...(r.at ?? [])] };
    out[key] = r.value;
  }
  return { ok: true, value: out };
}

/**
 * Validates `raw` (a mapping or undefined) against `schema`: unknown keys and bad values throw a
 * ConfigError naming `path.key`; missing keys take their defaults. `skip` lists keys that belong
 * to the caller (e.g. `variant`).
 */
export function resolveParams<S extends ParamSchema<any>>(
  schema: S,
  raw: unknown,
  path: readonly string[],
  site: ConfigSite = {},
  skip: readonly string[] = [],
): ParamsOf<S> {
  const r = checkRecord(schema, raw, skip);
  if (!r.ok) throw configError(site, [...path, ...(r.at ?? [])], r.atKey ? 'key' : 'value', r.reason, r.allowed);
  return r.value as ParamsOf<S>;
}

export interface ParamDescription {
  name: string;
  kind: ParamKind;
  default: unknown;
  description: string;
  min?: number;
  max?: number;
  values?: readonly string[];
  /** For `list`: each item's fields. */
  item?: ParamDescription[];
}

/** A plain description of a schema, for `--help` listings and docs. */
export function describeParams(schema: ParamSchema<any>): ParamDescription[] {
  return Object.entries(schema as Record<string, ParamSpec<unknown>>).map(([name, s]) => ({
    name,
    kind: s.kind,
    default: s.default,
    description: s.description,
    ...(s.min !== undefined ? { min: s.min } : {}),
    ...(s.max !== undefined ? { max: s.max } : {}),
    ...(s.values ? { values: s.values } : {}),
    ...(s.item ? { item: describeParams(s.item) } : {}),
  }));
}
