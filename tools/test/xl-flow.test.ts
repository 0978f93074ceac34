// The whole xl workflow through real processes, as a user runs it: a `tachyxx host` daemon
// process on a temporary socket, and one `xl` process per command (apps/xl/dist/cli.js).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { ROOT, XL, cliBuilt, sleep, until, xlSync, startHost, stopHost } from './process-helpers.js';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const built = cliBuilt;

const dir = mkdtempSync(join(tmpdir(), 'tachyxx-xl-flow-'));
const socket = join(dir, 'host.sock');
const logDir = join(dir, 'log');
let host: ChildProcess | null = null;

const xl = (...args: string[]) => xlSync(socket, args);
function cfg(name: string, text: string): string {
  const f = join(dir, `${name}.cfg`);
  writeFileSync(f, text);
  return f;
}
const listRows = () => xl('list').stdout.trim().split('\n').slice(1);
const row = (name: string) => listRows().find((l) => l.startsWith(`${name} `));

beforeAll(async () => {
  if (!built) return;
  host = await startHost(['--socket', socket, '--log-dir', logDir]);
});

afterAll(async () => {
  await stopHost(host);
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!built)('xl against a running tachyxx host (real processes)', () => {
  it('no host on the socket: a clear message naming it and how to start one, exit 1', () => {
    const p = spawnSync(process.execPath, [XL, 'list'], { encoding: 'utf8', env: { ...process.env, TACHYXX_HOST: join(dir, 'nothing.sock') } });
    expect(p.status).toBe(1);
    expect(p.stderr).toContain(`cannot reach a Tachyxx host at ${join(dir, 'nothing.sock')}`);
    expect(p.stderr).toContain("tachyxx host --detach");
  });

  it('create -c prints the console and returns when the domain powers off; it is gone after', () => {
    const r = xl('create', '-c', 'examples/hello.cfg');
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('Parsing config from examples/hello.cfg\n');
    expect(r.stdout).toMatch(/^Hello from Tachyxx!\n/);
    expect(r.stdout).toContain('snprintf: [snprintf-12345-] 24');
    expect(row('hello')).toBeUndefined();
    expect(readFileSync(join(logDir, 'guest-hello.log'), 'utf8')).toMatch(/^Hello from Tachyxx!/);
  });

  it('xl list: the exact column layout of xl (golden), Domain-0 first', () => {
    expect(xl('create', '-q', 'examples/spin.cfg').status).toBe(0);
    expect(xl('create', '-q', '-p', 'examples/vcpus.cfg').status).toBe(0);
    const r = xl('list');
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('Name                                        ID   Mem VCPUs\tState\tTime(s)');
    expect(lines[1]).toBe('Domain-0                                     0   256     1     r-----       0.0');
    // printf("%-40s %5d %5lu %5d     %c%c%c%c%c%c  %8.1f")
    expect(lines[2]).toMatch(/^spin {36} +\d+ {4}16 {5}1 {5}[r-][b-]---- +\d+\.\d$/);
    expect(lines[2]!.length).toBe(40 + 1 + 5 + 1 + 5 + 1 + 5 + 5 + 6 + 2 + 8);
    expect(lines[3]).toMatch(/^vcpus {35} +\d+ {4}16 {5}1 {5}--p--- {7}0\.0$/);
    // one domain, by name or id; -v adds the UUID and reason code; -l is JSON
    const id = xl('domid', 'spin').stdout.trim();
    expect(xl('list', id).stdout.split('\n')[1]).toMatch(/^spin /);
    expect(xl('list', '-v', 'vcpus').stdout.split('\n')[1]).toMatch(/--p--- +0\.0 [0-9a-f-]{36} {8}- {16}-$/);
    const long = JSON.parse(xl('list', '-l', 'spin').stdout);
    expect(long[0]).toMatchObject({ domid: Number(id), config: { c_info: { name: 'spin', type: 'pv' }, b_info: { max_vcpus: 1 } } });
  });

  it('vcpu-list, unpause + console (background), pause/unpause, rename, domid/domname', async () => {
    const v = xl('vcpu-list', 'vcpus');
    expect(v.stdout.split('\n')[0]).toBe('Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)');
    expect(v.stdout.trim().split('\n')).toHaveLength(5);
    expect(v.stdout).toMatch(/^vcpus +\d+ +3 +- +--p +0\.0  all \/ all$/m);

    const con = spawn(process.execPath, [XL, 'console', 'vcpus'], { cwd: ROOT, env: { ...process.env, TACHYXX_HOST: socket } });
    let out = '';
    con.stdout.on('data', (d) => (out += d));
    const exit = new Promise<number | null>((r) => con.on('exit', r));
    await sleep(300);
    expect(xl('unpause', 'vcpus').status).toBe(0);
    expect(await exit).toBe(0);
    expect(out).toContain('vcpus: total 4');

    expect(xl('pause', 'spin').status).toBe(0);
    expect(row('spin')).toMatch(/ --p--- /);
    expect(xl('unpause', 'spin').status).toBe(0);
    expect(xl('rename', 'spin', 'spinner').status).toBe(0);
    const id = xl('domid', 'spinner').stdout.trim();
    expect(xl('domname', id).stdout).toBe('spinner\n');
    expect(xl('domid', 'spin')).toMatchObject({ status: 1, stderr: "Can't get domid of domain name 'spin', maybe this domain does not exist.\n" });
    expect(xl('domname', '999')).toMatchObject({ status: 1, stderr: "Can't get domain name of domain id '999', maybe this domain does not exist.\n" });
  });

  it('sched-credit, mem-set / mem-max, vcpu-set, info, dmesg, uptime, top -b', () => {
    expect(xl('sched-credit', '-d', 'spinner', '-w', '512', '-c', '25').status).toBe(0);
    // printf("%-33s %4s %6s %4s") / ("%-33s %4d %6d %4d")
    expect(xl('sched-credit', '-d', 'spinner').stdout).toMatch(/^Name {32}ID Weight  Cap\nspinner {27} +\d+ {4}512 {3}25\n$/);
    const all = xl('sched-credit').stdout;
    expect(all).toMatch(/^Cpupool Pool-0: tslice=30ms ratelimit=1000us migration-delay=0us\n/);
    expect(all).toMatch(/^Domain-0 +0 +256 +0$/m);
    expect(xl('sched-credit', '-w', '5')).toMatchObject({ status: 1, stderr: 'Must specify a domain.\n' });

    expect(xl('mem-max', 'spinner', '32m').status).toBe(0);
    expect(xl('mem-set', 'spinner', '12')).toMatchObject({ status: 0 });
    expect(xl('mem-set', 'spinner', '1g').status).toBe(1);
    expect(xl('mem-set', 'spinner', 'lots')).toMatchObject({ status: 1, stderr: 'invalid memory size: lots\n' });
    expect(xl('vcpu-set', 'spinner', '1').status).toBe(0);
    expect(xl('vcpu-set', 'spinner', '9').status).toBe(1);

    const info = xl('info').stdout;
    expect(info).toMatch(/^host {19}: tachyxx$/m);
    expect(info).toMatch(/^total_memory {11}: 4096$/m);
    expect(info).toMatch(/^free_memory {12}: \d+$/m);
    expect(info).toMatch(/^xen_scheduler {10}: credit$/m);
    expect(xl('info', 'nr_cpus').stdout).toBe('4\n');

    expect(xl('dmesg').stdout).toMatch(/\(d0\) xl: built domain \d+ 'spin'/);
    // xl stats: the daemon's stats tree, one component per group (xenstored included).
    const tree = JSON.parse(xl('stats').stdout);
    expect(Object.keys(tree.host)).toEqual(expect.arrayContaining(['cpu0', 'cpu3', 'sched', 'hypervisor', 'evtchn', 'grant', 'xenstore', 'console']));
    expect(tree.host.xenstore.requests).toBeGreaterThan(0);
    expect(JSON.parse(xl('stats', 'host.evtchn.total').stdout)).toHaveProperty('sends');
    expect(xl('stats', 'host.nothing')).toMatchObject({ status: 1 });
    const up = xl('uptime').stdout.split('\n');
    expect(up[0]).toBe('Name                                ID Uptime');
    expect(up[1]).toMatch(/^Domain-0 {26} {3}0 +\d+:\d\d:\d\d$/);
    const top = xl('top', '-b', '-i', '2', '-d', '0.2').stdout;
    expect(top.match(/^xentop - /gm)).toHaveLength(2);
    // Capped at 25 %, the spinner is parked by credit most of the time: a sample catches it
    // running (-----r) or runnable-parked (------), never blocked; it used CPU either way.
    expect(top).toMatch(/^ {3}spinner -----[r-] +\d+ +\d+\.\d/m);
    expect(top).not.toMatch(/^ {3}spinner --b/m);
    expect(xl('cpupool-list').stdout).toBe('Name               CPUs   Sched     Active   Domain count\nPool-0               4    credit       y          2\n');
  });

  it('shutdown -w waits for the domain; destroy; unknown domains read like xl', () => {
    const s = xl('shutdown', '-w', 'spinner');
    expect(s.status).toBe(0);
    expect(s.stderr).toMatch(/^Shutting down domain \d+\nWaiting for 1 domains\nDomain \d+ has been shut down, reason code 0\n$/);
    expect(row('spinner')).toBeUndefined();
    for (const cmd of [['destroy', 'nope'], ['pause', 'nope'], ['list', 'nope'], ['console', 'nope'], ['vcpu-list', 'nope'], ['shutdown', 'nope']]) {
      expect(xl(...cmd), cmd.join(' ')).toMatchObject({ status: 1, stdout: '', stderr: 'nope is an invalid domain identifier (rc=-6)\n' });
    }
    expect(xl('shutdown')).toMatchObject({ status: 1, stderr: 'You must specify -a or a domain id.\n\n' });
    expect(xl('destroy', '0').stderr).toMatch(/^Not destroying domain 0; use -f to force\./);
  });

  it('create errors: duplicate name and not enough memory (exit 3), hvm refused with the reason (exit 1)', () => {
    expect(xl('create', '-q', 'examples/spin.cfg').status).toBe(0);
    const dup = xl('create', '-q', 'examples/spin.cfg');
    expect(dup.status).toBe(3);
    expect(dup.stderr).toMatch(/^libxl: error: Domain with name "spin" already exists\.\n/);
    const big = xl('create', '-q', 'examples/hello.cfg', 'memory=100000');
    expect(big.status).toBe(3);
    expect(big.stderr).toMatch(/^libxl: error: not enough memory: domain 'hello' needs 100000 MiB, the host has \d+ MiB free\n/);
    const hvm = xl('create', '-q', cfg('hvm', 'name = "h"\ntype = "hvm"\nkernel = "../guests/build/hello.elf"\nmemory = 16\n'));
    expect(hvm.status).toBe(1);
    expect(hvm.stderr).toMatch(/hvm\.cfg:2: not supported by Tachyxx: type: HVM guests need device emulation/);
    expect(hvm.stderr).toMatch(/xl: not creating domain 'h'/);
    expect(row('h')).toBeUndefined();
    expect(xl('destroy', 'spin').status).toBe(0);
  });

  it('on_crash = "preserve" keeps the crashed domain (---sc-); "restart" rebuilds it', async () => {
    expect(xl('create', '-q', 'examples/crash-preserve.cfg').status).toBe(0);
    await until(() => / ---sc- /.test(row('crash') ?? ''));
    expect(xl('destroy', 'crash').status).toBe(0);
    expect(xl('create', '-q', 'examples/crash-restart.cfg').status).toBe(0);
    // (The host reuses the lowest free domid, where Xen would count on: so count the restarts.)
    const restarts = () => xl('dmesg').stdout.match(/'crash' restarted as domain \d+/g)?.length ?? 0;
    await until(() => restarts() >= 2, 15_000);
    expect(xl('destroy', 'crash').status).toBe(0);
    expect(row('crash')).toBeUndefined();
  });

  it('create -c with a crashing, preserved guest returns after its console ends', () => {
    const r = xl('create', '-c', '-q', 'examples/crash-preserve.cfg');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('crash: about to crash on purpose\n');
    expect(xl('destroy', 'crash').status).toBe(0);
  });

  it('create -F stays in the foreground and reports the shutdown like xl', () => {
    const r = xl('create', '-F', '-q', 'examples/timer.cfg');
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^Waiting for domain timer \(domid (\d+)\) to die \[pid \d+\]\nDomain \1 has shut down, reason code 0 0x0\nAction for shutdown reason code 0 is destroy\nDomain \1 needs to be cleaned up: destroying the domain\nDone. Exiting now\n$/);
  });

  it('shutdown -w -a leaves only Domain-0', () => {
    expect(xl('create', '-q', 'examples/spin.cfg').status).toBe(0);
    expect(xl('create', '-q', '-p', 'examples/vcpus.cfg').status).toBe(0);
    const r = xl('shutdown', '-w', '-a');
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/Waiting for 2 domains\n/);
    expect(listRows()).toEqual(['Domain-0                                     0   256     1     r-----       0.0']);
  });
});
