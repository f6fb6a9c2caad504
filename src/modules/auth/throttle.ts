import type { Cache } from '../../platform/cache/types.js';
import { AppError } from '../../platform/errors.js';

export interface ThrottleRule {
  /** Failures inside the window before the next attempt has to wait. */
  freeFailures: number;
  /** Failures are counted over this window. */
  windowMs: number;
  /** First block length; doubled with each further failure, capped at maxBlockMs. */
  baseBlockMs: number;
  maxBlockMs: number;
}

export const RULES = {
  loginAccount: { freeFailures: 5, windowMs: 15 * 60_000, baseBlockMs: 2_000, maxBlockMs: 15 * 60_000 },
  loginIp: { freeFailures: 30, windowMs: 15 * 60_000, baseBlockMs: 2_000, maxBlockMs: 15 * 60_000 },
  twoFactorAccount: { freeFailures: 5, windowMs: 15 * 60_000, baseBlockMs: 5_000, maxBlockMs: 30 * 60_000 },
  twoFactorIp: { freeFailures: 20, windowMs: 15 * 60_000, baseBlockMs: 2_000, maxBlockMs: 15 * 60_000 },
  /** Emails sent per address (reset, verification): every request counts, not just failures. */
  emailAddress: { freeFailures: 3, windowMs: 60 * 60_000, baseBlockMs: 60_000, maxBlockMs: 60 * 60_000 },
  emailIp: { freeFailures: 20, windowMs: 60 * 60_000, baseBlockMs: 60_000, maxBlockMs: 60 * 60_000 },
  /** Wrong tokens presented (verify email, reset password) per IP. */
  tokenIp: { freeFailures: 20, windowMs: 15 * 60_000, baseBlockMs: 5_000, maxBlockMs: 15 * 60_000 },
} satisfies Record<string, ThrottleRule>;

export type ThrottleKey = { rule: ThrottleRule; key: string };

/**
 * Exponential back-off on repeated failures, per account and per IP, on the cache interface so
 * every API process sees the same counters (Redis in production).
 */
export class Throttle {
  constructor(private readonly cache: Cache) {}

  /** Throws 429 with Retry-After when any of the keys is blocked. */
  async check(keys: ThrottleKey[]): Promise<void> {
    let waitMs = 0;
    for (const { key } of keys) {
      const ttl = await this.cache.ttl(`thr:block:${key}`);
      if (ttl > waitMs) waitMs = ttl;
    }
    if (waitMs > 0) {
      const seconds = Math.ceil(waitMs / 1000);
      throw new AppError(429, 'auth.too_many_attempts', `too many attempts; try again in ${seconds} s`, { retryAfter: seconds });
    }
  }

  /** Count a failure (or, for email rules, a request) for each key; block past the free allowance. */
  async fail(keys: ThrottleKey[]): Promise<void> {
    for (const { rule, key } of keys) {
      const n = await this.cache.incr(`thr:count:${key}`, rule.windowMs);
      if (n >= rule.freeFailures) {
        const ms = Math.min(rule.maxBlockMs, rule.baseBlockMs * 2 ** Math.min(30, n - rule.freeFailures));
        await this.cache.set(`thr:block:${key}`, '1', ms);
      }
    }
  }

  /** Check, then count: for actions limited per request rather than per failure (sending email). */
  async consume(keys: ThrottleKey[]): Promise<void> {
    await this.check(keys);
    await this.fail(keys);
  }

  async reset(keys: ThrottleKey[]): Promise<void> {
    for (const { key } of keys) {
      await this.cache.del(`thr:count:${key}`);
      await this.cache.del(`thr:block:${key}`);
    }
  }
}
