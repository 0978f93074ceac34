// Regions across pages (isa maxRegionPages) under guests that attack the code cache: `selfmod`
// rewrites code it has run (with and without fence.i, inside the running block, a hot loop patched
// between calls) and `tlbstress` switches between two Sv48 address spaces mapping the same virtual
// pages onto different frames without sfence.vma, next to a victim (`hello`) on 2 pCPUs. Every run
// with regions spanning pages is the run with one-page regions: each domain's output (the attackers'
// checksums as their expected.txt says), instret and cycles per pCPU, and the whole stats tree but
// the engine's own counters; the victim prints what it prints alone.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, assembledTestHost, image, testIsa } from '../test/io-helpers.js';

/** The engine's own counters (how regions were formed and chained), not the model's. */
const ENGINE_ONLY = new Set(['blocksCompiled', 'wasmRegions', 'wasmTierUps', 'wasmKeptJs', 'regionReforms', 'chainHits', 'hubLookups', 'hubHandovers', 'exitsLookup', 'exitsCycleLimit']);
const modelStats = (v: unknown): unknown => v !== null && typeof v === 'object' && !Array.isArray(v)
  ? Object.fromEntries(Object.entries(v).filter(([k]) => !ENGINE_ONLY.has(k)).map(([k, x]) => [k, modelStats(x)])) : v;

function run(engine: 'js' | 'wasm', maxRegionPages: number, names: string[]) {
  const h = assembledTestHost({ pcpus: 2, components: { isa: { ...testIsa(engine, engine === 'wasm' ? 500 : undefined), maxRegionPages } } });
  for (const name of names) h.host.createDomain({ name, image: image(name), memoryMiB: 64 });
  const why = h.host.run({ untilNs: 20e9 });
  const st = h.host.stats.dump() as { host: Record<string, unknown> };
  return {
    why, out: Object.fromEntries(names.map((n) => [n, h.out.get(n) ?? ''])),
    cpus: h.host.pcpus.map((p) => ({ instret: p.cpu.instret, cycles: p.cpu.cycles })),
    stats: modelStats(st.host), log: h.log,
  };
}

describe('regions across pages under code-rewriting and address-space-switching guests', () => {
  it('selfmod + tlbstress next to hello: the same run as with one-page regions, on both engines; the victim prints what it prints alone', () => {
    const names = ['selfmod', 'tlbstress', 'hello'];
    const ref = run('js', 1, names);
    expect(ref.why).toBe('all-shutdown');
    for (const n of ['selfmod', 'tlbstress']) {
      const want = readFileSync(join(ROOT, 'guests', n, 'expected.txt'), 'utf8');
      for (const line of want.split('\n').filter((l) => l.trim() !== '')) expect(ref.out[n], `${n}: ${line}`).toContain(line.trim());
    }
    expect(ref.out.hello).toBe(run('js', 1, ['hello']).out.hello);
    for (const [engine, pages] of [['js', 8], ['wasm', 1], ['wasm', 8]] as const) {
      const r = run(engine, pages, names);
      expect(r.out, `${engine} maxRegionPages ${pages}`).toEqual(ref.out);
      expect(r.cpus, `${engine} maxRegionPages ${pages}`).toEqual(ref.cpus);
      expect(r.stats, `${engine} maxRegionPages ${pages}`).toEqual(ref.stats);
      expect(r.log).toEqual(ref.log);
    }
  }, 120_000);
});
