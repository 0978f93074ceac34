// `tachyxx run --domain ... --trace-events FILE`: Chrome trace-event JSON from the bus, the same
// bytes for the same config and images (only simulated time goes in).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './io-helpers.js';

const CLI = join(ROOT, 'apps/runner/dist/cli.js');
const dir = mkdtempSync(join(tmpdir(), 'tachyxx-trace-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function traced(name: string, extra: string[] = []): { text: string; status: number | null; stderr: string } {
  const file = join(dir, `${name}.json`);
  const r = spawnSync(process.execPath, [CLI, 'run', '--domain', 'guests/build/vchan-server.elf', '--domain', 'guests/build/vchan-client.elf',
    '--host', 'examples/host-2cpu.yaml', '--trace-events', file, ...extra], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
  return { text: readFileSync(file, 'utf8'), status: r.status, stderr: r.stderr };
}

type Ev = { ph: string; pid: number; tid: number; ts?: number; dur?: number; name: string; cat?: string; args?: Record<string, unknown> };

describe('--trace-events', () => {
  it('writes a Chrome trace: a track per pCPU with the vCPUs on it, instants, TLB-miss counters; byte-identical per config', () => {
    const a = traced('a');
    expect(a.status, a.stderr).toBe(0);
    const b = traced('b');
    expect(b.text).toBe(a.text);
    const { traceEvents, displayTimeUnit } = JSON.parse(a.text) as { traceEvents: Ev[]; displayTimeUnit: string };
    expect(displayTimeUnit).toBe('ns');
    const names = traceEvents.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => e.args!.name);
    expect(names).toEqual(expect.arrayContaining(['pCPU 0', 'pCPU 1', 'd1 vchan-server', 'd2 vchan-client']));
    const slices = traceEvents.filter((e) => e.ph === 'X');
    expect(new Set(slices.map((e) => e.name))).toEqual(new Set(['d1v0', 'd2v0']));
    // A pCPU runs one vCPU at a time: its slices do not overlap.
    for (const p of [0, 1]) {
      const mine = slices.filter((e) => e.tid === p).sort((x, y) => x.ts! - y.ts!);
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.ts!).toBeGreaterThanOrEqual(mine[i - 1]!.ts! + mine[i - 1]!.dur! - 1e-6);
    }
    const cats = new Set(traceEvents.filter((e) => e.ph === 'i').map((e) => e.cat));
    for (const c of ['trap', 'hypercall', 'domain', 'evtchn.send']) expect(cats.has(c), c).toBe(true);
    expect(traceEvents.filter((e) => e.cat === 'hypercall').every((e) => e.args!.weight === 16)).toBe(true);
    expect(traceEvents.some((e) => e.ph === 'C' && /^pCPU\d TLB misses$/.test(e.name))).toBe(true);
  });

  it('is refused for a bare run', () => {
    const r = spawnSync(process.execPath, [CLI, 'run', '--bare', 'guests/build/hello.elf', '--trace-events', join(dir, 'x.json')], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--trace-events applies to --domain only/);
  });
});
