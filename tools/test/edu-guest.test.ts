// The edu driver (guests/edudrv, C) under `tachyxx run --bare`: the host's PCIe topology is
// reachable from PL2 (the firmware enumerated it), the driver finds edu through ECAM, programs
// MSI-X, runs a factorial and DMA both ways, and sees the completion messages in RAM.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GUEST, ROOT, TACHYXX } from './process-helpers.js';

const ready = existsSync(TACHYXX) && existsSync(GUEST('edudrv'));
if (!ready) console.warn('edu-guest: the runner or guests/build/edudrv.elf is missing (pnpm build) - SKIPPED');

function run(args: string[]) {
  return spawnSync(process.execPath, [TACHYXX, 'run', '--bare', GUEST('edudrv'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
}

describe.skipIf(!ready)('edu driver on the bare machine', () => {
  it('finds edu, computes 10!, DMAs both ways with MSI-X completions, and no DMA without bus master', () => {
    const r = run([]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(ROOT, 'guests/edudrv/expected-bare.txt'), 'utf8'));
    expect(r.stdout).toMatch(/10! = 3628800 \(waited: yes\), irq status 1, msi ed0001/);
    expect(r.stdout).toMatch(/DMA to RAM done, msi ed0001, data identical/);
  });

  it('finds edu wherever the host config puts it (behind a switch), at another bus number (empty ports get buses too, as Linux assigns them)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tachyxx-edu-'));
    const f = join(dir, 'host.yaml');
    writeFileSync(f, 'components:\n  pcie:\n    variant: ecam\n    topology: "-, switch(-, edu)"\n');
    const s = join(dir, 'stats.json');
    const r = run(['--host', f, '--stats', s]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/edu: found at 05:00\.0, BAR0 40000000/);
    expect(r.stdout).toMatch(/data identical/);
    // The device's time is the CPU's: the waits took simulated time (polls of the status register).
    expect(JSON.parse(readFileSync(s, 'utf8')).simNs).toBeGreaterThan(1000);
  });
});
