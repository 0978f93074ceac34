/**
 * Metric formulas: a small, safe expression language over the `--stats` JSON (no eval).
 *
 *   expr    := term (('+' | '-') term)*
 *   term    := unary (('*' | '/') unary)*
 *   unary   := '-' unary | primary
 *   primary := NUMBER | PATH | FUNC '(' expr (',' expr)* ')' | '(' expr ')'
 *   PATH    := segment ('.' segment)*     segment: [A-Za-z_][A-Za-z0-9_]* | [0-9]+ | '*'
 *   FUNC    := min | max | abs
 *
 * A path names a number in the stats tree (`tree.host.cpu0.mmu.walkRefs`, `pcpus.0.tlbMisses`); a
 * `*` segment matches every key at that level and the matches are summed
 * (`tree.host.*.mmu.walkRefs` = walk references over all pCPUs). A path that matches no number,
 * and a division by zero, make the whole value null (shown empty), never NaN or Infinity.
 */

export type Expr =
  | { kind: 'num'; value: number }
  | { kind: 'path'; path: readonly string[] }
  | { kind: 'neg'; arg: Expr }
  | { kind: 'bin'; op: '+' | '-' | '*' | '/'; left: Expr; right: Expr }
  | { kind: 'call'; fn: FormulaFunction; args: readonly Expr[] };

export const FORMULA_FUNCTIONS = ['abs', 'max', 'min'] as const;
export type FormulaFunction = (typeof FORMULA_FUNCTIONS)[number];

/** Longest formula accepted (characters): formulas are written by hand. */
export const MAX_FORMULA_LENGTH = 1000;
/** Deepest nesting accepted (parentheses, unary minus, calls): keeps the parser's recursion bounded. */
export const MAX_FORMULA_DEPTH = 64;

/** A formula that does not parse: `column` is 1-based within the formula text. */
export class FormulaError extends Error {
  override readonly name = 'FormulaError';
  constructor(
    readonly reason: string,
    readonly column: number,
  ) {
    super(`column ${column}: ${reason}`);
  }
}

type Token = { t: 'num'; v: number; at: number } | { t: 'path'; v: string[]; at: number } | { t: 'op'; v: string; at: number } | { t: 'end'; at: number };

const SEGMENT = /^(?:[A-Za-z_][A-Za-z0-9_]*|[0-9]+|\*)$/;

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    const rest = src.slice(i);
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if ('+-*/(),'.includes(c)) {
      out.push({ t: 'op', v: c, at: i + 1 });
      i++;
      continue;
    }
    const num = /^(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(rest);
    if (num) {
      if (/^[A-Za-z_.]/.test(rest.slice(num[0].length))) throw new FormulaError(`bad number '${rest.slice(0, num[0].length + 1)}'`, i + 1);
      out.push({ t: 'num', v: Number(num[0]), at: i + 1 });
      i += num[0].length;
      continue;
    }
    // A path: a name, then '.'-separated names, indexes or '*'.
    const path = /^[A-Za-z_][A-Za-z0-9_]*(?:\.(?:[A-Za-z0-9_]+|\*))*/.exec(rest);
    if (path) {
      const segs = path[0].split('.');
      const bad = segs.find((s) => !SEGMENT.test(s));
      if (bad !== undefined) throw new FormulaError(`bad path segment '${bad}' (a name, an index or *)`, i + 1);
      if (rest[path[0].length] === '.') throw new FormulaError(`bad path '${path[0]}.' (a segment must follow '.')`, i + 1);
      out.push({ t: 'path', v: segs, at: i + 1 });
      i += path[0].length;
      continue;
    }
    throw new FormulaError(`unexpected character '${c}'`, i + 1);
  }
  out.push({ t: 'end', at: src.length + 1 });
  return out;
}

/** Parses a formula; FormulaError on any syntax error. */
export function parseFormula(src: string): Expr {
  if (src.length > MAX_FORMULA_LENGTH) throw new FormulaError(`longer than ${MAX_FORMULA_LENGTH} characters`, MAX_FORMULA_LENGTH + 1);
  const toks = tokenize(src);
  let k = 0;
  const peek = () => toks[k]!;
  const isOp = (v: string) => {
    const t = peek();
    return t.t === 'op' && t.v === v;
  };
  const expect = (v: string) => {
    if (!isOp(v)) throw new FormulaError(`expected '${v}'${describe(peek())}`, peek().at);
    k++;
  };
  const describe = (t: Token) => (t.t === 'end' ? ' at the end' : `, got '${t.t === 'path' ? t.v.join('.') : t.v}'`);

  const expr = (depth: number): Expr => {
    if (depth > MAX_FORMULA_DEPTH) throw new FormulaError(`nested deeper than ${MAX_FORMULA_DEPTH}`, peek().at);
    let left = term(depth);
    while (isOp('+') || isOp('-')) {
      const op = (toks[k++] as { v: '+' | '-' }).v;
      left = { kind: 'bin', op, left, right: term(depth) };
    }
    return left;
  };
  const term = (depth: number): Expr => {
    let left = unary(depth);
    while (isOp('*') || isOp('/')) {
      const op = (toks[k++] as { v: '*' | '/' }).v;
      left = { kind: 'bin', op, left, right: unary(depth) };
    }
    return left;
  };
  const unary = (depth: number): Expr => {
    if (depth > MAX_FORMULA_DEPTH) throw new FormulaError(`nested deeper than ${MAX_FORMULA_DEPTH}`, peek().at);
    if (isOp('-')) {
      k++;
      return { kind: 'neg', arg: unary(depth + 1) };
    }
    return primary(depth);
  };
  const primary = (depth: number): Expr => {
    const t = peek();
    if (t.t === 'num') {
      k++;
      return { kind: 'num', value: t.v };
    }
    if (t.t === 'path') {
      k++;
      if (isOp('(')) {
        const name = t.v.join('.');
        if (!(FORMULA_FUNCTIONS as readonly string[]).includes(name)) throw new FormulaError(`unknown function '${name}' (allowed: ${FORMULA_FUNCTIONS.join(', ')})`, t.at);
        k++;
        const args = [expr(depth + 1)];
        while (isOp(',')) {
          k++;
          args.push(expr(depth + 1));
        }
        expect(')');
        if (name === 'abs' && args.length !== 1) throw new FormulaError('abs takes one argument', t.at);
        return { kind: 'call', fn: name as FormulaFunction, args };
      }
      return { kind: 'path', path: t.v };
    }
    if (isOp('(')) {
      k++;
      const e = expr(depth + 1);
      expect(')');
      return e;
    }
    throw new FormulaError(`expected a number, a stats path or '('${describe(t)}`, t.at);
  };
  const e = expr(0);
  if (peek().t !== 'end') throw new FormulaError(`unexpected${describe(peek())}`, peek().at);
  return e;
}

/** Every stats path a formula reads. */
export function formulaPaths(e: Expr): string[][] {
  switch (e.kind) {
    case 'num':
      return [];
    case 'path':
      return [[...e.path]];
    case 'neg':
      return formulaPaths(e.arg);
    case 'bin':
      return [...formulaPaths(e.left), ...formulaPaths(e.right)];
    case 'call':
      return e.args.flatMap(formulaPaths);
  }
}

/** The number at `path` in `stats` (wildcards summed), or null when no number is there. */
export function lookupPath(stats: unknown, path: readonly string[]): number | null {
  let found = false;
  let sum = 0;
  const walk = (node: unknown, i: number): void => {
    if (i === path.length) {
      if (typeof node === 'number' && Number.isFinite(node)) {
        found = true;
        sum += node;
      }
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    const seg = path[i]!;
    if (seg === '*') {
      for (const key of Object.keys(node).sort()) walk((node as Record<string, unknown>)[key], i + 1);
    } else if (Object.hasOwn(node, seg)) {
      walk((node as Record<string, unknown>)[seg], i + 1);
    }
  };
  walk(stats, 0);
  return found ? sum : null;
}

/** Evaluates a parsed formula over a stats JSON: a finite number, or null. */
export function evaluate(e: Expr, stats: unknown): number | null {
  const v = evalNode(e, stats);
  return v === null || !Number.isFinite(v) ? null : v === 0 ? 0 : v;
}

function evalNode(e: Expr, stats: unknown): number | null {
  switch (e.kind) {
    case 'num':
      return e.value;
    case 'path':
      return lookupPath(stats, e.path);
    case 'neg': {
      const a = evalNode(e.arg, stats);
      return a === null ? null : -a;
    }
    case 'bin': {
      const a = evalNode(e.left, stats);
      const b = evalNode(e.right, stats);
      if (a === null || b === null) return null;
      switch (e.op) {
        case '+':
          return a + b;
        case '-':
          return a - b;
        case '*':
          return a * b;
        case '/':
          return b === 0 ? null : a / b;
      }
    }
    // falls through: unreachable, every op returns
    case 'call': {
      const args = e.args.map((x) => evalNode(x, stats));
      if (args.some((x) => x === null)) return null;
      const xs = args as number[];
      return e.fn === 'abs' ? Math.abs(xs[0]!) : e.fn === 'min' ? Math.min(...xs) : Math.max(...xs);
    }
  }
}
