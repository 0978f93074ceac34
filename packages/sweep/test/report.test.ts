import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { ConfigError } from '@tachyxx/core';
import { buildReport, formatDuration, formatNumber, parseSweep, plotSpec, Progress, renderSvg, toCsv, toMarkdown, expandSweep, type RunOutcome } from '@tachyxx/sweep';

const guests = resolve(import.meta.dirname, '../../../guests/build');
const file = resolve(import.meta.dirname, 'virtual.yaml');
const spec = parseSweep(
  `name: r
axes:
  mmu.entries: [32, 64]
workloads:
  - name: w
    domains: [${guests}/hello.elf]
seeds: [1, 2]
metrics:
  x: a.b
  y: a.b / a.c
  w: wallSeconds
`,
  file,
);
const plans = expandSweep(spec);
const outcome = (key: string, b: number, c: number, status: 'ok' | 'failed' = 'ok', reason = ''): RunOutcome => ({ key, status, reason, stats: { a: { b, c }, wallSeconds: 1.5 }, wallSeconds: 1.5, deterministic: true });

describe('the report', () => {
  const outcomes = new Map<string, RunOutcome>([
    [plans[0]!.job.key, outcome(plans[0]!.job.key, 10, 4)],
    [plans[1]!.job.key, outcome(plans[1]!.job.key, 20, 0)],
    [plans[2]!.job.key, outcome(plans[2]!.job.key, 5, 1, 'failed', 'domain \'w\' crashed: "x", y\nz | q')],
    [plans[3]!.job.key, outcome(plans[3]!.job.key, 7, 2)],
  ]);
  const r = buildReport(spec, plans, outcomes, new Set([plans[3]!.job.key]));

  it('quotes CSV cells that need it and leaves null metrics empty', () => {
    const csv = toCsv(spec, r);
    expect(csv.split('\n')[0]).toBe('run,workload,mmu.entries,seed,status,reason,x,y');
    expect(csv).toContain('\nw/mmu.entries=32/seed=2,w,32,2,ok,,20,\n');
    expect(csv).toContain(`\nw/mmu.entries=64/seed=1,w,64,1,failed,"domain 'w' crashed: ""x"", y\nz | q",5,5\n`);
  });

  it('escapes table cells in markdown and lists failed runs', () => {
    const md = toMarkdown(spec, r, []);
    expect(md).toContain('| w | 64 | 1 | failed | 5 | 5 |');
    expect(md).toContain("- `w/mmu.entries=64/seed=1`: domain 'w' crashed: \"x\", y z \\| q");
    expect(md).not.toContain('wallSeconds');
  });

  it('plots the mean over seeds, in axis order, of successful runs only', async () => {
    const vl = plotSpec(spec, r, 'x', 'mmu.entries') as { data: { values: Record<string, unknown>[] } };
    expect(vl.data.values).toEqual([
      { 'mmu.entries': '32', series: 'w', x: 15, order: 0 },
      { 'mmu.entries': '64', series: 'w', x: 7, order: 1 },
    ]);
    const svg = await renderSvg(vl as never);
    expect(svg).toMatch(/^<svg[^>]*>/);
    expect(svg).toContain('r: x by mmu.entries (mean over seeds)');
  });

  it('formats numbers for people, deterministically', () => {
    expect([formatNumber(null), formatNumber(12345678901), formatNumber(2.173761365874559), formatNumber(0.00012345), formatNumber(-0.5)]).toEqual(['', '12345678901', '2.174', '1.234e-4', '-0.5']);
    expect([formatDuration(5.2), formatDuration(125), formatDuration(7300)]).toEqual(['6s', '2m05s', '2h01m']);
  });
});

describe('progress', () => {
  it('prints a plain line per simulated run off a TTY (cached ones only counted), and done/running/failed/cached/ETA', () => {
    let out = '';
    const p = new Progress(3, { write: (s) => (out += s), isTTY: false });
    p.finished('a', { status: 'ok', reason: '' }, true);
    p.started();
    p.finished('b', { status: 'failed', reason: 'crash' }, false);
    expect(p.line()).toMatch(/^sweep: 2\/3 done, 0 running, 1 failed, 1 cached, ETA \d+s$/);
    p.end();
    expect(out).toBe(`[2/3] FAILED b: crash\n${p.line()}\n`);
  });

  it('rewrites one line in place on a TTY', () => {
    let out = '';
    const p = new Progress(2, { write: (s) => (out += s), isTTY: true });
    p.started();
    p.finished('a', { status: 'ok', reason: '' }, false);
    expect(out).toContain('\r\x1b[Ksweep: 1/2 done, 0 running, 0 failed, 0 cached, ETA');
    expect(out).not.toContain('\n');
  });
});

describe('sweep files (property)', () => {
  it('any YAML document is a valid sweep or one ConfigError, never another exception', () => {
    const key = fc.constantFrom('name', 'host', 'axes', 'workloads', 'seeds', 'limits', 'metrics', 'mmu.variant', 'mmu.entries', 'image', 'domains', 'bare', 'x');
    const value = fc.letrec<{ v: unknown }>((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        fc.constantFrom(null, true, 0, -1, 64, 1.5, 'tagged', 'w', 'a.b / c', `${guests}/hello.elf`, ''),
        fc.array(tie('v'), { maxLength: 3 }),
        fc.dictionary(key, tie('v'), { maxKeys: 4 }),
      ),
    })).v;
    fc.assert(
      fc.property(fc.dictionary(key, value, { maxKeys: 6 }), (doc) => {
        try {
          expandSweep(parseSweep(stringify(doc), file));
        } catch (e) {
          expect(e).toBeInstanceOf(ConfigError);
          expect((e as Error).message).not.toMatch(/\n/);
        }
      }),
      { numRuns: 300 },
    );
  });
});
