// 64-bit integer helpers on int32 halves (lo, hi). No BigInt, no allocation.
// Functions that produce a 64-bit result return its low half and leave the high half in HI[0].

/** High half of the last 64-bit result returned by a helper below. */
export const HI = new Int32Array(1);

const TWO32 = 4294967296;

/** High 32 bits of the unsigned 32x32 product. */
export function mulhu32(a: number, b: number): number {
  a >>>= 0; b >>>= 0;
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) | 0;
}

/** Low 64 bits of a * b. */
export function mul64(al: number, ah: number, bl: number, bh: number): number {
  HI[0] = (mulhu32(al, bl) + Math.imul(al, bh) + Math.imul(ah, bl)) | 0;
  return Math.imul(al, bl);
}

/** High 64 bits of the unsigned 64x64 product. */
export function mulhu64(al: number, ah: number, bl: number, bh: number): number {
  const hi0 = mulhu32(al, bl) >>> 0;
  const lo1 = Math.imul(al, bh) >>> 0, hi1 = mulhu32(al, bh) >>> 0;
  const lo2 = Math.imul(ah, bl) >>> 0, hi2 = mulhu32(ah, bl) >>> 0;
  const lo3 = Math.imul(ah, bh) >>> 0, hi3 = mulhu32(ah, bh) >>> 0;
  const w1 = hi0 + lo1 + lo2; // < 3 * 2^32, exact
  const c1 = Math.floor(w1 / TWO32);
  const w2 = hi1 + hi2 + lo3 + c1;
  const c2 = Math.floor(w2 / TWO32);
  HI[0] = (hi3 + c2) | 0;
  return w2 | 0;
}

/** High 64 bits of the signed x signed product. */
export function mulh64(al: number, ah: number, bl: number, bh: number): number {
  let lo = mulhu64(al, ah, bl, bh), hi = HI[0]!;
  if (ah < 0) { const n = (lo - bl) | 0; hi = (hi - bh - ((lo >>> 0) < (bl >>> 0) ? 1 : 0)) | 0; lo = n; }
  if (bh < 0) { const n = (lo - al) | 0; hi = (hi - ah - ((lo >>> 0) < (al >>> 0) ? 1 : 0)) | 0; lo = n; }
  HI[0] = hi;
  return lo;
}

/** High 64 bits of the signed (a) x unsigned (b) product. */
export function mulhsu64(al: number, ah: number, bl: number, bh: number): number {
  let lo = mulhu64(al, ah, bl, bh), hi = HI[0]!;
  if (ah < 0) { const n = (lo - bl) | 0; hi = (hi - bh - ((lo >>> 0) < (bl >>> 0) ? 1 : 0)) | 0; lo = n; }
  HI[0] = hi;
  return lo;
}

// Unsigned 64/64 division result: quotient and remainder halves.
let qLo = 0, qHi = 0, rLo = 0, rHi = 0;

function udivmod(al: number, ah: number, bl: number, bh: number): void {
  al >>>= 0; ah >>>= 0; bl >>>= 0; bh >>>= 0;
  if (ah < 0x200000 && bh < 0x200000) {
    // Both below 2^53: floor(a / b) in float64 equals the integer quotient (the rounding error
    // of a / b is below 1/b, the distance from a non-integer quotient to the next integer).
    const a = ah * TWO32 + al, b = bh * TWO32 + bl;
    const q = Math.floor(a / b), r = a - q * b;
    qLo = q | 0; qHi = Math.floor(q / TWO32) | 0;
    rLo = r | 0; rHi = Math.floor(r / TWO32) | 0;
    return;
  }
  if (bh === 0) {
    // divisor < 2^32: long division in 32/16/16-bit steps, every partial dividend < 2^53
    let qh = 0, r = ah;
    if (ah >= bl) { qh = Math.floor(ah / bl); r = ah - qh * bl; }
    if (r < 0x200000) { // r * 2^32 + al < 2^53: one exact step
      const t = r * TWO32 + al, q = Math.floor(t / bl);
      qLo = q | 0; qHi = qh | 0; rLo = (t - q * bl) | 0; rHi = 0;
      return;
    }
    let t = r * 65536 + (al >>> 16);
    const q1 = Math.floor(t / bl);
    r = t - q1 * bl;
    t = r * 65536 + (al & 0xffff);
    const q0 = Math.floor(t / bl);
    r = t - q0 * bl;
    qLo = (q1 * 65536 + q0) | 0; qHi = qh | 0; rLo = r | 0; rHi = 0;
    return;
  }
  {
    // divisor >= 2^32: the quotient is < 2^32. A float estimate is within 1 of it; step back one,
    // then correct upwards with the exact 64-bit remainder.
    let q = Math.floor((ah * TWO32 + al) / (bh * TWO32 + bl)) - 1;
    if (q < 0) q = 0;
    const pl = mul64(q | 0, 0, bl, bh), ph = HI[0]!;
    let nl = al - (pl >>> 0);
    let rh = (ah - (ph >>> 0) - (nl < 0 ? 1 : 0)) >>> 0;
    let rl = nl >>> 0;
    while (rh > bh || (rh === bh && rl >= bl)) {
      nl = rl - bl;
      rh = (rh - bh - (nl < 0 ? 1 : 0)) >>> 0;
      rl = nl >>> 0;
      q++;
    }
    qLo = q | 0; qHi = 0; rLo = rl | 0; rHi = rh | 0;
    return;
  }
}

function sdivmod(al: number, ah: number, bl: number, bh: number): void {
  const an = ah < 0, bn = bh < 0;
  let ml = al, mh = ah, nl = bl, nh = bh;
  if (an) { ml = (-al) | 0; mh = (~ah + (al === 0 ? 1 : 0)) | 0; }
  if (bn) { nl = (-bl) | 0; nh = (~bh + (bl === 0 ? 1 : 0)) | 0; }
  udivmod(ml, mh, nl, nh);
  if (an !== bn) { const l = qLo; qLo = (-l) | 0; qHi = (~qHi + (l === 0 ? 1 : 0)) | 0; }
  if (an) { const l = rLo; rLo = (-l) | 0; rHi = (~rHi + (l === 0 ? 1 : 0)) | 0; }
}

/** Signed 64-bit division with RISC-V semantics (x/0 = -1, MIN/-1 = MIN). */
export function div64(al: number, ah: number, bl: number, bh: number): number {
  if ((bl | bh) === 0) { HI[0] = -1; return -1; }
  if (bl === -1 && bh === -1 && al === 0 && ah === -2147483648) { HI[0] = ah; return al; }
  if (ah > -0x200000 && ah < 0x200000 && bh > -0x200000 && bh < 0x200000) {
    const a = ah * TWO32 + (al >>> 0), b = bh * TWO32 + (bl >>> 0);
    const q = Math.trunc(a / b);
    HI[0] = Math.floor(q / TWO32) | 0;
    return q | 0;
  }
  sdivmod(al, ah, bl, bh);
  HI[0] = qHi; return qLo;
}

/** Unsigned 64-bit division (x/0 = all ones). */
export function divu64(al: number, ah: number, bl: number, bh: number): number {
  if ((bl | bh) === 0) { HI[0] = -1; return -1; }
  udivmod(al, ah, bl, bh);
  HI[0] = qHi; return qLo;
}

/** Signed 64-bit remainder (x%0 = x, MIN%-1 = 0). */
export function rem64(al: number, ah: number, bl: number, bh: number): number {
  if ((bl | bh) === 0) { HI[0] = ah; return al; }
  if (bl === -1 && bh === -1) { HI[0] = 0; return 0; }
  if (ah > -0x200000 && ah < 0x200000 && bh > -0x200000 && bh < 0x200000) {
    const a = ah * TWO32 + (al >>> 0), b = bh * TWO32 + (bl >>> 0);
    const r = a % b; // exact for |a|,|b| < 2^53; sign of a
    HI[0] = Math.floor(r / TWO32) | 0;
    return r | 0;
  }
  sdivmod(al, ah, bl, bh);
  HI[0] = rHi; return rLo;
}

/** Unsigned 64-bit remainder (x%0 = x). */
export function remu64(al: number, ah: number, bl: number, bh: number): number {
  if ((bl | bh) === 0) { HI[0] = ah; return al; }
  udivmod(al, ah, bl, bh);
  HI[0] = rHi; return rLo;
}

/** The value (lo, hi) as a number: exact when |value| < 2^53 (signed interpretation). */
export function toNumberSigned(lo: number, hi: number): number {
  return (hi | 0) * TWO32 + (lo >>> 0);
}

/** The value (lo, hi) as an unsigned number: exact when < 2^53. */
export function toNumberUnsigned(lo: number, hi: number): number {
  return (hi >>> 0) * TWO32 + (lo >>> 0);
}

/** Low int32 half of an integer-valued number (two's complement, any sign, |n| < 2^53 exact). */
export function loOf(n: number): number { return n | 0; }

/** High int32 half of an integer-valued number (two's complement). */
export function hiOf(n: number): number { return Math.floor(n / TWO32) | 0; }
