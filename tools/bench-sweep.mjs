#!/usr/bin/env node
// `pnpm bench:sweep`: sweep throughput (issue 17, section 3), measured with the real CLI on
// examples/sweeps/bench-50.yaml (50 short runs), each into a fresh output directory (no cache):
//  - runs per minute with the local pool, --jobs 1 vs --jobs 2;
//  - the queue's overhead: the same sweep through a real redis-server (Unix socket) and two
//    `tachyxx worker --jobs 1` processes (warm, and with their start-up timed), vs the local pool
//    with --jobs 2 (same parallelism). Repetitions are interleaved; medians are reported.
// Times are the `tachyxx sweep` process's wall time (start to exit, report included); workers are
// started and connected before the clock starts. Writes the "Sweeps" section of docs/benchmarks.md.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { hasCommand, machineLine, writeBenchSection } from './lib/bench-report.mjs';

const root = new URL('..', import.meta.url).pathname;
const CLI = join(root, 'apps/runner/dist/cli.js');
const SWEEP = join(root, 'examples/sweeps/bench-50.yaml');
const tmp = mkdtempSync(join(tmpdir(), 'tachyxx-bench-sweep-'));
const reps = Number(process.env.REPS ?? 3);
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

const load0 = loadavg()[0];
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const times = { j1: [], j2: [], qWarm: [], qCold: [] };
let ref = null;
const same = (csv, what) => {
  ref ??= csv;
  if (csv !== ref) throw new Error(`${what}: results differ from the first sweep's`);
};

// The queue: a real redis-server on a Unix socket, two `tachyxx worker --jobs 1` processes.
const queue = hasCommand('redis-server');
let sock, url;
const workers = [];
if (queue) {
  sock = join(tmp, 'redis.sock');
  const redis = spawn('redis-server', ['--port', '0', '--unixsocket', sock, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  children.push(redis);
  for (let i = 0; i < 400 && !existsSync(sock); i++) await sleep(25);
  url = `redis+unix://${sock}`;
}
async function startWorkers() {
  const ws = [0, 1].map(() => {
    const w = spawn(process.execPath, [CLI, 'worker', '--queue', url, '--jobs', '1', '--quiet'], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(w);
    let err = '';
    w.stderr.on('data', (d) => (err += d));
    return { w, err: () => err };
  });
  for (let i = 0; i < 400 && !ws.every((x) => x.err().includes('taking runs')); i++) await sleep(25);
  return ws;
}
async function stopWorkers(ws) {
  await Promise.all(ws.map(({ w }) => new Promise((r) => { w.on('exit', r); w.kill('SIGTERM'); })));
}
// A queue keeps finished jobs that no sweep collected yet: start every repetition empty.
const flush = () => spawnSync('redis-cli', ['-s', sock, 'flushall']);

// Interleaved repetitions (j1, j2, queue warm, queue cold, j1, ...): the load on a shared machine
// drifts, and each row sees the same drift.
for (let r = 0; r < reps; r++) {
  let x = sweep(['--jobs', '1']);
  times.j1.push(x.s);
  same(x.csv, '--jobs 1');
  x = sweep(['--jobs', '2']);
  times.j2.push(x.s);
  same(x.csv, '--jobs 2');
  if (!queue) continue;
  // warm: workers connected (threads and modules loaded) before the clock starts
  flush();
  const ws = await startWorkers();
  x = sweep(['--queue', url]);
  times.qWarm.push(x.s);
  same(x.csv, 'queue');
  await stopWorkers(ws);
  // cold: the clock includes starting the two worker processes, as the local pool's includes its threads
  flush();
  const t0 = performance.now();
  const ws2 = await startWorkers();
  x = sweep(['--queue', url]);
  times.qCold.push((performance.now() - t0) / 1000);
  same(x.csv, 'queue (cold)');
  await stopWorkers(ws2);
}
const j1 = { s: median(times.j1) };
const j2 = { s: median(times.j2) };
const q = queue ? { s: median(times.qWarm) } : null;
const qc = queue ? { s: median(times.qCold) } : null;

const rpm = (s) => (50 / s) * 60;
const pct = (a, b) => `${a >= b ? '+' : ''}${(((a - b) / b) * 100).toFixed(0)}% (${a >= b ? '+' : ''}${(((a - b) / 50) * 1000).toFixed(0)} ms per run)`;
const rows = [
  ['local pool, --jobs 1', j1.s, rpm(j1.s)],
  ['local pool, --jobs 2', j2.s, rpm(j2.s)],
  ...(q ? [['queue (redis-server, Unix socket), 2 workers x --jobs 1, started before the clock', q.s, rpm(q.s)]] : []),
  ...(qc ? [['queue, the same, the clock includes starting the 2 worker processes', qc.s, rpm(qc.s)]] : []),
];
const body = `
\`pnpm bench:sweep\` (tools/bench-sweep.mjs): \`tachyxx sweep examples/sweeps/bench-50.yaml\`, 50 short runs
(bench-chase-small as a domain: 2 MMU variants x 5 TLB sizes x 5 seeds, 15 M instructions, tens of milliseconds each),
each sweep into a fresh output directory (no cache hits). Time = the sweep process's wall time,
start to exit, report and 20 SVG plots included; median of ${reps} interleaved repetitions. All give byte-identical results.csv.

Machine: ${machineLine()}; load average ${load0.toFixed(1)} when it started (the machine is shared).

| backend | wall s | runs / minute |
|---|---:|---:|
${rows.map(([b, s, r]) => `| ${b} | ${s.toFixed(1)} | ${r.toFixed(0)} |`).join('\n')}

--jobs 2 vs --jobs 1: ${(j1.s / j2.s).toFixed(2)}x.${q ? ` Queue vs the local pool at the same parallelism (2): ${pct(q.s, j2.s)} with warm workers, ${pct(qc.s, j2.s)} counting the workers' start-up (the local pool's thread start-up, about a second per thread to load the simulator, is always inside its time). Per run the queue adds a job round trip through Redis and ships the stats JSON back; image bytes go to Redis once per image.` : ' (redis-server not installed: no queue numbers.)'}
`;
const busy = load0 > cpus().length
  ? `\nThe machine was busy (load average ${load0.toFixed(1)} on ${cpus().length} CPUs: other work was running), so a second job or worker had little idle CPU to run on: the --jobs 2 and queue rows measure contention more than parallel speed-up (a second worker thread or process also pays its start-up, about a CPU-second to load the simulator). Re-run \`pnpm bench:sweep\` on an idle machine for the speed-up.\n`
  : '';
writeBenchSection(join(root, 'docs/benchmarks.md'), 'Sweeps', body + busy);
console.log(body + busy);
// redis-server (and any worker) would keep the event loop alive: end them (the exit hook does).
process.exit(0);
