/**
 * NUMA placement of a new domain, as xl/libxl does it when the domain's config pins nothing
 * (libxl_dom.c numa_place_domain + libxl_numa.c libxl__get_numa_candidate):
 *
 * 1. Candidates are sets of nodes, tried by increasing size (1 node, then 2, ...). A candidate
 *    qualifies when its free memory >= the domain's memory and it has >= as many pCPUs as the
 *    domain has vCPUs. The first size with a qualifying candidate wins: fewer nodes is better.
 * 2. Among candidates of that size: fewer vCPUs already able to run on its pCPUs (less loaded),
 *    then more free memory (libxl's numa_cmpf); then — our addition, for determinism and locality
 *    — smaller largest inter-node distance, then the lowest node ids.
 * 3. The domain's memory is allocated from the chosen nodes and its vCPUs get the chosen nodes'
 *    pCPUs as *soft* affinity (libxl >= 4.5), so the scheduler prefers them without pinning.
 *
 * Returns null when no set of nodes fits (xl then warns and does not place).
 */

export interface NumaNode {
  readonly id: number;
  /** pCPUs of the node. */
  readonly cpus: readonly number[];
  /** Free memory, any unit (the request uses the same one). */
  readonly freeMemory: number;
}

export interface NumaTopology {
  readonly nodes: readonly NumaNode[];
  /** distances[i][j] between node ids i and j (SLIT style, 10 = local); optional. */
  readonly distances?: readonly (readonly number[])[];
}

export interface PlacementRequest {
  /** Memory the domain needs, same unit as `freeMemory`. */
  readonly memory: number;
  readonly vcpus: number;
}

export interface Placement {
  /** The chosen node ids, ascending. */
  readonly nodes: number[];
  /** Their pCPUs, ascending: use them as the vCPUs' soft affinity. */
  readonly cpus: number[];
  readonly freeMemory: number;
  /** vCPUs already able to run there (the load that decided). */
  readonly load: number;
}

/**
 * Picks the best nodes for a new domain. `vcpusOnNode[i]` is the number of existing vCPUs that
 * may run on node i's pCPUs (see `vcpusOnNodes`); omitted = no load.
 */
export function numaPlacement(topo: NumaTopology, req: PlacementRequest, vcpusOnNode: readonly number[] = []): Placement | null {
  const nodes = [...topo.nodes].sort((a, b) => a.id - b.id);
  const dist = (a: number, b: number) => topo.distances?.[a]?.[b] ?? (a === b ? 10 : 20);
  for (let size = 1; size <= nodes.length; size++) {
    let best: (Placement & { maxDist: number }) | null = null;
    for (const combo of combinations(nodes, size)) {
      const freeMemory = combo.reduce((s, n) => s + n.freeMemory, 0);
      const cpus = combo.flatMap((n) => n.cpus).sort((a, b) => a - b);
      if (freeMemory < req.memory || cpus.length < req.vcpus) continue;
      const load = combo.reduce((s, n) => s + (vcpusOnNode[n.id] ?? 0), 0);
      let maxDist = 0;
      for (const a of combo) for (const b of combo) maxDist = Math.max(maxDist, a === b ? 0 : dist(a.id, b.id));
      const cand = { nodes: combo.map((n) => n.id), cpus, freeMemory, load, maxDist };
      if (!best || better(cand, best)) best = cand;
    }
    if (best) return { nodes: best.nodes, cpus: best.cpus, freeMemory: best.freeMemory, load: best.load };
  }
  return null;
}

function better(a: Placement & { maxDist: number }, b: Placement & { maxDist: number }): boolean {
  if (a.load !== b.load) return a.load < b.load;
  if (a.freeMemory !== b.freeMemory) return a.freeMemory > b.freeMemory;
  if (a.maxDist !== b.maxDist) return a.maxDist < b.maxDist;
  return false; // combinations come in lexicographic order: keep the lower ids
}

function* combinations<T>(items: readonly T[], k: number, start = 0, acc: T[] = []): Generator<T[]> {
  if (acc.length === k) {
    yield [...acc];
    return;
  }
  for (let i = start; i <= items.length - (k - acc.length); i++) {
    acc.push(items[i]!);
    yield* combinations(items, k, i + 1, acc);
    acc.pop();
  }
}

/**
 * libxl's nr_vcpus_on_nodes: for each node, how many of the given vCPUs may run on at least one
 * of its pCPUs (soft affinity when set, else hard, else anywhere).
 */
export function vcpusOnNodes(topo: NumaTopology, vcpus: Iterable<{ hard: ReadonlySet<number> | null; soft: ReadonlySet<number> | null }>): number[] {
  const maxId = Math.max(-1, ...topo.nodes.map((n) => n.id));
  const out = new Array<number>(maxId + 1).fill(0);
  for (const v of vcpus) {
    const mask = v.soft ?? v.hard;
    for (const n of topo.nodes) if (mask === null || n.cpus.some((c) => mask.has(c))) out[n.id]!++;
  }
  return out;
}
