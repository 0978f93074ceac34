#!/usr/bin/env node
// `pnpm bench:isa`: every benchmark guest under `tachyxx run --bare` and under qemu-riscv64
// (the same C source and compiler flags, Linux-user build) in one run. Prints a table and writes
// it to docs/benchmarks.md (section "ISA"), with the machine and the date.
//   --quick            one repetition instead of three
//   --baseline DIR     also run DIR's build (another checkout, e.g. a `git worktree` of an older
//                      commit, built) in the same run, interleaved: a before/after column
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { machineLine, writeBenchSection, hasCommand } from './lib/bench-report.mjs';

const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'apps/runner/dist/cli.js');
const reps = process.argv.includes('--quick') ? 1 : 3;
const bi = process.argv.indexOf('--baseline');
const baseRoot = bi > 0 ? process.argv[bi + 1] : null;
const baseCli = baseRoot ? join(baseRoot, 'apps/runner/dist/cli.js') : null;
if (baseCli && !existsSync(baseCli)) throw new Error(`--baseline ${baseRoot}: no built runner at ${baseCli} (pnpm install && pnpm build there)`);
const baseRev = baseRoot ? spawnSync('git', ['-C', baseRoot, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim() : '';
const tmp = mkdtempSync(join(tmpdir(), 'tachyxx-bench-'));
const progs = readdirSync(join(root, 'guests/build'))
  .filter((f) => /^bench-[a-z0-9-]+\.elf$/.test(f) && !f.includes('-small'))
  .map((f) => f.replace(/\.elf$/, ''))
  .sort();
const haveQemu = hasCommand('qemu-riscv64');
if (!haveQemu) console.error('qemu-riscv64 not found: the qemu column is skipped (apt-get install qemu-user)');

function timeIt(cmd, args) {
  const t0 = process.hrtime.bigint();
  const p = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (p.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${p.status}: ${p.stderr}`);
  return { s, out: p.stdout };
}

const rows = [];
for (const [i, name] of progs.entries()) {
  process.stderr.write(`[${i + 1}/${progs.length}] ${name} ...`);
  let best = Infinity, stats, out, baseBest = Infinity, baseStats;
  for (let r = 0; r < reps; r++) {
    const sf = join(tmp, `${name}.json`);
    const t = timeIt(process.execPath, [cli, 'run', '--bare', `guests/build/${name}.elf`, '--stats', sf]);
    if (t.s < best) { best = t.s; stats = JSON.parse(readFileSync(sf, 'utf8')); out = t.out; }
    if (baseCli) {
      // The same image under the baseline build, right after (interleaved: the same machine load).
      const bf = join(tmp, `${name}.base.json`);
      const b = timeIt(process.execPath, [baseCli, 'run', '--bare', `guests/build/${name}.elf`, '--stats', bf]);
      if (b.s < baseBest) { baseBest = b.s; baseStats = JSON.parse(readFileSync(bf, 'utf8')); }
    }
  }
  let qbest = NaN, qout;
  const linux = `guests/build/linux/${name}.elf`;
  if (haveQemu && existsSync(join(root, linux))) {
    qbest = Infinity;
    for (let r = 0; r < reps; r++) {
      const t = timeIt('qemu-riscv64', [linux]);
      if (t.s < qbest) { qbest = t.s; qout = t.out; }
    }
  }
  const insns = stats.instructions;
  const row = {
    name, insns, txWall: best, txRun: stats.wallSeconds, txMips: insns / best / 1e6, txRunMips: stats.mips,
    qWall: qbest, qMips: insns / qbest / 1e6, same: qout === undefined ? 'n/a' : qout === out ? 'yes' : 'NO',
  };
  row.ratio = row.txMips / row.qMips;
  if (baseCli) {
    row.baseMips = baseStats.instructions / baseBest / 1e6;
    row.baseRunMips = baseStats.mips;
    // Same image, same exact model: a different count means the change is not a pure speed change.
    row.sameInsns = baseStats.instructions === insns && baseStats.simCycles === stats.simCycles ? 'yes' : 'NO';
  }
  rows.push(row);
  process.stderr.write(` ${row.txMips.toFixed(0)} MIPS (qemu ${row.qMips.toFixed(0)})\n`);
}

const f = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const table = [
  '| program | instructions | tachyxx wall s | tachyxx MIPS | (run loop only) | qemu wall s | qemu MIPS | ratio tachyxx/qemu | same output |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---|',
  ...rows.map((r) => `| ${r.name} | ${r.insns.toLocaleString('en')} | ${f(r.txWall, 3)} | ${f(r.txMips)} | ${f(r.txRunMips)} | ${f(r.qWall, 3)} | ${f(r.qMips)} | ${f(r.ratio, 3)} (1/${f(1 / r.ratio, 1)}) | ${r.same} |`),
];
// hello wall time (target < 0.4 s), best of reps
const baseTable = !baseCli ? [] : [
  '',
  `Before/after in the same run (baseline: ${baseRev}, built in ${baseRoot}; interleaved, best of ${reps}):`,
  '',
  '| program | before MIPS | after MIPS | after/before | before run-loop MIPS | after run-loop MIPS | same instructions and cycles |',
  '|---|---:|---:|---:|---:|---:|---|',
  ...rows.map((r) => `| ${r.name} | ${f(r.baseMips)} | ${f(r.txMips)} | ${f(r.txMips / r.baseMips, 3)} | ${f(r.baseRunMips)} | ${f(r.txRunMips)} | ${r.sameInsns} |`),
];
let hello = Infinity;
for (let r = 0; r < Math.max(reps, 3); r++) hello = Math.min(hello, timeIt(process.execPath, [cli, 'run', '--bare', 'guests/build/hello.elf']).s);

const body = [
  `Measured ${new Date().toISOString().slice(0, 10)} on ${machineLine()}; best of ${reps}.`,
  '',
  'Wall times are whole processes (node start-up and JIT warm-up included for tachyxx; qemu',
  'start-up for qemu). MIPS = the instruction count tachyxx retires for the bare image (the qemu',
  'build of the same source differs only in its few start-up instructions) / wall time.',
  '"run loop only" is tachyxx\'s own `--stats` mips (the run loop, without process start-up).',
  '',
  ...table,
  ...baseTable,
  '',
  `\`tachyxx run --bare guests/build/hello.elf\`: ${f(hello, 3)} s wall (target < 0.4 s).`,
  '',
  `Reproduce: \`pnpm bench:isa\`${baseCli ? ' (before/after: `node tools/bench-isa.mjs --baseline DIR`)' : ''}.`,
].join('\n');
console.log('\n' + body);
writeBenchSection(join(root, 'docs/benchmarks.md'), 'ISA: tachyxx vs qemu-riscv64', body);
