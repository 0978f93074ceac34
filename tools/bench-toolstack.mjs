#!/usr/bin/env node
// `pnpm bench:toolstack`: the toolstack's numbers (issue 5, section 6), measured with a real
// `tachyxx host` daemon process and real `xl` processes, written to docs/benchmarks.md.
//  - xl create -> first console byte of a small domain (hello, 16 MiB): wall (xl process spawn
//    to the first byte on its stdout) and simulated time (the host's clock, unpaced host);
//  - domains created and destroyed per second (over the control socket, and with xl processes);
//  - xl list latency with 100 domains;
//  - host memory (RSS) per idle 64 MiB domain.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostClient } from '../packages/toolstack/dist/index.js';
import { machineLine, writeBenchSection } from './lib/bench-report.mjs';

const root = new URL('..', import.meta.url).pathname;
const XL = join(root, 'apps/xl/dist/cli.js');
const TACHYXX = join(root, 'apps/runner/dist/cli.js');
const tmp = mkdtempSync(join(tmpdir(), 'tachyxx-bench-ts-'));
const hosts = [];
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startHost(name, extra = []) {
  const socket = join(tmp, `${name}.sock`);
  const p = spawn(process.execPath, [TACHYXX, 'host', '--socket', socket, '--log-dir', join(tmp, `${name}-log`), ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  hosts.push(p);
  let err = '';
  p.stderr.on('data', (d) => (err += d));
  for (let i = 0; i < 400 && !err.includes('listening on'); i++) await sleep(25);
  if (!err.includes('listening on')) throw new Error(`host did not start: ${err}`);
  return { socket, pid: p.pid, proc: p, client: await HostClient.connect(socket) };
}
function stopAll() {
  for (const p of hosts) if (p.exitCode === null) p.kill('SIGTERM');
}
process.on('exit', () => {
  stopAll();
  rmSync(tmp, { recursive: true, force: true });
});

const kernel = join(root, 'guests/build/hello.elf');
const cfgFile = (name, mem, extra = '') => {
  const f = join(tmp, `${name}.cfg`);
  writeFileSync(f, `name = "${name}"\nkernel = "${kernel}"\nmemory = ${mem}\n${extra}`);
  return f;
};
const domainConfig = (name, memMiB) => ({
  c_info: { type: 'pv', name }, b_info: { max_vcpus: 1, avail_vcpus: [0], max_memkb: memMiB * 1024, target_memkb: memMiB * 1024, kernel },
});
const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

/** Spawns `xl create -c FILE`; resolves with ms from spawn to the first stdout byte, and to exit. */
function createToFirstByte(socket, file) {
  return new Promise((res, rej) => {
    const t0 = performance.now();
    let first = null;
    const p = spawn(process.execPath, [XL, 'create', '-c', '-q', file], { env: { ...process.env, TACHYXX_HOST: socket }, stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout.once('data', () => (first = performance.now() - t0));
    p.on('exit', (code) => (code === 0 && first !== null ? res({ first, exit: performance.now() - t0 }) : rej(new Error(`xl create -c exited ${code}`))));
  });
}
const xlTimed = (socket, ...args) => {
  const t0 = performance.now();
  const p = spawnSync(process.execPath, [XL, ...args], { env: { ...process.env, TACHYXX_HOST: socket }, encoding: 'utf8' });
  if (p.status !== 0) throw new Error(`xl ${args.join(' ')}: ${p.stderr}`);
  return performance.now() - t0;
};

// Node's own start: the floor under every xl process.
const nodeStart = median(Array.from({ length: 7 }, () => {
  const t0 = performance.now();
  spawnSync(process.execPath, ['-e', '0']);
  return performance.now() - t0;
}));

// ---- 1. create -> first console byte (paced host, as a user runs it) --------------------------
const paced = await startHost('paced');
const hello = cfgFile('hello', 16);
await createToFirstByte(paced.socket, hello); // warm-up (host JIT, page cache)
const firsts = [];
const exits = [];
for (let i = 0; i < 15; i++) {
  const r = await createToFirstByte(paced.socket, hello);
  firsts.push(r.first);
  exits.push(r.exit);
}
// The same over the socket without an xl process (what the host itself takes).
const inproc = [];
for (let i = 0; i < 15; i++) {
  const c = paced.client;
  const t0 = performance.now();
  const d = await c.call('create', { config: domainConfig('hello-sock', 16), paused: true });
  await new Promise((res) => {
    c.call('console', { domain: d.domid }, (ev) => ev.event === 'console' && res());
    void c.call('unpause', { domain: d.domid });
  });
  inproc.push(performance.now() - t0);
  for (let k = 0; k < 100 && (await c.call('list')).domains.some((x) => x.name === 'hello-sock'); k++) await sleep(5);
}

// Simulated time to the first byte: an unpaced host (the clock moves only with the guest).
const unpaced = await startHost('unpaced', ['--unpaced']);
const simFirst = [];
for (let i = 0; i < 5; i++) {
  const c = unpaced.client;
  const d = await c.call('create', { config: domainConfig(`sim${i}`, 16), paused: true });
  const now = async () => Number((await c.call('info')).info.find(([k]) => k === 'sim_time_ns')[1]);
  const t0 = await now();
  let tFirst = null;
  await new Promise((res) => {
    c.call('console', { domain: d.domid }, (ev) => {
      if (ev.event === 'console' && tFirst === null) {
        tFirst = now();
        res();
      }
    });
    void c.call('unpause', { domain: d.domid });
  });
  simFirst.push((await tFirst) - t0);
}
// The guest's own simulated time to its first console write (bare run, exact).
const bare = spawnSync(process.execPath, [TACHYXX, 'run', '--bare', kernel, '--stats', join(tmp, 's.json')], { encoding: 'utf8' });
const bareStats = bare.status === 0 ? JSON.parse(readFileSync(join(tmp, 's.json'), 'utf8')) : null;

// ---- 2. create + destroy rate --------------------------------------------------------------------
const c = paced.client;
const N = 200;
let t0 = performance.now();
for (let i = 0; i < N; i++) {
  const d = await c.call('create', { config: domainConfig(`rate${i}`, 16), paused: true });
  await c.call('destroy', { domain: d.domid });
}
const sockRate = N / ((performance.now() - t0) / 1000);
const M = 10;
const pausedCfg = cfgFile('ratexl', 16);
t0 = performance.now();
for (let i = 0; i < M; i++) {
  xlTimed(paced.socket, 'create', '-q', '-p', pausedCfg);
  xlTimed(paced.socket, 'destroy', 'ratexl');
}
const xlRate = M / ((performance.now() - t0) / 1000);

// ---- 3. xl list with 100 domains -------------------------------------------------------------------
for (let i = 0; i < 100; i++) await c.call('create', { config: domainConfig(`d${i}`, 16), paused: true });
const listXl = median(Array.from({ length: 9 }, () => xlTimed(paced.socket, 'list')));
const listSock = [];
for (let i = 0; i < 20; i++) {
  const t = performance.now();
  await c.call('list');
  listSock.push(performance.now() - t);
}
for (let i = 0; i < 100; i++) await c.call('destroy', { domain: `d${i}` });

// ---- 4. RSS per idle 64 MiB domain ---------------------------------------------------------------
// A fresh host; idle = built and paused (its image loaded, about 1 MiB touched).
const mem = await startHost('mem');
const K = 20;
await sleep(300);
globalThis.gc?.();
const rss0 = rssKiB(mem.pid);
for (let i = 0; i < K; i++) await mem.client.call('create', { config: domainConfig(`m${i}`, 64), paused: true });
await sleep(500);
const rss1 = rssKiB(mem.pid);
const perDomainKiB = (rss1 - rss0) / K;
// ... and domains that booted, ran and now wait (guests/deadlock: prints, then wfi forever;
// about 1 MiB touched: its image, stack, start_info, shared info, the store ring).
const ranKernel = join(root, 'guests/build/deadlock.elf');
for (let i = 0; i < K; i++) {
  await mem.client.call('create', { config: { ...domainConfig(`r${i}`, 64), b_info: { ...domainConfig(`r${i}`, 64).b_info, kernel: ranKernel } } });
}
await sleep(800);
const rss2 = rssKiB(mem.pid);
const perRanDomainKiB = (rss2 - rss1) / K;

for (const h of [paced, unpaced, mem]) h.client.close();
stopAll();

const f = (x, d = 1) => x.toFixed(d);
const body = `
\`pnpm bench:toolstack\` (tools/bench-toolstack.mjs): a real \`tachyxx host\` daemon process (4 pCPUs,
4096 MiB, paced unless noted) and real \`xl\` processes. ${machineLine()}.

| what | result | target |
|---|---|---|
| \`xl create -c\` of hello (16 MiB) to its first console byte, wall, median of 15 | **${f(median(firsts))} ms** (min ${f(Math.min(...firsts))}, max ${f(Math.max(...firsts))}); the whole \`xl create -c\` until the domain is gone: ${f(median(exits))} ms | < 150 ms |
| of which: a bare \`node -e 0\` start | ${f(nodeStart)} ms | |
| the same over the control socket, no xl process (create paused, attach, unpause, first byte) | ${f(median(inproc), 2)} ms | |
| simulated time, create to first console byte (unpaced host; host clock between the two) | ${f(median(simFirst) / 1e6, 3)} ms (median of 5)${bareStats ? `; hello's whole run bare: ${f(bareStats.simNs / 1e6, 3)} ms, ${bareStats.instructions.toLocaleString('en')} instructions` : ''} | |
| domains created + destroyed per second, over the socket (16 MiB, paused, ${N} pairs) | **${f(sockRate, 0)} /s** | |
| domains created + destroyed per second with \`xl create -p\` + \`xl destroy\` processes (${M} pairs) | ${f(xlRate, 1)} /s | |
| \`xl list\` with 100 domains (+ Domain-0), the whole xl process, median of 9 | **${f(listXl)} ms** | |
| the \`list\` op alone over the socket with 100 domains, median of 20 | ${f(median(listSock), 2)} ms | |
| host RSS per idle 64 MiB domain (built and paused, image loaded; ${K} domains, RSS delta / ${K}) | **${f(perDomainKiB / 1024, 2)} MiB** | < 2 MiB |
| host RSS per 64 MiB domain that booted, ran and now waits (guests/deadlock; ${K} domains) | **${f(perRanDomainKiB / 1024, 2)} MiB** | < 2 MiB |

An xl process loads only its socket client (type-only imports from @tachyxx/toolstack);
\`xl create\` also loads the xl.cfg parser and \`@tachyxx/core/errors\` (the light entry, without DI and RxJS).
`;
writeBenchSection(join(root, 'docs/benchmarks.md'), 'Toolstack', body);
process.stdout.write(body);
