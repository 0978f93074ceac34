/**
 * Simulated time: integer nanoseconds in a JS number (exact up to 2^53 ns, about 104 days), and
 * cycles at an integer frequency in MHz. Conversions are exact integer arithmetic with an explicit
 * rounding mode, so the same inputs always give the same time. Nothing here reads the wall clock.
 */

export const NS_PER_US = 1_000;
export const NS_PER_MS = 1_000_000;
export const NS_PER_S = 1_000_000_000;

export type Rounding = 'floor' | 'ceil';

/** floor or ceil of a*b/c for non-negative safe integers, without overflowing 2^53 on the way. */
function mulDiv(a: number, b: number, c: number, rounding: Rounding): number {
  const q = Math.floor(a / c);
  const r = a - q * c; // a = q*c + r, so a*b/c = q*b + r*b/c
  const rb = r * b; // r < c, so r*b < c*b: small for our c, b (<= 1e6 * 1e3)
  const f = Math.floor(rb / c);
  return q * b + f + (rounding === 'ceil' && f * c !== rb ? 1 : 0);
}

function checkCount(what: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what} must be a non-negative safe integer, got ${n}`);
}

/** Nanoseconds taken by `cycles` cycles at `freqMHz` (cycles * 1000 / freqMHz, rounded). */
export function cyclesToNs(cycles: number, freqMHz: number, rounding: Rounding = 'floor'): number {
  checkCount('cycles', cycles);
  return mulDiv(cycles, NS_PER_US, freqMHz, rounding);
}

/** Cycles elapsed in `ns` nanoseconds at `freqMHz` (ns * freqMHz / 1000, rounded). */
export function nsToCycles(ns: number, freqMHz: number, rounding: Rounding = 'floor'): number {
  checkCount('ns', ns);
  return mulDiv(ns, freqMHz, NS_PER_US, rounding);
}

/** The simulated time of one simulation. Only the event queue (or a test) advances it. */
export class SimClock {
  private nowNs = 0;

  constructor(readonly freqMHz: number) {
    if (!Number.isSafeInteger(freqMHz) || freqMHz < 1 || freqMHz > 1_000_000) {
      throw new RangeError(`clock frequency must be an integer number of MHz in 1..1000000, got ${freqMHz}`);
    }
  }

  /** Simulated nanoseconds since boot. */
  get now(): number {
    return this.nowNs;
  }

  /** Cycles elapsed since boot at this clock's frequency (rounded down). */
  get cycles(): number {
    return mulDiv(this.nowNs, this.freqMHz, NS_PER_US, 'floor');
  }

  /** Moves time forward to `ns`; moving backwards or to a non-integer is a bug and throws. */
  advanceTo(ns: number): void {
    if (!Number.isSafeInteger(ns) || ns < this.nowNs) throw new RangeError(`simulated time cannot move from ${this.nowNs} ns to ${ns} ns`);
    this.nowNs = ns;
  }

  cyclesToNs(cycles: number, rounding: Rounding = 'floor'): number {
    return cyclesToNs(cycles, this.freqMHz, rounding);
  }

  nsToCycles(ns: number, rounding: Rounding = 'floor'): number {
    return nsToCycles(ns, this.freqMHz, rounding);
  }
}
