/**
 * xl's CPU-list syntax (xl.cfg `cpus=`, `xl vcpu-pin`): "all", "3", "0-3", "0-3,^2", "nodes:0",
 * "node:1-2", "^nodes:1", combined with commas; or a JSON list of ids. Parsed against the host's
 * pCPUs and NUMA nodes.
 */
import { ToolstackError } from './protocol.js';

/** The host's pCPUs and NUMA nodes as CPU lists see them (xlcfg's HostTopology is this type). */
export interface CpuTopology {
  /** Number of physical CPUs (ids 0..pcpus-1). */
  pcpus: number;
  /** For each NUMA node, its pCPU ids. */
  nodes: readonly (readonly number[])[];
}

/**
 * Parses `spec` into a sorted list of pCPU ids. Every id and range is checked against the host
 * (pCPU ids below `topo.pcpus`, node ids below the node count) BEFORE anything is expanded, so
 * "0-4000000000" is an EINVAL naming the pCPU, never a 4-billion-element array.
 */
export function parseCpuList(spec: string | readonly number[] | number, topo: CpuTopology, what = 'cpus'): number[] {
  if (typeof spec === 'number') spec = [spec];
  if (Array.isArray(spec)) {
    for (const c of spec) checkCpu(c, topo, what);
    return [...new Set(spec as number[])].sort((a, b) => a - b);
  }
  if (typeof spec !== 'string') throw new ToolstackError('EINVAL', `${what}: expected a CPU list (a string, a pCPU id or a list of ids)`);
  const text = spec.trim();
  if (text === '') throw new ToolstackError('EINVAL', `${what}: empty CPU list`);
  const shown = text.length > 64 ? `${text.slice(0, 64)}...` : text;
  const set = new Set<number>();
  const parts = text.split(',').map((s) => s.trim());
  // A list that starts with exclusions starts from "all", as xl does.
  if (parts[0]!.startsWith('^')) for (let c = 0; c < topo.pcpus; c++) set.add(c);
  for (const part of parts) {
    const neg = part.startsWith('^');
    const body = neg ? part.slice(1) : part;
    const apply = (c: number) => (neg ? set.delete(c) : set.add(c));
    if (body === 'all') {
      if (neg) throw new ToolstackError('EINVAL', `${what}: can't combine "^" and "all"`);
      for (let c = 0; c < topo.pcpus; c++) apply(c);
    } else if (/^nodes?:/.test(body)) {
      const [a, b] = rangeOf(body.replace(/^nodes?:/, ''), what, topo.nodes.length, 'NUMA node');
      for (let n = a; n <= b; n++) for (const c of topo.nodes[n]!) apply(c);
    } else {
      const [a, b] = rangeOf(body, what, topo.pcpus, 'pCPU');
      for (let c = a; c <= b; c++) apply(c);
    }
  }
  if (set.size === 0) throw new ToolstackError('EINVAL', `${what}: '${shown}' leaves no CPU`);
  return [...set].sort((a, b) => a - b);
}

/** "N" or "N-M", checked against `count` ids (0..count-1) without expanding anything. */
function rangeOf(s: string, what: string, count: number, unit: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s.trim());
  const shown = s.length > 32 ? `${s.slice(0, 32)}...` : s;
  if (!m) throw new ToolstackError('EINVAL', `${what}: invalid CPU list element '${shown}' (allowed: N, N-M, ^N, all, nodes:N)`);
  const a = Number(m[1]), b = m[2] === undefined ? a : Number(m[2]);
  if (b < a) throw new ToolstackError('EINVAL', `${what}: invalid range '${shown}' (${m[2]} < ${m[1]})`);
  if (b >= count) {
    const bad = a >= count ? m[1]! : m[2]!;
    const id = bad.length > 12 ? `${bad.slice(0, 12)}...` : bad;
    throw new ToolstackError('EINVAL', `${what}: ${unit} ${id} does not exist (the host has ${count}: 0-${count - 1})`);
  }
  return [a, b];
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
