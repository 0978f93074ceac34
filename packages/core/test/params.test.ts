import { describe, expect, it } from 'vitest';
import { ConfigError, p, resolveParams, describeParams } from '../src/index.js';

const schema = {
  entries: p.uint(64, 'TLB entries', { min: 1, max: 4096 }),
  ratio: p.number(0.5, 'a ratio', { min: 0, max: 1 }),
  offset: p.int(-3, 'an offset'),
  walkCache: p.bool(true, 'page-walk cache'),
  policy: p.enum(['lru', 'random'] as const, 'lru', 'replacement policy'),
  label: p.string('tlb', 'a label'),
};

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('param schemas', () => {
  it('fill in defaults for missing keys', () => {
    expect(resolveParams(schema, undefined, ['mmu'])).toEqual({ entries: 64, ratio: 0.5, offset: -3, walkCache: true, policy: 'lru', label: 'tlb' });
  });

  it('coerce numbers, hex and booleans given as strings (command-line overrides)', () => {
    const r = resolveParams(schema, { entries: '0x40', ratio: '0.25', offset: '-7', walkCache: 'false' }, ['mmu']);
    expect(r).toMatchObject({ entries: 64, ratio: 0.25, offset: -7, walkCache: false });
  });

  it('reject negative, fractional, NaN and out-of-range integers with the expected range', () => {
    expect(errorOf(() => resolveParams(schema, { entries: -1 }, ['mmu'])).message).toBe('mmu.entries: expected a non-negative integer in 1..4096, got -1');
    expect(errorOf(() => resolveParams(schema, { entries: 1.5 }, ['mmu'])).reason).toBe('expected a non-negative integer in 1..4096, got 1.5');
    expect(errorOf(() => resolveParams(schema, { entries: NaN }, ['mmu'])).reason).toMatch(/got NaN$/);
    expect(errorOf(() => resolveParams(schema, { entries: 5000 }, ['mmu'])).reason).toMatch(/got 5000$/);
    expect(errorOf(() => resolveParams(schema, { entries: 'lots' }, ['mmu'])).reason).toBe('expected a non-negative integer in 1..4096, got "lots"');
    expect(errorOf(() => resolveParams(schema, { ratio: Infinity }, ['mmu'])).reason).toBe('expected a number in 0..1, got Infinity');
  });

  it('reject an unknown key and list the known ones', () => {
    const e = errorOf(() => resolveParams(schema, { entires: 8 }, ['components', 'mmu'], {}, ['variant']));
    expect(e.keyPath).toBe('components.mmu.entires');
    expect(e.allowed).toEqual(['variant', 'entries', 'ratio', 'offset', 'walkCache', 'policy', 'label']);
    expect(e.message).toBe('components.mmu.entires: unknown key (allowed: variant, entries, ratio, offset, walkCache, policy, label)');
  });

  it('reject an unknown enum value and list the allowed ones', () => {
    const e = errorOf(() => resolveParams(schema, { policy: 'fifo' }, ['mmu']));
    expect(e.message).toBe('mmu.policy: unknown value "fifo" (allowed: lru, random)');
  });

  it('reject a non-mapping', () => {
    expect(errorOf(() => resolveParams(schema, [1, 2], ['mmu'])).message).toBe('mmu: expected a mapping, got a list');
  });

  it('refuse a default that breaks its own bounds (a plugin bug)', () => {
    expect(() => p.uint(0, 'entries', { min: 1 })).toThrow(/invalid/);
    expect(() => p.enum(['a', 'b'] as const, 'c' as 'a', 'x')).toThrow(/not one of/);
  });

  it('describe themselves for listings', () => {
    expect(describeParams(schema)[0]).toEqual({ name: 'entries', kind: 'uint', default: 64, description: 'TLB entries', min: 1, max: 4096 });
    expect(describeParams(schema)[4]).toMatchObject({ name: 'policy', kind: 'enum', values: ['lru', 'random'] });
  });
});
