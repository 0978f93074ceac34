// The report: every run's metrics as CSV, JSON and a markdown table (deterministic: the same sweep
// gives the same bytes), wall-clock numbers apart in timing.csv / timing.json, and SVG plots.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluate, formulaPaths, lookupPath } from './formula.js';
import type { RunPlan } from './expand.js';
import type { RunOutcome } from './execute.js';
import type { AxisValue, SweepSpec } from './spec.js';
import { renderPlots } from './plots.js';

export interface RunRow {
  readonly run: string;
  readonly key: string;
  readonly workload: string;
  readonly seed: number;
  readonly axes: Readonly<Record<string, AxisValue>>;
  readonly status: 'ok' | 'failed';
  readonly reason: string;
  /** Deterministic metrics (null: no such stat in this run, or a division by zero). */
  readonly metrics: Readonly<Record<string, number | null>>;
}

export interface TimingRow {
  readonly run: string;
  readonly cached: boolean;
  readonly wallSeconds: number;
  readonly metrics: Readonly<Record<string, number | null>>;
}

export interface SweepReport {
  readonly name: string;
  readonly rows: readonly RunRow[];
  readonly timing: readonly TimingRow[];
  /** Metrics (deterministic ones) that no successful run had a value for, with the paths they read. */
  readonly missing: readonly { metric: string; paths: string[] }[];
}

/** Metric values for one outcome. */
export function metricsOf(spec: SweepSpec, outcome: RunOutcome, wallClock: boolean): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const m of spec.metrics) if (m.wallClock === wallClock) out[m.name] = outcome.stats ? evaluate(m.expr, outcome.stats) : null;
  return out;
}

export function buildReport(spec: SweepSpec, plans: readonly RunPlan[], outcomes: ReadonlyMap<string, RunOutcome>, cached: ReadonlySet<string>): SweepReport {
  const rows: RunRow[] = [];
  const timing: TimingRow[] = [];
  for (const p of plans) {
    const o = outcomes.get(p.job.key);
    if (!o) throw new Error(`buildReport: run ${p.job.id} has no outcome`);
    rows.push({ run: p.job.id, key: p.job.key, workload: p.workload, seed: p.seed, axes: p.axes, status: o.status, reason: o.reason, metrics: metricsOf(spec, o, false) });
    timing.push({ run: p.job.id, cached: cached.has(p.job.key), wallSeconds: o.wallSeconds, metrics: metricsOf(spec, o, true) });
  }
  const missing = spec.metrics
    .filter((m) => !m.wallClock && rows.some((r) => r.status === 'ok') && rows.every((r) => r.status !== 'ok' || r.metrics[m.name] === null))
    .map((m) => ({ metric: m.name, paths: formulaPaths(m.expr).filter((path) => rows.every((r) => r.status !== 'ok' || lookupPath(outcomes.get(r.key)!.stats, path) === null)).map((x) => x.join('.')) }));
  return { name: spec.name, rows, timing, missing };
}

const csvCell = (v: unknown): string => {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function toCsv(spec: SweepSpec, r: SweepReport): string {
  const metrics = spec.metrics.filter((m) => !m.wallClock).map((m) => m.name);
  const head = ['run', 'workload', ...spec.axes.map((a) => a.key), 'seed', 'status', 'reason', ...metrics];
  const lines = r.rows.map((row) => [row.run, row.workload, ...spec.axes.map((a) => row.axes[a.key]), row.seed, row.status, row.reason, ...metrics.map((m) => row.metrics[m])].map(csvCell).join(','));
  return [head.map(csvCell).join(','), ...lines].join('\n') + '\n';
}

export function toJson(spec: SweepSpec, r: SweepReport): string {
  return JSON.stringify(
    {
      sweep: spec.name,
      axes: Object.fromEntries(spec.axes.map((a) => [a.key, a.values])),
      workloads: spec.workloads.map((w) => w.name),
      seeds: spec.seeds,
      metrics: Object.fromEntries(spec.metrics.filter((m) => !m.wallClock).map((m) => [m.name, m.formula])),
      runs: r.rows,
    },
    null,
    2,
  ) + '\n';
}

/** A number for people: integers in full, others to 4 significant digits. */
export function formatNumber(v: number | null): string {
  if (v === null) return '';
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e9)) return v.toExponential(3);
  return String(Number(v.toPrecision(4)));
}

const mdCell = (s: string) => s.replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');

export function toMarkdown(spec: SweepSpec, r: SweepReport, plotFiles: readonly string[]): string {
  const metrics = spec.metrics.filter((m) => !m.wallClock);
  const ok = r.rows.filter((x) => x.status === 'ok').length;
  const head = ['workload', ...spec.axes.map((a) => a.key), ...(spec.seeds.length > 1 ? ['seed'] : []), 'status', ...metrics.map((m) => m.name)];
  const out = [
    `# Sweep ${spec.name}`,
    '',
    `${r.rows.length} runs: ${ok} ok, ${r.rows.length - ok} failed.`,
    '',
    'Metrics: ' + metrics.map((m) => (m.formula === m.name ? `\`${m.name}\`` : `\`${m.name}\` = \`${m.formula}\``)).join(', ') + '.',
    '',
    `| ${head.map(mdCell).join(' | ')} |`,
    `|${head.map((_, i) => (i >= head.length - metrics.length ? '---:' : '---')).join('|')}|`,
    ...r.rows.map((row) => `| ${[row.workload, ...spec.axes.map((a) => String(row.axes[a.key])), ...(spec.seeds.length > 1 ? [String(row.seed)] : []), row.status, ...metrics.map((m) => formatNumber(row.metrics[m.name]!))].map(mdCell).join(' | ')} |`),
  ];
  const failed = r.rows.filter((x) => x.status === 'failed');
  if (failed.length) out.push('', '## Failed runs', '', ...failed.map((f) => `- \`${f.run}\`: ${mdCell(f.reason)}`));
  if (r.missing.length) out.push('', '## Metrics with no value', '', ...r.missing.map((m) => `- \`${m.metric}\`: no successful run has ${m.paths.map((p) => `\`${p}\``).join(', ') || 'a value (a division by zero)'}`));
  if (plotFiles.length) out.push('', '## Plots', '', ...plotFiles.map((f) => `![${f}](${f})`));
  return out.join('\n') + '\n';
}

export function timingCsv(spec: SweepSpec, r: SweepReport): string {
  const metrics = spec.metrics.filter((m) => m.wallClock).map((m) => m.name);
  const head = ['run', 'cached', 'runSeconds', ...metrics];
  return [head.join(','), ...r.timing.map((t) => [t.run, t.cached ? 'yes' : 'no', t.wallSeconds.toFixed(3), ...metrics.map((m) => t.metrics[m])].map(csvCell).join(','))].join('\n') + '\n';
}

export interface WrittenReport {
  readonly files: string[];
}

/** Writes results.csv, results.json, report.md, timing.csv, timing.json and plots/*.svg into `out`. */
export async function writeReport(spec: SweepSpec, r: SweepReport, out: string, run: { backend: string; jobs: number; wallSeconds: number }): Promise<WrittenReport> {
  mkdirSync(join(out, 'plots'), { recursive: true });
  const plots = await renderPlots(spec, r);
  const plotFiles: string[] = [];
  for (const p of plots) {
    const rel = `plots/${p.file}`;
    writeFileSync(join(out, rel), p.svg);
    plotFiles.push(rel);
  }
  const files: [string, string][] = [
    ['results.csv', toCsv(spec, r)],
    ['results.json', toJson(spec, r)],
    ['report.md', toMarkdown(spec, r, plotFiles)],
    ['timing.csv', timingCsv(spec, r)],
    ['timing.json', JSON.stringify({ sweep: spec.name, ...run, runs: r.timing }, null, 2) + '\n'],
  ];
  for (const [name, text] of files) writeFileSync(join(out, name), text);
  return { files: [...files.map(([n]) => n), ...plotFiles] };
}
