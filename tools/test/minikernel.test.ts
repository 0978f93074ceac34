// guests/minikernel: a PL2 kernel with Sv48 stage-1 paging, three PL3 tasks in their own address
// spaces, timer preemption, syscalls, demand paging and a killed task. Its output is designed to
// be independent of where the timer ticks fall (see the header of guests/minikernel/kernel.c),
// so it is compared byte for byte with guests/minikernel/expected.txt. Needs the built runner
// (pnpm build) and the committed image.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const runnerCli = resolve(root, 'apps/runner/dist/cli.js');
const image = resolve(root, 'guests/build/minikernel.elf');
const missing = !existsSync(runnerCli) ? `${runnerCli} not found (run pnpm build)` : !existsSync(image) ? `${image} not found (node tools/build-guests.mjs --only minikernel)` : '';
if (missing) console.warn(`minikernel: ${missing} - SKIPPED`);

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [runnerCli, 'run', '--bare', image, ...args], { cwd: root, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout?.toString('latin1') ?? '', stderr: r.stderr?.toString() ?? '' };
}

const NO_PAGING = 'did not take';

describe('guests/minikernel', () => {
  it.skipIf(!!missing)('boots, pages, preempts, serves syscalls and faults, and prints the golden output', (ctx) => {
    const r = run();
    expect(r.status, r.stderr).toBe(0);
    if (r.stdout.includes(NO_PAGING)) {
      // The CPU ignored the Sv48 satp write: the kernel ran its tasks without translation. That
      // run is still checked for the parts that do not need paging, but the golden file is not.
      console.warn('minikernel: the CPU ignores satp MODE 9 (Sv48 not integrated) - paging part SKIPPED');
      expect(r.stdout).toMatch(/\[pid 1\] kernel: exit\(0\)/);
      expect(r.stdout).toMatch(/\[pid 2\] kernel: exit\(0\)/);
      expect(r.stdout).toMatch(/  1    primes  exit\(0\) .* yes\n/);
      ctx.skip('paging not available on this CPU build');
      return;
    }
    expect(r.stdout).toBe(readFileSync(resolve(root, 'guests/minikernel/expected.txt'), 'latin1'));
  });

  it.skipIf(!!missing)('is deterministic: a second run gives the same output', () => {
    const a = run();
    const b = run();
    expect(b.stdout).toBe(a.stdout);
    expect(b.status).toBe(a.status);
  });
});
