import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { MAX_LIST_DEPTH, parseXlCfg, parseXlCfgSettings, applyOverrides, XlConfig, XlCfgError, formatXlValue, quoteXlString, type XlValue } from '../src/index.js';

const val = (text: string, key = 'k') => parseXlCfg(text, 'g.cfg').get(key)!.value;
const plain = (v: XlValue): unknown => (v.kind === 'atom' ? v.value : v.items.map(plain));

function syntaxError(text: string, source = 'guest.cfg'): XlCfgError {
  try {
    parseXlCfg(text, source);
  } catch (e) {
    expect(e).toBeInstanceOf(XlCfgError);
    return e as XlCfgError;
  }
  throw new Error(`no error for ${JSON.stringify(text)}`);
}

describe('xl.cfg syntax', () => {
  it('reads KEY = VALUE with double-quoted, single-quoted strings and numbers', () => {
    const c = parseXlCfg('name = "guest"\nkernel=\'/boot/vmlinuz\'\nmemory = 512\nmask = 0x1f\nmode = 0755\n', 'g.cfg');
    expect(c.get('name')!.value).toMatchObject({ kind: 'atom', token: 'string', value: 'guest' });
    expect(c.get('kernel')!.value).toMatchObject({ token: 'string', value: '/boot/vmlinuz' });
    expect(c.get('memory')!.value).toMatchObject({ token: 'number', value: '512' });
    expect(c.get('mask')!.value).toMatchObject({ token: 'number', value: '0x1f' });
    expect(c.get('mode')!.value).toMatchObject({ token: 'number', value: '0755' });
  });

  it('keeps the line and column of each setting and value', () => {
    const c = parseXlCfg('# comment\n\n  memory   =   512\nvif = [\n  "a",\n  "b" ]\n', 'g.cfg');
    expect(c.get('memory')).toMatchObject({ source: 'g.cfg', line: 3, col: 3, value: { line: 3, col: 16 } });
    const vif = c.get('vif')!.value;
    expect(vif).toMatchObject({ kind: 'list', line: 4, col: 7 });
    expect(vif.kind === 'list' && vif.items.map((i) => [i.line, i.col])).toEqual([[5, 3], [6, 3]]);
  });

  it('reads lists over several lines, with trailing commas, empty lists and nested lists', () => {
    expect(plain(val('k = [\n  "a",\n  "b",\n]\n'))).toEqual(['a', 'b']);
    expect(plain(val('k = [ ]'))).toEqual([]);
    expect(plain(val('k = [\n\n]'))).toEqual([]);
    expect(plain(val('k = [ "a" , 1 ,\n ]'))).toEqual(['a', '1']);
    expect(plain(val('k = [ "a"\n , "b" ]'))).toEqual(['a', 'b']);
    expect(plain(val('k = [ [ "pnode=0", "size=512" ], [ "pnode=1" ], [] ]'))).toEqual([['pnode=0', 'size=512'], ['pnode=1'], []]);
  });

  it('reads comments, blank lines, semicolons and a last line without a newline', () => {
    const c = parseXlCfg('# header\n\nname="h0"; type="hvm" # trailing comment\n;;\nmemory = 1 # last', 'g.cfg');
    expect(c.keys()).toEqual(['name', 'type', 'memory']);
    expect(parseXlCfg('a = 1', 'x').get('a')!.value).toMatchObject({ value: '1' });
    expect(parseXlCfg('a = "x"\r\nb = 2\r\n', 'x').keys()).toEqual(['a', 'b']);
  });

  it("decodes xl's escapes in quoted strings", () => {
    expect(plain(val(String.raw`k = "a\"b\'c\\d"`))).toBe(`a"b'c\\d`);
    expect(plain(val(String.raw`k = 'tab\there\nnl\r\a\b\f\v'`))).toBe('tab\there\nnl\r\x07\b\f\v');
    expect(plain(val(String.raw`k = "\x41\x62 \101\60"`))).toBe('Ab A0');
    expect(plain(val(`k = 'say "hi"'`))).toBe('say "hi"');
    expect(plain(val(`k = "it's"`))).toBe("it's");
  });

  it('the last assignment of a key wins', () => {
    const c = parseXlCfg('memory = 128\nmemory = 256\n', 'g.cfg');
    expect(c.get('memory')).toMatchObject({ line: 2, value: { value: '256' } });
    expect(c.history).toHaveLength(2);
  });

  it('+= concatenates strings and appends lists, as libxlu does', () => {
    const c = parseXlCfg('extra = "console=hvc0"\nextra += " quiet"\nvif = [ "a" ]\nvif += [ "b", "c" ]\nnew += "x"\n', 'g.cfg');
    expect(plain(c.get('extra')!.value)).toBe('console=hvc0 quiet');
    expect(plain(c.get('vif')!.value)).toEqual(['a', 'b', 'c']);
    expect(plain(c.get('new')!.value)).toBe('x');
    expect(c.get('extra')!.op).toBe('+=');
  });

  it('+= of a list to a string is an error naming both places', () => {
    const e = syntaxError('vif = "a"\nvif += [ "b" ]\n');
    expect(e.message).toBe(`guest.cfg:2:8: vif: can't add [list] to "string" (the earlier value at guest.cfg:1 is a string)`);
  });

  it('command-line overrides use the same grammar and win over the file', () => {
    const c = parseXlCfg('memory = 128\nextra = "a"\nvif = [ "x" ]\n', 'g.cfg');
    applyOverrides(c, ['memory=256', 'extra+=" b"', 'vif+=["y"]', 'name="n"; vcpus=2']);
    expect(plain(c.get('memory')!.value)).toBe('256');
    expect(c.get('memory')).toMatchObject({ source: '<command line>', line: 1 });
    expect(plain(c.get('extra')!.value)).toBe('a b');
    expect(plain(c.get('vif')!.value)).toEqual(['x', 'y']);
    expect(plain(c.get('vcpus')!.value)).toBe('2');
    expect(() => applyOverrides(new XlConfig(), ['memory=1', 'memory=lots'])).toThrow('<command line>:2:8: expected a value for \'memory\' (a "string", a number or a [list]), found \'lots\'');
  });
});

describe('xl.cfg syntax errors', () => {
  it('name the file, line and column, and what was expected', () => {
    const cases: [string, string][] = [
      ['name = "a"\nvif = [ "x" "y" ]\n', `guest.cfg:2:13: expected ',' or ']' after a list item, found string "y"`],
      ['name = "a"\nvif = [ "x",\n', `guest.cfg:3:1: expected ']' to close the list opened at 2:7, found end of file`],
      ['memory 512\n', `guest.cfg:1:8: expected '=' or '+=' after 'memory', found '512'`],
      ['memory =\n', `guest.cfg:1:9: expected a value for 'memory' (a "string", a number or a [list]), found end of line`],
      ['name = "guest\n', 'guest.cfg:1:8: unterminated string (a string ends with " on the same line)'],
      ["x = 'a\\qb'\n", "guest.cfg:1:7: invalid character after backslash in quoted string: '\\q'"],
      ['Memory = 5\n', "guest.cfg:1:1: 'Memory': keys are lowercase in xl.cfg, and strings need quotes"],
      ['rtc_timeoffset = -3600\n', 'guest.cfg:1:18: \'-\' is not allowed here: write a negative number as a string ("-3600")'],
      ['memory = 1.5\n', `guest.cfg:1:11: unexpected '.' (xl.cfg is not Python: values are "strings", numbers or [lists])`],
      ['a = 1 b = 2\n', "guest.cfg:1:7: expected end of line or ';' after the value of 'a', found 'b'"],
      ['vif = [ , ]\n', "guest.cfg:1:9: expected a value or ']' after '[', found ','"],
      ['vif = [ "a", , ]\n', "guest.cfg:1:14: expected a value or ']' after ',', found ','"],
      ['= 5\n', "guest.cfg:1:1: expected a key, found '='"],
      ['5 = 5\n', "guest.cfg:1:1: expected a key, found '5' (keys start with a lowercase letter)"],
      ['k = "\x01"\nname = @\n', "guest.cfg:2:8: unexpected character '@'"],
      ['disk = [ "a" ]]\n', "guest.cfg:1:15: expected end of line or ';' after the value of 'disk', found ']'"],
      ['x = "\\x4"\n', 'guest.cfg:1:6: invalid hex escape in quoted string (\\x needs two hex digits)'],
    ];
    for (const [text, msg] of cases) expect(syntaxError(text).message, JSON.stringify(text)).toBe(msg);
  });

  it('recover at the next line and report every error, the first in the message', () => {
    const e = syntaxError('a = 1\nb = = 2\nc = 3\nd = [\ne = 5\n');
    expect(e.problems.map((p) => `${p.line}:${p.col}`)).toEqual(['2:5', '5:1']);
    expect(e.line).toBe(2);
    expect(e.col).toBe(5);
    expect(e.source).toBe('guest.cfg');
    expect(e.exitCode).toBe(1);
  });

  it('give up after maxProblems', () => {
    expect(() => parseXlCfgSettings('= \n'.repeat(100), 'x', { maxProblems: 3 })).toThrow(XlCfgError);
    try {
      parseXlCfgSettings('= \n'.repeat(100), 'x', { maxProblems: 3 });
    } catch (e) {
      expect((e as XlCfgError).problems).toHaveLength(3);
    }
  });
});

// --- property tests ---------------------------------------------------------------------------

const key = fc.stringMatching(/^[a-z][a-z0-9._]{0,11}$/);
const atom: fc.Arbitrary<XlValue> = fc.oneof(
  fc.string({ maxLength: 20 }).map((value) => ({ kind: 'atom' as const, token: 'string' as const, value, line: 0, col: 0 })),
  fc.oneof(fc.nat().map(String), fc.nat().map((n) => `0x${n.toString(16)}`)).map((value) => ({ kind: 'atom' as const, token: 'number' as const, value, line: 0, col: 0 })),
);
const value: fc.Arbitrary<XlValue> = fc.letrec<{ v: XlValue }>((tie) => ({
  v: fc.oneof({ depthSize: 'small', withCrossShrink: true, maxDepth: MAX_LIST_DEPTH - 1 }, atom, fc.array(tie('v'), { maxLength: 4 }).map((items) => ({ kind: 'list' as const, items, line: 0, col: 0 }))),
})).v;

describe('xl.cfg parser properties', () => {
  it('random text never throws anything but XlCfgError', () => {
    const alphabet = fc.constantFrom(...'ab=+[],;#"\'\\\n\t x0-.9Az\r'.split(''), '+=', 'name', ' = ', '\\x4', '\\0', 'é', '\x00');
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.array(alphabet, { maxLength: 60 }).map((a) => a.join(''))), (text) => {
        try {
          parseXlCfg(text, 'fuzz.cfg');
        } catch (e) {
          if (!(e instanceof XlCfgError)) throw e;
          expect(e.message).not.toMatch(/\n/);
          expect(e.line).toBeGreaterThanOrEqual(1);
          expect(e.col).toBeGreaterThanOrEqual(1);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('a generated config prints and parses back to the same settings', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(key, value), { selector: ([k]) => k, maxLength: 8 }), fc.constantFrom('\n', ';', '\n\n# c\n'), (settings, sep) => {
        const text = settings.map(([k, v]) => `${k} = ${formatXlValue(v)}`).join(sep);
        const c = parseXlCfg(text, 'gen.cfg');
        expect(c.keys()).toEqual(settings.map(([k]) => k));
        for (const [k, v] of settings) expect(plain(c.get(k)!.value)).toEqual(plain(v));
      }),
      { numRuns: 500 },
    );
  });

  it('quoteXlString round-trips any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), (s) => {
        expect(plain(val(`k = ${quoteXlString(s)}`))).toBe(s);
      }),
    );
  });
});
