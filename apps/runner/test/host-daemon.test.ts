// The host daemon as a real process: protocol round trips over its control socket.
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostClient, ToolstackError } from '@tachyxx/toolstack';
import { CLI, GUEST, startHost, tmp, type Daemon } from './helpers.js';

async function stop(d: Daemon): Promise<number | null> {
  if (d.proc.exitCode !== null) return d.proc.exitCode;
  const done = new Promise<number | null>((r) => d.proc.once('exit', (c) => r(c)));
  d.proc.kill('SIGTERM');
  return done;
}

const config = (name: string, guest: string, extra: Record<string, unknown> = {}, b: Record<string, unknown> = {}) => ({
  c_info: { name, type: 'pv' },
  b_info: { max_vcpus: 1, avail_vcpus: [0], max_memkb: 16384, target_memkb: 16384, kernel: GUEST(guest), ...b },
  ...extra,
});

async function until(pred: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('tachyxx host (daemon process)', () => {
  let d: Daemon;
  let c: HostClient;
  beforeAll(async () => {
    d = await startHost();
    c = await HostClient.connect(d.sock);
  });
  afterAll(async () => {
    c?.close();
    if (d) expect(await stop(d)).toBe(0);
    expect(existsSync(d.sock)).toBe(false);
  });

  it('serves a 0600 socket in a 0700 directory, with xenstored next to it', async () => {
    expect(lstatSync(d.sock).isSocket()).toBe(true);
    expect(statSync(d.sock).mode & 0o777).toBe(0o600);
    expect(statSync(join(d.dir, 'run')).mode & 0o777).toBe(0o700);
    expect(statSync(join(d.dir, 'run', 'xenstored.sock')).mode & 0o777).toBe(0o600);
    const hello = await c.call('hello');
    expect(hello).toMatchObject({ protocol: 'tachyxx-host', version: 1, xen_version: '4.17-tachyxx' });
    expect(hello.ops).toContain('vcpu-pin');
  });

  it('answers bad requests with protocol errors', async () => {
    const e = await c.call('nope').catch((x) => x);
    expect(e).toBeInstanceOf(ToolstackError);
    expect(e.code).toBe('ENOSYS');
  });

  it('create / list / pause / unpause / vcpu-pin / sched-credit / mem-set / destroy', async () => {
    const r = await c.call('create', { config: config('spin1', 'spin', {}, { max_vcpus: 2 }) });
    let l = (await c.call('list')).domains;
    expect(l.map((x: any) => [x.name, x.domid])).toEqual([['Domain-0', 0], ['spin1', r.domid]]);
    await c.call('pause', { domain: 'spin1' });
    l = (await c.call('list', { domain: 'spin1' })).domains;
    expect(l[0].state).toBe('--p---');
    await c.call('unpause', { domain: r.domid });
    await c.call('vcpu-pin', { domain: 'spin1', vcpu: 'all', hard: '2-3' });
    const v = (await c.call('vcpu-list', { domain: 'spin1' })).vcpus;
    expect(v.map((x: any) => x.hard)).toEqual(['2-3', '2-3']);
    await until(async () => ((await c.call('vcpu-list', { domain: 'spin1' })).vcpus[0].cpu ?? 0) >= 2);
    await c.call('sched-credit', { domain: 'spin1', weight: 128, cap: 10 });
    expect((await c.call('sched-credit', { domain: 'spin1' })).domains[0]).toMatchObject({ weight: 128, cap: 10 });
    await c.call('mem-set', { domain: 'spin1', memkb: 8192 });
    expect((await c.call('list', { domain: 'spin1', long: true })).domains[0]).toMatchObject({ targetMemkb: 8192, config: { c_info: { name: 'spin1' } } });
    await c.call('destroy', { domain: 'spin1' });
    expect((await c.call('list')).domains).toHaveLength(1);
  });

  it('shutdown -w and reboot (rebuilt under a new domid)', async () => {
    const r = await c.call('create', { config: config('rb', 'spin') });
    const rb = await c.call('reboot', { domain: 'rb', wait: true });
    expect(rb.domains[0]).toMatchObject({ domid: r.domid, reason: 'reboot', action: 'restart' });
    expect(rb.domains[0].newDomid).not.toBe(r.domid);
    const sd = await c.call('shutdown', { domain: 'rb', wait: true });
    expect(sd.domains[0]).toMatchObject({ reason: 'poweroff', action: 'destroy' });
    expect((await c.call('list')).domains).toHaveLength(1);
  });

  it('console: create paused, attach, unpause; first byte and end of stream', async () => {
    const t0 = performance.now();
    await c.call('create', { config: config('hi', 'hello'), paused: true });
    let text = '';
    let first = 0;
    let ended: any = null;
    await c.call('console', { domain: 'hi' }, (ev) => {
      if (ev.event === 'console') {
        first ||= performance.now();
        text += Buffer.from(ev.data as string, 'base64').toString();
      } else if (ev.event === 'end') ended = ev;
    });
    await c.call('unpause', { domain: 'hi' });
    await until(() => ended !== null);
    expect(text).toContain('Hello from Tachyxx!');
    expect(ended.reason).toBe('destroyed');
    expect(first - t0).toBeLessThan(2000);
    expect(readFileSync(join(d.dir, 'run', 'log', 'guest-hi.log'), 'utf8')).toContain('Hello from Tachyxx!');
  });

  it.each([
    ['destroy', (l: any[]) => l.length === 1],
    ['preserve', (l: any[]) => l.some((x) => x.name === 'cr' && x.state === '----c-')],
    ['restart', (l: any[]) => l.some((x) => x.name === 'cr')],
  ])('on_crash=%s with the crash guest', async (action, check) => {
    const events: any[] = [];
    await c.call('events', {}, (ev) => events.push(ev));
    const r = await c.call('create', { config: config('cr', 'crash', { on_crash: action }) });
    await until(() => events.some((e) => e.kind === 'shutdown' && e.domid === r.domid));
    if (action === 'restart') await until(() => events.some((e) => e.kind === 'restarted'));
    const l = (await c.call('list')).domains;
    expect(check(l)).toBe(true);
    expect(events.find((e) => e.kind === 'shutdown')).toMatchObject({ reason: 'crash', action });
    if (action === 'restart') expect(l.find((x: any) => x.name === 'cr').domid).not.toBe(r.domid);
    if (action !== 'destroy') await c.call('destroy', { domain: 'cr' });
  });

  it('200 creates and destroys return free memory and the xenstore size exactly', async () => {
    const before = await c.call('host-counts');
    const info0 = Object.fromEntries((await c.call('info')).info);
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) {
      const r = await c.call('create', { config: config(`n${i}`, i % 2 ? 'hello' : 'spin', { on_poweroff: 'preserve' }), paused: i % 4 === 3 });
      await c.call('destroy', { domain: r.domid });
    }
    const perSec = 200 / ((performance.now() - t0) / 1000);
    expect(await c.call('host-counts')).toEqual(before);
    expect(Object.fromEntries((await c.call('info')).info).free_memory).toBe(info0.free_memory);
    expect(perSec).toBeGreaterThan(5);
  });

  it('refuses a second host on the same socket', () => {
    const p = spawnSync(process.execPath, [CLI, 'host', '--socket', d.sock, '--unpaced'], { encoding: 'utf8', timeout: 10_000 });
    expect(p.status).toBe(1);
    expect(p.stderr).toMatch(/is in use by a running host \(pid \d+\)/);
  });
});

describe('tachyxx host: socket handling', () => {
  it('removes a stale socket and starts', async () => {
    const dir = tmp();
    const sock = join(dir, 'run', 'host.sock');
    // A socket file nobody listens on: bind, then close without unlinking.
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'run'), { mode: 0o700 });
    const s = createServer();
    await new Promise<void>((r) => s.listen(sock, r));
    // node unlinks on close; re-create a dead socket file by killing a child that listens.
    await new Promise<void>((r) => s.close(() => r()));
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(sock)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    expect(lstatSync(sock).isSocket()).toBe(true);
    const d = await startHost(dir);
    const c = await HostClient.connect(d.sock);
    expect((await c.call('list')).domains[0].name).toBe('Domain-0');
    c.close();
    expect(await stop(d)).toBe(0);
  });

  it('--detach prints the pid, the socket and the xenstored socket, and keeps serving', async () => {
    const dir = tmp();
    const sock = join(dir, 'host.sock');
    const p = spawnSync(process.execPath, [CLI, 'host', '--socket', sock, '--unpaced', '--detach'], { encoding: 'utf8', timeout: 30_000 });
    expect(p.status).toBe(0);
    const [first, second] = p.stdout.trim().split('\n');
    const [pid, path] = first!.split(' ');
    expect(path).toBe(sock);
    expect(second).toBe(`XENSTORED_PATH=${join(dir, 'xenstored.sock')}`);
    expect(lstatSync(join(dir, 'xenstored.sock')).isSocket()).toBe(true);
    const c = await HostClient.connect(sock);
    expect((await c.call('hello')).pid).toBe(Number(pid));
    c.close();
    process.kill(Number(pid), 'SIGTERM');
    await until(() => !existsSync(sock));
  });

  it('--help', () => {
    const p = spawnSync(process.execPath, [CLI, 'host', '--help'], { encoding: 'utf8' });
    expect(p.status).toBe(0);
    expect(p.stdout).toMatch(/Usage: tachyxx host/);
  });
});
