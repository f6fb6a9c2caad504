import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Lock, MessageHandler } from './types.js';

/**
 * Pieces both twins share, so that argument checking, lock handles and lock waiting behave
 * the same whichever twin runs: a caller that works on one must work on the other.
 */

export type ErrorHandler = (err: unknown) => void;

/** Locks live in the cache's key space under this prefix (after the platform's own prefix). */
export const LOCK_KEY_PREFIX = 'lock:';

/**
 * Redis refuses `PX 0`, negative and fractional expiries; the memory twin refuses the same so a
 * bug shows up on the embedded column too. Fractions round up so a tiny TTL never becomes 0.
 */
export function checkTtl(ttlMs: number | undefined): number | undefined {
  if (ttlMs === undefined) return undefined;
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RangeError(`ttlMs must be a positive number of milliseconds, got ${ttlMs}`);
  return Math.ceil(ttlMs);
}

/** Redis rejects non-integer counters and indices ("value is not an integer"); mirror it. */
export function checkInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${name} must be a safe integer, got ${value}`);
  return value;
}

export function checkMaxLen(maxLen: number): number {
  // LTRIM 0 -1 would keep everything, so maxLen 0 would silently mean "no cap": refuse it.
  if (!Number.isSafeInteger(maxLen) || maxLen < 1) throw new RangeError(`maxLen must be an integer >= 1, got ${maxLen}`);
  return maxLen;
}

/** The error texts Redis uses, so callers matching on messages see the same thing on both twins. */
export const WRONGTYPE_MESSAGE = 'WRONGTYPE Operation against a key holding the wrong kind of value';
export const NOT_INTEGER_MESSAGE = 'ERR value is not an integer or out of range';

/**
 * Runs a subscriber's handler so that a throwing (or rejecting, if it is async) handler neither
 * stops delivery to the other handlers nor becomes an uncaught exception that ends the process.
 */
export function dispatch(handler: MessageHandler, message: string, channel: string, onError: ErrorHandler): void {
  try {
    const result: unknown = handler(message, channel);
    if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
      (result as Promise<unknown>).then(undefined, (err: unknown) => reportSafely(onError, err));
    }
  } catch (err) {
    reportSafely(onError, err);
  }
}

/** An onError callback that itself throws must not take the process down either. */
export function reportSafely(onError: ErrorHandler, err: unknown): void {
  try {
    onError(err);
  } catch {
    // Nothing sensible left to do: the error reporter is broken.
  }
}

export function newLockToken(): string {
  // Random (v4), not time-ordered: a token must not be guessable by another holder.
  return randomUUID();
}

export interface LockBackend {
  release(key: string, token: string): Promise<boolean>;
  extend(key: string, token: string, ttlMs: number): Promise<boolean>;
}

/** A held lock: every operation is a compare-on-token, so a stale holder cannot touch a newer lock. */
export class TokenLock implements Lock {
  constructor(
    readonly key: string,
    readonly token: string,
    private readonly backend: LockBackend,
  ) {}

  release(): Promise<boolean> {
    return this.backend.release(this.key, this.token);
  }

  extend(ttlMs: number): Promise<boolean> {
    return this.backend.extend(this.key, this.token, checkTtl(ttlMs) as number);
  }
}

/**
 * Polls `tryOnce` with capped exponential backoff plus jitter until it succeeds or waitMs has
 * passed. Polling (rather than a release notification) keeps the twins identical and still works
 * when the holder crashes and the lock simply expires.
 */
export async function acquireWithBackoff(tryOnce: () => Promise<Lock | null>, waitMs: number): Promise<Lock | null> {
  if (!Number.isFinite(waitMs) || waitMs < 0) throw new RangeError(`waitMs must be a non-negative number, got ${waitMs}`);
  const deadline = performance.now() + waitMs;
  let delay = 5;
  for (;;) {
    const lock = await tryOnce();
    if (lock) return lock;
    const remaining = deadline - performance.now();
    if (remaining <= 0) return null;
    // Jitter spreads waiters out so they do not all hit the store in the same instant.
    await sleep(Math.min(remaining, delay * (0.5 + Math.random())));
    delay = Math.min(delay * 2, 200);
  }
}
