#!/usr/bin/env node
// `pnpm bench:sweep`: sweep throughput (issue 17, section 3), measured with the real CLI on
// examples/sweeps/bench-50.yaml (50 short runs), each into a fresh output directory (no cache):
//  - runs per minute with the local pool, --jobs 1 vs --jobs 2;
//  - the queue's overhead: the same sweep through a real redis-server (Unix socket) and two
//    `tachyxx worker --jobs 1` processes, vs the local pool with --jobs 2 (same parallelism).
// Times are the `tachyxx sweep` process's wall time (start to exit, report included); workers are
// started and connected before the clock starts. Writes the "Sweeps" section of docs/benchmarks.md.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { hasCommand, machineLine, writeBenchSection } from './lib/bench-report.mjs';

const root = new URL('..', import.meta.url).pathname;
const CLI = join(root, 'apps/runner/dist/cli.js');
const SWEEP = join(root, 'examples/sweeps/bench-50.yaml');
const tmp = mkdtempSync(join(tmpdir(), 'tachyxx-bench-sweep-'));
const reps = Number(process.env.REPS ?? 1);
const children = [];
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let n = 0;

function sweep(args) {
  const out = join(tmp, `out-${n++}`);
  const t0 = performance.now();
  const p = spawnSync(process.execPath, [CLI, 'sweep', SWEEP, '--out', out, '--quiet', ...args], { cwd: root, encoding: 'utf8' });
  const s = (performance.now() - t0) / 1000;
  if (p.status !== 0) throw new Error(`sweep ${args.join(' ')} failed (${p.status}): ${p.stderr}${p.stdout}`);
  if (!/50 runs \(50 simulated, 0 cached, 0 failed\)/.test(p.stdout)) throw new Error(`unexpected: ${p.stdout}`);
  return { s, csv: readFileSync(join(out, 'results.csv'), 'utf8') };
}
const best = (f) => {
  const rs = Array.from({ length: reps }, f);
  return rs.reduce((a, b) => (b.s < a.s ? b : a));
};

const load0 = loadavg()[0];
const j1 = best(() => sweep(['--jobs', '1']));
const j2 = best(() => sweep(['--jobs', '2']));
if (j1.csv !== j2.csv) throw new Error('--jobs 1 and --jobs 2 results differ');

let q = null;
if (hasCommand('redis-server')) {
  const sock = join(tmp, 'redis.sock');
  const redis = spawn('redis-server', ['--port', '0', '--unixsocket', sock, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  children.push(redis);
  for (let i = 0; i < 400 && !existsSync(sock); i++) await sleep(25);
  const url = `redis+unix://${sock}`;
  const workers = [0, 1].map(() => {
    const w = spawn(process.execPath, [CLI, 'worker', '--queue', url, '--jobs', '1', '--quiet'], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(w);
    let err = '';
    w.stderr.on('data', (d) => (err += d));
    return () => err;
  });
  for (let i = 0; i < 400 && !workers.every((e) => e().includes('taking runs')); i++) await sleep(25);
  // Each repetition needs fresh job ids: a queue keeps finished jobs (a restarted sweep collects
  // them), so flush between repetitions.
  q = best(() => {
    spawnSync('redis-cli', ['-s', sock, 'flushall']);
    return sweep(['--queue', url]);
  });
  if (q.csv !== j2.csv) throw new Error('queue and local results differ');
}

const rpm = (s) => (50 / s) * 60;
const rows = [
  ['local pool, --jobs 1', j1.s, rpm(j1.s)],
  ['local pool, --jobs 2', j2.s, rpm(j2.s)],
  ...(q ? [['queue (redis-server on a Unix socket), 2 workers x --jobs 1', q.s, rpm(q.s)]] : []),
];
const body = `
\`pnpm bench:sweep\` (tools/bench-sweep.mjs): \`tachyxx sweep examples/sweeps/bench-50.yaml\`, 50 short runs
(bench-chase-small as a domain: 2 MMU variants x 5 TLB sizes x 5 seeds, about 0.1 s of simulation each),
each sweep into a fresh output directory (no cache hits). Time = the sweep process's wall time,
start to exit, report and 20 SVG plots included${reps > 1 ? `; best of ${reps}` : ''}. The three give byte-identical results.csv.

Machine: ${machineLine()}; load average ${load0.toFixed(1)} when it started (the machine is shared).

| backend | wall s | runs / minute |
|---|---:|---:|
${rows.map(([b, s, r]) => `| ${b} | ${s.toFixed(1)} | ${r.toFixed(0)} |`).join('\n')}

--jobs 2 vs --jobs 1: ${(j1.s / j2.s).toFixed(2)}x.${q ? ` Queue overhead vs the local pool at the same parallelism: ${(((q.s - j2.s) / j2.s) * 100).toFixed(0)}% (${((q.s - j2.s) / 50 * 1000).toFixed(0)} ms per run: job round trips through Redis, image bytes shipped in each job, results (stats JSON) shipped back).` : ' (redis-server not installed: no queue numbers.)'}
`;
writeBenchSection(join(root, 'docs/benchmarks.md'), 'Sweeps', body);
console.log(body);
