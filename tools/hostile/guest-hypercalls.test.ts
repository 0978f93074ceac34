// Hostile guests next to a victim (issue 8, the guest-facing part): each runs on one host with a
// victim domain, through the real `tachyxx` CLI; the victim's console output equals its output
// when it runs alone, and the host ends normally (exit status as documented in docs/runner.md).
import { describe, it, expect, afterAll } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { HostClient } from '@tachyxx/toolstack';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'apps/runner/dist/cli.js');
if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'pnpm build' first`);
const img = (name: string) => `guests/build/${name}.elf`;
const golden = (name: string) => readFileSync(join(ROOT, 'guests', name, 'expected-domain.txt'), 'latin1');

function run(...args: string[]) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [CLI, 'run', ...args], { cwd: ROOT, encoding: 'latin1', maxBuffer: 1 << 26, timeout: 240_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', wallMs: performance.now() - t0 };
}
/** `name`'s lines of a multi-domain run, without the prefix. */
const linesOf = (name: string, stdout: string) => stdout.split('\n').filter((l) => l.startsWith(`${name}: `)).map((l) => l.slice(name.length + 2));
const alone = (victim: string) => {
  const r = run('--domain', img(victim));
  expect(r.status).toBe(0);
  return r.stdout.split('\n').filter((l) => l !== '');
};

describe('a hostile guest next to a victim (one pCPU)', () => {
  const victims = { hello: alone('hello'), timer: alone('timer') };

  it('timer bomb: timer hypercalls at 2^53 ns .. 2^64 - 1 get Xen answers; the host and the victim go on', () => {
    const r = run('--domain', img('timerbomb'), '--domain', img('timer'));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(linesOf('timer', r.stdout)).toEqual(victims.timer);
    expect(linesOf('timerbomb', r.stdout)).toEqual(golden('timerbomb').split('\n').filter((l) => l !== ''));
  });

  it('grant-copy flood: 4 calls of 25,000 copies are charged and preempted; the victim keeps its output', () => {
    // (hello, not timer: the timer guest prints whether its periodic tick already fired, which
    // depends on how much CPU time its neighbour takes - correctly more now that copies cost.)
    const stats = join(mkdtempSync(join(tmpdir(), 'tx-hostile-')), 's.json');
    const r = run('--domain', img('gntflood'), '--domain', img('hello'), '--stats', stats);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(linesOf('hello', r.stdout)).toEqual(victims.hello);
    // 100,000 copies of 4 KiB cost simulated time now (at least the per-KiB copy cost: 64 cycles per KiB at 1 GHz).
    expect(JSON.parse(readFileSync(stats, 'utf8')).simNs).toBeGreaterThan(100_000 * 4 * 64);
    expect(linesOf('gntflood', r.stdout)).toEqual(golden('gntflood').split('\n').filter((l) => l !== ''));
  });

  it('over-max loop: a page released while mapped stays counted; the guest never holds more than max_pages', () => {
    const r = run('--domain', img('overmax'), '--domain', img('hello'));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(linesOf('hello', r.stdout)).toEqual(victims.hello);
    expect(linesOf('overmax', r.stdout)).toEqual(golden('overmax').split('\n').filter((l) => l !== ''));
  });

  it('set_timer_op(2^63 - 1) + block, then a singleshot at 2^62 ns: ends as a deadlock (exit 1) after the victim finished', () => {
    const r = run('--domain', img('neverwake'), '--domain', img('hello'));
    expect(r.status).toBe(1);
    expect(linesOf('hello', r.stdout)).toEqual(victims.hello);
    expect(linesOf('neverwake', r.stdout)).toEqual(golden('neverwake').split('\n').filter((l) => l !== ''));
    expect(r.stderr).toContain("domain 'neverwake' (d1) still running (idle)");
    expect(r.stderr).toContain('deadlock: every vCPU is blocked and nothing can wake them');
    expect(r.wallMs).toBeLessThan(30_000);
  });

  it('the same guest bare (stimecmp 2^62 ns ahead + wfi) ends as a deadlock too, with or without --max-insns', () => {
    for (const extra of [[], ['--max-insns', '100000000']]) {
      const r = run('--bare', img('neverwake'), ...extra);
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('neverwake: bare, stimecmp 2^62 + wfi\n');
      expect(r.stderr).toMatch(/deadlock/);
    }
  });
});

describe('the host daemon under a grant-copy flood', () => {
  let proc: ChildProcess | null = null;
  afterAll(() => { if (proc && proc.exitCode === null) proc.kill('SIGTERM'); });

  it('answers list within 1 s at any time while gntflood runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tx-hostile-'));
    const sock = join(dir, 'run', 'host.sock');
    proc = spawn(process.execPath, [CLI, 'host', '--socket', sock, '--unpaced'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    proc.stderr!.on('data', (d) => (err += d));
    const deadline = Date.now() + 15_000;
    while (!err.includes('listening on')) {
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`host did not start: ${err}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const c = await HostClient.connect(sock);
    const config = (name: string, guest: string) => ({
      c_info: { name, type: 'pv' },
      b_info: { max_vcpus: 1, avail_vcpus: [0], max_memkb: 65536, target_memkb: 65536, kernel: join(ROOT, img(guest)) },
      on_poweroff: 'preserve',
    });
    await c.call('create', { config: config('flood', 'gntflood') });
    let worst = 0, calls = 0;
    const t0 = Date.now();
    for (;;) {
      const t = performance.now();
      const rows = (await c.call('list') as { domains: { name: string; state: string }[] }).domains;
      worst = Math.max(worst, performance.now() - t);
      calls++;
      const flood = rows.find((x) => x.name === 'flood');
      if (!flood || flood.state.includes('s') || Date.now() - t0 > 120_000) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    c.close();
    expect(calls).toBeGreaterThan(3);
    expect(worst).toBeLessThan(1000);
    proc.kill('SIGTERM');
  });
});
