// The SR-IOV NIC through real processes (issue 14): a `tachyxx host --unpaced` daemon with
// examples/host-sriov.yaml, `xl pci-sriov-*` (dom0's PF driver: sriov_numvfs, ip link set vf),
// `xl pci-assignable-add` of a VF and xl.cfg `pci = ['01:10.0']`: a VF domain and a PV-net
// domain (examples/sriov-vf.cfg: ping; sriov-pv.cfg: udpecho, whose stack answers) talk.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { GUEST, ROOT, TACHYXX, cliBuilt, until, xlSync } from './process-helpers.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const built = cliBuilt && existsSync(GUEST('ping-vf')) && existsSync(GUEST('udpecho'));
if (!built) console.warn('xl-sriov: the CLIs are not built (pnpm build) or guests/build/{ping-vf,udpecho}.elf are missing - SKIPPED');
const dir = mkdtempSync(join(tmpdir(), 'tachyxx-xl-sriov-'));
const socket = join(dir, 'host.sock');
let host: ChildProcess | null = null;
const xl = (...args: string[]) => xlSync(socket, args, 120_000);

beforeAll(async () => {
  if (!built) return;
  host = spawn(process.execPath, [TACHYXX, 'host', '--unpaced', '--config', join(ROOT, 'examples/host-sriov.yaml'), '--socket', socket, '--log-dir', join(dir, 'log')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  host.stderr!.on('data', (d) => (err += d));
  await until(() => err.includes('listening on'), 20_000);
});

afterAll(async () => {
  if (host && host.exitCode === null) {
    host.kill('SIGTERM');
    await new Promise((r) => host!.once('exit', r));
  }
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!built)('xl pci-sriov-* and a VF domain against a running tachyxx host (real processes)', () => {
  it('numvfs (sriov_numvfs semantics), list, per-VF settings; a VF domain pings a PV-net domain; the VF comes back after destroy', () => {
    expect(xl('pci-sriov-numvfs', '01:00.0').stdout).toBe('0000:01:00.0: 8/8 VFs\n');
    const busy = xl('pci-sriov-numvfs', '01:00.0', '4');
    expect(busy.status).not.toBe(0);
    expect(busy.stderr).toMatch(/device or resource busy/);
    expect(xl('pci-sriov-numvfs', '01:00.0', '9').stderr).toMatch(/out of range/);
    expect(xl('pci-sriov-numvfs', '01:00.0', '0').stdout).toBe('0000:01:00.0: 0/8 VFs\n');
    expect(xl('pci-sriov-numvfs', '01:00.0', '2').stdout).toBe('0000:01:00.0: 2/8 VFs\n');
    expect(xl('pci-sriov-vf', '01:00.0', '2', 'vlan', '7').status).toBe(0);
    expect(xl('pci-sriov-vf', '01:00.0', '2', 'max_tx_rate', '100').status).toBe(0);
    expect(xl('pci-sriov-vf', '01:00.0', '2', 'mac', 'ff:ff:ff:ff:ff:ff').status).not.toBe(0);
    expect(xl('pci-sriov-vf', '01:00.0', '2', 'colour', 'red').stderr).toMatch(/unknown setting 'colour'/);
    expect(xl('pci-sriov-list').stdout).toBe(
      '0000:01:00.0: link up, switch veb, 2/8 VFs\n' +
      '    vf 1 0000:01:10.0 link/ether 02:5a:00:01:00:01, vlan 0, max_tx_rate 0Mbps, link-state enable, tx 0 rx 0 drops 0\n' +
      '    vf 2 0000:01:10.2 link/ether 02:5a:00:01:00:02, vlan 7, max_tx_rate 100Mbps, link-state enable, tx 0 rx 0 drops 0\n');
    expect(xl('pci-assignable-add', '01:10.0').status).toBe(0);
    expect(xl('pci-assignable-list').stdout).toBe('0000:01:10.0\n');
    expect(xl('create', '-q', join(ROOT, 'examples/sriov-pv.cfg')).status).toBe(0);
    const r = xl('create', '-c', '-q', join(ROOT, 'examples/sriov-vf.cfg'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('ping: vf10.0 02:5a:00:01:00:01 mtu 1500, 10.0.0.1/24 (cmdline), SR-IOV VF 0000:01:10.0');
    expect(r.stdout).toContain('4 packets transmitted, 4 received, 0% packet loss');
    // With the VF assigned, sriov_numvfs refuses changes (Linux: pci_vfs_assigned).
    const held = xl('create', '-q', '-p', join(ROOT, 'examples/sriov-vf.cfg'));
    expect(held.status).toBe(0);
    expect(xl('pci-sriov-numvfs', '01:00.0', '0').stderr).toMatch(/busy/);
    expect(xl('destroy', 'sriov-vf').status).toBe(0);
    expect(xl('destroy', 'sriov-pv').status).toBe(0);
    expect(xl('pci-sriov-list', '01:00.0').stdout).toMatch(/vf 1 0000:01:10\.0 link\/ether 02:5a:00:01:00:01, vlan 0, .* tx [1-9]\d* rx [1-9]\d*/);
    expect(xl('pci-assignable-list').stdout).toBe('0000:01:10.0\n');
  });
});
