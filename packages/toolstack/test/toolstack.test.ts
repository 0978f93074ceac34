import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HostRunner, ToolstackError, parseCpuList, formatCpuList, toBuildSpec, parseMemKb, type Toolstack } from '@tachyxx/toolstack';
import { cfg, fakeCtx, makeToolstack, op, runUntil, GUEST } from './helpers.js';

const topo = { pcpus: 4, nodes: [[0, 1], [2, 3]] };

async function rejects(p: Promise<unknown>, code: string, re?: RegExp) {
  const e = await p.then(() => null, (x: unknown) => x);
  expect(e).toBeInstanceOf(ToolstackError);
  expect((e as ToolstackError).code).toBe(code);
  if (re) expect((e as ToolstackError).message).toMatch(re);
}

const gone = (ts: Toolstack, name: string) => () => !ts.list().some((d) => d.name === name);
const shutDown = (ts: Toolstack, name: string) => () => ts.list().some((d) => d.name === name && d.shutdownReason !== null);

describe('cpu lists (xl syntax)', () => {
  it('parses ranges, exclusions, nodes and all', () => {
    expect(parseCpuList('0-3,^2', topo)).toEqual([0, 1, 3]);
    expect(() => parseCpuList('^1', topo)).toThrow(/leaves no CPU/); // xl starts from an empty set
    expect(parseCpuList('all,^1', topo)).toEqual([0, 2, 3]);
    expect(parseCpuList('nodes:1', topo)).toEqual([2, 3]);
    expect(parseCpuList('all', topo)).toEqual([0, 1, 2, 3]);
    expect(parseCpuList([3, 1], topo)).toEqual([1, 3]);
    expect(() => parseCpuList('7', topo)).toThrow(/pCPU 7 does not exist/);
    expect(() => parseCpuList('x', topo)).toThrow(/invalid pCPU range 'x'/);
    expect(formatCpuList([0, 1, 3], 4)).toBe('0-1,3');
    expect(formatCpuList(null, 4)).toBe('all');
    expect(formatCpuList([0, 1, 2, 3], 4)).toBe('all');
  });

  it('parses xl memory sizes (no suffix = MiB)', () => {
    expect(parseMemKb('256')).toBe(262144);
    expect(parseMemKb('256m')).toBe(262144);
    expect(parseMemKb('1g')).toBe(1048576);
    expect(parseMemKb('512k')).toBe(512);
    expect(parseMemKb('x')).toBeNaN();
  });
});

describe('domain_config -> build spec', () => {
  it('reads the libxl layout', () => {
    const s = toBuildSpec({
      c_info: { name: 'g', type: 'pvh', uuid: '12345678-1234-4234-8234-123456789abc', pool_name: 'Pool-0' },
      b_info: { max_vcpus: 4, avail_vcpus: [0, 1], max_memkb: 131072, target_memkb: 65536, sched_params: { weight: 512, cap: 50 }, cpumap: '0-1', cpumap_soft: [2, 3], kernel: '/k', cmdline: 'x=1' },
      nics: [{ mac: '00:16:3e:00:00:01' }],
      vtpms: [{ backend_domname: 'vtpmmgr' }],
      on_crash: 'coredump_restart', on_reboot: 'rename-restart',
    }, topo);
    expect(s).toMatchObject({ name: 'g', type: 'pvh', memoryMiB: 64, maxMemoryMiB: 128, vcpus: 2, maxVcpus: 4, weight: 512, cap: 50, hardAll: [0, 1], pool: 'Pool-0', cmdline: 'x=1' });
    expect(s.soft[3]).toEqual([2, 3]);
    expect(s.actions).toEqual({ poweroff: 'destroy', reboot: 'rename-restart', crash: 'coredump-restart', watchdog: 'destroy', soft_reset: 'soft-reset' });
    // vifs are served by pv-net (the builder adds them); a vTPM still has no backend.
    expect(s.warnings).toEqual([expect.stringMatching(/^vtpm: 1 device\(s\) configured, but Tachyxx has no vtpm backend/)]);
  });

  it('refuses hvm with the reason, and bad values naming the key', () => {
    expect(() => toBuildSpec({ c_info: { name: 'g', type: 'hvm' }, b_info: { kernel: '/k' } }, topo)).toThrow(/needs device emulation/);
    expect(() => toBuildSpec({ c_info: { name: 'g' }, b_info: { kernel: '/k', target_memkb: 8192, max_memkb: 4096 } }, topo)).toThrow(/must not be more than maxmem/);
    expect(() => toBuildSpec({ c_info: { name: 'g' }, b_info: {}, }, topo)).toThrow(/kernel image is required/);
    expect(() => toBuildSpec({ c_info: { name: 'g' }, b_info: { kernel: '/k' }, on_crash: 'explode' }, topo)).toThrow(/on_crash: invalid action 'explode' \(allowed: destroy, restart/);
    expect(() => toBuildSpec({ c_info: { name: '12' }, b_info: { kernel: '/k' } }, topo)).toThrow(/all digits/);
  });
});

describe('Toolstack', () => {
  it('lists dom0 with its configured memory and vCPUs, blocked in vcpu-list', async () => {
    const ts = makeToolstack({ dom0: { memoryMiB: 128, vcpus: 2 } });
    const l = ts.list();
    expect(l).toHaveLength(1);
    expect(l[0]).toMatchObject({ name: 'Domain-0', domid: 0, memMiB: 128, vcpus: 2, state: 'r-----' });
    const v = (await op(ts, 'vcpu-list')).vcpus;
    expect(v.map((x: any) => [x.name, x.vcpu, x.state])).toEqual([['Domain-0', 0, '-b-'], ['Domain-0', 1, '-b-']]);
    const info = Object.fromEntries((await op(ts, 'info')).info);
    expect(info).toMatchObject({ nr_cpus: '4', total_memory: '1024', xen_version: '4.17-tachyxx', nr_nodes: '1' });
    expect(Number(info.free_memory)).toBeLessThanOrEqual(1024 - 128);
  });

  it('creates, writes the xenstore entries, runs, and destroys', async () => {
    const ts = makeToolstack();
    const r = await op(ts, 'create', { config: cfg('hello', 'hello', { on_poweroff: 'preserve' }, { max_vcpus: 2, avail_vcpus: [0] }) });
    expect(r).toMatchObject({ domid: 1, name: 'hello' });
    const dom = '/local/domain/1';
    const read = (p: string) => Buffer.from(ts.xs.peek(p)!.value).toString();
    expect(read(`${dom}/name`)).toBe('hello');
    expect(read(`${dom}/memory/target`)).toBe('16384');
    expect(read(`${dom}/cpu/0/availability`)).toBe('online');
    expect(read(`${dom}/cpu/1/availability`)).toBe('offline');
    expect(read(`/vm/${r.uuid}/name`)).toBe('hello');
    await runUntil(ts, shutDown(ts, 'hello'));
    expect(ts.list()[1]).toMatchObject({ state: '---s--', shutdownReason: 'poweroff' });
    await op(ts, 'destroy', { domain: 'hello' });
    expect(ts.xs.peek(dom)).toBeUndefined();
    expect(ts.list()).toHaveLength(1);
  });

  it('refuses duplicate names, unknown domains and too much memory like xl', async () => {
    const ts = makeToolstack();
    await op(ts, 'create', { config: cfg('a', 'spin'), paused: true });
    await rejects(op(ts, 'create', { config: cfg('a', 'spin') }), 'EEXIST', /Domain with name "a" already exists/);
    await rejects(op(ts, 'create', { config: cfg('Domain-0', 'spin') }), 'EEXIST');
    await rejects(op(ts, 'destroy', { domain: 'nope' }), 'ESRCH', /nope is an invalid domain identifier/);
    await rejects(op(ts, 'pause', { domain: 7 }), 'ESRCH');
    await rejects(op(ts, 'create', { config: cfg('big', 'spin', {}, { max_memkb: 4 << 20, target_memkb: 4 << 20 }) }), 'ENOMEM', /not enough memory/);
    await rejects(op(ts, 'create', { config: { c_info: { name: 'h', type: 'hvm' }, b_info: { kernel: GUEST('hello') } } }), 'ENOTSUP');
    await rejects(op(ts, 'create', { config: cfg('nok', 'nope') }), 'ENOENT', /no such file/);
    await rejects(op(ts, 'frobnicate'), 'ENOSYS');
    await rejects(op(ts, 'destroy', { domain: 0 }), 'EPERM');
  });

  it('create + destroy 200 times releases every frame, xenstore node, port and grant table', async () => {
    const ts = makeToolstack();
    // The first create allocates the pools everything else reuses (P2M roots etc. come back too).
    const runner = new HostRunner(ts, { paced: false });
    const before = ts.counts();
    for (let i = 0; i < 200; i++) {
      const guest = ['hello', 'spin', 'crash', 'minikernel'][i % 4]!;
      const { domid } = await op(ts, 'create', { config: cfg(`d${i}`, guest, {}, { max_vcpus: 1 + (i % 3), avail_vcpus: [0] }), paused: i % 2 === 1 });
      if (i % 3 === 0) runner.step();
      if (ts.list().some((d) => d.domid === domid)) await op(ts, 'destroy', { domain: domid });
    }
    expect(ts.counts()).toEqual(before);
  });

  it('on_crash: destroy, preserve, restart (new domid, same name and uuid), rename-restart, coredump-destroy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tachyxx-ts-'));
    const ts = makeToolstack({}, { logDir: dir });
    const before = ts.counts();

    await op(ts, 'create', { config: cfg('c-destroy', 'crash', { on_crash: 'destroy' }) });
    await runUntil(ts, gone(ts, 'c-destroy'));

    await op(ts, 'create', { config: cfg('c-preserve', 'crash', { on_crash: 'preserve' }) });
    await runUntil(ts, shutDown(ts, 'c-preserve'));
    expect(ts.list().find((d) => d.name === 'c-preserve')).toMatchObject({ state: '----c-', status: 'crashed', shutdownReason: 'crash' });
    await op(ts, 'destroy', { domain: 'c-preserve' });

    const events = fakeCtx();
    await op(ts, 'events', {}, events);
    const first = await op(ts, 'create', { config: cfg('c-restart', 'crash', { on_crash: 'restart' }) });
    await runUntil(ts, () => events.events.some((e) => e.ev.kind === 'restarted'));
    const again = ts.list().find((d) => d.name === 'c-restart')!;
    expect(again.domid).not.toBe(first.domid);
    expect(again.uuid).toBe(first.uuid);
    await op(ts, 'destroy', { domain: 'c-restart' });

    await op(ts, 'create', { config: cfg('c-rename', 'crash', { on_crash: 'rename-restart' }) });
    await runUntil(ts, () => ts.list().some((d) => d.name.startsWith('c-rename--')));
    const renamed = ts.list().find((d) => d.name.startsWith('c-rename--'))!;
    expect(renamed.state).toBe('----c-');
    expect(ts.list().some((d) => d.name === 'c-rename' && d.domid !== renamed.domid)).toBe(true);
    for (const d of ts.list().filter((x) => x.name.startsWith('c-rename'))) await op(ts, 'destroy', { domain: d.domid });

    await op(ts, 'create', { config: cfg('c-core', 'crash', { on_crash: 'coredump-destroy' }) });
    await runUntil(ts, gone(ts, 'c-core'));
    const cores = readdirSync(join(dir, 'dump'));
    expect(cores.length).toBe(1);
    const core = readFileSync(join(dir, 'dump', cores[0]!));
    const header = JSON.parse(core.subarray(0, core.indexOf(10)).toString());
    expect(header).toMatchObject({ format: 'tachyxx-core/1', name: 'c-core', reason: 'crash', memory: { bytes: 16 << 20 } });
    expect(core.length).toBe(core.indexOf(10) + 1 + (16 << 20));

    ts.close();
    expect(readFileSync(join(dir, 'guest-c-destroy.log'), 'utf8')).toContain('crash: about to crash on purpose');
    expect(readFileSync(join(dir, 'hypervisor.log'), 'utf8')).toMatch(/has shut down, reason crash; action coredump-destroy/);
    expect(ts.counts()).toEqual(before);
  });

  it('shutdown -w and reboot (rebuild with a new domid)', async () => {
    const ts = makeToolstack();
    await op(ts, 'create', { config: cfg('s', 'spin') });
    await runUntil(ts, () => ts.host.instructions() > 1000);
    const r = await op(ts, 'reboot', { domain: 's', wait: true });
    expect(r.domains[0]).toMatchObject({ domid: 1, reason: 'reboot', action: 'restart', newDomid: 2 });
    expect(ts.list().map((d) => [d.name, d.domid])).toEqual([['Domain-0', 0], ['s', 2]]);
    const w = await op(ts, 'shutdown', { domain: 's', wait: true });
    expect(w.domains[0]).toMatchObject({ domid: 2, reason: 'poweroff', action: 'destroy' });
    expect(ts.list()).toHaveLength(1);
  });

  it('pause/unpause, vcpu-pin, vcpu-set, sched-credit, mem-set, mem-max, rename, domid/domname', async () => {
    const ts = makeToolstack();
    await op(ts, 'create', { config: cfg('p', 'spin', {}, { max_vcpus: 2, avail_vcpus: [0, 1], cpumap: '1-2' }) });
    await op(ts, 'pause', { domain: 'p' });
    expect(ts.list()[1]!.state).toBe('--p---');
    await rejects(op(ts, 'unpause', { domain: 'p' }).then(() => op(ts, 'unpause', { domain: 'p' })), 'EINVAL', /not paused/);
    let v = (await op(ts, 'vcpu-list', { domain: 'p' })).vcpus;
    expect(v[0]).toMatchObject({ hard: '1-2', soft: 'all' });
    await op(ts, 'vcpu-pin', { domain: 'p', vcpu: 1, hard: '3', soft: '-' });
    v = (await op(ts, 'vcpu-list', { domain: 'p' })).vcpus;
    expect(v.map((x: any) => x.hard)).toEqual(['1-2', '3']);
    await rejects(op(ts, 'vcpu-pin', { domain: 'p', vcpu: 5, hard: '1' }), 'EINVAL');
    await op(ts, 'vcpu-set', { domain: 'p', count: 1 });
    expect(Buffer.from(ts.xs.peek('/local/domain/1/cpu/1/availability')!.value).toString()).toBe('offline');
    await rejects(op(ts, 'vcpu-set', { domain: 'p', count: 3 }), 'EINVAL', /maximum \(2\)/);
    const sc = await op(ts, 'sched-credit', { domain: 'p', weight: 512, cap: 25 });
    expect(sc.domains).toEqual([{ name: 'p', domid: 1, weight: 512, cap: 25 }]);
    expect((await op(ts, 'sched-credit')).domains.map((d: any) => d.weight)).toEqual([256, 512]);
    await op(ts, 'mem-set', { domain: 'p', mem: '8' });
    expect(ts.list()[1]).toMatchObject({ targetMemkb: 8192 });
    expect(Buffer.from(ts.xs.peek('/local/domain/1/memory/target')!.value).toString()).toBe('8192');
    await rejects(op(ts, 'mem-set', { domain: 'p', mem: '32' }), 'EINVAL', /memory_dynamic_max/);
    await op(ts, 'mem-max', { domain: 'p', memkb: 32768 });
    expect(ts.host.domains.get(1)!.maxPages).toBe(8192);
    await op(ts, 'rename', { domain: 'p', name: 'q' });
    expect(await op(ts, 'domid', { name: 'q' })).toEqual({ domid: 1 });
    expect(await op(ts, 'domname', { domid: 1 })).toEqual({ name: 'q' });
    // The old name is free again even though the hypervisor still calls the domain 'p'.
    await op(ts, 'create', { config: cfg('p', 'spin'), paused: true });
    expect(ts.list().map((d) => d.name)).toEqual(['Domain-0', 'q', 'p']);
  });

  it('cpupools: create, migrate, numa-split', async () => {
    const ts = makeToolstack({ numa: { nodes: [{ memoryMiB: 512, pcpus: [0, 1] }, { memoryMiB: 512, pcpus: [2, 3] }] } });
    expect((await op(ts, 'cpupool-numa-split')).pools).toEqual(['Pool-node0', 'Pool-node1']);
    const pools = (await op(ts, 'cpupool-list')).pools;
    expect(pools.map((p: any) => [p.name, p.cpuList, p.domains])).toEqual([['Pool-node0', '0-1', 1], ['Pool-node1', '2-3', 0]]);
    await op(ts, 'create', { config: { ...cfg('n1', 'spin'), c_info: { name: 'n1', pool_name: 'Pool-node1' } }, paused: true });
    expect(ts.list()[1]!.pool).toBe('Pool-node1');
    expect((await op(ts, 'vcpu-list', { domain: 'n1' })).vcpus[0].cpu).toBeGreaterThanOrEqual(2);
    await op(ts, 'cpupool-migrate', { domain: 'n1', pool: 'Pool-node0' });
    expect(ts.list()[1]!.pool).toBe('Pool-node0');
    await op(ts, 'cpupool-cpu-remove', { pool: 'Pool-node1', cpus: '3' });
    await op(ts, 'cpupool-create', { name: 'solo', sched: 'rr', cpus: '3' });
    expect((await op(ts, 'cpupool-list', { pool: 'solo' })).pools[0]).toMatchObject({ sched: 'rr', cpus: 1 });
    await rejects(op(ts, 'cpupool-create', { name: 'x', cpus: '0' }), 'EBUSY', /not free/);
  });

  it('NUMA placement when nothing is pinned: soft affinity on one node', async () => {
    const ts = makeToolstack({ numa: { nodes: [{ memoryMiB: 512, pcpus: [0, 1] }, { memoryMiB: 512, pcpus: [2, 3] }] } });
    await op(ts, 'create', { config: cfg('numa', 'spin', {}, { max_vcpus: 2 }), paused: true });
    const v = (await op(ts, 'vcpu-list', { domain: 'numa' })).vcpus;
    expect(['0-1', '2-3']).toContain(v[0].soft);
    expect(v[0].hard).toBe('all');
  });

  it("dom0's console streams the host log from the bus (HOST_LOG): kept lines first, then live ones", async () => {
    const ts = makeToolstack();
    ts.log('(XEN) before the stream');
    const ctx = fakeCtx();
    await op(ts, 'console', { domain: 0 }, ctx);
    ts.log('(XEN) while streaming');
    const lines = () => ctx.events.filter((e) => e.ev.event === 'console').map((e) => Buffer.from(e.ev.data as string, 'base64').toString());
    expect(lines()).toContain('(XEN) before the stream\n');
    expect(lines().at(-1)).toBe('(XEN) while streaming\n');
  });

  it('console streams replay and live output, then end on shutdown; top reports CPU %', async () => {
    const ts = makeToolstack();
    await op(ts, 'create', { config: cfg('h', 'hello'), paused: true });
    const ctx = fakeCtx();
    await op(ts, 'console', { domain: 'h' }, ctx);
    await op(ts, 'unpause', { domain: 'h' });
    await runUntil(ts, gone(ts, 'h'));
    const text = ctx.events.filter((e) => e.ev.event === 'console').map((e) => Buffer.from(e.ev.data as string, 'base64').toString()).join('');
    expect(text).toContain('Hello from Tachyxx!');
    expect(ctx.events.at(-1)!.ev).toMatchObject({ event: 'end', reason: 'destroyed' });

    await op(ts, 'create', { config: cfg('busy', 'spin') });
    const tctx = fakeCtx();
    await op(ts, 'top', {}, tctx);
    await runUntil(ts, () => ts.host.clock.now > 50_000_000);
    const top = await op(ts, 'top', {}, tctx);
    expect(top.domains[1].cpuPct).toBeGreaterThan(50);
    expect(top.domains[1].name).toBe('busy');
  });
});
