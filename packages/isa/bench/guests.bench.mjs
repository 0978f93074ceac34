#!/usr/bin/env node
// Runs the committed benchmark guests (guests/build/bench-*.elf) bare on the CPU engine and
// reports guest M insn/s (not run by `pnpm test`).
//   node packages/isa/bench/guests.bench.mjs [distDir] [name-filter]
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { readFileSync, readdirSync } from 'node:fs';

const dist = resolve(process.argv[2] ?? new URL('../dist', import.meta.url).pathname);
const filter = process.argv[3] ?? '';
const { BareMachine } = await import(pathToFileURL(resolve(dist, 'platform/index.js')).href);
const dir = new URL('../../../guests/build/', import.meta.url).pathname;
const names = readdirSync(dir).filter((f) => /^bench-.*\.elf$/.test(f) && !f.includes('small') && f.includes(filter)).sort();
for (const f of names) {
  let out = '';
  const m = new BareMachine({ image: readFileSync(dir + f), file: f, memoryMiB: 256, console: (b) => { out += Buffer.from(b).toString(); } });
  const t0 = process.hrtime.bigint();
  const r = m.run({});
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const n = m.cpu.instret;
  console.log(`${f.padEnd(24)} ${String(n).padStart(11)} insns ${s.toFixed(3)} s ${(n / s / 1e6).toFixed(0).padStart(5)} M insn/s  ${r.reason}  blocks=${m.cpu.stats.blocksCompiled}  ${out.trim().split('\n').pop()}`);
}
