#!/usr/bin/env node
// The CPU's two execution engines side by side: every benchmark guest under
// `tachyxx run --bare` with engine js (the reference), with engine wasm (a host file selecting
// `components.isa.engine: wasm`) and under qemu-riscv64 (the Linux-user build of the same
// source), interleaved in one run (the same machine load for all three), best of N. Both engines
// must retire the same instructions in the same simulated cycles (checked). Writes the table to
// docs/benchmarks.md (section "CPU engines"). Then the null hypercall as a domain (issue 10's
// target): guests/hcversion under `tachyxx run --domain` on each engine, calls per second of
// run-loop wall time (its --stats wallSeconds), interleaved, best of N.
//   --quick   one repetition instead of three
//   --no-doc  print only
//   --only A,B  only these bench programs (no doc written)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { machineLine, writeBenchSection, hasCommand } from './lib/bench-report.mjs';

const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'apps/runner/dist/cli.js');
if (!existsSync(cli)) throw new Error(`no built runner at ${cli} (pnpm build)`);
const reps = process.argv.includes('--quick') ? 1 : 3;
const tmp = mkdtempSync(join(tmpdir(), 'tachyxx-bench-engines-'));
const wasmHost = join(tmp, 'wasm.yaml'), jsHost = join(tmp, 'js.yaml');
writeFileSync(wasmHost, 'components:\n  isa: { variant: tachy-v1, engine: wasm }\n');
writeFileSync(jsHost, 'components:\n  isa: { variant: tachy-v1, engine: js }\n');
const onlyArg = process.argv.indexOf('--only');
const only = onlyArg >= 0 ? process.argv[onlyArg + 1].split(',').map((n) => (n.startsWith('bench-') ? n : `bench-${n}`)) : null;
const progs = readdirSync(join(root, 'guests/build'))
  .filter((f) => /^bench-[a-z0-9-]+\.elf$/.test(f) && !f.includes('-small'))
  .map((f) => f.replace(/\.elf$/, ''))
  .filter((n) => only === null || only.includes(n))
  .sort();
const haveQemu = hasCommand('qemu-riscv64');

function timeIt(cmd, args) {
  const t0 = process.hrtime.bigint();
  const p = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (p.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${p.status}: ${p.stderr}`);
  return { s, out: p.stdout };
}

function tachyxx(name, engine) {
  const sf = join(tmp, `${name}.${engine}.json`);
  const args = [cli, 'run', '--bare', `guests/build/${name}.elf`, '--stats', sf];
  args.push('--host', engine === 'wasm' ? wasmHost : jsHost);
  const t = timeIt(process.execPath, args);
  return { ...t, stats: JSON.parse(readFileSync(sf, 'utf8')) };
}

const rows = [];
for (const [i, name] of progs.entries()) {
  process.stderr.write(`[${i + 1}/${progs.length}] ${name} ...`);
  const best = { js: undefined, wasm: undefined, qemu: undefined };
  for (let r = 0; r < reps; r++) {
    for (const engine of ['js', 'wasm']) {
      const t = tachyxx(name, engine);
      if (best[engine] === undefined || t.s < best[engine].s) best[engine] = t;
    }
    const linux = `guests/build/linux/${name}.elf`;
    if (haveQemu && existsSync(join(root, linux))) {
      const t = timeIt('qemu-riscv64', [linux]);
      if (best.qemu === undefined || t.s < best.qemu.s) best.qemu = t;
    }
  }
  const js = best.js, wa = best.wasm, q = best.qemu;
  if (js.stats.instructions !== wa.stats.instructions || js.stats.simCycles !== wa.stats.simCycles || js.out !== wa.out) {
    throw new Error(`${name}: the engines disagree: js ${js.stats.instructions} insns / ${js.stats.simCycles} cycles, wasm ${wa.stats.instructions} / ${wa.stats.simCycles}`);
  }
  const insns = js.stats.instructions;
  const row = {
    name, insns, jsWall: js.s, wasmWall: wa.s, qWall: q?.s ?? NaN,
    jsRun: js.stats.mips, wasmRun: wa.stats.mips, jsRunS: js.stats.wallSeconds, wasmRunS: wa.stats.wallSeconds,
    same: q === undefined ? 'n/a' : q.out === js.out ? 'yes' : 'NO',
  };
  rows.push(row);
  process.stderr.write(` js ${(insns / js.s / 1e6).toFixed(0)} MIPS, wasm ${(insns / wa.s / 1e6).toFixed(0)} MIPS, qemu ${(insns / row.qWall / 1e6).toFixed(0)} MIPS` +
    ` (whole processes); wasm/qemu ${(row.qWall / wa.s).toFixed(3)}, run loop only ${(row.qWall / row.wasmRunS).toFixed(3)}\n`);
}

// The null hypercall as a domain: xen_version(XENVER_version, NULL) round trips per second of
// run-loop wall time (hcversion makes HC_CALLS of them).
const HC_CALLS = 3e6;
function hcDomain(engine) {
  const sf = join(tmp, `hcversion.${engine}.json`);
  const args = [cli, 'run', '--domain', 'guests/build/hcversion.elf', '--memory', '64', '--stats', sf];
  args.push('--host', engine === 'wasm' ? wasmHost : jsHost);
  const t = timeIt(process.execPath, args);
  return { ...t, stats: JSON.parse(readFileSync(sf, 'utf8')) };
}
const hc = { js: undefined, wasm: undefined };
process.stderr.write('hcversion as a domain ...');
for (let r = 0; r < Math.max(reps, 3); r++) {
  for (const engine of ['js', 'wasm']) {
    const t = hcDomain(engine);
    if (hc[engine] === undefined || t.stats.wallSeconds < hc[engine].stats.wallSeconds) hc[engine] = t;
  }
}
if (hc.js.stats.instructions !== hc.wasm.stats.instructions || hc.js.stats.simCycles !== hc.wasm.stats.simCycles || hc.js.out !== hc.wasm.out) {
  throw new Error(`hcversion as a domain: the engines disagree: js ${hc.js.stats.instructions} insns / ${hc.js.stats.simCycles} cycles, wasm ${hc.wasm.stats.instructions} / ${hc.wasm.stats.simCycles}`);
}
const hcRate = (e) => HC_CALLS / hc[e].stats.wallSeconds;
process.stderr.write(` js ${(hcRate('js') / 1e6).toFixed(2)} M calls/s, wasm ${(hcRate('wasm') / 1e6).toFixed(2)} M calls/s\n`);

const f = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const ratio = (x) => (Number.isFinite(x) ? `${x.toFixed(3)} (1/${(1 / x).toFixed(1)})` : 'n/a');
const geo = (xs) => Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
const table = [
  '| program | instructions | qemu wall s | js wall s | wasm wall s | js/qemu | wasm/qemu | wasm/js | js/qemu run loop | wasm/qemu run loop | js run-loop MIPS | wasm run-loop MIPS | same output as qemu |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ...rows.map((r) => `| ${r.name} | ${r.insns.toLocaleString('en')} | ${f(r.qWall, 3)} | ${f(r.jsWall, 3)} | ${f(r.wasmWall, 3)} | ${ratio(r.qWall / r.jsWall)} | ${ratio(r.qWall / r.wasmWall)} | ${f(r.jsWall / r.wasmWall, 2)} | ${ratio(r.qWall / r.jsRunS)} | ${ratio(r.qWall / r.wasmRunS)} | ${f(r.jsRun)} | ${f(r.wasmRun)} | ${r.same} |`),
  `| geometric mean | | | | | ${ratio(geo(rows.map((r) => r.qWall / r.jsWall)))} | ${ratio(geo(rows.map((r) => r.qWall / r.wasmWall)))} | ${f(geo(rows.map((r) => r.jsWall / r.wasmWall)), 2)} | ${ratio(geo(rows.map((r) => r.qWall / r.jsRunS)))} | ${ratio(geo(rows.map((r) => r.qWall / r.wasmRunS)))} | | | |`,
];
const body = [
  `Measured ${new Date().toISOString().slice(0, 10)} on ${machineLine()}; best of ${reps}, js / wasm / qemu interleaved.`,
  '',
  'Ratios are qemu wall time / tachyxx wall time for whole processes (node start-up included), so',
  '1/4 means four times slower than qemu-riscv64. The "run loop" ratios divide the same qemu time by',
  "tachyxx's run-loop time alone (`--stats` wallSeconds: without node and module start-up, image",
  'loading and machine set-up; qemu keeps its own few ms of start-up, so they lean towards qemu).',
  'Both engines retire the same instructions in the same simulated cycles (the script checks it).',
  '"run-loop MIPS" is `--stats` mips (without start-up).',
  '',
  ...table,
  '',
  `The null hypercall as a domain (\`tachyxx run --domain guests/build/hcversion.elf --memory 64\`: ${HC_CALLS.toLocaleString('en')}`,
  'calls of xen_version(XENVER_version, NULL); round trips per second of run-loop wall time, best of',
  `${Math.max(reps, 3)}; issue 10's target is 10 M/s): js ${f(hcRate('js') / 1e6, 2)} M/s, wasm ${f(hcRate('wasm') / 1e6, 2)} M/s (wasm/js ${f(hcRate('wasm') / hcRate('js'), 2)}).`,
  '',
  'Reproduce: `pnpm build && node tools/bench-engines.mjs`.',
].join('\n');
console.log('\n' + body);
if (!process.argv.includes('--no-doc') && only === null) writeBenchSection(join(root, 'docs/benchmarks.md'), 'CPU engines: js and wasm against qemu-riscv64', body);
