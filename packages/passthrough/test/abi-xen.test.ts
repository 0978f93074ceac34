// The physdev_op layouts and numbers of @tachyxx/abi against Xen's own public headers (Debian
// libxen-dev, compiled for aarch64 as tools/test/abi-headers.test.ts does), and guests/xenlib's
// pcifront.h against @tachyxx/abi (riscv64): one _Static_assert per value, clang -fsyntax-only.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  GUEST_VPCI_MEM_ADDR, GUEST_VPCI_MEM_SIZE, MapPirqType, PhysdevMapPirq, PhysdevOp, PhysdevTachyxxPciConfig, PhysdevUnmapPirq,
  PHYSDEVOP_tachyxx_pci_config_read, PHYSDEVOP_tachyxx_pci_config_write, XEN_DOMCTL_assign_device, XEN_DOMCTL_deassign_device,
  XEN_DOMCTL_test_assign_device, XEN_DOMCTL_DEV_RDM_RELAXED,
} from '@tachyxx/abi';

const ROOT = join(import.meta.dirname, '../../..');
const CLANG = process.env.CLANG ?? 'clang';
const hasClang = spawnSync(CLANG, ['--version'], { stdio: 'ignore' }).status === 0;
const targets = hasClang ? spawnSync(CLANG, ['--print-targets'], { encoding: 'utf8' }).stdout : '';
const XEN_INCLUDE = '/usr/include';
const ready = hasClang && /aarch64/.test(targets) && /riscv64/.test(targets) && existsSync(join(XEN_INCLUDE, 'xen/physdev.h'));
if (!ready) console.warn('abi-xen: clang (aarch64 + riscv64) or Xen headers missing - SKIPPED');

function check(flags: string[], prelude: string, asserts: [string, number][]): string {
  const dir = mkdtempSync(join(tmpdir(), 'tachyxx-physdev-'));
  try {
    const src = join(dir, 'check.c');
    writeFileSync(src, prelude + asserts.map(([e, v], i) => `_Static_assert((long long)(${e}) == ${v}LL, "check ${i}: ${e.replace(/"/g, "'")} != ${v}");\n`).join(''));
    const r = spawnSync(CLANG, [...flags, '-fsyntax-only', '-ferror-limit=0', src], { encoding: 'utf8' });
    return r.status === 0 ? '' : r.stderr;
  } finally { rmSync(dir, { recursive: true, force: true }); }
}

const fields = (struct: string, l: Record<string, unknown>): [string, number][] => [
  [`sizeof(struct ${struct})`, (l as { size: number }).size],
  ...Object.entries(l).filter(([k]) => k !== 'size').flatMap(([k, v]) => {
    const f = v as { offset: number; size: number };
    return [[`offsetof(struct ${struct}, ${k})`, f.offset], [`sizeof(((struct ${struct} *)0)->${k})`, f.size]] as [string, number][];
  }),
];

describe.skipIf(!ready)('physdev_op ABI', () => {
  it("equals Xen's physdev.h / domctl.h / arch-arm.h (aarch64)", () => {
    const flags = ['--target=aarch64-linux-gnu', '-ffreestanding', '-nostdinc', '-isystem', execFileSync(CLANG, ['-print-resource-dir'], { encoding: 'utf8' }).trim() + '/include', '-idirafter', XEN_INCLUDE, '-D__XEN_INTERFACE_VERSION__=__XEN_LATEST_INTERFACE_VERSION__', '-D__XEN_TOOLS__'];
    const prelude = '#include <stdint.h>\n#include <stddef.h>\n#include <xen/xen.h>\n#include <xen/physdev.h>\n#include <xen/domctl.h>\n';
    const asserts: [string, number][] = [
      ...fields('physdev_map_pirq', PhysdevMapPirq),
      ...fields('physdev_unmap_pirq', PhysdevUnmapPirq),
      ...Object.entries(PhysdevOp).map(([k, v]) => [`PHYSDEVOP_${k}`, v] as [string, number]),
      ...Object.entries(MapPirqType).map(([k, v]) => [`MAP_PIRQ_TYPE_${k}`, v] as [string, number]),
      ['XEN_DOMCTL_assign_device', XEN_DOMCTL_assign_device], ['XEN_DOMCTL_test_assign_device', XEN_DOMCTL_test_assign_device],
      ['XEN_DOMCTL_deassign_device', XEN_DOMCTL_deassign_device], ['XEN_DOMCTL_DEV_RDM_RELAXED', XEN_DOMCTL_DEV_RDM_RELAXED],
      ['GUEST_VPCI_MEM_ADDR', GUEST_VPCI_MEM_ADDR], ['GUEST_VPCI_MEM_SIZE', GUEST_VPCI_MEM_SIZE],
    ];
    // Tachyxx's own sub-ops must not collide with any Xen number (Xen's end at 31).
    expect(PHYSDEVOP_tachyxx_pci_config_read).toBeGreaterThan(Math.max(...Object.values(PhysdevOp), 31));
    expect(check(flags, prelude, asserts)).toBe('');
  });

  it('guests/xenlib/pcifront.h equals @tachyxx/abi (riscv64)', () => {
    const flags = ['--target=riscv64-unknown-elf', '-march=rv64ima', '-mabi=lp64', '-DPLATFORM_TACHYXX', '-ffreestanding', '-nostdlib', `-I${ROOT}/guests/lib`, `-I${ROOT}/guests/xenlib`];
    const prelude = '#include "tachyxx.h"\n#include "xen.h"\n#include "evtchn.h"\n#include "pcifront.h"\n#define offsetof __builtin_offsetof\n';
    const asserts: [string, number][] = [
      ...fields('physdev_map_pirq', PhysdevMapPirq),
      ...fields('physdev_unmap_pirq', PhysdevUnmapPirq),
      ...fields('physdev_tachyxx_pci_config', PhysdevTachyxxPciConfig),
      ['PHYSDEVOP_map_pirq', PhysdevOp.map_pirq], ['PHYSDEVOP_unmap_pirq', PhysdevOp.unmap_pirq],
      ['PHYSDEVOP_tachyxx_pci_config_read', PHYSDEVOP_tachyxx_pci_config_read], ['PHYSDEVOP_tachyxx_pci_config_write', PHYSDEVOP_tachyxx_pci_config_write],
      ['MAP_PIRQ_TYPE_MSI_SEG', MapPirqType.MSI_SEG], ['GUEST_VPCI_MEM_ADDR', GUEST_VPCI_MEM_ADDR], ['GUEST_VPCI_MEM_SIZE', GUEST_VPCI_MEM_SIZE],
    ];
    expect(check(flags, prelude, asserts)).toBe('');
  });
});
