#!/usr/bin/env node
// Block I/O benchmark (issue 11 §4): the blkbench C guest (guests/blkbench) on a pv-blk vbd over a
// file, in process (dom0's blkback, async file I/O, the `ssd` device model), and host `fio` on
// the same file in the same run for comparison. For each workload: IOPS and MB/s in simulated
// time (what the guest sees) and in wall time (what the host does), fio's wall IOPS and the ratio.
// Then blkbench once more with persistent grants off (grant copy per segment) for the
// per-request cost of each, and where the time goes at queue depth 32.
// Usage: pnpm bench:io  (= pnpm build && node tools/bench-io-blk.mjs && the networking part)
//        [--no-write]   print only, leave docs/benchmarks.md alone
//        [--no-fio]     skip fio (it is also skipped, and said so, when fio is not installed)
//        [--quick]      one run each instead of the best of 3, fio 1 s a workload; implies --no-write
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { hasCommand, machineLine, writeBenchSection } from './lib/bench-report.mjs';

const root = new URL('..', import.meta.url).pathname;
const dist = (pkg) => import(pathToFileURL(join(root, 'packages', pkg, 'dist/index.js')).href);
const [core, isa, mmu, sched, hv, evt, grant, xenstore, xenbus, pvblk] = await Promise.all(
  ['core', 'isa', 'mmu', 'sched', 'hypervisor', 'evtchn', 'grant', 'xenstore', 'xenbus', 'pv-blk'].map(dist),
);
const quick = process.argv.includes('--quick');
const write = !quick && !process.argv.includes('--no-write');
const wantFio = !process.argv.includes('--no-fio');
const DISK_MIB = 64;
const RUNS = quick ? 1 : 3;
const FIO_SECONDS = quick ? 1 : 2;
// blkbench has 32 MiB of granted buffers (1 MiB for each of its 32 slots) besides its code.
const GUEST_MIB = 48;

const tmp = mkdtempSync(join(tmpdir(), 'tx-bench-blk-'));
const img = join(tmp, 'disk.img');
{
  const b = Buffer.alloc(DISK_MIB << 20);
  for (let i = 0; i < b.length; i += 512) b.writeUInt32LE(i >>> 9, i); // data, not holes
  writeFileSync(img, b);
}

/** One blkbench run on `img`: per workload { name, bs, qd, ops, simNs, wallMs }, plus totals. */
async function blkbench(backendOpts = {}) {
  const reg = new core.PluginRegistry([...isa.ISA_PLUGINS, ...mmu.MMU_PLUGINS, ...sched.schedPlugins]);
  const config = core.hostConfigFromObject({ pcpus: 1, memoryMiB: 128, components: { isa: 'tachy-v1', mmu: 'tagged', sched: 'credit' } }, reg);
  const rows = [];
  const begin = new Map();
  let text = '';
  let pending = '';
  const host = new hv.Host({
    container: core.buildContainer(config, reg),
    console: (_d, bytes) => {
      const now = performance.now();
      pending += new TextDecoder().decode(bytes);
      let nl;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        text += line + '\n';
        const b = /^blkbench: begin (\S+)/.exec(line);
        if (b) { begin.set(b[1], { t: now, insns: host.instructions(), waits: blk.hostWaits }); continue; }
        const m = /^blkbench: (\S+) bs=(\d+) qd=(\d+) ops=(\d+) ns=(\d+) errors=(\d+)/.exec(line);
        if (m && m[1] !== 'warmup') {
          const s = begin.get(m[1]);
          rows.push({ name: m[1], bs: +m[2], qd: +m[3], ops: +m[4], simNs: +m[5], errors: +m[6], wallMs: now - s.t, insns: host.instructions() - s.insns, waits: blk.hostWaits - s.waits });
        }
      }
    },
  });
  host.log = () => {};
  const evtchn = evt.installEventChannels(host, { variant: 'fifo' });
  const gnt = grant.GrantTables.attach(host);
  const store = xenstore.attachXenstore(host, evtchn);
  const backends = new xenbus.XenbusBackends({ host, xs: xenstore.connectLocal(store.xs, 0), evtchn, gnt });
  const blk = new pvblk.BlkBackend({ host, gnt, ...backendOpts });
  backends.register(blk);
  host.addWakeSource(() => blk.inFlight > 0);
  const d = host.createDomain({ name: 'blkbench', image: readFileSync(join(root, 'guests/build/blkbench.elf')), memoryMiB: GUEST_MIB, paused: true });
  pvblk.addVbd(xenstore.connectLocal(store.xs, 0), d.domid, { target: img, vdev: 'xvda', access: 'w', format: 'raw' });
  host.unpauseDomain(d);
  const t0 = performance.now();
  let why;
  let ioWaitMs = 0;
  for (;;) {
    why = host.run({ maxInsns: 2e10 });
    if (why !== 'io-wait') break;
    const w = performance.now();
    await host.ioSettled();
    ioWaitMs += performance.now() - w;
  }
  const wallMs = performance.now() - t0;
  if (why !== 'all-shutdown' || !text.includes('blkbench: done') || rows.some((r) => r.errors)) throw new Error(`blkbench: ${why}\n${text}`);
  return { rows, wallMs, ioWaitMs, waits: blk.hostWaits, insns: host.instructions() };
}

/** fio on `img` for one workload: wall IOPS and MB/s (buffered, as blkback's pread/pwrite). */
function fio(r) {
  const rw = { randread: 'randread', randwrite: 'randwrite', seqread: 'read', seqwrite: 'write' }[r.name.split('-')[0]];
  // QD1: psync (one pread/pwrite at a time); QD32: posixaio with 32 in flight (glibc's thread pool,
  // the nearest thing to libuv's that blkback's node:fs callbacks run on).
  const bs = r.bs % (1 << 20) === 0 ? `${r.bs >> 20}M` : r.bs % 1024 === 0 ? `${r.bs >> 10}k` : `${r.bs}`;
  const args = ['--name=tx', `--filename=${img}`, `--rw=${rw}`, `--bs=${bs}`, `--size=${DISK_MIB}M`, `--runtime=${FIO_SECONDS}`, '--time_based', '--output-format=json',
    ...(r.qd === 1 ? ['--ioengine=psync'] : ['--ioengine=posixaio', `--iodepth=${r.qd}`]), '--randrepeat=1', '--norandommap'];
  const p = spawnSync('fio', args, { encoding: 'utf8', timeout: 60_000 });
  if (p.status !== 0) throw new Error(`fio ${args.join(' ')}: ${p.stderr}`);
  const j = JSON.parse(p.stdout.slice(p.stdout.indexOf('{')));
  const side = rw.includes('read') ? j.jobs[0].read : j.jobs[0].write;
  return { iops: side.iops, mbps: side.bw_bytes / 1e6, args: args.filter((a) => !a.startsWith('--filename') && a !== '--output-format=json').join(' ') };
}

const fmtN = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(0));
const fmtMB = (n) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));

const load0 = loadavg()[0];
try {
  const withFio = wantFio && hasCommand('fio');
  const fioVersion = withFio ? spawnSync('fio', ['--version'], { encoding: 'utf8' }).stdout.trim() : null;
  // Best of RUNS per workload (wall time is noisy on a shared machine; simulated time is not:
  // every run gives the same simulated numbers, checked).
  const best = async (opts) => {
    let out = null;
    for (let i = 0; i < RUNS; i++) {
      const r = await blkbench(opts);
      if (!out) { out = r; continue; }
      r.rows.forEach((x, k) => {
        if (x.simNs !== out.rows[k].simNs || x.insns !== out.rows[k].insns) throw new Error(`${x.name}: simulated time or instructions differ between runs (${x.simNs} vs ${out.rows[k].simNs})`);
        if (x.wallMs < out.rows[k].wallMs) out.rows[k] = x;
      });
      out.ioWaitMs += r.ioWaitMs;
      out.wallMs += r.wallMs;
    }
    return out;
  };
  const main = await best({});
  const copy = await best({ persistent: false });
  const lines = [];
  lines.push('| workload | sim IOPS | sim MB/s | wall IOPS | wall MB/s | guest insns/req | host waits/req |' + (withFio ? ' fio IOPS | fio MB/s | blkbench/fio |' : ''));
  lines.push('|---|--:|--:|--:|--:|--:|--:|' + (withFio ? '--:|--:|--:|' : ''));
  const fioRows = [];
  for (const r of main.rows) {
    const simIops = r.ops / (r.simNs / 1e9);
    const wallIops = r.ops / (r.wallMs / 1e3);
    const bytes = r.ops * r.bs;
    let tail = '';
    if (withFio) {
      const f = fio(r);
      fioRows.push(`${r.name}: fio ${f.args}`);
      tail = ` ${fmtN(f.iops)} | ${fmtMB(f.mbps)} | ${(wallIops / f.iops).toFixed(3)} |`;
    }
    lines.push(`| ${r.name} | ${fmtN(simIops)} | ${fmtMB(bytes / (r.simNs / 1e9) / 1e6)} | ${fmtN(wallIops)} | ${fmtMB(bytes / (r.wallMs / 1e3) / 1e6)} | ${Math.round(r.insns / r.ops)} | ${(r.waits / r.ops).toFixed(2)} |${tail}`);
  }
  const per = (run, name) => { const r = run.rows.find((x) => x.name === name); return { us: (r.wallMs * 1e3) / r.ops, insns: r.insns / r.ops }; };
  const cmp = ['randread-4k-qd32', 'randwrite-4k-qd32', 'seqread-64k-qd32', 'seqread-1m-qd32'].map((n) => {
    const p = per(main, n), c = per(copy, n);
    return `| ${n} | ${p.us.toFixed(2)} | ${c.us.toFixed(2)} | ${Math.round(p.insns)} | ${Math.round(c.insns)} |`;
  });
  const qd32 = main.rows.find((r) => r.name === 'randread-4k-qd32');
  const body = `Reproduce: \`pnpm bench:io\` (= \`pnpm build && node tools/bench-io-blk.mjs\`; \`--no-write\` prints only,
\`--no-fio\` skips fio). ${machineLine()}; load average ${load0.toFixed(1)} at the start (a shared machine:
wall numbers move with it). ${fioVersion ?? 'fio not installed: no fio columns'}.

The blkbench guest (guests/blkbench) on a ${DISK_MIB} MiB raw file through dom0's blkback (pv-blk, model
\`ssd\`: 20 us a request, 500 ns/KiB on the link, queue depth 32; a 4-page ring of 128 slots,
persistent grants, 64 KiB requests as one INDIRECT request of 16 segments, 1 MiB requests as one
INDIRECT request of 256 segments in one indirect page; each of the guest's 32 slots has its own
1 MiB of granted pages, more than blkback's 1056 persistent grants, so the 1 MiB depth-32 rows
grant-copy the pages beyond those), in process. *sim*:
IOPS and MB/s in the guest's simulated time (the device model decides them: deterministic);
*wall*: the same requests in wall time, from the guest's begin line to its result line (the
simulator, blkback and the host file I/O together), best of ${RUNS} runs (the simulated numbers
are the same in every run: checked). *host waits/req*: completions that were due
in simulated time before their host I/O had finished (the run then waits for it). fio: the
same file, the same block size and depth, buffered like blkback (\`psync\` at depth 1,
\`posixaio\` at depth 32), ${FIO_SECONDS} s each; *blkbench/fio* is wall IOPS over fio's.

${lines.join('\n')}

Per request, persistent grants (mapped once, memcpy) against grant copy per segment (feature-persistent off), wall us
(host side) and guest instructions (the guest's work does not change: it grants its pages once either way):

| workload | persistent us/req | grant copy us/req | persistent insns/req | grant copy insns/req |
|---|--:|--:|--:|--:|
${cmp.join('\n')}

Where the time goes at queue depth 32 (randread-4k-qd32, ${fmtN(qd32.ops / (qd32.wallMs / 1e3))} wall IOPS): the ring has 128
slots and the device takes 32 requests at a time, so the ring is never full (the guest keeps 32 in
flight); ${(qd32.waits / qd32.ops).toFixed(2)} completions per request had to wait for host I/O; all runs together spent
${(main.ioWaitMs / main.wallMs * 100).toFixed(0)} % of their wall time waiting for host file I/O, the rest simulating (guest
instructions, hypercalls, event channels) and in blkback's per-request work (a profile puts
the largest single share in node:fs's own dispatch of each read/write to libuv's pool, ~5-15 us
a call here). At depth 1 every request waits for its host I/O (the guest has nothing else to
do, so simulated time reaches the completion at once): wall IOPS there is bounded by one
libuv round trip plus an event-loop turn per request. ${(qd32.ops / (qd32.wallMs / 1e3)) >= 50_000 ? 'The 50k IOPS target is met.' : 'The 50k wall IOPS target at depth 32 is not met: the per-request cost in the simulator and blkback (not the ring, not the host disk: fio is far faster on the same file) is what limits it.'}
${withFio ? `\nfio command lines: ${fioRows.map((x) => `\`${x}\``).join('; ')}.\n` : ''}`;
  process.stdout.write(`${body}\n`);
  if (write) writeBenchSection(join(root, 'docs/benchmarks.md'), 'Block I/O', body);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
