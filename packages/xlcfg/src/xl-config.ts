import { XlCfgError } from './errors.js';
import { parseXlCfgSettings, type ParseOptions, type XlSetting, type XlValue } from './parser.js';

/**
 * The settings of an xl.cfg file plus command-line overrides, with libxlu's semantics
 * (tools/libs/util/libxlu_cfg.c):
 * - a key set twice: the last assignment wins;
 * - `KEY += VALUE` appends to the value so far: string + string concatenates, list + list
 *   appends the items; string + list is an error. With no earlier value it is a plain
 *   assignment. A key whose last assignment was `+=` cannot be read as a number.
 * - command-line `KEY=VALUE` overrides are parsed with the same grammar after the file, so
 *   they win, and `+=` on the command line extends the file's value.
 */
export class XlConfig {
  private readonly current = new Map<string, XlSetting>();
  /** Every setting in order, as written (before += merging). */
  readonly history: XlSetting[] = [];

  /** Parses `text` (named `source` in messages) and applies it on top of what is there. */
  load(text: string, source: string, opts?: ParseOptions): this {
    for (const s of parseXlCfgSettings(text, source, opts)) this.apply(s);
    return this;
  }

  /** Applies one setting with xl's `=` / `+=` semantics. */
  apply(s: XlSetting): void {
    this.history.push(s);
    const prev = this.current.get(s.key);
    if (s.op === '+=' && prev) {
      const a = prev.value;
      const b = s.value;
      if (a.kind !== b.kind) {
        throw new XlCfgError({
          source: s.source,
          line: s.value.line,
          col: s.value.col,
          key: s.key,
          reason: `can't add ${b.kind === 'list' ? '[list] to "string"' : '"string" to [list]'} (the earlier value at ${prev.source}:${prev.line} is a ${a.kind === 'list' ? 'list' : 'string'})`,
        });
      }
      const merged: XlValue =
        a.kind === 'list' && b.kind === 'list'
          ? { ...b, items: [...a.items, ...b.items], line: a.line, col: a.col }
          : a.kind === 'atom' && b.kind === 'atom'
            ? { ...b, token: 'string', value: a.value + b.value, line: a.line, col: a.col }
            : b;
      this.current.set(s.key, { ...s, value: merged });
      return;
    }
    this.current.set(s.key, s);
  }

  has(key: string): boolean {
    return this.current.has(key);
  }

  /** The effective setting for a key (position of its last assignment), if set. */
  get(key: string): XlSetting | undefined {
    return this.current.get(key);
  }

  keys(): string[] {
    return [...this.current.keys()];
  }

  /** The effective settings, in the order their keys first appeared. */
  settings(): XlSetting[] {
    return [...this.current.values()];
  }
}

/** Parses one xl.cfg text. */
export function parseXlCfg(text: string, source = '<config>', opts?: ParseOptions): XlConfig {
  return new XlConfig().load(text, source, opts);
}

/**
 * Applies `KEY=VALUE` command-line overrides (each one parsed as an xl.cfg line; positions
 * are reported as `<command line>:N:COL`, N counting the overrides from 1).
 */
export function applyOverrides(cfg: XlConfig, overrides: readonly string[], source = '<command line>'): XlConfig {
  const problems = [];
  for (const [i, o] of overrides.entries()) {
    try {
      for (const s of parseXlCfgSettings(o, source)) cfg.apply({ ...s, line: i + 1, value: relocate(s.value, i + 1) });
    } catch (e) {
      if (!(e instanceof XlCfgError)) throw e;
      problems.push(...e.problems.map((p) => ({ ...p, line: i + 1 })));
    }
  }
  if (problems.length) throw new XlCfgError(problems);
  return cfg;
}

function relocate(v: XlValue, line: number): XlValue {
  return v.kind === 'atom' ? { ...v, line } : { ...v, line, items: v.items.map((x) => relocate(x, line)) };
}
