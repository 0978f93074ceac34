// The light entry: the error classes without core's DI and bus (an xl process starts faster).
import { TachyxxError } from '@tachyxx/core/errors';

/** Where something is in a config source (1-based line and column). */
export interface SourcePos {
  /** The file name as the user gave it, or `<command line>` for KEY=VALUE overrides. */
  source: string;
  line: number;
  col: number;
}

export interface XlCfgProblem extends SourcePos {
  /** What is wrong, e.g. "expected ']' or ',' after a list item, found 'foo'". */
  reason: string;
  /** The xl.cfg key the problem is about, when it is about one. */
  key?: string;
  /** The values that would have been accepted, when there is a finite list. */
  allowed?: readonly string[];
}

/** Formats a problem the way every xl error line reads: `guest.cfg:7:12: key: reason (allowed: a, b)`. */
export function formatProblem(p: XlCfgProblem, withCol = true): string {
  const where = p.line > 0 ? `${p.source}:${p.line}${withCol && p.col > 0 ? `:${p.col}` : ''}` : p.source;
  const allowed = p.allowed ? ` (allowed: ${p.allowed.join(', ')})` : '';
  return [where, p.key, p.reason + allowed].filter((s) => s !== undefined && s !== '').join(': ').replace(/[\r\n]+/g, ' ');
}

/**
 * The one error type of the xl.cfg parser and interpreter: a syntax error (with line and column)
 * or an invalid value (with the key, and the allowed values when there is a finite list).
 * `message` is the first problem on one line; `problems` holds every one found (the parser
 * recovers at the next line, like libxlu, and reports them all). Exit status 1, as xl's.
 */
export class XlCfgError extends TachyxxError {
  override readonly name = 'XlCfgError';
  readonly problems: readonly XlCfgProblem[];

  constructor(problems: XlCfgProblem | readonly XlCfgProblem[], withCol = true) {
    const list = Array.isArray(problems) ? (problems as readonly XlCfgProblem[]) : [problems as XlCfgProblem];
    if (list.length === 0) throw new Error('XlCfgError needs at least one problem');
    super(formatProblem(list[0]!, withCol), 1);
    this.problems = list;
  }

  get source(): string {
    return this.problems[0]!.source;
  }
  get line(): number {
    return this.problems[0]!.line;
  }
  get col(): number {
    return this.problems[0]!.col;
  }
  get key(): string | undefined {
    return this.problems[0]!.key;
  }
  get allowed(): readonly string[] | undefined {
    return this.problems[0]!.allowed;
  }
}
