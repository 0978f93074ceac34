// guests/minikernel: a PL2 kernel with Sv48 stage-1 paging, three PL3 tasks in their own address
// spaces, timer preemption, syscalls, demand paging and a killed task. Its output is designed to
// be independent of where the timer ticks fall (see the header of guests/minikernel/kernel.c),
// so it is compared byte for byte with guests/minikernel/expected.txt: bare, as a domain, and as
// a domain next to a second domain. Needs the built runner (pnpm build) and the committed image.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const runnerCli = resolve(root, 'apps/runner/dist/cli.js');
const image = resolve(root, 'guests/build/minikernel.elf');
const hello = resolve(root, 'guests/build/hello.elf');
const missing = !existsSync(runnerCli) ? `${runnerCli} not found (run pnpm build)` : !existsSync(image) ? `${image} not found (node tools/build-guests.mjs --only minikernel)` : '';
if (missing) console.warn(`minikernel: ${missing} - SKIPPED`);
const hasDomains = !missing && spawnSync(process.execPath, [runnerCli, 'run', '--help']).stdout.toString().includes('--domain');
if (!missing && !hasDomains) console.warn('minikernel: the runner has no --domain (rebuild with pnpm build) - domain runs SKIPPED');

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [runnerCli, 'run', ...args], { cwd: root, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout?.toString('latin1') ?? '', stderr: r.stderr?.toString() ?? '' };
}
const golden = () => readFileSync(resolve(root, 'guests/minikernel/expected.txt'), 'latin1');
/** The console lines of one domain, prefix removed. */
const linesOf = (out: string, name: string) =>
  out.split('\n').filter((l) => l.startsWith(`${name}: `)).map((l) => l.slice(name.length + 2) + '\n').join('');

describe('guests/minikernel', () => {
  it.skipIf(!!missing)('bare: pages, preempts, serves syscalls and faults, and prints the golden output', () => {
    const r = run('--bare', image);
    // "did not take" = the CPU ignored the Sv48 satp write and the kernel ran without paging
    expect(r.stdout).not.toContain('did not take');
    expect(r.stdout).toBe(golden());
    expect(r.status, r.stderr).toBe(0);
  });

  it.skipIf(!!missing)('the golden output shows what the kernel must do', () => {
    const g = golden();
    expect(g).toContain('Sv48 on');
    expect(g).toMatch(/task 1 primes asid 1, .*code 0x10000/);
    expect(g).toMatch(/task 2 heap   asid 2, .*code 0x10000/); // same VA, other frames
    expect(g).toContain('[pid 2] kernel: store/AMO page fault at 0x10000000: heap page 1 demand-mapped');
    expect(g).toContain('[pid 3] write(0x80000000, 16) = -14');
    expect(g).toContain('[pid 3] kernel: killed pid 3: load page fault at 0x80000000 (kernel page, no U)');
    for (const pid of [1, 2, 3]) expect(g).toMatch(new RegExp(`\\[pid ${pid}\\] private page 0x200000 holds 0x${pid}{4} \\(mine: intact\\)`));
    expect(g).toMatch(/ {2}1 {4}primes {2}exit\(0\) .* yes\n {2}2 {4}heap {4}exit\(0\) .* 4 {2}yes\n {2}3 {4}rogue {3}killed .* 1 {2}yes\n/);
  });

  it.skipIf(!!missing)('is deterministic: a second run gives the same output', () => {
    const a = run('--bare', image);
    const b = run('--bare', image);
    expect(b.stdout).toBe(a.stdout);
    expect(b.status).toBe(a.status);
  });

  it.skipIf(!hasDomains)('as a domain (stage 2 under its stage 1) it prints the same output', () => {
    const r = run('--domain', image, '--memory', '256');
    expect(r.stdout).toBe(golden());
    expect(r.status, r.stderr).toBe(0);
  });

  it.skipIf(!hasDomains || !existsSync(hello))('as a domain next to a second domain both print their bare output', () => {
    const r = run('--domain', image, '--domain', hello, '--memory', '256');
    expect(r.status, r.stderr).toBe(0);
    expect(linesOf(r.stdout, 'minikernel')).toBe(golden());
    expect(linesOf(r.stdout, 'hello')).toBe(run('--bare', hello).stdout);
  });
});
