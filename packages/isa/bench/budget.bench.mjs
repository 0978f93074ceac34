#!/usr/bin/env node
// Time-slice benchmark: runs benchmark guests with cpu.run(chunk) called repeatedly (as the
// hypervisor does) for several chunk sizes and reports guest M insn/s; a slice-size-independent
// engine shows the same rate for every chunk (not run by `pnpm test`).
//   node packages/isa/bench/budget.bench.mjs [distDir] [guest,guest...] [chunk,chunk...]
// Defaults: bench-intmix,bench-interp,bench-calls; chunks 1e9,5e6,5e5,5e4,5e3. Each run stops at
// the guest's exit or after CAP instructions (env CAP, default 1e9 = run to completion); env
// REPEAT=n reports the best of n runs (the host is often shared: single runs are noisy).
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';

const dist = resolve(process.argv[2] || new URL('../dist', import.meta.url).pathname);
const guests = (process.argv[3] || 'bench-intmix,bench-interp,bench-calls').split(',');
const chunks = (process.argv[4] || '1e9,5e6,5e5,5e4,5e3').split(',').map(Number);
const cap = Number(process.env.CAP ?? 1e9);
const repeat = Math.max(1, Number(process.env.REPEAT ?? 1));
const { BareMachine } = await import(pathToFileURL(resolve(dist, 'index.js')).href);
const dir = new URL('../../../guests/build/', import.meta.url).pathname;

console.log(`${'guest'.padEnd(14)} ${'chunk'.padStart(8)} ${'run() calls'.padStart(11)} ${'insns'.padStart(11)} ${'s'.padStart(6)} ${'M insn/s'.padStart(8)}  vs 1e9  blocks`);
for (const g of guests) {
  const img = readFileSync(`${dir}${g}.elf`);
  let base = 0;
  for (const chunk of chunks) {
    let s = Infinity, m, n = 0;
    for (let k = 0; k < repeat; k++) {
      m = new BareMachine({ image: img, memoryMiB: 256, console: () => {} });
      const t0 = performance.now();
      n = 0;
      for (;;) {
        const r = m.cpu.run(chunk);
        n++;
        if (r !== 'budget' || m.cpu.instret >= cap) break;
      }
      s = Math.min(s, (performance.now() - t0) / 1000);
    }
    const mips = m.cpu.instret / s / 1e6;
    if (base === 0) base = mips;
    console.log(`${g.padEnd(14)} ${chunk.toExponential(0).padStart(8)} ${String(n).padStart(11)} ${String(m.cpu.instret).padStart(11)} ${s.toFixed(2).padStart(6)} ${mips.toFixed(0).padStart(8)}  ${(100 * mips / base).toFixed(0).padStart(5)}%  ${m.cpu.engineStats().blocksCompiled}`);
  }
}
