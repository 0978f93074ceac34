/**
 * xl's CPU list syntax (xl_parse.c parse_cpurange): comma-separated items, each
 *   [^][node:|nodes:](all | N | N-M)
 * applied left to right: a plain item adds CPUs, '^' removes them; `nodes:` items stand for every
 * CPU of those NUMA nodes. "^all" is refused. Examples: "0-3,^2" = {0,1,3}; "nodes:0" = node 0's
 * CPUs; "all" = every pCPU of the host.
 */
import type { CpuTopology } from '@tachyxx/toolstack';

/** The host's pCPUs (ids 0..pcpus-1) and each NUMA node's pCPU ids: the toolstack's CpuTopology (a type-only import: nothing loads). */
export type HostTopology = CpuTopology;

export interface CpuListResult {
  cpus: number[];
  /** CPUs or nodes named that the host does not have (xl ignores them silently; we tell). */
  missing: string[];
}

/** Returns the CPU set, or a string saying what is wrong with `text`. */
export function parseCpuList(text: string, host: HostTopology): CpuListResult | string {
  const set = new Set<number>();
  const missing: string[] = [];
  const items = text.split(',').filter((x) => x !== ''); // strtok skips empty tokens
  if (items.length === 0) return `'${text}' names no CPUs`;
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
    if (!m) return `invalid pCPU range '${raw}' (use N, N-M, ^N, nodes:N or all)`;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) return `invalid pCPU range '${raw}': ${b} < ${a}`;
    // Only ids the host has are expanded: "0-4000000000" costs as much as "0-<pcpus>" (the
    // rest is reported as missing in one piece, as a range).
    const count = nodes ? host.nodes.length : host.pcpus;
    for (let i = a; i <= Math.min(b, count - 1); i++) {
      const cpus = nodes ? host.nodes[i]! : [i];
      for (const c of cpus) (not ? set.delete(c) : set.add(c));
    }
    if (b >= count) {
      const from = Math.max(a, count);
      const what = nodes ? 'node' : 'pCPU';
      missing.push(from === b ? `${what} ${b}` : `${what}s ${from}-${m[2]}`);
    }
  }
  return { cpus: [...set].sort((x, y) => x - y), missing };
}
