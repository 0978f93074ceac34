import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cyclesToNs, nsToCycles, SimClock } from '../src/index.js';

describe('the simulated clock', () => {
  it('converts cycles and nanoseconds at the configured frequency', () => {
    expect(cyclesToNs(1000, 1000)).toBe(1000);
    expect(cyclesToNs(3, 3000)).toBe(1);
    expect(cyclesToNs(4, 3000)).toBe(1);
    expect(cyclesToNs(4, 3000, 'ceil')).toBe(2);
    expect(nsToCycles(1, 3000)).toBe(3);
    expect(nsToCycles(1, 1500)).toBe(1);
    expect(nsToCycles(1, 1500, 'ceil')).toBe(2);
  });

  it('stays exact up to 2^53 without overflowing on the way', () => {
    const big = Number.MAX_SAFE_INTEGER - 7;
    expect(cyclesToNs(big, 1000)).toBe(big);
    expect(nsToCycles(2 ** 50, 4000)).toBe(2 ** 52);
  });

  it('rounds so that floor <= exact <= ceil, within one unit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 1, max: 10_000 }), (cycles, f) => {
        const lo = cyclesToNs(cycles, f, 'floor');
        const hi = cyclesToNs(cycles, f, 'ceil');
        const exact = (BigInt(cycles) * 1000n) / BigInt(f);
        expect(BigInt(lo)).toBe(exact);
        expect(hi - lo).toBe((BigInt(cycles) * 1000n) % BigInt(f) === 0n ? 0 : 1);
      }),
    );
  });

  it('only moves forward', () => {
    const clock = new SimClock(2000);
    clock.advanceTo(10);
    expect(clock.now).toBe(10);
    expect(clock.cycles).toBe(20);
    expect(() => clock.advanceTo(9)).toThrow(RangeError);
    expect(() => clock.advanceTo(10.5)).toThrow(RangeError);
    expect(() => new SimClock(0)).toThrow(RangeError);
  });
});
