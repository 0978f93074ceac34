import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalPool, parseSweep, runSweep, SweepInterrupted, type SweepSpec } from '@tachyxx/sweep';

// Runs go through the compiled worker module (packages/sweep/dist): `pnpm build` first, as CI does.
const guests = resolve(import.meta.dirname, '../../../guests/build');
const root = mkdtempSync(join(tmpdir(), 'tachyxx-sweep-'));
const file = join(root, 'sweep.yaml');

const sweepText = (entries: string) => `name: local
host: { memoryMiB: 200 }
axes:
  mmu.variant: [tagged, untagged]
  mmu.entries: [${entries}]
workloads:
  - name: hello
    domains: [{ image: ${guests}/hello.elf, memoryMiB: 64 }]
  - name: two
    domains: [${guests}/hello.elf, ${guests}/hello.elf]
  - name: crash
    domains: [{ image: ${guests}/crash.elf }]
  - name: bare
    bare: { image: ${guests}/hello.elf, memoryMiB: 64 }
limits: { timeoutSeconds: 20 }
metrics:
  instructions: instructions
  cpi: simCycles / instructions
  walkRefs: tree.host.*.mmu.walkRefs
  nothing: no.such.stat
  mips: mips
`;
const spec = (entries = '32, 64'): SweepSpec => parseSweep(sweepText(entries), file);
const read = (dir: string, f: string) => readFileSync(join(dir, f), 'utf8');

let pool: LocalPool;
beforeAll(() => {
  pool = new LocalPool(2);
});
afterAll(async () => {
  await pool.close();
  rmSync(root, { recursive: true, force: true });
});

describe('a local sweep', () => {
  const out = join(root, 'a');
  it('runs every combination, reports failures with their reason, and writes CSV, JSON, markdown and SVG plots', async () => {
    const r = await runSweep(spec(), { out, backend: pool, progress: null });
    expect(r.report.rows).toHaveLength(16);
    expect(r.ran).toBe(16);
    const csv = read(out, 'results.csv').trim().split('\n');
    expect(csv[0]).toBe('run,workload,mmu.variant,mmu.entries,seed,status,reason,instructions,cpi,walkRefs,nothing');
    expect(csv).toHaveLength(17);
    const crash = r.report.rows.filter((x) => x.workload === 'crash');
    expect(crash.every((x) => x.status === 'failed' && x.reason === "domain 'crash' shut down: crash")).toBe(true);
    const ok = r.report.rows.filter((x) => x.workload !== 'crash');
    expect(ok.every((x) => x.status === 'ok' && x.reason === '' && (x.metrics.instructions as number) > 0)).toBe(true);
    // two domains run more instructions than one; bare has no MMU stats tree
    const hello = ok.find((x) => x.workload === 'hello')!;
    const two = ok.find((x) => x.workload === 'two' && x.axes['mmu.variant'] === hello.axes['mmu.variant'] && x.axes['mmu.entries'] === hello.axes['mmu.entries'])!;
    expect(two.metrics.instructions).toBeGreaterThan(hello.metrics.instructions as number);
    expect(ok.find((x) => x.workload === 'bare')!.metrics.walkRefs).toBeNull();
    expect(r.report.missing).toEqual([{ metric: 'nothing', paths: ['no.such.stat'] }]);
    const md = read(out, 'report.md');
    expect(md).toContain('16 runs: 12 ok, 4 failed.');
    expect(md).toContain("- `crash/mmu.variant=tagged/mmu.entries=32/seed=1`: domain 'crash' shut down: crash");
    expect(md).toMatch(/\| workload \| mmu\.variant \| mmu\.entries \| status \| instructions \| cpi \| walkRefs \| nothing \|/);
    // wall-clock metrics stay out of the deterministic files
    expect(read(out, 'results.json')).not.toContain('mips');
    expect(read(out, 'timing.csv').split('\n')[0]).toBe('run,cached,runSeconds,mips');
    const plots = readdirSync(join(out, 'plots')).sort();
    expect(plots).toEqual(['cpi-by-mmu.entries.svg', 'cpi-by-mmu.variant.svg', 'instructions-by-mmu.entries.svg', 'instructions-by-mmu.variant.svg', 'nothing-by-mmu.entries.svg', 'nothing-by-mmu.variant.svg', 'walkRefs-by-mmu.entries.svg', 'walkRefs-by-mmu.variant.svg']);
    const svg = read(out, 'plots/walkRefs-by-mmu.variant.svg');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('local: walkRefs by mmu.variant');
    expect(svg).toContain('hello, mmu.entries=32');
  }, 120_000);

  it('gives byte-identical results in a fresh directory with another pool size, and from the cache', async () => {
    const fresh = join(root, 'b');
    const one = new LocalPool(1);
    try {
      const r = await runSweep(spec(), { out: fresh, backend: one, progress: null });
      expect(r.ran).toBe(16);
    } finally {
      await one.close();
    }
    for (const f of ['results.csv', 'results.json', 'report.md', 'plots/cpi-by-mmu.entries.svg']) expect(read(fresh, f), f).toBe(read(out, f));
    const again = await runSweep(spec(), { out, backend: pool, progress: null });
    expect(again.ran).toBe(0);
    expect(again.cached).toBe(16);
    expect(read(out, 'results.csv')).toBe(read(fresh, 'results.csv'));
    expect(read(out, 'timing.csv')).toMatch(/,yes,/);
  }, 120_000);

  it('runs only what changed', async () => {
    const r = await runSweep(spec('32, 64, 128'), { out, backend: pool, progress: null });
    expect(r.report.rows).toHaveLength(24);
    expect(r.cached).toBe(16);
    expect(r.ran).toBe(8);
  }, 120_000);

  it('resumes an interrupted sweep where it stopped', async () => {
    const dir = join(root, 'c');
    const ac = new AbortController();
    let finished = 0;
    const sink = { write: (s: string) => { if (/^\[\d+\/\d+\]/.test(s) && ++finished === 3) ac.abort(); } };
    await expect(runSweep(spec(), { out: dir, backend: pool, progress: sink, signal: ac.signal })).rejects.toBeInstanceOf(SweepInterrupted);
    expect(existsSync(join(dir, 'results.csv'))).toBe(false);
    const r = await runSweep(spec(), { out: dir, backend: pool, progress: null });
    // the runs finished before the interrupt (3, plus the one in flight on the other thread) are kept
    expect(r.cached).toBeGreaterThanOrEqual(3);
    expect(r.cached + r.ran).toBe(16);
    expect(read(dir, 'results.csv')).toBe(read(join(root, 'b'), 'results.csv'));
  }, 120_000);

  it('reports a run that passes its wall-clock limit as a timeout, does not cache it, and goes on; a deadlock is a cached failure with its reason', async () => {
    const dir = join(root, 'd');
    const s = parseSweep(
      `name: timeout
workloads:
  - name: spin
    domains: [${guests}/spin.elf]
  - name: deadlock
    domains: [${guests}/deadlock.elf]
  - name: hello
    domains: [${guests}/hello.elf]
limits: { timeoutSeconds: 2, maxInsns: 1000000000000 }
metrics: { instructions: instructions }
`,
      join(root, 't.yaml'),
    );
    const r = await runSweep(s, { out: dir, backend: pool, progress: null });
    expect(r.report.rows.map((x) => [x.workload, x.status, x.reason])).toEqual([
      ['spin', 'failed', 'timeout: still running after 2 s of wall time'],
      ['deadlock', 'failed', "domain 'deadlock' still running (idle); deadlock: every vCPU is blocked and nothing can wake them"],
      ['hello', 'ok', ''],
    ]);
    const again = await runSweep(s, { out: dir, backend: pool, progress: null });
    expect(again.cached).toBe(2);
    expect(again.ran).toBe(1);
  }, 120_000);
});
