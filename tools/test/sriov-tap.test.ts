// The host reaches a VF domain (issue 14: "a VF domain pings ... the host (through the uplink)"):
// a `tachyxx host --unpaced` daemon with examples/host-sriov.yaml plus a pv-net UDP uplink of
// xenbr0 to a TAP interface made by socat in a network namespace; the VF domain runs udpecho-vf
// (guests/udpecho over the C VF driver, whose stack answers ARP and ICMP echo). The real `ping`
// in the namespace crosses TAP -> socat -> the bridge -> the NIC's PF uplink port -> the NIC's
// switch -> the VF's RX ring, and back. Needs root (netns, TAP), socat, iproute2 and ping, and
// the build; otherwise SKIPPED with the reason.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GUEST, ROOT, TACHYXX, cliBuilt, until, xlSync } from './process-helpers.js';

const tools = ['/usr/bin/socat', '/usr/bin/ping', '/usr/sbin/ip'];
const missing = tools.filter((t) => !existsSync(t));
const why = process.getuid?.() !== 0 ? 'not root (network namespaces and TAP devices need it)'
  : missing.length ? `missing ${missing.join(', ')}` : !(cliBuilt && existsSync(GUEST('udpecho-vf'))) ? 'not built (pnpm build, pnpm guests)' : '';
if (why) console.warn(`sriov-tap: ${why} - SKIPPED`);

const dir = mkdtempSync(join(tmpdir(), 'tachyxx-sriov-tap-'));
const socket = join(dir, 'host.sock');
const local = 30000 + (process.pid % 20000), peer = local + 1;
const ns = `tachyxx-sriov-${process.pid}`, tap = `txs${process.pid % 100000}`;
const ip = (...a: string[]) => spawnSync('/usr/sbin/ip', a, { encoding: 'utf8' });
const xl = (...args: string[]) => xlSync(socket, args, 60_000);
let host: ChildProcess | null = null;
let socat: ChildProcess | null = null;

beforeAll(async () => {
  if (why) return;
  const yaml = readFileSync(join(ROOT, 'examples/host-sriov.yaml'), 'utf8').replace('pv-net: bridge', `pv-net: { variant: bridge, uplink: "xenbr0:${local}:${peer}" }`);
  writeFileSync(join(dir, 'host.yaml'), yaml);
  host = spawn(process.execPath, [TACHYXX, 'host', '--unpaced', '--config', join(dir, 'host.yaml'), '--socket', socket, '--log-dir', join(dir, 'log')], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  host.stderr!.on('data', (d) => (err += d));
  await until(() => err.includes('listening on'), 20_000);
  expect(ip('netns', 'add', ns).status).toBe(0);
  socat = spawn('/usr/bin/socat', [`TUN,tun-type=tap,tun-name=${tap},iff-no-pi,iff-up`, `UDP-DATAGRAM:127.0.0.1:${local},bind=127.0.0.1:${peer}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  for (let i = 0; i < 100 && ip('link', 'show', tap).status !== 0; i++) await new Promise((r) => setTimeout(r, 50));
  expect(ip('link', 'set', tap, 'netns', ns).stderr).toBe('');
  expect(ip('-n', ns, 'link', 'set', tap, 'up').stderr).toBe('');
  expect(ip('-n', ns, 'addr', 'add', '10.77.1.1/24', 'dev', tap).stderr).toBe('');
});

afterAll(async () => {
  if (socat && socat.exitCode === null) { socat.kill('SIGTERM'); await new Promise((r) => socat!.once('exit', r)); }
  if (!why) ip('netns', 'del', ns);
  if (host && host.exitCode === null) { host.kill('SIGTERM'); await new Promise((r) => host!.once('exit', r)); }
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!!why)('the host pings a VF domain through the TAP uplink', () => {
  it('ping -c 3 from a network namespace: 3 replies from udpecho-vf on VF 1', async () => {
    const cfg = join(dir, 'vf.cfg');
    writeFileSync(cfg, `name = "vfecho"\ntype = "pv"\nkernel = "${GUEST('udpecho-vf')}"\nmemory = 16\npci = [ '01:10.0,seize=1' ]\nextra = "ip=10.77.1.2/24"\n`);
    const c = xl('create', '-q', cfg);
    expect(c.status, c.stderr).toBe(0);
    const ping = spawn('/usr/sbin/ip', ['netns', 'exec', ns, '/usr/bin/ping', '-n', '-c', '3', '-i', '0.3', '-W', '5', '10.77.1.2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    ping.stdout!.on('data', (b) => (out += b));
    ping.stderr!.on('data', (b) => (out += b));
    const code = await new Promise<number | null>((r) => ping.on('exit', r));
    expect(code, out).toBe(0);
    expect(out).toMatch(/3 packets transmitted, 3 received/);
    const st = JSON.parse(xl('stats', 'host.sriov-nic.pf0').stdout);
    expect(st.fromUplink).toBeGreaterThanOrEqual(4);
    expect(st.vf1.rxPkts).toBeGreaterThanOrEqual(4);
    expect(xl('destroy', 'vfecho').status).toBe(0);
  });
});
