import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { evaluate, FormulaError, formulaPaths, lookupPath, parseFormula, MAX_FORMULA_DEPTH, type Expr } from '@tachyxx/sweep';

const stats = {
  instructions: 1000,
  simCycles: 2500,
  pcpus: [{ tlbMisses: 3 }, { tlbMisses: 4 }],
  tree: { host: { cpu0: { mmu: { walkRefs: 10, tlbMisses: 4 } }, cpu1: { mmu: { walkRefs: 6, tlbMisses: 0 } } } },
  exit: { reason: 'poweroff' },
};

describe('formulas', () => {
  it('reads paths, list indexes and sums wildcards', () => {
    expect(evaluate(parseFormula('instructions'), stats)).toBe(1000);
    expect(evaluate(parseFormula('pcpus.1.tlbMisses'), stats)).toBe(4);
    expect(evaluate(parseFormula('pcpus.*.tlbMisses'), stats)).toBe(7);
    expect(evaluate(parseFormula('tree.host.*.mmu.walkRefs / tree.host.*.mmu.tlbMisses'), stats)).toBe(4);
  });

  it('follows precedence, associativity, unary minus and functions', () => {
    expect(evaluate(parseFormula('1 + 2 * 3'), {})).toBe(7);
    expect(evaluate(parseFormula('(1 + 2) * 3'), {})).toBe(9);
    expect(evaluate(parseFormula('8 / 4 / 2'), {})).toBe(1);
    expect(evaluate(parseFormula('10 - 4 - 3'), {})).toBe(3);
    expect(evaluate(parseFormula('--2 * -3'), {})).toBe(-6);
    expect(evaluate(parseFormula('max(1, simCycles / instructions, 2) + min(3, 4) + abs(-1.5)'), stats)).toBe(7);
    expect(evaluate(parseFormula('1.5e3 + .5'), {})).toBe(1500.5);
  });

  it('gives null, never NaN or Infinity, for a missing stat, a non-number or a division by zero', () => {
    expect(evaluate(parseFormula('nosuch.stat * 2'), stats)).toBeNull();
    expect(evaluate(parseFormula('exit.reason'), stats)).toBeNull();
    expect(evaluate(parseFormula('instructions / tree.host.cpu1.mmu.tlbMisses'), stats)).toBeNull();
    expect(evaluate(parseFormula('0 * -1'), {})).toBe(0);
    expect(Object.is(evaluate(parseFormula('0 * -1'), {}), -0)).toBe(false);
  });

  it('rejects bad formulas with the column and never evaluates code', () => {
    const bad: [string, RegExp][] = [
      ['1 +', /column 4: expected a number, a stats path or '\(' at the end/],
      ['a..b', /column 1/],
      ['process.exit(1)', /unknown function 'process.exit'/],
      ['a ; b', /column 3: unexpected character ';'/],
      ['(1 + 2', /expected '\)' at the end/],
      ['1 2', /column 3: unexpected, got '2'/],
      ['12abc', /bad number/],
      ['abs(1, 2)', /abs takes one argument/],
      ['a.', /a segment must follow/],
      ['a.b-c', /.*/],
    ];
    for (const [src, re] of bad.slice(0, -1)) {
      expect(() => parseFormula(src), src).toThrow(FormulaError);
      expect(() => parseFormula(src), src).toThrow(re);
    }
    // 'a.b-c' is a subtraction, not a path with a dash
    expect(formulaPaths(parseFormula('a.b-c'))).toEqual([['a', 'b'], ['c']]);
    expect(() => parseFormula('('.repeat(MAX_FORMULA_DEPTH + 2) + '1' + ')'.repeat(MAX_FORMULA_DEPTH + 2))).toThrow(/nested deeper/);
  });

  it('lookupPath does not walk prototypes', () => {
    expect(lookupPath({}, ['constructor'])).toBeNull();
    expect(lookupPath({ a: { toString: 1 } }, ['a', 'toString'])).toBe(1);
  });

  // Property: printing a random expression tree and parsing it back gives a tree that evaluates to
  // the same value as a direct evaluation of the original (parser agrees with a reference model).
  it('parses any printed expression back to the same value (property)', () => {
    const env = { a: 3, b: { c: -2, d: 0.5 }, l: [1, 2, 3] };
    const leaf = fc.oneof(
      fc.integer({ min: 0, max: 1000 }).map((n): Expr => ({ kind: 'num', value: n })),
      fc.constantFrom<Expr>({ kind: 'path', path: ['a'] }, { kind: 'path', path: ['b', 'c'] }, { kind: 'path', path: ['b', 'd'] }, { kind: 'path', path: ['l', '*'] }, { kind: 'path', path: ['l', '2'] }, { kind: 'path', path: ['missing'] }),
    );
    const tree = fc.letrec<{ e: Expr }>((tie) => ({
      e: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc.record({ kind: fc.constant('neg' as const), arg: tie('e') }),
        fc.record({ kind: fc.constant('bin' as const), op: fc.constantFrom('+', '-', '*', '/' as const), left: tie('e'), right: tie('e') }),
        fc.record({ kind: fc.constant('call' as const), fn: fc.constantFrom('min', 'max' as const), args: fc.array(tie('e'), { minLength: 1, maxLength: 3 }) }),
      ),
    })).e as fc.Arbitrary<Expr>;
    const print = (e: Expr): string => {
      switch (e.kind) {
        case 'num':
          return String(e.value);
        case 'path':
          return e.path.join('.');
        case 'neg':
          return `-(${print(e.arg)})`;
        case 'bin':
          return `(${print(e.left)} ${e.op} ${print(e.right)})`;
        case 'call':
          return `${e.fn}(${e.args.map(print).join(', ')})`;
      }
    };
    const ref = (e: Expr): number | null => {
      switch (e.kind) {
        case 'num':
          return e.value;
        case 'path':
          return e.path[0] === 'a' ? 3 : e.path[0] === 'missing' ? null : e.path[0] === 'l' ? (e.path[1] === '*' ? 6 : 3) : e.path[1] === 'c' ? -2 : 0.5;
        case 'neg': {
          const v = ref(e.arg);
          return v === null ? null : -v;
        }
        case 'bin': {
          const x = ref(e.left);
          const y = ref(e.right);
          if (x === null || y === null) return null;
          return e.op === '+' ? x + y : e.op === '-' ? x - y : e.op === '*' ? x * y : y === 0 ? null : x / y;
        }
        case 'call': {
          const xs = e.args.map(ref);
          if (xs.some((x) => x === null)) return null;
          return e.fn === 'min' ? Math.min(...(xs as number[])) : Math.max(...(xs as number[]));
        }
      }
    };
    fc.assert(
      fc.property(tree, (e) => {
        const want = ref(e);
        const got = evaluate(parseFormula(print(e)), env);
        const norm = want === null || !Number.isFinite(want) ? null : want === 0 ? 0 : want;
        expect(got).toBe(norm);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws anything but FormulaError on arbitrary text (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        try {
          const e = parseFormula(s);
          const v = evaluate(e, stats);
          expect(v === null || Number.isFinite(v)).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(FormulaError);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
