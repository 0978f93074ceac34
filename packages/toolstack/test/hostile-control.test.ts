// Issue 8, the client side: every finding against the control socket reproduced, each a
// regression test (in process; tools/hostile/control-*.test.ts does it against real processes).
import { afterEach, describe, expect, it } from 'vitest';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ControlServer, HostClient, LineSplitter, LineTooLongError, MAX_REQUEST_DEPTH, MAX_REQUEST_LINE, ToolstackError, parseCpuList, parseMemKb, toBuildSpec, validateRequest,
  type Toolstack,
} from '@tachyxx/toolstack';
import { cfg, GUEST, makeToolstack, op, runUntil } from './helpers.js';
import { RawClient, listWithin, startDaemon, type Daemon } from './control-helpers.js';

const daemons: Daemon[] = [];
afterEach(async () => {
  for (const d of daemons.splice(0)) await d.stop();
});
async function daemon(...a: Parameters<typeof startDaemon>) {
  const d = await startDaemon(...a);
  daemons.push(d);
  return d;
}

async function fails(p: Promise<unknown>, code: string, re?: RegExp): Promise<ToolstackError> {
  const e = await p.then(() => null, (x: unknown) => x);
  expect(e).toBeInstanceOf(ToolstackError);
  expect((e as ToolstackError).code).toBe(code);
  if (re) expect((e as ToolstackError).message).toMatch(re);
  return e as ToolstackError;
}

const poolState = (ts: Toolstack) => JSON.stringify([ts.list().map((d) => [d.name, d.pool]), Array.from({ length: ts.topo.pcpus }, (_, c) => ts.host.sched.poolOfPcpu(c)?.name ?? null), ts.host.sched.poolNames()]);

describe('finding 4: CPU ranges are checked against the host before they are expanded', () => {
  it('vcpu-pin spin 0 0-4000000000: EINVAL naming the pCPU, in milliseconds, affinity unchanged', async () => {
    const ts = makeToolstack();
    await op(ts, 'create', { config: cfg('spin', 'spin'), paused: true });
    const t0 = performance.now();
    await fails(op(ts, 'vcpu-pin', { domain: 'spin', vcpu: 0, hard: '0-4000000000' }), 'EINVAL', /hard affinity: pCPUs 4-4000000000 do not exist \(the host has 4: 0-3\)/);
    await fails(op(ts, 'vcpu-pin', { domain: 'spin', vcpu: 0, soft: 'nodes:0-99999999' }), 'EINVAL', /NUMA nodes 1-99999999 do not exist/);
    await fails(op(ts, 'vcpu-pin', { domain: 'spin', vcpu: 0, hard: '5-4000000000' }), 'EINVAL', /pCPUs 5-4000000000 do not exist/);
    await fails(op(ts, 'vcpu-pin', { domain: 'spin', vcpu: 0, hard: Array.from({ length: 5000 }, (_, i) => i) }), 'EINVAL', /argument 'hard' must be a CPU list/);
    await fails(op(ts, 'cpupool-cpu-add', { pool: 'Pool-0', cpus: '0-4000000000' }), 'EINVAL', /pCPUs 4-4000000000 do not exist/);
    expect(performance.now() - t0).toBeLessThan(500);
    expect((await op(ts, 'vcpu-list', { domain: 'spin' })).vcpus[0].hard).toBe('all');
    // cpus= in a domain config goes through the same parser.
    await fails(op(ts, 'create', { config: cfg('pinned', 'spin', {}, { cpumap: '0-4000000000' }) }), 'EINVAL', /cpus: pCPUs 4-4000000000 do not exist/);
    expect(() => parseCpuList('1-99999999999999999999', { pcpus: 4, nodes: [[0, 1, 2, 3]] })).toThrow(/do(es)? not exist/);
    ts.close();
  });
});

describe('finding 5: request depth and shape', () => {
  it('a request nested 4,110 levels deep is refused (EPROTO); list -l keeps working', async () => {
    const d = await daemon();
    const c = await RawClient.open(d.path);
    const deep = `${'{"a":'.repeat(4110)}1${'}'.repeat(4110)}`;
    c.send(`{"id":1,"op":"create","args":{"config":${deep}}}`);
    c.send(`{"id":2,"op":"create","args":{"config":{"c_info":{"name":"x"},"b_info":${'['.repeat(4110)}${']'.repeat(4110)}}}}`);
    const [r1, r2] = await c.waitLines(2);
    expect(r1).toMatchObject({ id: 1, ok: false, error: { code: 'EPROTO', message: `request nested deeper than ${MAX_REQUEST_DEPTH} levels` } });
    expect(r2).toMatchObject({ id: 2, ok: false, error: { code: 'EPROTO' } });
    const h = await HostClient.connect(d.path);
    const long = await h.call('list', { long: true });
    expect(long.domains[0].name).toBe('Domain-0');
    h.close();
    c.close();
  });

  it('per-op argument shapes: unknown ops, unknown arguments, wrong JSON types', () => {
    const bad = (req: unknown, code: string, re: RegExp) => {
      try {
        validateRequest(req);
      } catch (e) {
        expect((e as ToolstackError).code).toBe(code);
        expect((e as ToolstackError).message).toMatch(re);
        return;
      }
      throw new Error(`accepted ${JSON.stringify(req)}`);
    };
    bad({ id: 1, op: 'nuke' }, 'ENOSYS', /unknown op 'nuke'/);
    bad({ id: 1, op: 'list', args: { domian: 1 } }, 'EINVAL', /list: unknown argument 'domian' \(known: domain, domains, long\)/);
    bad({ id: 1, op: 'destroy', args: { domain: { x: 1 } } }, 'EINVAL', /argument 'domain' must be a domain name or id/);
    bad({ id: 1, op: 'vcpu-set', args: { domain: 1, count: 1e300 } }, 'EINVAL', /argument 'count' must be an integer, got 1e\+300/);
    bad({ id: 1, op: 'list', args: [] }, 'EINVAL', /args must be an object/);
    bad({ id: {}, op: 'list' }, 'EPROTO', /id must be/);
    bad({ id: 1, op: 'list', extra: 1 }, 'EPROTO', /unknown request field 'extra'/);
    bad({ id: 1, op: 'list', v: 99 }, 'EPROTO', /newer than this host's/);
    bad({ id: 1, op: 'console-input', args: { domain: 1, data: 'x'.repeat(200_000) } }, 'EINVAL', /base64 text of at most/);
    expect(validateRequest({ id: 'a', op: 'list', args: { domains: ['x', 3], long: true } })).toMatchObject({ op: 'list', args: { long: true } });
  });

  it('config values whose String() throws ({"toString": 0}) are EINVAL, not an internal error', () => {
    const evil = JSON.parse('{"toString": 0}');
    for (const [raw, re] of [
      [{ c_info: { name: 'x', type: evil }, b_info: { kernel: 'k' } }, /c_info\.type: expected a string, got an object/],
      [{ c_info: { name: 'x', uuid: evil }, b_info: { kernel: 'k' } }, /c_info\.uuid: expected a string/],
      [{ c_info: { name: 'x' }, b_info: { kernel: 'k', cmdline: evil } }, /b_info\.cmdline: expected a string/],
      [{ c_info: { name: 'x' }, b_info: { kernel: 'k' }, on_crash: evil }, /on_crash: expected a string/],
    ] as const) {
      expect(() => toBuildSpec(raw, { pcpus: 4, nodes: [[0, 1, 2, 3]] })).toThrow(re);
    }
    expect(parseMemKb(evil)).toBeNaN();
  });
});

describe('finding 7: kernel images that are not regular files', () => {
  it('kernel = /dev/zero, a FIFO or a directory: EINVAL at once, naming the file; the daemon keeps serving', async () => {
    const d = await daemon();
    const fifo = join(d.dir, 'kernel.fifo');
    execFileSync('mkfifo', [fifo]);
    const h = await HostClient.connect(d.path);
    for (const [file, kind] of [['/dev/zero', 'a character device'], [fifo, 'a FIFO'], [d.dir, 'a directory']] as const) {
      const t0 = performance.now();
      await fails(h.call('create', { config: cfg('z', 'spin', {}, { kernel: file }) }), 'EINVAL', new RegExp(`^kernel ${file.replace(/[.]/g, '\\.')}: is ${kind}, not a regular file$`));
      expect(performance.now() - t0).toBeLessThan(1000);
    }
    await fails(h.call('create', { config: cfg('z', 'spin', {}, { ramdisk: '/dev/zero' }) }), 'EINVAL', /^ramdisk \/dev\/zero: is a character device/);
    // Bigger than the domain's memory (16 MiB here): refused before it is read.
    const big = join(d.dir, 'big.elf');
    writeFileSync(big, Buffer.alloc(17 << 20));
    await fails(h.call('create', { config: cfg('z', 'spin', {}, { kernel: big }) }), 'EINVAL', /is more than the limit of 16777216 bytes/);
    expect((await listWithin(d.path)).names).toEqual(['Domain-0']);
    h.close();
  });
});

describe('finding 8: untrusted socket directories', () => {
  it('the server refuses a world-writable or foreign-owned directory, or a symlink to one', async () => {
    const base = mkdtempSync(join(tmpdir(), 'tachyxx-trust-'));
    const ts = makeToolstack();
    const open = join(base, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    await fails(new ControlServer(ts).listen(join(open, 'host.sock')), 'EACCES', /mode 0777: group or others can write/);
    if (process.getuid!() === 0) {
      const other = join(base, 'other');
      mkdirSync(other, { mode: 0o700 });
      chownSync(other, 4242, 4242);
      await fails(new ControlServer(ts).listen(join(other, 'host.sock')), 'EACCES', /owned by uid 4242/);
    }
    ts.close();
  });

  it('the client refuses to talk through such a directory (a replaced socket captures nothing)', async () => {
    const d = await daemon();
    // Someone makes the directory writable (and could swap host.sock): xl's side refuses.
    chmodSync(d.dir, 0o777);
    await fails(HostClient.connect(d.path), 'EACCES', /group or others can write/);
    chmodSync(d.dir, 0o700);
    // A socket in the right directory but owned by someone else is refused too.
    if (process.getuid!() === 0) {
      const evil = join(d.dir, 'evil.sock');
      const srv = createServer(() => {});
      await new Promise<void>((r) => srv.listen(evil, r));
      chownSync(evil, 4242, 4242);
      await fails(HostClient.connect(evil), 'EACCES', /owned by uid 4242/);
      srv.close();
    }
    expect((await listWithin(d.path)).names).toEqual(['Domain-0']);
  });
});

describe('finding 10: console flood', () => {
  it('the rate limit (bytes per period) drops and counts the excess, reports it once per period; the log rotates at its cap', async () => {
    let now = 0;
    const logDir = mkdtempSync(join(tmpdir(), 'tachyxx-flood-'));
    const logs: string[] = [];
    const ts = makeToolstack({}, { logDir, wallNow: () => now, consoleRate: { bytes: 4096, periodMs: 200 }, logMaxBytes: 64 * 1024, logKeep: 2, onLog: (l) => logs.push(l) });
    const { domid } = await op(ts, 'create', { config: cfg('flood', 'conflood') });
    // Wall time stands still: one period's allowance gets through, the rest is dropped.
    await runUntil(ts, () => ts.consoleDropped(domid) > 100_000, 5000);
    const log = () => readFileSync(join(logDir, 'guest-flood.log'));
    ts.flushLogs();
    expect(log().length).toBe(4096);
    expect(logs.filter((l) => l.includes('xenconsoled'))).toEqual([]);
    // Next period: one report line with the count, then more output gets through.
    now += 200;
    const dropped = ts.consoleDropped(domid);
    ts.flushLogs();
    const reports = logs.filter((l) => l.includes('xenconsoled'));
    expect(reports).toHaveLength(1);
    expect(reports[0]).toBe(`(d0) xenconsoled: domain ${domid} 'flood': console output over the rate limit (4096 bytes per 200 ms): ${dropped} bytes dropped (${dropped} in all)`);
    // Many periods: the log file never passes its cap; two old copies are kept.
    for (let i = 0; i < 60; i++) {
      now += 200;
      await runUntil(ts, () => true, 1);
      const before = ts.consoleDropped(domid);
      await runUntil(ts, () => ts.consoleDropped(domid) > before, 5000);
      ts.flushLogs();
    }
    const files = readdirSync(logDir).filter((f) => f.startsWith('guest-flood.log')).sort();
    expect(files).toEqual(['guest-flood.log', 'guest-flood.log.1', 'guest-flood.log.2']);
    for (const f of files) expect(statSync(join(logDir, f)).size).toBeLessThanOrEqual(64 * 1024);
    expect(statSync(join(logDir, 'guest-flood.log.1')).size).toBe(64 * 1024);
    expect(logs.filter((l) => l.includes('xenconsoled')).length).toBeGreaterThanOrEqual(60);
    ts.close();
  });
});

describe('finding 13: long lines', () => {
  it('LineSplitter scans each chunk once: a 50 MB line in 64 KiB chunks costs linear time, and is refused at the cap', () => {
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const lines: string[] = [];
    const big = new LineSplitter((l) => lines.push(l), 64 << 20);
    const t0 = performance.now();
    for (let i = 0; i < 800; i++) big.push(chunk);
    big.push('\n');
    const dt = performance.now() - t0;
    expect(lines).toHaveLength(1);
    expect(lines[0]!.length).toBe(800 * 64 * 1024);
    expect(dt).toBeLessThan(2000);
    const capped = new LineSplitter(() => {});
    expect(() => {
      for (let i = 0; i < 100; i++) capped.push(chunk);
    }).toThrow(LineTooLongError);
    expect(capped.buffered).toBe(0);
    // Lines split anywhere, several per chunk, multi-byte characters across chunks.
    const got: string[] = [];
    const s = new LineSplitter((l) => got.push(l));
    const text = Buffer.from('{"a":"é"}\n\n{"b":2}\n{"c":3', 'utf8');
    for (let i = 0; i < text.length; i++) s.push(text.subarray(i, i + 1));
    s.push('}\n');
    expect(got).toEqual(['{"a":"é"}', '{"b":2}', '{"c":3}']);
  });

  it('a request line over the cap: an EPROTO reply, that client closed; the others are served', async () => {
    const d = await daemon();
    const bad = await RawClient.open(d.path);
    const good = await RawClient.open(d.path);
    good.send('{"id":1,"op":"hello"}');
    bad.sock.write(Buffer.alloc(MAX_REQUEST_LINE + 10, 0x20));
    expect(await bad.waitClosed()).toBe(true);
    expect(bad.lines[0]).toMatchObject({ id: null, ok: false, error: { code: 'EPROTO', message: expect.stringMatching(/line longer than 1048576 bytes/) } });
    expect(d.server.stats.tooLong).toBe(1);
    good.send('{"id":2,"op":"list"}');
    const r = await good.waitLines(2);
    expect(r[1]).toMatchObject({ id: 2, ok: true });
    good.close();
  });
});

describe('finding 14: connection limits', () => {
  it('at the limit a silent connection is evicted for a new one; with all busy the new one gets EBUSY; existing clients go on', async () => {
    const d = await daemon({ maxConnections: 6 });
    const busy: RawClient[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await RawClient.open(d.path);
      c.send(`{"id":1,"op":"events"}`);
      await c.waitLines(1);
      busy.push(c);
    }
    const silent: RawClient[] = [];
    for (let i = 0; i < 3; i++) silent.push(await RawClient.open(d.path));
    await new Promise((r) => setTimeout(r, 50));
    expect(d.server.connections).toBe(6);
    // xl list gets in: the oldest silent connection makes room.
    expect((await listWithin(d.path)).names).toEqual(['Domain-0']);
    expect(await silent[0]!.waitClosed()).toBe(true);
    expect(silent[0]!.lines[0]).toMatchObject({ id: null, ok: false, error: { code: 'EBUSY' } });
    // Fill the rest with busy ones: a new client is refused with a clear error.
    for (const c of silent.slice(1)) {
      c.send(`{"id":1,"op":"events"}`);
      await c.waitLines(1);
    }
    const extra = await RawClient.open(d.path);
    extra.send(`{"id":1,"op":"events"}`);
    await extra.waitLines(1);
    const refused = await RawClient.open(d.path);
    expect(await refused.waitClosed()).toBe(true);
    expect(refused.lines[0]).toMatchObject({ id: null, ok: false, error: { code: 'EBUSY', message: expect.stringMatching(/limit of 6 connections/) } });
    expect(d.server.stats.refused).toBe(1);
    expect(d.logs.some((l) => /control socket at its limit of 6 connections/.test(l))).toBe(true);
    // Existing clients still get answers and events.
    busy[0]!.send(`{"id":2,"op":"hello"}`);
    expect((await busy[0]!.waitLines(2))[1]).toMatchObject({ id: 2, ok: true });
    await HostClient.connect(d.path).then(async () => {}, () => {});
    for (const c of [...busy, ...silent, extra]) c.close();
  });

  it('a connection that sends nothing is closed after the handshake time; an idle one after the idle time', async () => {
    const d = await daemon({ handshakeMs: 100, idleMs: 300, sweepMs: 20 });
    const mute = await RawClient.open(d.path);
    const idle = await RawClient.open(d.path);
    idle.send('{"id":1,"op":"hello"}');
    expect(await mute.waitClosed(3000)).toBe(true);
    expect(mute.lines[0]).toMatchObject({ error: { code: 'EPROTO', message: 'closed: no request within 100 ms of connecting' } });
    expect(idle.closed).toBe(false);
    expect(await idle.waitClosed(3000)).toBe(true);
    expect(d.server.stats.timedOut).toBe(2);
  });
});

describe('finding 15: an error changes nothing', () => {
  it('cpupool-destroy Pool-0: EBUSY and Pool-0 keeps its pCPUs', async () => {
    const ts = makeToolstack();
    const before = poolState(ts);
    await fails(op(ts, 'cpupool-destroy', { pool: 'Pool-0' }), 'EBUSY', /default pool/);
    expect(poolState(ts)).toBe(before);
    expect(ts.host.sched.getPool('Pool-0').cpus).toEqual([0, 1, 2, 3]);
    ts.close();
  });

  it('cpupool-cpu-remove / -create / -destroy / numa-split / vcpu-pin that fail leave pools and affinities as they were', async () => {
    const ts = makeToolstack();
    await op(ts, 'create', { config: cfg('pinned', 'spin', {}, { cpumap: [3] }), paused: true });
    await op(ts, 'cpupool-cpu-remove', { pool: 'Pool-0', cpus: '1' });
    await op(ts, 'cpupool-create', { name: 'p1', cpus: [1] });
    const before = poolState(ts);
    // pCPU 3 is the only one 'pinned' may use: removing 2-3 fails on 3, and 2 stays too.
    await fails(op(ts, 'cpupool-cpu-remove', { pool: 'Pool-0', cpus: '2-3' }), 'EBUSY', /pinned/);
    await fails(op(ts, 'cpupool-cpu-remove', { pool: 'Pool-0', cpus: [0, 2, 3] }), 'EBUSY');
    await fails(op(ts, 'cpupool-create', { name: 'p2', cpus: '0-1' }), 'EBUSY', /not free/);
    await fails(op(ts, 'cpupool-create', { name: 'p2', sched: 'fifo' }), 'EINVAL', /unknown scheduler 'fifo'/);
    await fails(op(ts, 'cpupool-destroy', { pool: 'nope' }), 'ENOENT');
    await fails(op(ts, 'cpupool-numa-split'), 'EINVAL', /only one NUMA node/);
    await fails(op(ts, 'cpupool-cpu-add', { pool: 'p1', cpus: [0] }), 'EBUSY');
    await fails(op(ts, 'cpupool-migrate', { domain: 'pinned', pool: 'nope' }), 'ENOENT');
    expect(poolState(ts)).toBe(before);
    // vcpu-pin to a pCPU outside the domain's pool: refused, affinity unchanged.
    await fails(op(ts, 'vcpu-pin', { domain: 'pinned', vcpu: 'all', hard: [1] }), 'EINVAL', /no pCPU in cpupool/);
    expect((await op(ts, 'vcpu-list', { domain: 'pinned' })).vcpus[0].hard).toBe('3');
    await fails(op(ts, 'vcpu-pin', { domain: 0, vcpu: 5, hard: '0' }), 'EINVAL', /Domain-0 has no vCPU 5/);
    ts.close();
  });
});

describe('finding 19: numbers in range', () => {
  it('mem-max 1e300, memkb beyond 2^42, negative or fractional sizes, huge vCPU counts and weights: EINVAL, nothing changed', async () => {
    const ts = makeToolstack();
    await op(ts, 'create', { config: cfg('m', 'spin'), paused: true });
    const before = JSON.stringify(ts.list());
    await fails(op(ts, 'mem-max', { domain: 'm', mem: '1e300' }), 'EINVAL', /invalid memory size '1e300'/);
    await fails(op(ts, 'mem-max', { domain: 'm', memkb: 1e300 }), 'EINVAL', /must be an integer/);
    await fails(op(ts, 'mem-max', { domain: 'm', memkb: 2 ** 43 }), 'EINVAL', /out of range \(at most 4398046511104 KiB\)/);
    await fails(op(ts, 'mem-max', { domain: 'm', mem: '99999999999999999999t' }), 'EINVAL', /invalid memory size/);
    await fails(op(ts, 'mem-set', { domain: 'm', memkb: -5 }), 'EINVAL');
    await fails(op(ts, 'mem-set', { domain: 'm', mem: -1.5 }), 'EINVAL');
    await fails(op(ts, 'mem-set', { domain: 'm', mem: 1e300 }), 'EINVAL', /invalid memory size/);
    await fails(op(ts, 'vcpu-set', { domain: 'm', count: '99999999999999999999' }), 'EINVAL', /greater than the maximum/);
    await fails(op(ts, 'vcpu-set', { domain: 'm', count: 0 }), 'EINVAL');
    await fails(op(ts, 'sched-credit', { domain: 'm', weight: 65536 }), 'EINVAL', /1\.\.65535/);
    await fails(op(ts, 'sched-credit', { domain: 'm', cap: -1 }), 'EINVAL');
    await fails(op(ts, 'vcpu-pin', { domain: 'm', vcpu: 4294967296, hard: '0' }), 'EINVAL', /has no vCPU/);
    await fails(op(ts, 'destroy', { domain: 99999999999 }), 'ESRCH');
    await fails(op(ts, 'destroy', { domain: -1 }), 'EINVAL');
    expect(JSON.stringify(ts.list())).toBe(before);
    ts.close();
  });
});

describe('the guard: an op that throws fails only its own request', () => {
  it('an injected throwing op: EIO reply, a host log line naming op and (truncated) args, other clients served', async () => {
    const d = await daemon();
    const real = d.ts.op.bind(d.ts);
    (d.ts as { op: Toolstack['op'] }).op = (name, args, ctx, id) => {
      if (name === 'dmesg') throw new TypeError('injected failure');
      if (name === 'uptime') return Promise.reject(new RangeError('injected rejection'));
      if (name === 'info') return Promise.resolve({ big: 10n }) as Promise<unknown>; // not serializable
      return real(name, args, ctx, id);
    };
    const a = await HostClient.connect(d.path);
    const b = await HostClient.connect(d.path);
    await fails(a.call('dmesg', { clear: true }), 'EIO', /internal error in dmesg: injected failure/);
    await fails(a.call('uptime', { domains: ['x'.repeat(250)] }), 'EIO', /injected rejection/);
    await fails(a.call('info'), 'EIO', /the reply cannot be sent/);
    const line = d.logs.find((l) => l.includes("internal error in op 'uptime'"))!;
    expect(line).toMatch(/args \{"domains":\["x{150,}\.\.\.\(266 chars\)/);
    expect(d.logs.some((l) => l.includes("internal error in op 'dmesg' args {\"clear\":true}: TypeError: injected failure"))).toBe(true);
    expect(d.server.stats.internalErrors).toBe(2);
    // The same connection and another one go on.
    expect((await a.call('hello')).protocol).toBe('tachyxx-host');
    expect((await b.call('list')).domains).toHaveLength(1);
    a.close();
    b.close();
  });
});

it('GUEST images used here exist', () => {
  expect(existsSync(GUEST('conflood'))).toBe(true);
});
