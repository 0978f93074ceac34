// Issue 8, xl's side: input that used to crash or hang xl (deep lists, /dev/zero as a config,
// ranges of billions of CPUs, huge numbers) gets an xl-style error naming file and line.
// The same input through the `xl` CLI: apps/xl/test/hostile-input.test.ts.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseXlCfg, XlCfgError, MAX_LIST_DEPTH, parseCpuList, loadDomainConfig, readConfigText, MAX_CONFIG_BYTES, parseDiskSpec, DiskSpecError } from '../src/index.js';
import { tmp } from './helpers.js';

function cfgError(f: () => unknown): XlCfgError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(XlCfgError);
    return e as XlCfgError;
  }
  throw new Error('no error');
}

describe('xl.cfg nesting limit', () => {
  it(`accepts lists ${MAX_LIST_DEPTH} deep, refuses deeper with file:line:col of the '[' too many`, () => {
    const ok = `a = ${'['.repeat(MAX_LIST_DEPTH)}"x"${']'.repeat(MAX_LIST_DEPTH)}\n`;
    expect(parseXlCfg(ok, 'ok.cfg').get('a')!.value.kind).toBe('list');
    const e = cfgError(() => parseXlCfg(`name = "d"\nb = ${'['.repeat(MAX_LIST_DEPTH + 1)}"x"${']'.repeat(MAX_LIST_DEPTH + 1)}\n`, 'deep.cfg'));
    expect(e.message).toBe(`deep.cfg:2:${5 + MAX_LIST_DEPTH}: lists nest at most ${MAX_LIST_DEPTH} deep (xl.cfg keys use at most 2, e.g. vnuma)`);
  });

  it('8,000 levels (the probe): one error, no stack overflow, fast', () => {
    const t0 = performance.now();
    const e = cfgError(() => parseXlCfg(`vnuma = ${'['.repeat(8000)}${']'.repeat(8000)}\n`, 'probe.cfg'));
    expect(e.problems).toHaveLength(1);
    expect(e.line).toBe(1);
    // Spread over lines (newlines are allowed inside lists): still a handful of errors.
    const e2 = cfgError(() => parseXlCfg(`vnuma = ${'[\n'.repeat(8000)}${']\n'.repeat(8000)}`, 'probe2.cfg'));
    expect(e2.problems.length).toBeLessThanOrEqual(20);
    expect(e2.message).toMatch(/^probe2\.cfg:9:1: lists nest at most/);
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('fuzz: the parser throws nothing but XlCfgError, on random text and on bracket soup', () => {
    const soup = fc.array(fc.constantFrom('[', ']', ',', '"a"', '1', '\n', ' ', 'k = ', '=', '#', ';', "'", '\\'), { maxLength: 400 }).map((a) => a.join(''));
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), soup, soup.map((s) => `k = ${s}`)), (text) => {
        try {
          parseXlCfg(text, 'fuzz.cfg');
        } catch (e) {
          if (!(e instanceof XlCfgError)) throw e;
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('config files xl will not read', () => {
  it('/dev/zero, a FIFO and a directory are refused at once, naming the file', () => {
    const d = tmp();
    const fifo = join(d, 'fifo.cfg');
    execFileSync('mkfifo', [fifo]);
    for (const [file, kind] of [['/dev/zero', 'a character device'], [fifo, 'a FIFO'], [d, 'a directory']] as const) {
      const t0 = performance.now();
      const e = cfgError(() => loadDomainConfig(file));
      expect(e.message).toBe(`${file}: Failed to read config file: is ${kind}, not a regular file`);
      expect(performance.now() - t0).toBeLessThan(1000);
    }
    const big = join(d, 'big.cfg');
    writeFileSync(big, '#'.repeat(MAX_CONFIG_BYTES + 1));
    expect(() => readConfigText(big)).toThrow(/more than the limit of 1048576 bytes/);
  });
});

describe('fuzz: cpu lists and device specs', () => {
  const host = { pcpus: 8, nodes: [[0, 1, 2, 3], [4, 5, 6, 7]] };
  it('parseCpuList never throws and never returns a pCPU the host lacks; huge ranges stay cheap', () => {
    const num = fc.oneof(fc.nat(20), fc.constantFrom(4_000_000_000, 2 ** 53, 99999999999999999999), fc.nat());
    const item = fc.tuple(fc.boolean(), fc.constantFrom('', 'node:', 'nodes:'), fc.oneof(num.map(String), fc.tuple(num, num).map(([a, b]) => `${a}-${b}`), fc.constant('all'), fc.string({ maxLength: 5 })))
      .map(([neg, pre, body]) => `${neg ? '^' : ''}${pre}${body}`);
    fc.assert(
      fc.property(fc.array(item, { maxLength: 20 }).map((a) => a.join(',')), (text) => {
        const r = parseCpuList(text, host);
        if (typeof r === 'string') return;
        for (const c of r.cpus) expect(c >= 0 && c < 8).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('parseDiskSpec throws nothing but DiskSpecError', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        try {
          parseDiskSpec(s);
        } catch (e) {
          if (!(e instanceof DiskSpecError)) throw e;
        }
      }),
      { numRuns: 1000 },
    );
  });
});
