import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ConfigError, definePlugin, hostConfigFromObject, loadHostConfig, p, parseHostConfig, PluginRegistry } from '../src/index.js';
import { testRegistry } from './fixtures.js';

const registry = testRegistry();

function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

function writeConfig(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'tachyxx-core-')), 'host.yaml');
  writeFileSync(file, text);
  return file;
}

const GOOD = `seed: 7
cpu: { freqMHz: 2000 }
pcpus: 2
memoryMiB: 512
components:
  greeter: { variant: polite, punctuation: "!" }
  shouter: loud
costs: { greeter.greet: 25 }
`;

describe('the host config loader', () => {
  it('loads a YAML file and fills in defaults', () => {
    const cfg = loadHostConfig(writeConfig(GOOD), registry);
    expect(cfg).toEqual({
      seed: 7,
      cpu: { freqMHz: 2000 },
      pcpus: 2,
      memoryMiB: 512,
      components: { greeter: { variant: 'polite', punctuation: '!', repeat: 1 }, shouter: { variant: 'loud', bang: true } },
      costs: { 'greeter.greet': 25 },
    });
    expect(Object.isFrozen(cfg.components.greeter)).toBe(true);
  });

  it('gives every default for an empty document', () => {
    expect(parseHostConfig('', registry)).toEqual({ seed: 1, cpu: { freqMHz: 1000 }, pcpus: 1, memoryMiB: 256, components: {}, costs: {} });
  });

  it('validates its own output to the same value (round trip through YAML)', () => {
    const cfg = parseHostConfig(GOOD, registry);
    expect(parseHostConfig(stringify(cfg), registry)).toEqual(cfg);
    expect(hostConfigFromObject(cfg, registry)).toEqual(cfg);
  });

  it('names the file, line and column of an unknown top-level key and lists the allowed keys', () => {
    const file = writeConfig('seed: 1\npcpus: 1\nmemroyMiB: 64\n');
    const e = configErrorOf(() => loadHostConfig(file, registry));
    expect(e.message).toBe(`${file}:3:1: memroyMiB: unknown key (allowed: seed, cpu, pcpus, memoryMiB, components, costs, numa, dom0)`);
    expect(e).toMatchObject({ file, line: 3, col: 1, keyPath: 'memroyMiB', exitCode: 2 });
  });

  it('lists the known variants of a component when the variant is unknown', () => {
    const e = configErrorOf(() => parseHostConfig('components:\n  greeter:\n    variant: rude\n', registry, { file: 'h.yaml' }));
    expect(e.message).toBe("h.yaml:3:14: components.greeter.variant: unknown variant 'rude' of component 'greeter' (allowed: polite, terse)");
  });

  it('accepts a variant name as shorthand and reports a bad one at its value', () => {
    const e = configErrorOf(() => parseHostConfig('components:\n  greeter: loud\n', registry, { file: 'h.yaml' }));
    expect(e.message).toBe("h.yaml:2:12: components.greeter: unknown variant 'loud' of component 'greeter' (allowed: polite, terse)");
  });

  it('lists the known components when a component is unknown', () => {
    const e = configErrorOf(() => parseHostConfig('components:\n  gpu: { variant: x }\n', registry, { file: 'h.yaml' }));
    expect(e.message).toBe("h.yaml:2:3: components.gpu: unknown component 'gpu' (allowed: auditor, greeter, liar, shouter)");
  });

  it('asks for a missing variant', () => {
    expect(configErrorOf(() => parseHostConfig('components:\n  greeter: { repeat: 2 }\n', registry)).message).toBe(
      "<yaml>:2:3: components.greeter: missing 'variant' (allowed: polite, terse)",
    );
  });

  it('rejects bad numbers with the key path, position and the expected range', () => {
    const cases: Array<[string, string]> = [
      ['pcpus: -2\n', "<yaml>:1:8: pcpus: expected a non-negative integer in 1..256, got -2"],
      ['pcpus: 1.5\n', '<yaml>:1:8: pcpus: expected a non-negative integer in 1..256, got 1.5'],
      ['memoryMiB: .nan\n', '<yaml>:1:12: memoryMiB: expected a non-negative integer in 1..4096, got NaN'],
      ['memoryMiB: 65536\n', '<yaml>:1:12: memoryMiB: expected a non-negative integer in 1..4096, got 65536'],
      ['cpu:\n  freqMHz: fast\n', '<yaml>:2:12: cpu.freqMHz: expected a non-negative integer in 1..1000000, got "fast"'],
      ['components: { greeter: { variant: polite, repeat: 9 } }\ncosts: { greeter.greet: 1 }\n', '<yaml>:1:51: components.greeter.repeat: expected a non-negative integer in 1..3, got 9'],
      ['components: { greeter: polite }\ncosts: { greeter.greet: -1 }\n', '<yaml>:2:25: costs.greeter.greet: expected a non-negative integer, got -1'],
    ];
    for (const [text, message] of cases) expect(configErrorOf(() => parseHostConfig(text, registry)).message).toBe(message);
  });

  it('rejects an unknown param key with the params the variant has', () => {
    expect(configErrorOf(() => parseHostConfig('components:\n  greeter: { variant: polite, shout: true }\n', registry)).message).toBe(
      '<yaml>:2:31: components.greeter.shout: unknown key (allowed: variant, punctuation, repeat)',
    );
  });

  it('accepts only the costs that selected components declare', () => {
    expect(configErrorOf(() => parseHostConfig('costs: { trap: 376 }\n', registry)).message).toBe('<yaml>:1:10: costs.trap: unknown key (allowed: none)');
    expect(parseHostConfig('components: { greeter: polite }\n', registry).costs).toEqual({ 'greeter.greet': 10 });
    // Costs are namespaced by component: the bare name is an unknown key, named with its line and the known keys.
    expect(configErrorOf(() => parseHostConfig('components: { greeter: polite }\ncosts:\n  greet: 3\n', registry, { file: 'h.yaml' })).message).toBe(
      'h.yaml:3:3: costs.greet: unknown key (allowed: greeter.greet)',
    );
    expect(parseHostConfig('components: { greeter: polite }\ncosts: { greeter.greet: 7 }\n', registry).costs).toEqual({ 'greeter.greet': 7 });
  });

  it('reports a missing required token and who could provide it', () => {
    const e = configErrorOf(() => parseHostConfig('components:\n  shouter: loud\n', registry));
    expect(e.message).toBe('<yaml>:2:3: components.shouter: shouter/loud requires test.Greeter, which no selected component provides; select one of (allowed: greeter: polite, greeter: terse)');
  });

  it('reports YAML syntax errors and duplicate keys with their position', () => {
    expect(configErrorOf(() => parseHostConfig('seed: [1, 2\n', registry, { file: 'x.yaml' })).message).toMatch(/^x\.yaml:\d+:\d+: invalid YAML: /);
    const dup = configErrorOf(() => parseHostConfig('seed: 1\nseed: 2\n', registry, { file: 'x.yaml' }));
    expect(dup.message).toMatch(/^x\.yaml:2:1: invalid YAML: .*unique/i);
  });

  it('reports a missing file as a ConfigError', () => {
    expect(configErrorOf(() => loadHostConfig('/nonexistent/host.yaml', registry)).message).toBe('/nonexistent/host.yaml: no such file');
  });

  it('rejects a document that is not a mapping', () => {
    expect(configErrorOf(() => parseHostConfig('- a\n- b\n', registry)).message).toBe('<yaml>:1:1: expected a mapping of host settings, got a list');
  });

  it('turns any text into a config or a ConfigError, never another exception', () => {
    const fragments = fc.constantFrom('seed', 'cpu', 'components', 'greeter', 'variant', 'polite', 'costs', ':', ' ', '\n', '  ', '- ', '{', '}', '[', ']', ',', '&a', '*a', '!!binary', '"', "'", '#', '1', '-1', '.nan', '__proto__', '? ', '|', '>', '%YAML 1.2\n---\n', '---\n', '~');
    const text = fc.oneof(fc.string({ maxLength: 200 }), fc.array(fragments, { maxLength: 40 }).map((xs) => xs.join('')));
    fc.assert(
      fc.property(text, (t) => {
        try {
          parseHostConfig(t, registry);
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
          expect(e.message).not.toMatch(/\n/);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('turns any object into a config or a ConfigError, never another exception', () => {
    const shaped = fc.record(
      { seed: fc.anything(), cpu: fc.anything(), components: fc.dictionary(fc.constantFrom('greeter', 'shouter', 'x'), fc.anything()), costs: fc.anything() },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.anything({ withNullPrototype: true, withObjectString: true }), shaped), (raw) => {
        try {
          hostConfigFromObject(raw, registry);
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('device instances (p.list params)', () => {
  // A component that takes a list of device instances, as pv-blk disks or PCIe functions do.
  const disks = definePlugin({
    id: 'disks',
    variant: 'raw',
    description: 'a list of disks',
    params: {
      devices: p.list({ path: p.string('', 'backing file'), sectors: p.uint(8, 'size in sectors', { min: 1, max: 1 << 20 }), ro: p.bool(false, 'read-only') }, 'the disks', { max: 4 }),
    },
    provides: [],
    requires: [],
    register() {},
  });
  const reg = new PluginRegistry([disks]);

  it('validates every item, fills defaults, and describes the item fields', () => {
    const cfg = hostConfigFromObject({ components: { disks: { variant: 'raw', devices: [{ path: 'a.img' }, { path: 'b.img', sectors: '0x10', ro: 'true' }] } } }, reg);
    expect(cfg.components.disks).toMatchObject({ devices: [{ path: 'a.img', sectors: 8, ro: false }, { path: 'b.img', sectors: 16, ro: true }] });
    const d = reg.catalog().find((x) => x.id === 'disks')!;
    expect(d.params[0]).toMatchObject({ name: 'devices', kind: 'list', item: [{ name: 'path' }, { name: 'sectors', max: 1 << 20 }, { name: 'ro' }] });
  });

  it('names the file, line, item index and key of a bad item', () => {
    const file = writeConfig(`components:\n  disks:\n    variant: raw\n    devices:\n      - { path: a.img }\n      - path: b.img\n        sectros: 4\n`);
    const e = configErrorOf(() => loadHostConfig(file, reg));
    expect(e).toMatchObject({ file, line: 7, keyPath: 'components.disks.devices.1.sectros' });
    expect(e.message).toMatch(/unknown key/);
    expect(e.message).toMatch(/sectors/);
    const bad = configErrorOf(() => loadHostConfig(writeConfig(`components:\n  disks:\n    variant: raw\n    devices:\n      - { path: a.img, sectors: -1 }\n`), reg));
    expect(bad).toMatchObject({ line: 5, keyPath: 'components.disks.devices.0.sectors' });
    expect(configErrorOf(() => hostConfigFromObject({ components: { disks: { variant: 'raw', devices: 'a.img' } } }, reg)).message).toMatch(/expected a list/);
    expect(configErrorOf(() => hostConfigFromObject({ components: { disks: { variant: 'raw', devices: Array(5).fill({}) } } }, reg)).message).toMatch(/at most 4 items/);
    expect(configErrorOf(() => hostConfigFromObject({ components: { disks: { variant: 'raw', devices: [7] } } }, reg)).keyPath).toBe('components.disks.devices.0');
  });
});
