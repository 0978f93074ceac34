/**
 * The xl.cfg grammar, as libxlu implements it (tools/libs/util/libxlu_cfg_l.l and _y.y):
 *
 *   file       := stmt* [assignment]          -- the last assignment needs no newline
 *   stmt       := assignment end | end        -- end is a newline (or a comment) or ';'
 *   assignment := IDENT ('=' | '+=') value
 *   value      := atom | '[' nl* items? ']'
 *   items      := value nl* (',' nl* value nl*)* [',' nl*]   -- trailing comma allowed, no empty items
 *   atom       := STRING | NUMBER
 *
 *   IDENT  [a-z][._0-9a-z]*    (lowercase only, as in xl)
 *   NUMBER [0-9][0-9a-fx]*     (kept as text; its meaning is up to the key: strtol base 0)
 *   STRING '...' or "..." on one line, with C escapes
 *   '#' starts a comment that runs to the end of the line.
 *
 * Lists nest (`vnuma = [ [ "pnode=0", ... ], ... ]`), at most MAX_LIST_DEPTH deep: the keys xl
 * knows use two levels at most (vnuma), and libxlu's bison parser gives up ("memory exhausted")
 * past YYMAXDEPTH = 10000 stack entries, about 3300 levels; deeper input is an error naming the
 * line and column of the '[' too many, never a stack overflow here or in what reads the value. Numbers and strings are both atoms: xl
 * stores them as text and each key decides how to read it, so `memory = "512"` is valid.
 *
 * Differences from libxlu, all on the lenient side and on purpose: a comment on the last line
 * needs no newline after it (libxlu reports a lexical error there), '\r' before a newline is
 * ignored (CRLF files), and `\xHH` / `\ooo` escapes produce their character (libxlu's dequote
 * drops it, a bug).
 */
import { XlCfgError, type XlCfgProblem } from './errors.js';

/** Deepest list nesting accepted (docs/limits.md). */
export const MAX_LIST_DEPTH = 8;

export type XlAtomKind = 'string' | 'number';

export interface XlAtom {
  kind: 'atom';
  /** How it was written: a quoted string or a bare number. Both are text to xl. */
  token: XlAtomKind;
  value: string;
  line: number;
  col: number;
}

export interface XlList {
  kind: 'list';
  items: XlValue[];
  line: number;
  col: number;
}

export type XlValue = XlAtom | XlList;

export interface XlSetting {
  key: string;
  op: '=' | '+=';
  value: XlValue;
  source: string;
  line: number;
  col: number;
}

type TokKind = 'ident' | 'number' | 'string' | '=' | '+=' | '[' | ']' | ',' | ';' | 'nl' | 'eof';

interface Token {
  kind: TokKind;
  text: string;
  line: number;
  col: number;
}

const DESCRIBE: Record<TokKind, string> = {
  ident: 'a key',
  number: 'a number',
  string: 'a string',
  '=': "'='",
  '+=': "'+='",
  '[': "'['",
  ']': "']'",
  ',': "','",
  ';': "';'",
  nl: 'end of line',
  eof: 'end of file',
};

function describe(t: Token): string {
  if (t.kind === 'nl' || t.kind === 'eof') return DESCRIBE[t.kind];
  if (t.kind === 'string') return `string ${JSON.stringify(t.text)}`;
  return `'${t.text}'`;
}

class LexError {
  constructor(
    readonly reason: string,
    readonly line: number,
    readonly col: number,
  ) {}
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '"': '"',
  "'": "'",
  '\\': '\\',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

/** Splits a config text into tokens. Lexical errors become 'error' entries; the lexer never throws. */
class Lexer {
  private pos = 0;
  private line = 1;
  private lineStart = 0;

  constructor(private readonly text: string) {}

  private col(at = this.pos): number {
    return at - this.lineStart + 1;
  }

  /** Returns the next token, or a LexError (after which the caller skips to the next line). */
  next(): Token | LexError {
    const s = this.text;
    for (;;) {
      const c = s[this.pos];
      if (c === ' ' || c === '\t') {
        this.pos++;
        continue;
      }
      if (c === '\r' && (s[this.pos + 1] === '\n' || this.pos + 1 === s.length)) {
        this.pos++;
        continue;
      }
      break;
    }
    const start = this.pos;
    const line = this.line;
    const col = this.col();
    if (start >= s.length) return { kind: 'eof', text: '', line, col };
    const c = s[start]!;
    const tok = (kind: TokKind, len: number, text = s.slice(start, start + len)): Token => {
      this.pos = start + len;
      return { kind, text, line, col };
    };
    if (c === '\n') {
      const t = tok('nl', 1);
      this.line++;
      this.lineStart = this.pos;
      return t;
    }
    if (c === '#') {
      let end = s.indexOf('\n', start);
      if (end < 0) end = s.length;
      this.pos = end;
      if (end < s.length) {
        this.pos = end + 1;
        this.line++;
        this.lineStart = this.pos;
      }
      return { kind: 'nl', text: s.slice(start, end), line, col };
    }
    if (c >= 'a' && c <= 'z') {
      const m = /^[a-z][._0-9a-z]*/.exec(s.slice(start, start + 256))!;
      let len = m[0].length;
      while (len === 256 || /[._0-9a-z]/.test(s[start + len] ?? '')) len++; // very long keys
      return tok('ident', len);
    }
    if (c >= '0' && c <= '9') {
      let len = 1;
      while (/[0-9a-fx]/.test(s[start + len] ?? '')) len++;
      return tok('number', len);
    }
    if (c === '"' || c === "'") return this.string(c, line, col);
    if (c === '+' && s[start + 1] === '=') return tok('+=', 2);
    if (c === '=' || c === '[' || c === ']' || c === ',' || c === ';') return tok(c, 1);
    // Anything else is a lexical error. Say what would have worked.
    this.pos = start + 1;
    if (c >= 'A' && c <= 'Z') {
      const word = /^[A-Za-z][._0-9A-Za-z]*/.exec(s.slice(start, start + 64))![0];
      return new LexError(`'${word}': keys are lowercase in xl.cfg, and strings need quotes`, line, col);
    }
    if (c === '-' && /[0-9]/.test(s[start + 1] ?? '')) {
      return new LexError(`'-' is not allowed here: write a negative number as a string ("-${/^-[0-9a-fx]*/.exec(s.slice(start))![0].slice(1)}")`, line, col);
    }
    if (c === '.' || c === '(' || c === ')' || c === ':' || c === '+' || c === '-' || c === '{' || c === '}') {
      return new LexError(`unexpected '${c}' (xl.cfg is not Python: values are "strings", numbers or [lists])`, line, col);
    }
    const shown = c < ' ' || c === '\x7f' ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}` : c;
    return new LexError(`unexpected character '${shown}'`, line, col);
  }

  private string(quote: string, line: number, col: number): Token | LexError {
    const s = this.text;
    let i = this.pos + 1;
    let out = '';
    for (;;) {
      const c = s[i];
      if (c === undefined || c === '\n') {
        this.pos = i;
        return new LexError(`unterminated string (a string ends with ${quote} on the same line)`, line, col);
      }
      if (c === quote) {
        this.pos = i + 1;
        return { kind: 'string', text: out, line, col };
      }
      if (c !== '\\') {
        out += c;
        i++;
        continue;
      }
      const n = s[i + 1];
      const escCol = this.col(i);
      if (n === undefined || n === '\n') {
        this.pos = i + 1;
        return new LexError('unterminated string (a backslash at the end of the line)', line, escCol);
      }
      if (n in SIMPLE_ESCAPES) {
        out += SIMPLE_ESCAPES[n];
        i += 2;
      } else if (n === 'x') {
        const hex = /^[0-9a-fA-F]{2}/.exec(s.slice(i + 2, i + 4));
        if (!hex) {
          this.pos = i + 2;
          return new LexError('invalid hex escape in quoted string (\\x needs two hex digits)', line, escCol);
        }
        out += String.fromCharCode(parseInt(hex[0], 16));
        i += 4;
      } else if (n >= '0' && n <= '7') {
        const oct = /^[0-7]{1,3}/.exec(s.slice(i + 1, i + 4))![0];
        const v = parseInt(oct, 8);
        if (v > 255) {
          this.pos = i + 1;
          return new LexError(`octal escape \\${oct} is out of range (at most \\377)`, line, escCol);
        }
        out += String.fromCharCode(v);
        i += 1 + oct.length;
      } else {
        this.pos = i + 2;
        return new LexError(`invalid character after backslash in quoted string: '\\${n}'`, line, escCol);
      }
    }
  }

  /** Skips to just after the next newline (error recovery, like libxlu's `error NEWLINE`). */
  skipLine(): void {
    const nl = this.text.indexOf('\n', this.pos);
    if (nl < 0) {
      this.pos = this.text.length;
      return;
    }
    this.pos = nl + 1;
    this.line++;
    this.lineStart = this.pos;
  }
}

class SyntaxStop {
  constructor(readonly problem: XlCfgProblem) {}
}

class Parser {
  private readonly lex: Lexer;
  private tok!: Token;
  private depth = 0;
  readonly problems: XlCfgProblem[] = [];
  readonly settings: XlSetting[] = [];

  constructor(
    text: string,
    private readonly source: string,
    private readonly maxProblems: number,
  ) {
    this.lex = new Lexer(text);
  }

  private fail(reason: string, at: { line: number; col: number } = this.tok): never {
    throw new SyntaxStop({ source: this.source, line: at.line, col: at.col, reason });
  }

  private advance(): void {
    const t = this.lex.next();
    if (t instanceof LexError) this.fail(t.reason, t);
    this.tok = t;
  }

  parse(): void {
    let started = false;
    while (this.problems.length < this.maxProblems) {
      try {
        if (!started) {
          started = true;
          this.advance();
        }
        if (this.tok.kind === 'eof') return;
        this.statement();
      } catch (e) {
        if (!(e instanceof SyntaxStop)) throw e;
        this.problems.push(e.problem);
        this.depth = 0;
        // Recover at the next line, as libxlu does. If the bad token was a newline we are there.
        if (this.tok?.kind !== 'nl' || this.tok.line !== e.problem.line) this.lex.skipLine();
        started = false;
      }
    }
  }

  private statement(): void {
    const t = this.tok;
    if (t.kind === 'nl' || t.kind === ';') {
      this.advance();
      return;
    }
    if (t.kind !== 'ident') {
      if (t.kind === 'number') this.fail(`expected a key, found ${describe(t)} (keys start with a lowercase letter)`);
      this.fail(`expected a key, found ${describe(t)}`);
    }
    this.advance();
    const op = this.tok;
    if (op.kind !== '=' && op.kind !== '+=') this.fail(`expected '=' or '+=' after '${t.text}', found ${describe(op)}`);
    this.advance();
    const value = this.value(t.text);
    const end = this.tok;
    if (end.kind !== 'nl' && end.kind !== ';' && end.kind !== 'eof') {
      this.fail(`expected end of line or ';' after the value of '${t.text}', found ${describe(end)}`);
    }
    this.settings.push({ key: t.text, op: op.kind, value, source: this.source, line: t.line, col: t.col });
    if (end.kind !== 'eof') this.advance();
  }

  /** The current token (a method, so TypeScript does not narrow it across advance()). */
  private cur(): Token {
    return this.tok;
  }

  private skipNewlines(): void {
    while (this.tok.kind === 'nl') this.advance();
  }

  private value(key: string): XlValue {
    const t = this.tok;
    if (t.kind === 'string' || t.kind === 'number') {
      this.advance();
      return { kind: 'atom', token: t.kind, value: t.text, line: t.line, col: t.col };
    }
    if (t.kind !== '[') this.fail(`expected a value for '${key}' (a "string", a number or a [list]), found ${describe(t)}`);
    const open = t;
    if (this.depth >= MAX_LIST_DEPTH) this.fail(`lists nest at most ${MAX_LIST_DEPTH} deep (xl.cfg keys use at most 2, e.g. vnuma)`);
    this.depth++;
    this.advance();
    this.skipNewlines();
    const items: XlValue[] = [];
    for (;;) {
      if (this.cur().kind === ']') break;
      if (this.cur().kind === ',') this.fail(items.length ? "expected a value or ']' after ',', found ','" : "expected a value or ']' after '[', found ','");
      if (this.cur().kind === 'eof') this.fail(`expected ']' to close the list opened at ${open.line}:${open.col}, found end of file`);
      items.push(this.value(key));
      this.skipNewlines();
      if (this.cur().kind === ']') break;
      if (this.cur().kind !== ',') {
        if (this.cur().kind === 'eof') this.fail(`expected ']' to close the list opened at ${open.line}:${open.col}, found end of file`);
        this.fail(`expected ',' or ']' after a list item, found ${describe(this.cur())}`);
      }
      this.advance();
      this.skipNewlines();
    }
    this.advance(); // ']'
    this.depth--;
    return { kind: 'list', items, line: open.line, col: open.col };
  }
}

export interface ParseOptions {
  /** Stop after this many syntax errors (default 20). */
  maxProblems?: number;
}

/**
 * Parses xl.cfg text into its settings, in file order (a key may appear more than once; see
 * XlConfig for what that means). Throws XlCfgError, and only that, naming source, line and
 * column of every syntax error found.
 */
export function parseXlCfgSettings(text: string, source: string, opts: ParseOptions = {}): XlSetting[] {
  const p = new Parser(text, source, opts.maxProblems ?? 20);
  p.parse();
  if (p.problems.length) throw new XlCfgError(p.problems);
  return p.settings;
}

/** xl.cfg text for a value: the inverse of the parser (strings get double quotes and escapes). */
export function formatXlValue(v: XlValue): string {
  if (v.kind === 'list') return `[ ${v.items.map(formatXlValue).join(', ')} ]`;
  if (v.token === 'number') return v.value;
  return quoteXlString(v.value);
}

export function quoteXlString(s: string): string {
  let out = '"';
  for (const c of s) {
    const code = c.charCodeAt(0);
    if (c === '"' || c === '\\') out += `\\${c}`;
    else if (c === '\n') out += '\\n';
    else if (c === '\t') out += '\\t';
    else if (c === '\r') out += '\\r';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += c;
  }
  return out + '"';
}
