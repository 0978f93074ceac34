// Issue 14 step 1: `tachyxx lspci --host examples/host-sriov.yaml` read by Debian's pciutils
// (`lspci -F FILE -vvv`): the PF's SR-IOV capability decoded field by field, and every VF at
// PF RID + First VF Offset + (n-1) * VF Stride. Skipped (saying so) without pciutils or a build.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, TACHYXX } from './process-helpers.js';

const LSPCI = ['/usr/bin/lspci', '/bin/lspci', '/sbin/lspci', '/usr/sbin/lspci'].find((p) => existsSync(p));
const hasRunner = existsSync(TACHYXX);
if (LSPCI === undefined) console.warn('sriov-lspci: pciutils not installed (Debian: apt-get install -y pciutils) - SKIPPED');
if (!hasRunner) console.warn(`sriov-lspci: ${TACHYXX} not found (run pnpm build) - SKIPPED`);

function decode(hostFile: string): Map<string, string> {
  const t = spawnSync(process.execPath, [TACHYXX, 'lspci', '--host', hostFile], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  expect(t.stderr).toBe('');
  expect(t.status).toBe(0);
  const dumpFile = join(mkdtempSync(join(tmpdir(), 'tachyxx-sriov-lspci-')), 'dump');
  writeFileSync(dumpFile, t.stdout);
  const l = spawnSync(LSPCI!, ['-F', dumpFile, '-vvv'], { encoding: 'utf8', timeout: 60_000 });
  expect(l.status).toBe(0);
  const byDevice = new Map<string, string>();
  for (const block of l.stdout.split(/\n(?=\S)/)) byDevice.set(block.split(' ')[0]!, block);
  return byDevice;
}

describe.skipIf(LSPCI === undefined || !hasRunner)('tachyxx lspci of the SR-IOV host decoded by pciutils', () => {
  it('examples/host-sriov.yaml: the PF with ARI and SR-IOV (8 of 8 VFs, offset 128, stride 2), ARI forwarding above, 8 VFs at 01:10.0 .. 01:11.6', () => {
    const dev = decode(join(ROOT, 'examples/host-sriov.yaml'));
    const vfBdfs = Array.from({ length: 8 }, (_, i) => { const fn = 0x80 + 2 * i; return `01:${(fn >> 3).toString(16).padStart(2, '0')}.${fn & 7}`; });
    expect([...dev.keys()]).toEqual(['00:00.0', '01:00.0', ...vfBdfs]);
    expect(vfBdfs[7]).toBe('01:11.6');
    expect(dev.get('00:00.0')).toMatch(/DevCtl2: .*ARIFwd\+/);
    const pf = dev.get('01:00.0')!;
    expect(pf).toMatch(/01:00.0 Ethernet controller: Device 1234:5a10 \(rev 01\)/);
    expect(pf).toMatch(/Alternative Routing-ID Interpretation \(ARI\)/);
    expect(pf).toMatch(/Single Root I\/O Virtualization \(SR-IOV\)/);
    expect(pf).toMatch(/IOVCtl:\s+Enable\+ Migration- Interrupt- MSE\+ ARIHierarchy\+/);
    expect(pf).toMatch(/Initial VFs: 8, Total VFs: 8, Number of VFs: 8, Function Dependency Link: 00/);
    expect(pf).toMatch(/VF offset: 128, stride: 2, Device ID: 5a11/);
    expect(pf).toMatch(/Supported Page Size: 00000553, System Page Size: 00000001/);
    // VF BAR 0 (16 KiB per VF) and VF BAR 3 (MSI-X, 16 KiB per VF), each 8 VFs long, inside the port's window.
    const vf0 = /Capabilities: \[[0-9a-f]+ v1\] Single Root[\s\S]*?Region 0: Memory at ([0-9a-f]+) \(32-bit, non-prefetchable\)\s+Region 3: Memory at ([0-9a-f]+)/.exec(pf);
    expect(vf0).not.toBeNull();
    const b0 = parseInt(vf0![1]!, 16), b3 = parseInt(vf0![2]!, 16);
    expect(b0 % 0x4000).toBe(0);
    expect(b3 % 0x4000).toBe(0);
    expect(Math.abs(b3 - b0)).toBeGreaterThanOrEqual(8 * 0x4000);
    for (const b of vfBdfs) {
      const vf = dev.get(b)!;
      expect(vf).toMatch(new RegExp(`${b} Ethernet controller: Device 1234:5a11 \\(rev 01\\)`));
      expect(vf).toMatch(/Control: I\/O- Mem- BusMaster-/); // a VF's Memory Space is read-only 0 (VF MSE decides)
      expect(vf).toMatch(/FLReset\+/);
      expect(vf).toMatch(/MSI-X: Enable- Count=3 Masked-\s+Vector table: BAR=3 offset=00000000\s+PBA: BAR=3 offset=00002000/);
      expect(vf).not.toMatch(/Region \d/); // VF headers have no BARs of their own
    }
  });

  it('sriov-nic(vfs=4) with no VFs enabled at boot: the capability with NumVFs 0, Enable-, and no VF listed', () => {
    const f = join(mkdtempSync(join(tmpdir(), 'tachyxx-sriov-host-')), 'host.yaml');
    writeFileSync(f, 'components:\n  pcie: { variant: ecam, topology: "sriov-nic(vfs=4)" }\n');
    const dev = decode(f);
    expect([...dev.keys()]).toEqual(['00:00.0', '01:00.0']);
    const pf = dev.get('01:00.0')!;
    expect(pf).toMatch(/IOVCtl:\s+Enable- Migration- Interrupt- MSE- ARIHierarchy\+/);
    expect(pf).toMatch(/Initial VFs: 4, Total VFs: 4, Number of VFs: 0/);
  });
});
