/**
 * xl's CPU-list syntax (xl.cfg `cpus=`, `xl vcpu-pin`): "all", "3", "0-3", "0-3,^2", "nodes:0",
 * "node:1-2", "^nodes:1", combined with commas; or a JSON list of ids. Parsed against the host's
 * pCPUs and NUMA nodes.
 */
import { ToolstackError } from './protocol.js';

export interface CpuTopology {
  pcpus: number;
  /** pCPUs of each node. */
  nodes: readonly (readonly number[])[];
}

/** Parses `spec` into a sorted list of pCPU ids, or null for "all" / "-" handled by callers. */
export function parseCpuList(spec: string | readonly number[] | number, topo: CpuTopology, what = 'cpus'): number[] {
  if (typeof spec === 'number') spec = [spec];
  if (Array.isArray(spec)) {
    for (const c of spec) checkCpu(c, topo, what);
    return [...new Set(spec as number[])].sort((a, b) => a - b);
  }
  const text = String(spec).trim();
  if (text === '') throw new ToolstackError('EINVAL', `${what}: empty CPU list`);
  const set = new Set<number>();
  const parts = text.split(',').map((s) => s.trim());
  // A list that starts with exclusions starts from "all", as xl does.
  if (parts[0]!.startsWith('^')) for (let c = 0; c < topo.pcpus; c++) set.add(c);
  for (const part of parts) {
    const neg = part.startsWith('^');
    const body = neg ? part.slice(1) : part;
    let cpus: number[];
    if (body === 'all') cpus = range(0, topo.pcpus - 1);
    else if (/^nodes?:/.test(body)) {
      cpus = [];
      for (const n of rangeOf(body.replace(/^nodes?:/, ''), what)) {
        const node = topo.nodes[n];
        if (!node) throw new ToolstackError('EINVAL', `${what}: no NUMA node ${n} (the host has ${topo.nodes.length})`);
        cpus.push(...node);
      }
    } else cpus = rangeOf(body, what);
    for (const c of cpus) {
      checkCpu(c, topo, what);
      if (neg) set.delete(c);
      else set.add(c);
    }
  }
  if (set.size === 0) throw new ToolstackError('EINVAL', `${what}: '${text}' leaves no CPU`);
  return [...set].sort((a, b) => a - b);
}

function rangeOf(s: string, what: string): number[] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s.trim());
  if (!m) throw new ToolstackError('EINVAL', `${what}: invalid CPU list element '${s}' (allowed: N, N-M, ^N, all, nodes:N)`);
  const a = Number(m[1]), b = m[2] === undefined ? a : Number(m[2]);
  if (b < a) throw new ToolstackError('EINVAL', `${what}: invalid range '${s}'`);
  return range(a, b);
}

function range(a: number, b: number): number[] {
  const out: number[] = [];
  for (let i = a; i <= b; i++) out.push(i);
  return out;
}

function checkCpu(c: unknown, topo: CpuTopology, what: string): void {
  if (!Number.isInteger(c) || (c as number) < 0 || (c as number) >= topo.pcpus) {
    throw new ToolstackError('EINVAL', `${what}: pCPU ${String(c)} does not exist (the host has ${topo.pcpus}: 0-${topo.pcpus - 1})`);
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
