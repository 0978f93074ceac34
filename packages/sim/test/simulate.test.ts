import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@tachyxx/core';
import { domainNames, hostConfigWithDefaults, simulateBare, simulateDomains, WALL_CLOCK_STATS } from '@tachyxx/sim';

const guest = (n: string) => resolve(import.meta.dirname, '../../../guests/build', `${n}.elf`);
const strip = (s: Record<string, unknown>) => Object.fromEntries(Object.entries(s).filter(([k]) => !WALL_CLOCK_STATS.includes(k)));

describe('simulateDomains', () => {
  it('runs hello as a domain and returns the --stats JSON, the same twice', () => {
    const config = hostConfigWithDefaults({ memoryMiB: 96 });
    const bytes = readFileSync(guest('hello'));
    let out = '';
    const a = simulateDomains({ config, images: [{ file: guest('hello'), bytes, memoryMiB: 64 }], console: (_d, b) => (out += Buffer.from(b).toString()) });
    expect(a.status).toBe(0);
    expect(a.reason).toBe('');
    expect(out).toMatch(/hello/i);
    expect(a.stats.exit).toEqual({ reason: 'poweroff', code: 0 });
    const b = simulateDomains({ config, images: [{ file: guest('hello'), bytes, memoryMiB: 64 }] });
    expect(strip(b.stats)).toEqual(strip(a.stats));
  });

  it('reports a crashing domain with its reason', () => {
    const config = hostConfigWithDefaults({ memoryMiB: 96 });
    const crash = simulateDomains({ config, images: [{ file: guest('crash'), bytes: readFileSync(guest('crash')), memoryMiB: 64 }] });
    expect(crash.status).toBe(1);
    expect(crash.reason).toBe("domain 'crash' shut down: crash");
  });

  it('stops at the instruction limit', () => {
    const config = hostConfigWithDefaults({ memoryMiB: 96 });
    const r = simulateDomains({ config, images: [{ file: guest('spin'), bytes: readFileSync(guest('spin')), memoryMiB: 64 }], maxInsns: 100_000 });
    expect(r.stop).toBe('insn-limit');
    expect(r.reason).toMatch(/stopped after 100000 instructions/);
  });
});

describe('simulateBare', () => {
  it('boots hello bare under the selected isa variant', () => {
    const config = hostConfigWithDefaults({ components: { isa: 'legacy-silent' } });
    const r = simulateBare({ config, file: 'hello.elf', bytes: readFileSync(guest('hello')) });
    expect(r.status).toBe(0);
    expect((r.stats.isa as { variant: string }).variant).toBe('legacy-silent');
  });
});

describe('hostConfigWithDefaults', () => {
  it('fills default variants and keeps an explicit memoryMiB over the override', () => {
    const c = hostConfigWithDefaults({ memoryMiB: 300 }, { memoryMiB: 100 });
    expect(c.memoryMiB).toBe(300);
    expect(c.components.mmu?.variant).toBe('tagged');
    expect(hostConfigWithDefaults({}, { memoryMiB: 100 }).memoryMiB).toBe(100);
  });
  it('names the file and lists the allowed variants on a bad one', () => {
    expect(() => hostConfigWithDefaults({ components: { mmu: 'flat' } }, {}, 'x.yaml')).toThrow(ConfigError);
    expect(() => hostConfigWithDefaults({ components: { mmu: 'flat' } }, {}, 'x.yaml')).toThrow(/x\.yaml: components\.mmu: unknown variant 'flat'.*allowed: tagged, untagged/);
  });
  it('numbers duplicate domain names', () => {
    expect(domainNames([{ file: 'a/b.elf' }, { file: 'b.elf' }, { file: 'c', name: 'x' }])).toEqual(['b', 'b-2', 'x']);
  });
});
