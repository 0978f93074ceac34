// Differential test: every guest program that is not Tachyxx-only must print byte-identical
// console output under the Tachyxx runner (bare, boot ABI v1) and under qemu-riscv64 running the
// Linux-user build of the same source, and must power off (exit status 0) on both.
// Benchmarks are compared through their -small variants to keep this file well under a minute.
// Golden outputs recorded from qemu (tools/build-guests.mjs --record) let the Tachyxx side be
// checked on machines without qemu.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const build = resolve(root, 'guests/build');
const runnerCli = resolve(root, 'apps/runner/dist/cli.js');

interface Program { name: string; tachyxxOnly: boolean; small: boolean; bench: boolean }
const manifest: { programs: Program[] } = JSON.parse(readFileSync(resolve(build, 'manifest.json'), 'utf8'));

const hasQemu = spawnSync('qemu-riscv64', ['--version'], { stdio: 'ignore' }).status === 0;
const hasRunner = existsSync(runnerCli);
if (!hasQemu) console.warn('qemu-diff: qemu-riscv64 not found (Debian: apt-get install -y qemu-user) - the qemu comparisons are SKIPPED');
if (!hasRunner) console.warn(`qemu-diff: ${runnerCli} not found (run pnpm build) - the Tachyxx runs are SKIPPED`);

function run(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { cwd: root, maxBuffer: 64 << 20, timeout: 120_000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? Buffer.alloc(0), stderr: r.stderr?.toString() ?? '', error: r.error };
}
const qemu = (variant: string) => run('qemu-riscv64', [resolve(build, 'linux', `${variant}.elf`)]);
const tachyxx = (variant: string) => run(process.execPath, [runnerCli, 'run', '--bare', resolve(build, `${variant}.elf`)]);

/** Readable first difference of two outputs. */
function firstDiff(a: Buffer, b: Buffer): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  if (i === a.length && i === b.length) return 'identical';
  const line = a.subarray(0, i).toString('latin1').split('\n').length;
  const show = (x: Buffer) => JSON.stringify(x.subarray(i, i + 80).toString('latin1').split('\n')[0]);
  return `first difference at byte ${i} (line ${line}): tachyxx ${show(a)} vs qemu ${show(b)}`;
}

const compared = manifest.programs
  .filter((p) => !p.tachyxxOnly)
  .map((p) => ({ program: p.name, variant: p.small ? `${p.name}-small` : p.name, golden: resolve(root, 'guests', p.name, p.small ? 'expected-small.txt' : 'expected.txt') }));

describe('guest programs under Tachyxx and qemu-riscv64', () => {
  it('compares at least hello, isa-tests and five benchmarks', () => {
    const names = compared.map((c) => c.program);
    expect(names).toContain('hello');
    expect(names).toContain('isa-tests');
    expect(manifest.programs.filter((p) => p.bench && !p.tachyxxOnly).length).toBeGreaterThanOrEqual(5);
    expect(names).not.toContain('priv');
  });

  for (const c of compared) {
    describe(c.variant, () => {
      it('has a Tachyxx image, a Linux-user image and a recorded golden output', () => {
        expect(existsSync(resolve(build, `${c.variant}.elf`))).toBe(true);
        expect(existsSync(resolve(build, 'linux', `${c.variant}.elf`))).toBe(true);
        expect(existsSync(c.golden)).toBe(true);
      });

      it.skipIf(!hasQemu)('prints the recorded golden output under qemu-riscv64 and exits 0', () => {
        const q = qemu(c.variant);
        expect(q.error).toBeUndefined();
        expect(q.status, q.stderr).toBe(0);
        expect(q.stdout.equals(readFileSync(c.golden)), firstDiff(q.stdout, readFileSync(c.golden))).toBe(true);
      });

      it.skipIf(!hasQemu || !hasRunner)('prints byte-identical output under Tachyxx and qemu-riscv64, and powers off', () => {
        const t = tachyxx(c.variant);
        const q = qemu(c.variant);
        expect(q.status, `qemu: ${q.stderr}`).toBe(0);
        expect(t.status, `tachyxx: ${t.stderr}`).toBe(0);
        expect(t.stdout.equals(q.stdout), firstDiff(t.stdout, q.stdout)).toBe(true);
      });

      it.skipIf(hasQemu || !hasRunner)('prints the recorded qemu output under Tachyxx (qemu absent)', () => {
        const t = tachyxx(c.variant);
        expect(t.status, `tachyxx: ${t.stderr}`).toBe(0);
        expect(t.stdout.equals(readFileSync(c.golden)), firstDiff(t.stdout, readFileSync(c.golden))).toBe(true);
      });
    });
  }
});
