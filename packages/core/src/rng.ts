/**
 * Deterministic PRNG: xoshiro128** seeded through splitmix32. Never use Math.random in a model.
 * `fork(label)` derives an independent stream from the seed and a label (not from draws), so a
 * component's randomness does not change when another component draws more or less.
 */

function splitmix32(state: number): [number, number] {
  state = (state + 0x9e3779b9) | 0;
  let z = state;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [state, (z ^ (z >>> 16)) >>> 0];
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k));

export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  /** `seed` is any safe integer; its low 32 bits and high bits are both mixed in. */
  constructor(readonly seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`rng seed must be a safe integer, got ${seed}`);
    let st = (seed ^ Math.floor(seed / 0x1_0000_0000)) | 0;
    [st, this.s0] = splitmix32(st);
    [st, this.s1] = splitmix32(st);
    [st, this.s2] = splitmix32(st);
    [st, this.s3] = splitmix32(st);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A float in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** An integer in [0, n) without modulo bias; n in 1..2^32. */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 0x1_0000_0000) throw new RangeError(`nextInt bound must be an integer in 1..2^32, got ${n}`);
    const limit = 0x1_0000_0000 - (0x1_0000_0000 % n);
    let x = this.nextU32();
    while (x >= limit) x = this.nextU32();
    return x % n;
  }

  /** An independent stream for `label` (e.g. a component id), derived from this stream's seed. */
  fork(label: string): Rng {
    return new Rng(splitmix32((this.seed ^ fnv1a(label)) | 0)[1]);
  }

  /** The generator state, to save in a snapshot. */
  getState(): [number, number, number, number] {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0];
  }

  setState(state: readonly [number, number, number, number]): void {
    if (state.every((w) => (w | 0) === 0)) throw new RangeError('rng state must not be all zero');
    [this.s0, this.s1, this.s2, this.s3] = state.map((w) => w | 0) as [number, number, number, number];
  }
}
