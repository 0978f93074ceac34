import { describe, expect, it } from 'vitest';
import { numaPlacement, vcpusOnNodes, type NumaTopology } from '../src/index.js';

const GiB = 1024;
// 4 nodes x 4 pCPUs; distances: 0-1 and 2-3 are close (16), across pairs far (32).
const topo = (free: number[]): NumaTopology => ({
  nodes: free.map((f, id) => ({ id, cpus: [0, 1, 2, 3].map((c) => id * 4 + c), freeMemory: f })),
  distances: [
    [10, 16, 32, 32],
    [16, 10, 32, 32],
    [32, 32, 10, 16],
    [32, 32, 16, 10],
  ],
});

describe('NUMA placement (xl/libxl)', () => {
  it('picks a single node with enough memory over spanning nodes', () => {
    const p = numaPlacement(topo([2 * GiB, 6 * GiB, 3 * GiB, 1 * GiB]), { memory: 4 * GiB, vcpus: 2 });
    expect(p).toEqual({ nodes: [1], cpus: [4, 5, 6, 7], freeMemory: 6 * GiB, load: 0 });
  });

  it('among fitting nodes prefers the less loaded, then the one with more free memory', () => {
    const t = topo([8 * GiB, 8 * GiB, 6 * GiB, 7 * GiB]);
    expect(numaPlacement(t, { memory: 4 * GiB, vcpus: 2 }, [3, 1, 1, 1])!.nodes).toEqual([1]); // load 1 on nodes 1-3: node 1 has the most free memory
    expect(numaPlacement(t, { memory: 4 * GiB, vcpus: 2 }, [3, 2, 1, 1])!.nodes).toEqual([3]);
    expect(numaPlacement(t, { memory: 4 * GiB, vcpus: 2 }, [0, 0, 0, 0])!.nodes).toEqual([0]); // tie on load and memory: lowest id
  });

  it('spans the fewest nodes when no single node fits, preferring close pairs', () => {
    const p = numaPlacement(topo([3 * GiB, 1 * GiB, 3 * GiB, 2 * GiB]), { memory: 5 * GiB, vcpus: 4 });
    // {0,2} = 6 GiB (far), {2,3} = 5 GiB (close), {0,3} = 5 GiB: most free memory wins first.
    expect(p!.nodes).toEqual([0, 2]);
    const q = numaPlacement(topo([3 * GiB, 2 * GiB, 3 * GiB, 2 * GiB]), { memory: 5 * GiB, vcpus: 4 });
    // {0,1} {0,3} {1,2} {2,3} = 5; {0,2} = 6 wins on memory; make it lose on load instead:
    expect(q!.nodes).toEqual([0, 2]);
    const r = numaPlacement(topo([3 * GiB, 2 * GiB, 3 * GiB, 2 * GiB]), { memory: 5 * GiB, vcpus: 4 }, [0, 0, 1, 0]);
    expect(r!.nodes).toEqual([0, 1]); // load 0, 5 GiB, distance 16 beats {0,3} at distance 32
  });

  it('needs as many pCPUs as vCPUs, and returns null when nothing fits', () => {
    expect(numaPlacement(topo([8 * GiB, 8 * GiB, 8 * GiB, 8 * GiB]), { memory: 1 * GiB, vcpus: 6 })!.nodes).toEqual([0, 1]);
    expect(numaPlacement(topo([1, 1, 1, 1]), { memory: 5, vcpus: 1 })).toBe(null);
  });

  it('counts the vCPUs able to run on each node', () => {
    const t = topo([1, 1, 1, 1]);
    const load = vcpusOnNodes(t, [
      { hard: null, soft: new Set([4, 5]) },
      { hard: new Set([0, 15]), soft: null },
      { hard: null, soft: null },
    ]);
    expect(load).toEqual([2, 2, 1, 2]);
  });
});
