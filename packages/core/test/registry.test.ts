import { describe, expect, it } from 'vitest';
import { ConfigError, PluginRegistry } from '../src/index.js';
import { politeGreeter, testRegistry } from './fixtures.js';

describe('the variant registry', () => {
  it('lists components and their variants, sorted', () => {
    const r = testRegistry();
    expect(r.components()).toEqual(['auditor', 'greeter', 'liar', 'shouter']);
    expect(r.variants('greeter')).toEqual(['polite', 'terse']);
    expect(r.get('greeter', 'polite')).toBe(politeGreeter);
  });

  it('rejects an unknown variant with the known ones', () => {
    const r = testRegistry();
    expect(() => r.get('greeter', 'rude')).toThrow(ConfigError);
    expect(() => r.get('greeter', 'rude')).toThrow("components.greeter.variant: unknown variant 'rude' of component 'greeter' (allowed: polite, terse)");
  });

  it('rejects an unknown component with the known ones', () => {
    const r = testRegistry();
    expect(() => r.variants('gpu')).toThrow("components.gpu: unknown component 'gpu' (allowed: auditor, greeter, liar, shouter)");
    expect(() => r.get('gpu', 'x')).toThrow(ConfigError);
  });

  it('refuses to register the same variant twice', () => {
    expect(() => new PluginRegistry([politeGreeter, politeGreeter])).toThrow(/registered twice/);
  });

  it('describes every variant with its params and tokens', () => {
    const polite = testRegistry().catalog().find((c) => c.variant === 'polite')!;
    expect(polite.provides).toEqual(['test.Greeter']);
    expect(polite.params.map((x) => x.name)).toEqual(['punctuation', 'repeat']);
    expect(polite.costs).toEqual([{ name: 'greet', kind: 'uint', default: 10, description: 'cycles per greeting', min: 0 }]);
  });
});
