#!/usr/bin/env node
// `pnpm bench:isa`: every benchmark guest under `tachyxx run --bare` and under qemu-riscv64
// (the same C source and compiler flags, Linux-user build) in one run, and the CLIs' start-up
// times next to `node -e 0`. Prints the tables and writes them to docs/benchmarks.md (section
// "ISA"), with the machine and the date.
//   --quick            one repetition instead of three (start-up: best of 5 instead of 15)
//   --baseline DIR     also run DIR's build (another checkout, e.g. a `git worktree` of an older
//                      commit, built) in the same run, interleaved: before/after columns
//   --startup-only     only the start-up table
//   --rounds N         start-up rounds (default 15; 5 with --quick)
//   --only A,B         only these programs (names without the bench- prefix or with it)
// docs/benchmarks.md is written only by a full run (no --only, no --startup-only).
//
// Per program: the ratio tachyxx/qemu (speed, higher is better) for the whole processes, and
// without process start-up: tachyxx's run loop alone (its --stats wall time) against qemu's wall
// time less qemu's own start-up (qemu running the Linux build of hello, best of N). Each ratio's
// geometric mean over the programs closes the table. A program's output must be byte-identical
// to qemu's (and to its recorded golden file): a benchmark that computes something else is no
// benchmark.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { machineLine, writeBenchSection, hasCommand } from './lib/bench-report.mjs';

const root = new URL('..', import.meta.url).pathname;
const argv = process.argv.slice(2);
const opt = (name) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
const quick = argv.includes('--quick');
const reps = quick ? 1 : 3;
const startupReps = Number(opt('--rounds') ?? (quick ? 5 : 15));
if (!Number.isInteger(startupReps) || startupReps < 1) throw new Error(`--rounds: '${opt('--rounds')}' is not a positive integer`);
const baseRoot = opt('--baseline') ?? null;
const startupOnly = argv.includes('--startup-only');
const only = opt('--only')?.split(',').map((n) => (n.startsWith('bench-') ? n : `bench-${n}`));

/** A build: its two CLIs (bins as the packages publish them). */
const build = (dir, label) => ({
  label, dir,
  tachyxx: join(dir, 'apps/runner/dist/cli.js'),
  xl: join(dir, 'apps/xl/dist/cli.js'),
  rev: spawnSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim(),
});
const after = build(root, 'after');
const before = baseRoot ? build(baseRoot, 'before') : null;
for (const b of [after, before]) {
  if (b && !existsSync(b.tachyxx)) throw new Error(`${b.dir}: no built runner at ${b.tachyxx} (pnpm install && pnpm build there)`);
}
const builds = before ? [before, after] : [after];
const tmp = mkdtempSync(join(tmpdir(), 'tachyxx-bench-'));
const haveQemu = hasCommand('qemu-riscv64');
if (!haveQemu) console.error('qemu-riscv64 not found: the qemu columns are skipped (apt-get install qemu-user)');

function timeIt(cmd, args, env) {
  const t0 = process.hrtime.bigint();
  const p = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26, env: env ? { ...process.env, ...env } : process.env });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (p.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${p.status}: ${p.stderr}`);
  return { s, out: p.stdout };
}
const f = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const geomean = (xs) => (xs.length && xs.every((x) => x > 0 && Number.isFinite(x)) ? Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length) : NaN);
const ratio = (r) => (Number.isFinite(r) ? `${f(r, 3)} (1/${f(1 / r, 1)})` : 'n/a');

// ---- start-up: hyperfine-style best of N, every command once per round (interleaved) ----------

/** Starts `tachyxx host` of build `b` on a private socket; resolves when it listens. */
async function startHost(b) {
  const sock = join(tmp, `${b.label}-host`, 'host.sock');
  const proc = spawn(process.execPath, [b.tachyxx, 'host', '--socket', sock, '--unpaced'], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr.on('data', (d) => (err += d));
  const end = Date.now() + 30_000;
  while (!err.includes('listening on')) {
    if (proc.exitCode !== null || Date.now() > end) { proc.kill('SIGKILL'); throw new Error(`${b.label}: tachyxx host did not start: ${err}`); }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { proc, sock };
}

async function startup() {
  const hosts = new Map();
  for (const b of builds) hosts.set(b, await startHost(b));
  const cmds = [{ name: '`node -e 0`', build: null, args: ['-e', '0'] }];
  for (const b of builds) {
    const env = { TACHYXX_HOST: hosts.get(b).sock };
    cmds.push(
      { name: '`tachyxx run --bare hello.elf`', build: b, args: [b.tachyxx, 'run', '--bare', 'guests/build/hello.elf'] },
      { name: '`tachyxx --help`', build: b, args: [b.tachyxx, '--help'] },
      { name: '`xl --help`', build: b, args: [b.xl, '--help'] },
      { name: '`xl list` (a running host)', build: b, args: [b.xl, 'list'], env },
    );
  }
  try {
    for (const c of cmds) c.t = [];
    for (let r = 0; r < startupReps; r++) for (const c of cmds) c.t.push(timeIt(process.execPath, c.args, c.env).s);
  } finally {
    for (const h of hosts.values()) h.proc.kill('SIGTERM');
  }
  for (const c of cmds) {
    const s = [...c.t].sort((a, b) => a - b);
    c.best = s[0];
    c.median = s[Math.floor(s.length / 2)];
  }
  return cmds;
}

// ---- programs -------------------------------------------------------------------------------

const progs = startupOnly ? [] : readdirSync(join(root, 'guests/build'))
  .filter((fn) => /^bench-[a-z0-9-]+\.elf$/.test(fn) && !fn.includes('-small'))
  .map((fn) => fn.replace(/\.elf$/, ''))
  .filter((n) => !only || only.includes(n))
  .sort();

// qemu's own process start-up, subtracted from its wall time for the "without start-up" ratio.
let qemuStart = NaN;
if (haveQemu && progs.length && existsSync(join(root, 'guests/build/linux/hello.elf'))) {
  qemuStart = Infinity;
  for (let r = 0; r < Math.max(reps, 5); r++) qemuStart = Math.min(qemuStart, timeIt('qemu-riscv64', ['guests/build/linux/hello.elf']).s);
}

const rows = [];
for (const [i, name] of progs.entries()) {
  process.stderr.write(`[${i + 1}/${progs.length}] ${name} ...`);
  const per = new Map(builds.map((b) => [b, { best: Infinity, stats: null, out: '' }]));
  for (let r = 0; r < reps; r++) {
    for (const b of builds) { // the same image under each build, one right after the other
      const sf = join(tmp, `${name}.${b.label}.json`);
      const t = timeIt(process.execPath, [b.tachyxx, 'run', '--bare', `guests/build/${name}.elf`, '--stats', sf]);
      const m = per.get(b);
      if (t.s < m.best) { m.best = t.s; m.stats = JSON.parse(readFileSync(sf, 'utf8')); m.out = t.out; }
    }
  }
  let qWall = NaN, qout;
  const linux = `guests/build/linux/${name}.elf`;
  if (haveQemu && existsSync(join(root, linux))) {
    qWall = Infinity;
    for (let r = 0; r < reps; r++) {
      const t = timeIt('qemu-riscv64', [linux]);
      if (t.s < qWall) { qWall = t.s; qout = t.out; }
    }
  }
  const goldenFile = join(root, 'guests', name, 'expected.txt');
  const golden = existsSync(goldenFile) ? readFileSync(goldenFile, 'utf8') : undefined;
  const a = per.get(after);
  const insns = a.stats.instructions;
  const qNet = qWall - (Number.isFinite(qemuStart) ? qemuStart : 0);
  const row = {
    name, insns, qWall, qNet,
    same: (qout === undefined ? 'n/a' : qout === a.out ? 'yes' : 'NO') + (golden === undefined ? '' : golden === a.out ? '' : ' (golden: NO)'),
    builds: new Map(builds.map((b) => {
      const m = per.get(b);
      // whole process: qemu wall / tachyxx wall; run loop: tachyxx run-loop time vs qemu net of start-up
      return [b, { wall: m.best, run: m.stats.wallSeconds, mips: insns / m.best / 1e6, runMips: m.stats.mips, whole: qWall / m.best, loop: qNet / m.stats.wallSeconds,
        sameModel: m.stats.instructions === insns && m.stats.simCycles === a.stats.simCycles ? 'yes' : 'NO' }];
    })),
  };
  rows.push(row);
  process.stderr.write(` ${f(row.builds.get(after).mips)} MIPS, ${f(qWall, 3)} s under qemu, ratio ${ratio(row.builds.get(after).whole)}\n`);
}

process.stderr.write(`start-up: ${startupReps} rounds ...\n`);
const su = await startup();
rmSync(tmp, { recursive: true, force: true });

// ---- report ---------------------------------------------------------------------------------

const out = [
  `Measured ${new Date().toISOString().slice(0, 10)} on ${machineLine()}; best of ${reps}${before ? `; before = ${before.rev} (${before.dir}), after = ${after.rev}, run interleaved in the same process` : ''}.`,
  '',
];
if (rows.length) {
  const A = (r) => r.builds.get(after);
  out.push(
    'Wall times are whole processes (node start-up and JIT warm-up included for tachyxx; qemu',
    'start-up for qemu). MIPS = the instructions tachyxx retires for the bare image (the qemu build',
    'of the same source differs only in its few start-up instructions) / wall time. Ratio = qemu',
    'time / tachyxx time (1 = as fast as qemu). "Run loop" = tachyxx\'s own `--stats` wall time',
    `(no process start-up) against qemu's wall time less qemu's start-up (${f(qemuStart * 1000, 1)} ms: the Linux build of hello).`,
    '',
    '| program | instructions | tachyxx wall s | tachyxx MIPS | run-loop MIPS | qemu wall s | ratio (whole process) | ratio (run loop) | same output as qemu |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|',
    ...rows.map((r) => `| ${r.name} | ${r.insns.toLocaleString('en')} | ${f(A(r).wall, 3)} | ${f(A(r).mips)} | ${f(A(r).runMips)} | ${f(r.qWall, 3)} | ${ratio(A(r).whole)} | ${ratio(A(r).loop)} | ${r.same} |`),
    `| **geometric mean** | | | | | | **${ratio(geomean(rows.map((r) => A(r).whole)))}** | **${ratio(geomean(rows.map((r) => A(r).loop)))}** | |`,
  );
  if (before) {
    const B = (r) => r.builds.get(before);
    out.push(
      '',
      `Before/after (before = ${before.rev}; the same images, interleaved):`,
      '',
      '| program | before wall s | after wall s | before ratio (whole) | after ratio (whole) | before ratio (run loop) | after ratio (run loop) | same instructions and cycles |',
      '|---|---:|---:|---:|---:|---:|---:|---|',
      ...rows.map((r) => `| ${r.name} | ${f(B(r).wall, 3)} | ${f(A(r).wall, 3)} | ${ratio(B(r).whole)} | ${ratio(A(r).whole)} | ${ratio(B(r).loop)} | ${ratio(A(r).loop)} | ${B(r).sameModel} |`),
      `| **geometric mean** | | | **${ratio(geomean(rows.map((r) => B(r).whole)))}** | **${ratio(geomean(rows.map((r) => A(r).whole)))}** | **${ratio(geomean(rows.map((r) => B(r).loop)))}** | **${ratio(geomean(rows.map((r) => A(r).loop)))}** | |`,
    );
  }
  out.push('');
}
const node0 = su.find((c) => c.build === null);
const suRow = (c) => `${f(c.best * 1000)} ms (median ${f(c.median * 1000)})`;
const names = [...new Set(su.filter((c) => c.build).map((c) => c.name))];
out.push(
  `Start-up, hyperfine-style: each command ${startupReps} times, one of each per round (so machine load`,
  'falls on all alike); best and median wall time of the whole process. `xl list` talks to a',
  '`tachyxx host --unpaced` of the same build, started for the run. Targets: `tachyxx run --bare',
  'hello.elf` under 0.2 s and `xl list` under 0.15 s where `node -e 0` takes 0.10 s.',
  '',
  before ? `| command | before (${before.rev}) | after (${after.rev}) | after - \`node -e 0\` |` : '| command | wall | minus `node -e 0` |',
  before ? '|---|---:|---:|---:|' : '|---|---:|---:|',
  `| \`node -e 0\` | ${before ? `${suRow(node0)} | ` : ''}${suRow(node0)} | |`,
  ...names.map((n) => {
    const a = su.find((c) => c.name === n && c.build === after);
    const b = before ? su.find((c) => c.name === n && c.build === before) : null;
    const d = (a.best - node0.best) * 1000;
    return `| ${n} | ${b ? `${suRow(b)} | ` : ''}${suRow(a)} | ${d >= 0 ? '+' : '-'}${f(Math.abs(d))} ms |`;
  }),
  '',
  `Reproduce: \`pnpm bench:isa\` (before/after: \`node tools/bench-isa.mjs --baseline DIR\`, DIR a built checkout of the older commit; \`--startup-only\`, \`--quick\`).`,
);
const body = out.join('\n');
console.log('\n' + body);
if (!only && !startupOnly) writeBenchSection(join(root, 'docs/benchmarks.md'), 'ISA: tachyxx vs qemu-riscv64', body);
