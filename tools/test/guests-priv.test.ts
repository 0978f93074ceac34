// The Tachyxx-only guests against their hand-written golden outputs: guests/priv under both ISA
// variants (sensitive instructions trap under tachy-v1, are silent under legacy-silent) and
// guests/bootinfo (boot ABI v1 as seen by the guest). Needs the built runner.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const runnerCli = resolve(root, 'apps/runner/dist/cli.js');
const hasRunner = existsSync(runnerCli);
if (!hasRunner) console.warn(`guests-priv: ${runnerCli} not found (run pnpm build) - SKIPPED`);

function tachyxx(image: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [runnerCli, 'run', '--bare', resolve(root, 'guests/build', image), ...args], { cwd: root, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout?.toString('latin1') ?? '', stderr: r.stderr?.toString() ?? '' };
}
const golden = (p: string) => readFileSync(resolve(root, 'guests', p), 'latin1');

describe('Tachyxx-only guests', () => {
  it.skipIf(!hasRunner)('priv passes every check under tachy-v1, where sensitive instructions trap with cause 22', () => {
    const r = tachyxx('priv.elf', '--isa', 'tachy-v1');
    expect(r.stdout).toBe(golden('priv/expected-tachy-v1.txt'));
    expect(r.status, r.stderr).toBe(0);
  });

  it.skipIf(!hasRunner)('priv passes every check under legacy-silent, where sensitive instructions are silent', () => {
    const r = tachyxx('priv.elf', '--isa', 'legacy-silent');
    expect(r.stdout).toBe(golden('priv/expected-legacy-silent.txt'));
    expect(r.status, r.stderr).toBe(0);
  });

  it.skipIf(!hasRunner)('bootinfo sees vCPU 0, a valid start_info for 256 MiB and -ENOSYS for unknown hypercalls', () => {
    const r = tachyxx('bootinfo.elf');
    expect(r.stdout).toBe(golden('bootinfo/expected.txt'));
    expect(r.status, r.stderr).toBe(0);
  });
});
