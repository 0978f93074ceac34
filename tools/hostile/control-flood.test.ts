// Hostile clients on the control socket of a real `tachyxx host` (issue 8, findings 5, 13, 14):
// a connection flood, huge request lines, a request nested 4,110 deep. A victim domain keeps
// running and `xl list` answers within LIST_BOUND_MS throughout.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { LIST_BOUND_MS, built, rssMiB, sleep, startHost, startVictim, victimAlive, xl, type HostProc } from './control-helpers.js';

let h: HostProc;
let victim = 0;
beforeAll(async () => {
  if (!built) return;
  h = await startHost(['--max-connections', '128']);
  victim = await startVictim(h);
});
afterAll(async () => {
  await h?.stop();
});

function open(path: string): Promise<Socket> {
  return new Promise((res) => {
    const s = connect(path);
    s.on('error', () => {});
    s.resume(); // read (and so see the host's EOF): a client that never reads never notices it was closed
    s.once('connect', () => res(s));
    s.once('close', () => res(s));
  });
}

describe.skipIf(!built)('control socket: hostile clients next to a victim domain', () => {
  it('connection flood: 3,000 silent connections; xl list still answers, the silent ones are evicted', async () => {
    const socks: Socket[] = [];
    const t0 = performance.now();
    for (let i = 0; i < 3000; i++) socks.push(await open(h.sock));
    const floodMs = performance.now() - t0;
    const r = await xl(h.sock, ['list']);
    expect(r.status).toBe(0);
    expect(r.ms).toBeLessThan(LIST_BOUND_MS);
    // The host kept at most its limit: everything but the newest ones was closed on it (the
    // kernel's accept queue drains over a moment).
    let open_ = Infinity;
    for (const end = Date.now() + 10_000; Date.now() < end; await sleep(100)) {
      open_ = socks.filter((s) => !s.destroyed && s.readyState === 'open').length;
      if (open_ <= 128) break;
    }
    expect(open_).toBeLessThanOrEqual(128);
    for (const s of socks) s.destroy();
    await sleep(1500);
    victim = await victimAlive(h, victim);
    console.log(`connection flood: 3000 connections in ${Math.round(floodMs)} ms, xl list ${Math.round(r.ms)} ms, ${open_} still open`);
  });

  it('busy flood: all 128 slots hold a stream; a new xl gets a clear EBUSY error; once they go, xl works', async () => {
    const socks: Socket[] = [];
    try {
      for (let i = 0; i < 128; i++) {
        const s = await open(h.sock);
        socks.push(s);
        // Wait for the ok reply: a connection is busy once its stream is open.
        await new Promise<void>((r) => {
          s.once('data', () => r());
          s.once('close', () => r());
          s.write('{"id":1,"op":"events"}\n');
        });
      }
      const r = await xl(h.sock, ['list']);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/libxl: error: the host is at its limit of 128 connections \(all busy\): try again later/);
    } finally {
      for (const s of socks) s.destroy();
    }
    await sleep(1500);
    victim = await victimAlive(h, victim);
  });

  it('huge lines: 8 clients each send a 50 MB line; each gets EPROTO and is closed; the host stays small', async () => {
    const chunk = Buffer.alloc(1 << 20, 0x20);
    const t0 = performance.now();
    const results = await Promise.all(Array.from({ length: 8 }, async () => {
      const s = await open(h.sock);
      let got = '';
      s.on('data', (d) => (got += d));
      const closed = new Promise<void>((r) => s.once('close', () => r()));
      for (let i = 0; i < 50 && !s.destroyed; i++) {
        if (!s.write(chunk)) await Promise.race([new Promise((r) => s.once('drain', r)), closed]);
      }
      s.end('\n');
      await closed;
      return got;
    }));
    const ms = performance.now() - t0;
    for (const got of results) expect(got, got.slice(0, 200)).toMatch(/^\{"id":null,"ok":false,"error":\{"code":"EPROTO","message":"line longer than 1048576 bytes/);
    const r = await xl(h.sock, ['list']);
    expect(r.status).toBe(0);
    expect(r.ms).toBeLessThan(LIST_BOUND_MS);
    const rss = rssMiB(h.proc.pid!);
    expect(rss).toBeLessThan(600);
    victim = await victimAlive(h, victim);
    console.log(`huge lines: 8 x 50 MB refused in ${Math.round(ms)} ms; xl list ${Math.round(r.ms)} ms; host RSS ${Math.round(rss)} MiB`);
  });

  it('xenstored socket flood: 3,000 silent connections; xenstore-read and xl list still answer', async () => {
    const xsPath = join(h.dir, 'xenstored.sock');
    const socks: Socket[] = [];
    for (let i = 0; i < 3000; i++) socks.push(await open(xsPath));
    try {
      const t0 = performance.now();
      const read = spawnSync('xenstore-read', ['/local/domain/0/name'], { env: { ...process.env, XENSTORED_PATH: xsPath }, encoding: 'utf8', timeout: 20_000 });
      if (read.error === undefined || (read.error as NodeJS.ErrnoException).code !== 'ENOENT') {
        expect(read.stdout).toBe('Domain-0\n');
        console.log(`xenstored flood: xenstore-read answered in ${Math.round(performance.now() - t0)} ms`);
      }
      let open_ = Infinity;
      for (const end = Date.now() + 10_000; Date.now() < end; await sleep(100)) {
        open_ = socks.filter((s) => !s.destroyed && s.readyState === 'open').length;
        if (open_ <= 512) break;
      }
      expect(open_).toBeLessThanOrEqual(512);
      const r = await xl(h.sock, ['list']);
      expect(r.status).toBe(0);
      expect(r.ms).toBeLessThan(LIST_BOUND_MS);
    } finally {
      for (const s of socks) s.destroy();
    }
    victim = await victimAlive(h, victim);
  });

  it('deep nesting: a request 4,110 levels deep is refused; list -l answers afterwards', async () => {
    const s = await open(h.sock);
    let got = '';
    s.on('data', (d) => (got += d));
    s.write(`{"id":7,"op":"create","args":{"config":${'{"a":'.repeat(4110)}1${'}'.repeat(4110)}}}\n`);
    const end = Date.now() + 5000;
    while (!got.includes('\n') && Date.now() < end) await sleep(20);
    expect(JSON.parse(got)).toMatchObject({ id: 7, ok: false, error: { code: 'EPROTO' } });
    s.destroy();
    const r = await xl(h.sock, ['list', '-l']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).map((d: { config: { c_info: { name: string } } }) => d.config.c_info.name)).toEqual(['Domain-0', 'victim']);
    victim = await victimAlive(h, victim);
  });
});
