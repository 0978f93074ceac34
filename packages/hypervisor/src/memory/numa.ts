/**
 * The host's NUMA layout: which frames and pCPUs each node holds, and the SLIT-style distances
 * between nodes. Machine memory is split into one contiguous frame range per node, in node order.
 *
 * Host config (the `numa` key; see README): `numa: { nodes: [{ memoryMiB, pcpus: [0, 1] }, ...],
 * distances: [[10, 20], [20, 10]] }`. Without it there is one node holding all memory and pCPUs.
 */
import { ConfigError, type HostConfig } from '@tachyxx/core';

/**
 * The host config's `numa` as validated by @tachyxx/core (its NumaTopology: one type from the YAML to the frame
 * layout; the default distances are 10 on the diagonal, 20 elsewhere).
 */
export type NumaConfig = NonNullable<HostConfig['numa']>;
export type NumaNodeConfig = NumaConfig['nodes'][number];

export interface NumaNodeLayout {
  readonly id: number;
  /** First frame index (relative to the start of machine RAM) and the number of frames. */
  readonly firstFrame: number;
  readonly frames: number;
  readonly pcpus: readonly number[];
}

/** Maximum number of nodes (frame node numbers are stored in a Uint8Array). */
export const MAX_NUMA_NODES = 64;
export const NUMA_LOCAL_DISTANCE = 10;
export const NUMA_REMOTE_DISTANCE = 20;

export class NumaLayout {
  readonly nodes: readonly NumaNodeLayout[];
  readonly distances: readonly (readonly number[])[];
  /** fallback[n] = every node id ordered by distance from n (n first, ties by id). */
  readonly fallback: readonly (readonly number[])[];

  /**
   * Builds the layout for `totalFrames` 4 KiB frames and `pcpus` pCPUs. Throws ConfigError
   * when the node memory does not add up to the host memory, a pCPU is missing or repeated, or
   * the distance matrix is malformed.
   */
  constructor(totalFrames: number, pcpus: number, config?: NumaConfig) {
    const cfg: NumaConfig = config ?? { nodes: [{ memoryMiB: totalFrames / 256, pcpus: range(pcpus) }] };
    const n = cfg.nodes.length;
    if (n < 1 || n > MAX_NUMA_NODES) bad('numa.nodes', `must list 1..${MAX_NUMA_NODES} nodes, got ${n}`);
    const nodes: NumaNodeLayout[] = [];
    const seen = new Set<number>();
    let first = 0;
    cfg.nodes.forEach((node, id) => {
      const frames = node.memoryMiB * 256;
      if (!Number.isInteger(frames) || frames <= 0) bad(`numa.nodes.${id}.memoryMiB`, `must be a positive size in MiB (multiple of 4 KiB), got ${node.memoryMiB}`);
      for (const p of node.pcpus) {
        if (!Number.isInteger(p) || p < 0 || p >= pcpus) bad(`numa.nodes.${id}.pcpus`, `pCPU ${p} does not exist (the host has ${pcpus})`);
        if (seen.has(p)) bad(`numa.nodes.${id}.pcpus`, `pCPU ${p} is in two nodes`);
        seen.add(p);
      }
      nodes.push({ id, firstFrame: first, frames, pcpus: [...node.pcpus].sort((a, b) => a - b) });
      first += frames;
    });
    if (first !== totalFrames) bad('numa.nodes', `node memory adds up to ${first / 256} MiB but the host has ${totalFrames / 256} MiB`);
    if (seen.size !== pcpus) bad('numa.nodes', `every pCPU must be in a node (${pcpus - seen.size} missing)`);
    const d = cfg.distances;
    const distances: number[][] = [];
    if (d && (d.length !== n || d.some((r) => r.length !== n))) bad('numa.distances', `must be a ${n} x ${n} matrix`);
    for (let i = 0; i < n; i++) {
      const row: number[] = [];
      for (let j = 0; j < n; j++) {
        const v = d ? d[i]?.[j] : (i === j ? NUMA_LOCAL_DISTANCE : NUMA_REMOTE_DISTANCE);
        if (v === undefined || !Number.isInteger(v) || v < 1 || v > 255) bad(`numa.distances.${i}.${j}`, `must be an n x n matrix of integers 1..255 (${n} nodes)`);
        row.push(v);
      }
      distances.push(row);
    }
    this.nodes = nodes;
    this.distances = distances;
    this.fallback = nodes.map((_, a) => range(n).sort((x, y) => (x === a ? -1 : y === a ? 1 : 0) || distances[a]![x]! - distances[a]![y]! || x - y));
  }

  get nodeCount(): number { return this.nodes.length; }

  /** Node of frame index `frame` (relative to the start of RAM). */
  nodeOfFrame(frame: number): number {
    for (const n of this.nodes) if (frame < n.firstFrame + n.frames) return n.id;
    return -1;
  }

  /** Node of each pCPU (for the scheduler's `nodeOfPcpu`). */
  nodeOfPcpu(): number[] {
    const out: number[] = [];
    for (const n of this.nodes) for (const p of n.pcpus) out[p] = n.id;
    return out;
  }
}

function range(n: number): number[] { return Array.from({ length: n }, (_, i) => i); }
function bad(keyPath: string, reason: string): never {
  throw new ConfigError({ keyPath, reason });
}
