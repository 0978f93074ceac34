/**
 * xl's CPU-list syntax (xl.cfg `cpus=`, `xl vcpu-pin`): "all", "3", "0-3", "0-3,^2", "nodes:0",
 * "node:1-2", "^nodes:1", combined with commas; or a JSON list of ids. Parsed against the host's
 * pCPUs and NUMA nodes. One parser for xl (lenient, as xl: missing ids reported) and the daemon
 * (strict).
 */
import { ToolstackError } from './protocol.js';

/** The host's pCPUs and NUMA nodes as CPU lists see them (xlcfg's HostTopology is this type). */
export interface CpuTopology {
  /** Number of physical CPUs (ids 0..pcpus-1). */
  pcpus: number;
  /** For each NUMA node, its pCPU ids. */
  nodes: readonly (readonly number[])[];
}

export interface CpuListResult {
  cpus: number[];
  /** CPUs or nodes named that the host does not have (xl ignores them silently; we tell). */
  missing: string[];
}

/**
 * xl's parse_cpurange (tools/xl/xl_parse.c): comma-separated items `[^][node:|nodes:](all|N|N-M)`
 * applied left to right to an empty set: a plain item adds CPUs, '^' removes them; `nodes:` items
 * stand for every CPU of those NUMA nodes; "^all" is refused. Only ids the host has are expanded,
 * so "0-4000000000" costs as much as "0-<pcpus>"; the rest comes back in `missing`, one entry per
 * item. Returns the set, or a string saying what is wrong with `text`.
 */
export function parseCpuRange(text: string, host: CpuTopology): CpuListResult | string {
  const set = new Set<number>();
  const missing: string[] = [];
  const items = text.split(',').map((x) => x.trim()).filter((x) => x !== ''); // strtok skips empty tokens
  if (items.length === 0) return `'${clip(text, 64)}' names no CPUs`;
  for (const raw of items) {
    let item = raw;
    const not = item.startsWith('^');
    if (not) item = item.slice(1);
    let nodes = false;
    if (item.startsWith('node:')) (nodes = true), (item = item.slice(5));
    else if (item.startsWith('nodes:')) (nodes = true), (item = item.slice(6));
    if (item === 'all') {
      if (not) return `can't combine "^" and "all" in '${raw}'`;
      for (let c = 0; c < host.pcpus; c++) set.add(c);
      continue;
    }
    const m = /^(\d+)(?:-(\d+))?$/.exec(item);
    if (!m) return `invalid pCPU range '${clip(raw, 32)}' (use N, N-M, ^N, nodes:N or all)`;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) return `invalid pCPU range '${clip(raw, 32)}': ${clip(m[2]!, 12)} < ${clip(m[1]!, 12)}`;
    const count = nodes ? host.nodes.length : host.pcpus;
    for (let i = a; i <= Math.min(b, count - 1); i++) {
      const cpus = nodes ? host.nodes[i]! : [i];
      for (const c of cpus) (not ? set.delete(c) : set.add(c));
    }
    if (b >= count) {
      const unit = nodes ? 'node' : 'pCPU';
      const from = Math.max(a, count);
      missing.push(from === b ? `${unit} ${clip(String(b), 12)}` : `${unit}s ${a >= count ? clip(m[1]!, 12) : from}-${clip(m[2]!, 12)}`);
    }
  }
  return { cpus: [...set].sort((x, y) => x - y), missing };
}

/**
 * A CPU list as the daemon takes it (xl.cfg `cpus=`, `xl vcpu-pin`, cpupools): xl's syntax
 * (parseCpuRange) or a list of pCPU ids, checked strictly — a CPU or node the host does not have,
 * or a list that leaves no CPU, is EINVAL naming it. Returns the sorted pCPU ids.
 */
export function parseCpuList(spec: string | readonly number[] | number, topo: CpuTopology, what = 'cpus'): number[] {
  if (typeof spec === 'number') spec = [spec];
  if (Array.isArray(spec)) {
    for (const c of spec) checkCpu(c, topo, what);
    return [...new Set(spec as number[])].sort((a, b) => a - b);
  }
  if (typeof spec !== 'string') throw new ToolstackError('EINVAL', `${what}: expected a CPU list (a string, a pCPU id or a list of ids)`);
  const r = parseCpuRange(spec, topo);
  if (typeof r === 'string') throw new ToolstackError('EINVAL', `${what}: ${r}`);
  if (r.missing.length) {
    const n = r.missing[0]!;
    const unit = n.startsWith('node') ? `${topo.nodes.length} NUMA node${topo.nodes.length === 1 ? '' : 's'}: 0-${topo.nodes.length - 1}` : `${topo.pcpus}: 0-${topo.pcpus - 1}`;
    throw new ToolstackError('EINVAL', `${what}: ${n.startsWith('node') ? 'NUMA ' : ''}${n} ${/s \d/.test(n) ? 'do' : 'does'} not exist (the host has ${unit})`);
  }
  if (r.cpus.length === 0) throw new ToolstackError('EINVAL', `${what}: '${clip(spec.trim(), 64)}' leaves no CPU`);
  return r.cpus;
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}...` : s;
}

function checkCpu(c: unknown, topo: CpuTopology, what: string): void {
  if (!Number.isInteger(c) || (c as number) < 0 || (c as number) >= topo.pcpus) {
    const shown = typeof c === 'number' || typeof c === 'string' ? String(c).slice(0, 24) : typeof c;
    throw new ToolstackError('EINVAL', `${what}: pCPU ${shown} does not exist (the host has ${topo.pcpus}: 0-${topo.pcpus - 1})`);
  }
}

/** xl's affinity string: "all" for every pCPU (or none set), else ranges "0-3,6". */
export function formatCpuList(cpus: Iterable<number> | null | undefined, pcpus: number): string {
  if (!cpus) return 'all';
  const sorted = [...new Set(cpus)].filter((c) => c < pcpus).sort((a, b) => a - b);
  if (sorted.length === 0) return 'none';
  if (sorted.length === pcpus) return 'all';
  const out: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    out.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return out.join(',');
}
