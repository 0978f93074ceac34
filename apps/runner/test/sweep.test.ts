// `tachyxx sweep` and `tachyxx worker` through the real CLI: local pool, and a BullMQ queue on a
// real redis-server (started here on a Unix socket in a temp dir) with two workers, one killed
// with SIGKILL in the middle of a run.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, GUEST, ROOT, tachyxx, tmp } from './helpers.js';

const dir = tmp();
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const read = (d: string, f: string) => readFileSync(join(d, f), 'utf8');

// tlbstress runs take a second or more each: long enough to kill a worker in the middle of one.
const SWEEP = join(dir, 'tlb.yaml');
writeFileSync(
  SWEEP,
  `name: tlb
host: { memoryMiB: 320 }
axes:
  mmu.variant: [tagged, untagged]
  mmu.entries: [32, 64]
workloads:
  - name: tlbstress
    domains: [{ image: ${GUEST('tlbstress')}, memoryMiB: 256 }]
  - name: crash
    domains: [${GUEST('crash')}]
metrics:
  cycles: simCycles
  refsPerMiss: tree.host.*.mmu.walkRefs / tree.host.*.mmu.tlbMisses
  wall: wallSeconds
`,
);

describe('tachyxx sweep (local)', () => {
  it('--help documents the command', () => {
    const r = tachyxx('sweep', '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: tachyxx sweep SWEEP\.yaml \[--jobs N\] \[--out DIR\] \[--queue URL\]/);
    expect(tachyxx('help', 'worker').stdout).toMatch(/^Usage: tachyxx worker --queue URL/);
    expect(tachyxx('--help').stdout).toMatch(/sweep +compare hardware variants/);
  });

  it('a bad sweep file is one line naming file:line and the allowed values, exit 2', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, readFileSync(SWEEP, 'utf8').replace('mmu.entries: [32, 64]', 'mmu.tlbEntries: [32, 64]'));
    const r = tachyxx('sweep', bad, '--out', join(dir, 'bad'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^tachyxx: ${bad.replace(/[.]/g, '\\.')}:5:3: axes\\.mmu\\.tlbEntries: unknown axis 'mmu\\.tlbEntries' of component 'mmu' \\(allowed: mmu\\.variant, .*mmu\\.entries.*\\)\\n$`));
    expect(tachyxx('sweep', '--jobs', '0', SWEEP).status).toBe(2);
    expect(tachyxx('worker').stderr).toMatch(/missing --queue URL/);
    expect(tachyxx('worker', '--queue', 'http://x').stderr).toMatch(/unsupported scheme 'http:'/);
  });

  it('runs the sweep, exits 1 because some runs failed, and prints plain progress lines off a TTY', () => {
    const out = join(dir, 'local');
    const r = tachyxx('sweep', SWEEP, '--jobs', '2', '--out', out);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^sweep tlb: 8 runs \(8 simulated, 0 cached, 4 failed\) in [\d.]+ s; report: .*report\.md\n$/);
    expect(r.stderr).toMatch(/\[\d\/8\] ok +tlbstress\/mmu\.variant=tagged\/mmu\.entries=32\/seed=1/);
    expect(r.stderr).toMatch(/\[\d\/8\] FAILED crash\/mmu\.variant=untagged\/mmu\.entries=64\/seed=1: domain 'crash' shut down: crash/);
    expect(r.stderr).toMatch(/sweep: 8\/8 done, 0 running, 4 failed, 0 cached\n$/);
    expect(read(out, 'results.csv').split('\n')[0]).toBe('run,workload,mmu.variant,mmu.entries,seed,status,reason,cycles,refsPerMiss');
    const again = tachyxx('sweep', SWEEP, '--jobs', '1', '--out', out);
    expect(again.stdout).toMatch(/8 runs \(0 simulated, 8 cached, 4 failed\)/);
    expect(again.stderr).toMatch(/^sweep: 8 of 8 runs from the cache/);
  }, 240_000);
});

const hasRedis = spawnSync('redis-server', ['--version']).status === 0;
if (!hasRedis) console.warn('SKIPPED: tachyxx sweep --queue tests: redis-server is not installed (apt-get install redis-server; .ci/run installs it)');

describe.skipIf(!hasRedis)(`tachyxx sweep --queue with two workers, one killed mid-run${hasRedis ? '' : ' (skipped: redis-server not installed)'}`, () => {
  let redis: ChildProcess;
  const sock = join(dir, 'redis.sock');
  const url = `redis+unix://${sock}`;
  beforeAll(async () => {
    redis = spawn('redis-server', ['--port', '0', '--unixsocket', sock, '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const deadline = Date.now() + 10_000;
    while (!existsSync(sock)) {
      if (redis.exitCode !== null || Date.now() > deadline) throw new Error('redis-server did not start');
      await new Promise((r) => setTimeout(r, 20));
    }
  });
  afterAll(() => {
    redis?.kill('SIGKILL');
  });

  const startWorker = () => {
    const p = spawn(process.execPath, [CLI, 'worker', '--queue', url, '--jobs', '1', '--lock-seconds', '1'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    p.stderr!.on('data', (d) => (log += d));
    return { p, log: () => log };
  };

  it('collects every run once and writes the same report as the local pool', async () => {
    const a = startWorker();
    const b = startWorker();
    // both connected before any run is queued, so each takes one of the first (tlbstress) runs
    for (const deadline = Date.now() + 30_000; !(a.log().includes('taking runs') && b.log().includes('taking runs')); ) {
      if (Date.now() > deadline) throw new Error(`workers did not start: ${a.log()} / ${b.log()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const out = join(dir, 'queue');
    const sweep = spawn(process.execPath, [CLI, 'sweep', SWEEP, '--queue', url, '--out', out], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let sweepOut = '';
    let sweepErr = '';
    sweep.stdout!.on('data', (d) => (sweepOut += d));
    sweep.stderr!.on('data', (d) => (sweepErr += d));
    const exited = new Promise<number | null>((r) => sweep.on('exit', (code) => r(code)));
    try {
      // Kill worker A (SIGKILL: no clean-up, its lock just stops being renewed) once it holds a
      // tlbstress run, in the middle of the simulation.
      const deadline = Date.now() + 60_000;
      let taken: string | undefined;
      while (!(taken = /run (tlbstress\/\S+)/.exec(a.log())?.[1])) {
        if (Date.now() > deadline) throw new Error(`worker A took no tlbstress run: ${a.log()} / ${b.log()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((r) => setTimeout(r, 300));
      a.p.kill('SIGKILL');
      expect(a.log()).not.toContain(`ok ${taken}`);
      const code = await exited;
      expect(code, sweepErr).toBe(1);
      expect(sweepOut).toMatch(/^sweep tlb: 8 runs \(8 simulated, 0 cached, 4 failed\)/);
      // Worker B ran the run A died in (BullMQ's stalled-job check put it back on the queue).
      expect(b.log()).toContain(`: ok ${taken}`);
      // Same report as the local pool, byte for byte; each run once.
      const local = join(dir, 'local');
      if (!existsSync(join(local, 'results.csv'))) expect(tachyxx('sweep', SWEEP, '--out', local, '--quiet').status).toBe(1);
      for (const f of ['results.csv', 'results.json', 'report.md', 'plots/refsPerMiss-by-mmu.entries.svg']) expect(read(out, f), f).toBe(read(local, f));
      expect(JSON.parse(read(out, 'results.json')).runs).toHaveLength(8);
      expect(JSON.parse(read(out, 'timing.json')).backend).toBe('queue');
      // Image bytes went to Redis once per image (2 images), not once per job (8 jobs).
      const keys = spawnSync('redis-cli', ['-s', sock, '--raw', 'keys', 'tachyxx:*'], { encoding: 'utf8' });
      if (keys.status === 0) expect(keys.stdout.trim().split('\n').sort()).toHaveLength(2);
    } finally {
      sweep.kill('SIGKILL');
      a.p.kill('SIGKILL');
      b.p.kill('SIGTERM');
    }
  }, 240_000);
});
