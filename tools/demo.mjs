#!/usr/bin/env node
// `pnpm demo`: boots the hello guest and one benchmark guest bare on the Tachyxx CPU through the
// real `tachyxx` CLI, shows their consoles and a summary of their --stats JSON.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'apps/runner/dist/cli.js');
const tmp = mkdtempSync(join(tmpdir(), 'tachyxx-demo-'));
const runs = [
  { title: 'hello, bare', image: 'guests/build/hello.elf', args: [] },
  { title: 'isa variant legacy-silent: the privileged-architecture test', image: 'guests/build/priv.elf', args: ['--isa', 'legacy-silent'] },
  { title: 'benchmark: bench-interp (bytecode interpreter), bare', image: 'guests/build/bench-interp.elf', args: [] },
];

let failed = 0;
for (const [i, r] of runs.entries()) {
  const image = join(root, r.image);
  if (!existsSync(image)) {
    console.log(`\n### ${r.title}: ${r.image} is missing (run 'pnpm guests' to build it)`);
    failed++;
    continue;
  }
  const stats = join(tmp, `run${i}.json`);
  const argv = ['run', '--bare', r.image, '--stats', stats, ...r.args];
  console.log(`\n### ${r.title}\n$ tachyxx ${argv.join(' ')}`);
  const p = spawnSync(process.execPath, [cli, ...argv], { cwd: root, encoding: 'utf8' });
  process.stdout.write(p.stdout.split('\n').map((l) => (l ? `  | ${l}` : l)).join('\n'));
  if (p.stderr) process.stdout.write(`  stderr: ${p.stderr}`);
  console.log(`  exit status ${p.status}`);
  if (p.status !== 0) failed++;
  if (existsSync(stats)) {
    const s = JSON.parse(readFileSync(stats, 'utf8'));
    const traps = Object.entries(s.traps ?? {}).map(([k, v]) => `${k}=${v}`).join(' ') || 'none';
    const hcs = Object.entries(s.hypercalls ?? {}).map(([k, v]) => `${k}=${v}`).join(' ') || 'none';
    console.log(`  stats: ${s.instructions.toLocaleString('en')} instructions, ${s.simCycles.toLocaleString('en')} sim cycles, ` +
      `${(s.simNs / 1e6).toFixed(3)} sim ms, ${s.wallSeconds.toFixed(3)} s wall, ${s.mips.toFixed(1)} MIPS, exit ${s.exit.reason}`);
    console.log(`  traps: ${traps}`);
    console.log(`  hypercalls: ${hcs}`);
  }
}
process.exitCode = failed ? 1 : 0;
