import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@tachyxx/core';
import { expandSweep, loadSweep, parseSweep, runKey } from '@tachyxx/sweep';

const guests = resolve(import.meta.dirname, '../../../guests/build');
const dir = mkdtempSync(join(tmpdir(), 'tachyxx-sweep-spec-'));
const file = join(dir, 'sweep.yaml');

const base = (axes: string, extra = '') => `name: t
host: { memoryMiB: 200 }
axes:
${axes}
workloads:
  - name: hello
    domains: [{ image: ${guests}/hello.elf, memoryMiB: 64 }]
metrics:
  cycles: simCycles
${extra}`;

const err = (text: string): ConfigError => {
  try {
    expandSweep(parseSweep(text, file));
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
};

describe('sweep files', () => {
  it('expands axes x workloads x seeds in file order with resolved configs', () => {
    const spec = parseSweep(base('  mmu.variant: [tagged, untagged]\n  mmu.entries: [32, 64]', 'seeds: [1, 2]'), file);
    const plans = expandSweep(spec);
    expect(plans.map((p) => p.job.id)).toEqual([
      'hello/mmu.variant=tagged/mmu.entries=32/seed=1',
      'hello/mmu.variant=tagged/mmu.entries=32/seed=2',
      'hello/mmu.variant=tagged/mmu.entries=64/seed=1',
      'hello/mmu.variant=tagged/mmu.entries=64/seed=2',
      'hello/mmu.variant=untagged/mmu.entries=32/seed=1',
      'hello/mmu.variant=untagged/mmu.entries=32/seed=2',
      'hello/mmu.variant=untagged/mmu.entries=64/seed=1',
      'hello/mmu.variant=untagged/mmu.entries=64/seed=2',
    ]);
    const p = plans[6]!;
    expect(p.job.config.components.mmu).toMatchObject({ variant: 'untagged', entries: 64, ways: 4 });
    expect(p.job.config.components.sched?.variant).toBe('credit');
    expect(p.job.config.seed).toBe(1);
    expect(p.job.config.memoryMiB).toBe(200);
    expect(new Set(plans.map((x) => x.job.key)).size).toBe(8);
  });

  it('keys a run by config, image bytes, seed and limits, not by the sweep around it', () => {
    const a = expandSweep(parseSweep(base('  mmu.entries: [32, 64]'), file));
    const b = expandSweep(parseSweep(base('  mmu.entries: [64, 128]', 'limits: { timeoutSeconds: 5 }'), file));
    expect(b[0]!.job.key).toBe(a[1]!.job.key);
    const c = expandSweep(parseSweep(base('  mmu.entries: [64]', 'limits: { maxInsns: 1000 }'), file));
    expect(c[0]!.job.key).not.toBe(a[1]!.job.key);
    const j = a[0]!.job;
    expect(runKey(j.mode, j.config, j.images.map((i) => ({ ...i, sha256: '0'.repeat(64) })), j.maxInsns)).not.toBe(j.key);
  });

  it('names the line and lists the allowed axes for an unknown axis key', () => {
    const e = err(base('  mmu.tlbEntries: [32, 64]'));
    expect(e.message).toMatch(/sweep\.yaml:4:3: axes\.mmu\.tlbEntries: unknown axis 'mmu\.tlbEntries' of component 'mmu' \(allowed: mmu\.variant, .*mmu\.entries/);
    expect(err(base('  tlb.size: [1]')).message).toMatch(/:4:3: axes\.tlb\.size: unknown axis 'tlb\.size' \(allowed: pcpus, memoryMiB, cpu\.freqMHz, console\.\*, evtchn\.\*, grant\.\*, hypervisor\.\*, iommu\.\*, irq-remap\.\*, isa\.\*, mmu\.\*, passthrough\.\*, pcie\.\*, pv-blk\.\*, pv-net\.\*, sched\.\*, sriov-nic\.\*, xenbus\.\*, xenstore\.\*, costs\.\*\)/);
    expect(err(base('  costs.mmu.walkRefs: [1]')).message).toMatch(/unknown cost 'mmu\.walkRefs' \(allowed: .*costs\.mmu\.walkRef[,)]/);
  });

  it('names the value and lists the variants for an unknown variant', () => {
    const e = err(base('  mmu.variant: [tagged, flat]'));
    expect(e.message).toBe(`${file}:4:25: axes.mmu.variant[1]: unknown variant "flat" of component 'mmu' (allowed: tagged, untagged)`);
  });

  it("validates param values with core's config validation, at the value's line", () => {
    const e = err(base('  mmu.variant: [tagged]\n  mmu.entries:\n    - 64\n    - 0'));
    expect(e.message).toMatch(new RegExp(`^${file.replace(/[.]/g, '\\.')}:7:7: axes\\.mmu\\.entries\\[1\\]: expected a non-negative integer in 1\\.\\.`));
    expect(e.message).toMatch(/\(with mmu\.variant=tagged, mmu\.entries=0\)/);
    expect(err(base('  sched.tslice_ms: [0]')).message).toMatch(/:4:21: axes\.sched\.tslice_ms\[0\]: expected/);
  });

  it('reports unknown keys, bad workloads, bad formulas and missing images with their lines', () => {
    expect(err(base('  pcpus: [1]', 'sedes: [1]')).message).toMatch(/:10:1: sedes: unknown key \(allowed: name, host, axes, workloads, seeds, limits, metrics\)/);
    expect(err(base('  pcpus: [1]').replace('cycles: simCycles', 'cpi: simCycles / / instructions')).message).toMatch(/:9:8: metrics\.cpi: bad formula 'simCycles \/ \/ instructions': column 13/);
    expect(err(base('  pcpus: [1]').replace('hello.elf', 'nosuch.elf')).message).toMatch(/:7:24: workloads\[0\]: .*nosuch\.elf: no such file/);
    expect(err(base('  pcpus: [1]').replace('memoryMiB: 64', 'memoryMB: 64')).message).toMatch(/workloads\[0\]\.domains\[0\]\.memoryMB: unknown key \(allowed: image, name, memoryMiB, vcpus, maxVcpus, cmdline, xl\)/);
    expect(err(base('  pcpus: [1]').replace('host: { memoryMiB: 200 }', 'host: { memoryMiB: 200, mmu: 1 }')).message).toMatch(/host\.mmu: unknown key/);
    expect(err(base('  pcpus: [1, 1]')).message).toMatch(/axes\.pcpus\[1\]: duplicate value 1/);
    expect(err(base('  pcpus: []')).message).toMatch(/axes\.pcpus: expected a non-empty list/);
  });

  it('reads a host config file relative to the sweep file', () => {
    writeFileSync(join(dir, 'host.yaml'), 'memoryMiB: 300\ncomponents: { mmu: { variant: untagged, entries: 128 } }\n');
    writeFileSync(file, base('  sched.variant: [credit, rr]').replace('host: { memoryMiB: 200 }', 'host: host.yaml'));
    const plans = expandSweep(loadSweep(file));
    expect(plans[1]!.job.config.components.sched?.variant).toBe('rr');
    expect(plans[1]!.job.config.components.mmu).toMatchObject({ variant: 'untagged', entries: 128 });
    expect(plans[1]!.job.config.memoryMiB).toBe(300);
  });

  it('loads the shipped example sweeps', () => {
    for (const f of ['mmu-tlb.yaml', 'mmu-virt.yaml', 'sched.yaml', 'bench-50.yaml', 'xl-domains.yaml']) {
      const plans = expandSweep(loadSweep(resolve(import.meta.dirname, '../../../examples/sweeps', f)));
      expect(plans.length).toBeGreaterThan(1);
    }
  });
});
