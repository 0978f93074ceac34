/**
 * Token buckets as Firecracker's `rate_limiter` crate has them (src/vmm/src/rate_limiter/mod.rs):
 * a bucket of `size` tokens that refills linearly, `size` tokens per `refillTimeMs`, plus an
 * optional `oneTimeBurst` of extra tokens that is used first and never refills. A RateLimiter has
 * an optional bandwidth (bytes) and an optional ops bucket; an operation goes ahead when every
 * configured bucket can pay for it.
 *
 * Firecracker's over-consumption rule is kept: an operation larger than the whole bucket is let
 * through when the bucket is full, and leaves a debt (the budget goes negative) that refilling
 * pays off before anything else passes — a frontend cannot dodge the limit with big requests.
 * Time is simulated nanoseconds (the host's clock), so runs are deterministic.
 */

export interface TokenBucketConfig {
  /** Tokens the bucket holds when full (Firecracker `size`); must be > 0. */
  readonly size: number;
  /** Extra tokens spent before the bucket, once (Firecracker `one_time_burst`); default 0. */
  readonly oneTimeBurst?: number;
  /** Time to refill from empty to full, ms (Firecracker `refill_time`); must be > 0. */
  readonly refillTimeMs: number;
}

export interface RateLimiterConfig {
  /** Bytes bucket (Firecracker `bandwidth`). */
  readonly bandwidth?: TokenBucketConfig;
  /** Operations bucket (Firecracker `ops`). */
  readonly ops?: TokenBucketConfig;
}

const NS_PER_MS = 1_000_000;

function checkConfig(c: TokenBucketConfig, what: string): void {
  if (!Number.isSafeInteger(c.size) || c.size <= 0) throw new RangeError(`${what}.size must be a positive integer, got ${c.size}`);
  if (!Number.isFinite(c.refillTimeMs) || c.refillTimeMs <= 0) throw new RangeError(`${what}.refillTimeMs must be > 0, got ${c.refillTimeMs}`);
  const b = c.oneTimeBurst ?? 0;
  if (!Number.isSafeInteger(b) || b < 0) throw new RangeError(`${what}.oneTimeBurst must be a non-negative integer, got ${b}`);
}

export class TokenBucket {
  readonly size: number;
  readonly refillNs: number;
  /** Tokens available now (negative while a debt from an over-consumption is being paid). */
  budget: number;
  /** One-time burst tokens left. */
  burst: number;
  private last: number;

  constructor(config: TokenBucketConfig, now: number, what = 'bucket') {
    checkConfig(config, what);
    this.size = config.size;
    this.refillNs = config.refillTimeMs * NS_PER_MS;
    this.budget = config.size;
    this.burst = config.oneTimeBurst ?? 0;
    this.last = now;
  }

  /** Adds the tokens earned since the last refill (linear, capped at `size`). */
  refill(now: number): void {
    const dt = now - this.last;
    if (dt <= 0) return;
    this.last = now;
    this.budget = Math.min(this.size, this.budget + (dt * this.size) / this.refillNs);
  }

  /** Can `tokens` be paid now (after a refill)? */
  canPay(tokens: number, now: number): boolean {
    this.refill(now);
    if (tokens <= this.burst) return true;
    const rest = tokens - this.burst;
    if (rest <= this.budget) return true;
    // Over-consumption: larger than the whole bucket, allowed only from a full bucket.
    return rest > this.size && this.budget >= this.size;
  }

  /** Pays `tokens` (call after `canPay`): the burst first, then the budget (which may go negative). */
  pay(tokens: number): void {
    const fromBurst = Math.min(tokens, this.burst);
    this.burst -= fromBurst;
    this.budget -= tokens - fromBurst;
  }

  /** Nanoseconds until `tokens` can be paid (0 when they can now). */
  waitNs(tokens: number, now: number): number {
    if (this.canPay(tokens, now)) return 0;
    const need = Math.min(tokens - this.burst, this.size) - this.budget;
    return Math.max(1, Math.ceil((need * this.refillNs) / this.size));
  }
}

export class RateLimiter {
  readonly bandwidth: TokenBucket | null;
  readonly ops: TokenBucket | null;

  constructor(config: RateLimiterConfig, now: number) {
    this.bandwidth = config.bandwidth ? new TokenBucket(config.bandwidth, now, 'bandwidth') : null;
    this.ops = config.ops ? new TokenBucket(config.ops, now, 'ops') : null;
  }

  /** Takes one op of `bytes` if both buckets can pay; false = throttled (nothing taken). */
  consume(bytes: number, now: number): boolean {
    if (this.ops && !this.ops.canPay(1, now)) return false;
    if (this.bandwidth && !this.bandwidth.canPay(bytes, now)) return false;
    this.ops?.pay(1);
    this.bandwidth?.pay(bytes);
    return true;
  }

  /** Nanoseconds until one op of `bytes` can go (the retry timer Firecracker arms). */
  waitNs(bytes: number, now: number): number {
    return Math.max(this.ops?.waitNs(1, now) ?? 0, this.bandwidth?.waitNs(bytes, now) ?? 0);
  }
}
