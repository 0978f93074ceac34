// SVG plots of each metric against each axis, rendered headless by vega-lite -> vega (no canvas:
// vega's SVG string renderer). Points are means over seeds; one line per workload and combination
// of the other axes.
import { compile, type TopLevelSpec } from 'vega-lite';
import { parse, View } from 'vega';
import type { SweepReport } from './report.js';
import type { SweepSpec } from './spec.js';

export interface Plot {
  /** `<metric>-by-<axis>.svg`, safe as a file name. */
  readonly file: string;
  readonly metric: string;
  readonly axis: string;
  readonly svg: string;
}

const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_');

/** The vega-lite spec of one plot (exported for tests and for people who want to restyle it). */
export function plotSpec(spec: SweepSpec, report: SweepReport, metric: string, axisKey: string): TopLevelSpec {
  const axis = spec.axes.find((a) => a.key === axisKey)!;
  const others = spec.axes.filter((a) => a.key !== axisKey);
  const groups = new Map<string, { x: string; series: string; sum: number; n: number; order: number }>();
  for (const row of report.rows) {
    const v = row.metrics[metric];
    if (row.status !== 'ok' || v === null || v === undefined) continue;
    const series = [spec.workloads.length > 1 || !others.length ? row.workload : '', ...others.map((a) => `${a.key}=${row.axes[a.key]}`)].filter(Boolean).join(', ');
    const x = String(row.axes[axisKey]);
    const id = `${series}\u0000${x}`;
    const g = groups.get(id) ?? { x, series, sum: 0, n: 0, order: axis.values.indexOf(row.axes[axisKey]!) };
    g.sum += v;
    g.n++;
    groups.set(id, g);
  }
  const values = [...groups.values()].map((g) => ({ [axisKey]: g.x, series: g.series, [metric]: g.sum / g.n, order: g.order }));
  return {
    title: `${spec.name}: ${metric} by ${axisKey}${spec.seeds.length > 1 ? ' (mean over seeds)' : ''}`,
    width: 360,
    height: 220,
    background: 'white',
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: axisKey, type: 'ordinal', sort: axis.values.map(String), title: axisKey, axis: { labelAngle: 0 } },
      y: { field: metric, type: 'quantitative', title: metric },
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom', columns: 2, labelLimit: 400 } },
    },
    config: { font: 'sans-serif' },
  } as TopLevelSpec;
}

export async function renderSvg(vl: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(vl).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** One plot per (deterministic metric, axis); none for a sweep without axes. */
export async function renderPlots(spec: SweepSpec, report: SweepReport): Promise<Plot[]> {
  const plots: Plot[] = [];
  for (const m of spec.metrics) {
    if (m.wallClock) continue;
    for (const a of spec.axes) {
      const svg = await renderSvg(plotSpec(spec, report, m.name, a.key));
      plots.push({ file: `${safe(m.name)}-by-${safe(a.key)}.svg`, metric: m.name, axis: a.key, svg });
    }
  }
  return plots;
}
