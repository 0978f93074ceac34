import { XlCfgError, type XlCfgProblem } from './errors.js';
import type { XlConfig } from './xl-config.js';
import type { XlSetting, XlValue } from './parser.js';

/** A note about a key that is valid xl.cfg but that Tachyxx ignores or cannot honour. */
export interface XlNotice {
  key: string;
  source: string;
  line: number;
  message: string;
}

/** Problems of value (not syntax) are reported by line, as xl does: `guest.cfg:3: memory: ...`. */
export function valueError(s: Pick<XlSetting, 'source' | 'line' | 'col'>, key: string, reason: string, allowed?: readonly string[]): XlCfgError {
  return new XlCfgError({ source: s.source, line: s.line, col: s.col, key, reason, allowed } satisfies XlCfgProblem, false);
}

/** `strtol(s, &end, 0)` with the whole string consumed: decimal, 0x hex, 0 octal, optional sign. */
export function parseCLong(text: string): number | undefined {
  const m = /^[ \t\n\r\f\v]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
  if (!m) return undefined;
  const digits = m[2]!;
  const v = /^0[xX]/.test(digits) ? parseInt(digits.slice(2), 16) : digits.length > 1 && digits[0] === '0' ? parseInt(digits.slice(1), 8) : parseInt(digits, 10);
  const n = m[1] === '-' ? -v : v;
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Typed reads of an XlConfig that turn bad values into XlCfgError naming the key. */
export class Reader {
  /** Keys read so far (the rest are unknown to the interpreter). */
  readonly used = new Set<string>();

  constructor(readonly cfg: XlConfig) {}

  setting(key: string): XlSetting | undefined {
    this.used.add(key);
    return this.cfg.get(key);
  }

  /** A single value (string or number atom) as text. A list is an error. */
  string(key: string): string | undefined {
    const s = this.setting(key);
    if (!s) return undefined;
    if (s.value.kind !== 'atom') throw valueError(s, key, 'expected a single value, found a list');
    return s.value.value;
  }

  /** An integer (xl's strtol base 0), within [min, max]. `what` completes "'x' is not ...". */
  int(key: string, what = 'an integer', min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const s = this.setting(key);
    if (!s) return undefined;
    if (s.value.kind !== 'atom') throw valueError(s, key, `expected ${what}, found a list`);
    if (s.op === '+=') throw valueError(s, key, "can't use += with numbers");
    const n = parseCLong(s.value.value);
    if (n === undefined) throw valueError(s, key, `'${s.value.value}' is not ${what}`);
    if (n < min || n > max) throw valueError(s, key, `${n} is out of range ${min}..${max}`);
    return n;
  }

  /** A BOOLEAN: a number, 0 is false and anything else true (xl's defbool). */
  bool(key: string): boolean | undefined {
    const s = this.setting(key);
    if (!s) return undefined;
    const n = s.value.kind === 'atom' && s.op === '=' ? parseCLong(s.value.value) : undefined;
    if (n === undefined) {
      const shown = s.value.kind === 'atom' ? `'${s.value.value}'` : 'a list';
      throw valueError(s, key, `${shown} is not a boolean (0 = false, 1 = true)`);
    }
    return n !== 0;
  }

  /** One of a fixed set of words. */
  choice<T extends string>(key: string, allowed: readonly T[]): T | undefined {
    const v = this.string(key);
    if (v === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(v)) throw valueError(this.cfg.get(key)!, key, `'${v}' is not valid`, allowed);
    return v as T;
  }

  /** A list of strings; each item must be a single value. */
  stringList(key: string): { items: string[]; lines: number[]; setting: XlSetting } | undefined {
    const s = this.setting(key);
    if (!s) return undefined;
    if (s.value.kind !== 'list') throw valueError(s, key, `expected a list [ "...", ... ], found a single value`);
    const items = s.value.items.map((v: XlValue, i) => {
      if (v.kind !== 'atom') throw valueError({ ...s, line: v.line }, key, `item ${i + 1} is a list; expected a string`);
      return v.value;
    });
    return { items, lines: s.value.items.map((v) => v.line), setting: s };
  }

  /** A list or a single string (keys like serial, usbdevice, cpus accept both). */
  stringOrList(key: string): { list?: string[]; single?: string; setting: XlSetting } | undefined {
    const s = this.setting(key);
    if (!s) return undefined;
    if (s.value.kind === 'atom') return { single: s.value.value, setting: s };
    return { list: this.stringList(key)!.items, setting: s };
  }
}
