// xl pci-* and xl.cfg `pci = [...]` through real processes (issue 13): a `tachyxx host --unpaced`
// daemon with examples/host-passthrough.yaml, `xl` processes, the edupt C guest on edu; xl_pci.c's
// output formats and messages.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { GUEST, ROOT, cliBuilt, xlSync, startHost, stopHost } from './process-helpers.js';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const EDUPT = GUEST('edupt');
const built = cliBuilt && existsSync(EDUPT);
if (!built) console.warn('xl-pci: the CLIs are not built (pnpm build) or guests/build/edupt.elf is missing - SKIPPED');
const dir = mkdtempSync(join(tmpdir(), 'tachyxx-xl-pci-'));
const socket = join(dir, 'host.sock');
let host: ChildProcess | null = null;
const xl = (...args: string[]) => xlSync(socket, args, 60_000);

function cfg(name: string, pci: string[]): string {
  const f = join(dir, `${name}.cfg`);
  writeFileSync(f, `name = "${name}"\ntype = "pv"\nkernel = "${EDUPT}"\nmemory = 16\npci = [ ${pci.map((p) => `'${p}'`).join(', ')} ]\n`);
  return f;
}

beforeAll(async () => {
  if (!built) return;
  host = await startHost(['--unpaced', '--config', join(ROOT, 'examples/host-passthrough.yaml'), '--socket', socket, '--log-dir', join(dir, 'log')]);
});

afterAll(async () => {
  await stopHost(host);
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!built)('xl pci-* against a running tachyxx host with passthrough (real processes)', () => {
  it('assignable-add / -list, create -c with pci = [...]: edupt drives its device; pci-list, pci-detach, assignable-remove', () => {
    expect(xl('pci-assignable-list').stdout).toBe('');
    const bad = xl('pci-assignable-add', '01:00');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('pci-assignable-add: malformed BDF specification "01:00"\n');
    const refused = xl('create', '-q', cfg('early', ['01:00.0']));
    expect(refused.status).toBe(3);
    expect(refused.stderr).toMatch(/libxl: error: PCI device 0000:01:00\.0 is not assignable/);
    expect(xl('pci-assignable-add', '01:00.0').status).toBe(0);
    expect(xl('pci-assignable-list').stdout).toBe('0000:01:00.0\n');
    const hvmOnly = xl('create', '-q', cfg('slot', ['01:00.0@3']));
    expect(hvmOnly.status).toBe(3);
    expect(hvmOnly.stderr).toMatch(/virtual slot .* is for HVM guests/);
    const r = xl('create', '-c', '-q', join(ROOT, 'examples/edupt.cfg'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('edupt: edu at 0000:01:00.0, BAR0 at guest 23000000');
    expect(r.stdout).toContain('edupt: 10! = 3628800, irq status 1');
    expect(r.stdout).toContain('edupt: DMA 2048 bytes to the device and back through the IOMMU: identical');
    // Powered off and destroyed: the device is back in the assignable list.
    expect(xl('pci-assignable-list').stdout).toBe('0000:01:00.0\n');
    expect(xl('create', '-q', '-p', cfg('holder', ['01:00.0'])).status).toBe(0);
    expect(xl('pci-list', 'holder').stdout).toBe('Vdev Device\n00.0 0000:01:00.0\n');
    expect(xl('pci-assignable-remove', '01:00.0').status).not.toBe(0);
    const d = xl('pci-detach', 'holder', '01:00.0');
    expect(d.status, d.stderr).toBe(0);
    expect(xl('pci-list', 'holder').stdout).toBe('Vdev Device\n');
    expect(xl('pci-attach', 'holder', '01:00.0').status).toBe(0);
    expect(xl('pci-list', 'holder').stdout).toBe('Vdev Device\n00.0 0000:01:00.0\n');
    expect(xl('destroy', 'holder').status).toBe(0);
    expect(xl('pci-assignable-remove', '01:00.0').status).toBe(0);
    expect(xl('pci-assignable-list').stdout).toBe('');
  });
});
