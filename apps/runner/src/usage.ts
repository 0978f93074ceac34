import { UsageError as CoreUsageError } from '@tachyxx/core/errors';
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Bad command line: printed on one line with a hint, exit status 2 (core's UsageError plus the hint). */
export class UsageError extends CoreUsageError {
  constructor(message: string, readonly helpHint: string) {
    super(message);
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs, with its errors turned into UsageError. */
export function parse<O extends Options>(args: string[], options: O, helpHint: string): ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>> {
  // `--memory -5`: a negative number is the option's value (so the option's own check names it),
  // not Node's "argument is ambiguous".
  const takesValue = (a: string) => {
    const o = a.startsWith('--') ? options[a.slice(2)] : a.length === 2 ? Object.values(options).find((v) => v.short === a[1]) : undefined;
    return o?.type === 'string';
  };
  const joined = args.flatMap((a, i) => (i > 0 && /^-\d/.test(a) && takesValue(args[i - 1]!) ? [] : i + 1 < args.length && /^-\d/.test(args[i + 1]!) && takesValue(a) ? [`${a}=${args[i + 1]}`] : [a]));
  try {
    return parseArgs({ args: joined, options, allowPositionals: true, strict: true });
  } catch (e) {
    const msg = e instanceof Error ? e.message.replace(/\. To specify a positional.*$/s, '') : String(e);
    throw new UsageError(msg, helpHint);
  }
}

/** A non-negative integer option (exact, no trailing garbage). */
export function intOption(name: string, value: string | undefined, dflt: number, hint: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return dflt;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name}: '${value}' is not a non-negative integer`, hint);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`--${name}: ${n} is out of range ${min}..${max}`, hint);
  return n;
}
