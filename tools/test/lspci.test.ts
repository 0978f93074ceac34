// `tachyxx lspci` read by a real client: Debian's pciutils (`lspci -F FILE -vvv`) decodes our
// `lspci -xxxx` dump. The test asserts what lspci itself names: the Express capability, MSI-X
// with its table size, BAR and offsets, the BARs, the bridges' windows, and ARI / ACS where the
// topology has them. CI installs pciutils (.ci/run); without it the tests are skipped, saying so.
// pciutils' dump reader (lib/dump.c) has no BAR sizes (it fills no PCI_FILL_SIZES), so lspci
// prints a region's address without "[size=...]": the sizes are checked against the enumerator
// (natural alignment of each BAR address lspci prints) and through the bridge windows lspci sizes.
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, TACHYXX, XL, until, xlSync } from './process-helpers.js';

const LSPCI = ['/usr/bin/lspci', '/bin/lspci', '/sbin/lspci', '/usr/sbin/lspci'].find((p) => existsSync(p));
const hasRunner = existsSync(TACHYXX);
if (LSPCI === undefined) console.warn('lspci: pciutils not installed (Debian: apt-get install -y pciutils) - the lspci decoding tests are SKIPPED');
if (!hasRunner) console.warn(`lspci: ${TACHYXX} not found (run pnpm build) - SKIPPED`);

const dir = mkdtempSync(join(tmpdir(), 'tachyxx-lspci-'));

/** Runs `tachyxx lspci [--host FILE]`, then `lspci -F dump -vvv`; returns both outputs. */
function lspciF(dumpText: string): Map<string, string> {
  const dumpFile = join(dir, `dump-${Math.random().toString(36).slice(2)}`);
  writeFileSync(dumpFile, dumpText);
  const l = spawnSync(LSPCI!, ['-F', dumpFile, '-vvv'], { encoding: 'utf8', timeout: 60_000 });
  expect(l.status).toBe(0);
  const byDevice = new Map<string, string>();
  for (const block of l.stdout.split(/\n(?=\S)/)) byDevice.set(block.split(' ')[0]!, block);
  return byDevice;
}

function decode(hostYaml?: string): { dump: string; text: string; byDevice: Map<string, string> } {
  const args = [TACHYXX, 'lspci'];
  if (hostYaml !== undefined) {
    const f = join(dir, `host-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(f, hostYaml);
    args.push('--host', f);
  }
  const t = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  expect(t.stderr).toBe('');
  expect(t.status).toBe(0);
  const dumpFile = join(dir, `dump-${Math.random().toString(36).slice(2)}`);
  writeFileSync(dumpFile, t.stdout);
  const l = spawnSync(LSPCI!, ['-F', dumpFile, '-vvv'], { encoding: 'utf8', timeout: 60_000 });
  expect(l.status).toBe(0);
  const byDevice = new Map<string, string>();
  for (const block of l.stdout.split(/\n(?=\S)/)) byDevice.set(block.split(' ')[0]!, block);
  return { dump: t.stdout, text: l.stdout, byDevice };
}

describe.skipIf(LSPCI === undefined || !hasRunner)('tachyxx lspci decoded by pciutils', () => {
  it('the default host: a root port with edu behind it, its Express and MSI-X capabilities and its BARs', () => {
    const { dump, byDevice } = decode();
    expect([...byDevice.keys()]).toEqual(['00:00.0', '01:00.0']);
    expect(dump.split('\n')[1]).toMatch(/^00: 36 1b 0c 00 /); // the hex format lspci -xxxx prints
    expect(dump).toMatch(/\nff0: ([0-9a-f]{2} ){15}[0-9a-f]{2}\n/); // the whole 4 KiB
    const rp = byDevice.get('00:00.0')!;
    expect(rp).toMatch(/PCI bridge: Red Hat, Inc\. QEMU PCIe Root port/);
    expect(rp).toMatch(/Bus: primary=00, secondary=01, subordinate=01/);
    expect(rp).toMatch(/Capabilities: \[40\] Express \(v2\) Root Port \(Slot\+\)/);
    expect(rp).toMatch(/Memory behind bridge: 40000000-401fffff \[size=2M\]/);
    expect(rp).toMatch(/I\/O behind bridge: .*\[disabled\]/);
    expect(rp).toMatch(/Access Control Services/);
    expect(rp).toMatch(/ARIFwd\+/); // DevCap2: ARI forwarding supported
    const edu = byDevice.get('01:00.0')!;
    expect(edu).toMatch(/01:00.0 Unclassified device \[00ff\]: Device 1234:11e8 \(rev 10\)/);
    expect(edu).toMatch(/Control: I\/O- Mem\+ BusMaster-/);
    expect(edu).toMatch(/Capabilities: \[40\] Express \(v2\) Endpoint/);
    expect(edu).toMatch(/FLReset\+/);
    expect(edu).toMatch(/Power Management version 3/);
    expect(edu).toMatch(/MSI-X: Enable- Count=1 Masked-/);
    expect(edu).toMatch(/Vector table: BAR=2 offset=00000000/);
    expect(edu).toMatch(/PBA: BAR=2 offset=00000800/);
    const regions = [...edu.matchAll(/Region (\d): Memory at ([0-9a-f]+) \(32-bit, non-prefetchable\)/g)].map((m) => [Number(m[1]), parseInt(m[2]!, 16)]);
    expect(regions.map((r) => r[0])).toEqual([0, 2]);
    // BAR0 is 1 MiB, BAR2 4 KiB: each address lspci prints is aligned to that size and inside the window.
    expect(regions[0]![1]! % (1 << 20)).toBe(0);
    expect(regions[1]![1]! % 4096).toBe(0);
    for (const [, a] of regions) expect(a! >= 0x4000_0000 && a! < 0x4020_0000).toBe(true);
    expect(edu).not.toMatch(/Alternative Routing-ID/);
  });

  it('a host with two channels, a switch and an ARI/ACS endpoint: domains, bus numbers, ARI and ACS as lspci names them', () => {
    const { byDevice } = decode('components:\n  pcie:\n    variant: ecam\n    topology: "edu, switch(edu-ari, -); edu"\n');
    expect([...byDevice.keys()]).toEqual(['0000:00:00.0', '0000:00:01.0', '0000:01:00.0', '0000:02:00.0', '0000:03:00.0', '0000:03:01.0', '0000:04:00.0', '0001:00:00.0', '0001:01:00.0']);
    expect(byDevice.get('0000:02:00.0')!).toMatch(/Express \(v2\) Upstream Port/);
    expect(byDevice.get('0000:03:00.0')!).toMatch(/Express \(v2\) Downstream Port/);
    expect(byDevice.get('0000:03:00.0')!).toMatch(/DevCtl2:.*ARIFwd\+/); // the enumerator enabled ARI forwarding above edu-ari
    expect(byDevice.get('0000:03:01.0')!).toMatch(/Memory behind bridge: .*\[disabled\]/); // an empty port
    const ari = byDevice.get('0000:04:00.0')!;
    expect(ari).toMatch(/Capabilities: \[100 v1\] Alternative Routing-ID Interpretation \(ARI\)/);
    expect(ari).toMatch(/ARICap:\s+MFVC- ACS-, Next Function: 0/);
    expect(ari).toMatch(/Capabilities: \[108 v1\] Access Control Services/);
    expect(ari).toMatch(/ACSCap:\s+SrcValid\+ TransBlk\+ ReqRedir\+ CmpltRedir\+ UpstreamFwd\+/);
    expect(byDevice.get('0001:00:00.0')!).toMatch(/Memory behind bridge: 60000000-601fffff/); // channel 1's half of the window
  });

  it('xl pci-dump prints a running host\'s functions the same way; after the driver-less boot dom0 owns them, enumerated', async () => {
    if (!existsSync(XL)) return;
    const socket = join(dir, 'host.sock');
    const host = spawn(process.execPath, [TACHYXX, 'host', '--socket', socket, '--log-dir', join(dir, 'logs')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    host.stderr!.on('data', (d) => (err += d));
    try {
      await until(() => err.includes('listening on'), 20_000);
      const r = xlSync(socket, ['pci-dump']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      // The same topology as `tachyxx lspci` of the default host, byte for byte.
      const offline = spawnSync(process.execPath, [TACHYXX, 'lspci'], { cwd: ROOT, encoding: 'utf8' });
      expect(r.stdout).toBe(offline.stdout);
      const byDevice = lspciF(r.stdout);
      expect(byDevice.get('01:00.0')!).toMatch(/MSI-X: Enable- Count=1 Masked-/);
      expect(byDevice.get('01:00.0')!).toMatch(/Region 0: Memory at 40000000/);
    } finally {
      host.kill('SIGTERM');
      await new Promise((res) => host.once('exit', res));
    }
  });

  it('a bad topology is a config error naming the file, the key and the column', () => {
    const f = join(dir, 'bad.yaml');
    writeFileSync(f, 'components:\n  pcie:\n    variant: ecam\n    topology: "edu, nic"\n');
    const t = spawnSync(process.execPath, [TACHYXX, 'lspci', '--host', f], { cwd: ROOT, encoding: 'utf8' });
    expect(t.status).toBe(2);
    expect(t.stderr).toMatch(/bad\.yaml:4:\d+: components\.pcie\.topology: unknown device model 'nic' at column 6/);
  });
});

describe.skipIf(!hasRunner)('tachyxx lspci usage', () => {
  it('--help explains the command; a stray argument is bad usage (exit 2)', () => {
    const h = spawnSync(process.execPath, [TACHYXX, 'lspci', '--help'], { cwd: ROOT, encoding: 'utf8' });
    expect(h.status).toBe(0);
    expect(h.stdout).toMatch(/^Usage: tachyxx lspci \[--host FILE\]/);
    const b = spawnSync(process.execPath, [TACHYXX, 'lspci', 'extra'], { cwd: ROOT, encoding: 'utf8' });
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/unexpected argument 'extra'/);
  });
});
