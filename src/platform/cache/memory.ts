import type { Cache, CachePlatform, Lock, Locks, MessageHandler, PubSub } from './types.js';
import {
  LOCK_KEY_PREFIX,
  NOT_INTEGER_MESSAGE,
  TokenLock,
  WRONGTYPE_MESSAGE,
  acquireWithBackoff,
  checkInteger,
  checkMaxLen,
  checkTtl,
  dispatch,
  newLockToken,
  type ErrorHandler,
} from './common.js';

/**
 * The in-process twin: the embedded default when REDIS_URL is unset. It follows Redis semantics
 * (TTL rules, LPUSH/LTRIM/LRANGE, PTTL codes, WRONGTYPE errors) so code written against it keeps
 * working when REDIS_URL is set. State is per instance, which means per process: two processes
 * (or two platforms in one process) do not see each other's keys, locks or messages.
 */

type Entry =
  | { kind: 'string'; value: string; expiresAt: number | undefined }
  | { kind: 'list'; items: string[]; expiresAt: number | undefined };

export interface MemoryCacheOptions {
  /** How often the background sweep reclaims expired keys nobody reads again. Default 1000 ms. */
  sweepIntervalMs?: number;
  /** Upper bound of entries examined per sweep, so one sweep never stalls the event loop. */
  sweepBatch?: number;
}

// performance.now() is monotonic: a wall-clock jump must not expire (or revive) every key at once.
const now = (): number => performance.now();

function closedError(what: string): Error {
  return new Error(`${what} is closed`);
}

export class MemoryCache implements Cache {
  private readonly entries = new Map<string, Entry>();
  private readonly timer: NodeJS.Timeout;
  private readonly sweepBatch: number;
  // A live Map iterator survives inserts and deletes, so successive sweeps resume where the last stopped.
  private sweepCursor: Iterator<[string, Entry]> | undefined;
  private closed = false;

  constructor(opts: MemoryCacheOptions = {}) {
    this.sweepBatch = opts.sweepBatch ?? 10_000;
    this.timer = setInterval(() => this.sweep(), opts.sweepIntervalMs ?? 1000);
    // The sweep only frees memory; it must never keep a finished process (or test worker) alive.
    this.timer.unref();
  }

  /** Entries held, including expired ones not yet swept (diagnostics and tests). */
  get size(): number {
    return this.entries.size;
  }

  async get(key: string): Promise<string | null> {
    const entry = this.live(key);
    if (!entry) return null;
    if (entry.kind !== 'string') throw new Error(WRONGTYPE_MESSAGE);
    return entry.value;
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    this.assertOpen();
    const ttl = checkTtl(ttlMs);
    // Like SET without KEEPTTL: a plain set replaces any value type and clears an earlier TTL.
    this.entries.set(key, { kind: 'string', value, expiresAt: ttl === undefined ? undefined : now() + ttl });
  }

  async setIfAbsent(key: string, value: string, ttlMs?: number): Promise<boolean> {
    const ttl = checkTtl(ttlMs);
    if (this.live(key)) return false;
    this.entries.set(key, { kind: 'string', value, expiresAt: ttl === undefined ? undefined : now() + ttl });
    return true;
  }

  async del(key: string): Promise<void> {
    this.assertOpen();
    this.entries.delete(key);
  }

  async incr(key: string, ttlMs?: number, by = 1): Promise<number> {
    const ttl = checkTtl(ttlMs);
    checkInteger('by', by);
    const entry = this.live(key);
    if (!entry) {
      this.entries.set(key, { kind: 'string', value: String(by), expiresAt: ttl === undefined ? undefined : now() + ttl });
      return by;
    }
    if (entry.kind !== 'string') throw new Error(WRONGTYPE_MESSAGE);
    if (!/^-?\d+$/.test(entry.value)) throw new Error(NOT_INTEGER_MESSAGE);
    const next = Number(entry.value) + by;
    if (!Number.isSafeInteger(next)) throw new Error(NOT_INTEGER_MESSAGE);
    // INCRBY keeps an existing TTL; the TTL argument only applies when the key is created.
    entry.value = String(next);
    return next;
  }

  async incrWithTtl(key: string, ttlMs: number): Promise<{ value: number; ttlMs: number }> {
    const value = await this.incr(key, ttlMs);
    return { value, ttlMs: await this.ttl(key) };
  }

  async ttl(key: string): Promise<number> {
    const entry = this.live(key);
    if (!entry) return -2;
    if (entry.expiresAt === undefined) return -1;
    return Math.ceil(entry.expiresAt - now());
  }

  async listPush(key: string, values: string[], maxLen: number): Promise<void> {
    checkMaxLen(maxLen);
    this.assertOpen();
    // LPUSH with no values is an error in Redis; the Redis twin skips the call, and so does this one.
    if (values.length === 0) return;
    const entry = this.live(key);
    if (entry && entry.kind !== 'list') throw new Error(WRONGTYPE_MESSAGE);
    // LPUSH a b c puts c at the head: the last value given is the newest.
    const pushed = values.slice().reverse();
    if (!entry) {
      this.entries.set(key, { kind: 'list', items: pushed.slice(0, maxLen), expiresAt: undefined });
      return;
    }
    entry.items = pushed.concat(entry.items);
    if (entry.items.length > maxLen) entry.items.length = maxLen;
  }

  async listRange(key: string, start: number, stop: number): Promise<string[]> {
    checkInteger('start', start);
    checkInteger('stop', stop);
    const entry = this.live(key);
    if (!entry) return [];
    if (entry.kind !== 'list') throw new Error(WRONGTYPE_MESSAGE);
    // LRANGE: negative indices count from the end, stop is inclusive, out-of-range ends are clamped.
    const len = entry.items.length;
    let from = start < 0 ? len + start : start;
    let to = stop < 0 ? len + stop : stop;
    if (from < 0) from = 0;
    if (to >= len) to = len - 1;
    if (from > to) return [];
    return entry.items.slice(from, to + 1);
  }

  async ping(): Promise<void> {
    this.assertOpen();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.entries.clear();
    this.sweepCursor = undefined;
  }

  /** Delete `key` only while it still holds `value` (lock release). */
  async deleteIfEquals(key: string, value: string): Promise<boolean> {
    const entry = this.live(key);
    if (!entry || entry.kind !== 'string' || entry.value !== value) return false;
    this.entries.delete(key);
    return true;
  }

  /** Reset the TTL of `key` only while it still holds `value` (lock extend). */
  async expireIfEquals(key: string, value: string, ttlMs: number): Promise<boolean> {
    const ttl = checkTtl(ttlMs) as number;
    const entry = this.live(key);
    if (!entry || entry.kind !== 'string' || entry.value !== value) return false;
    entry.expiresAt = now() + ttl;
    return true;
  }

  /** The entry if present and unexpired; lazily drops it when expired (as Redis does on access). */
  private live(key: string): Entry | undefined {
    this.assertOpen();
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private sweep(): void {
    const t = now();
    for (let i = 0; i < this.sweepBatch; i++) {
      this.sweepCursor ??= this.entries.entries();
      const next = this.sweepCursor.next();
      if (next.done) {
        this.sweepCursor = undefined;
        return;
      }
      const [key, entry] = next.value;
      if (entry.expiresAt !== undefined && entry.expiresAt <= t) this.entries.delete(key);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw closedError('cache');
  }
}

interface Subscription {
  handler: MessageHandler;
  active: boolean;
}

/**
 * Per-process pub/sub. A Map of subscription sets rather than a bare EventEmitter because the
 * delivery rules need it: the receivers of a message are fixed when it is published (like Redis,
 * a later subscriber does not get it), and a receiver that unsubscribes before delivery does
 * not get it either. Delivery is on a later macrotask, never inside publish(), as with Redis.
 */
export class MemoryPubSub implements PubSub {
  private readonly channels = new Map<string, Set<Subscription>>();
  private closed = false;

  constructor(private readonly onError: ErrorHandler = () => {}) {}

  async publish(channel: string, message: string): Promise<void> {
    this.assertOpen();
    const subs = this.channels.get(channel);
    if (!subs || subs.size === 0) return;
    const receivers = [...subs];
    // setImmediate keeps messages of one publisher in order and lets `await publish()` return first.
    setImmediate(() => {
      for (const sub of receivers) {
        if (sub.active) dispatch(sub.handler, message, channel, this.onError);
      }
    });
  }

  async publishMany(messages: { channel: string; message: string }[]): Promise<void> {
    for (const m of messages) await this.publish(m.channel, m.message);
  }

  async subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>> {
    this.assertOpen();
    // One record per call, so the same function subscribed twice is delivered and removed twice.
    const sub: Subscription = { handler, active: true };
    let subs = this.channels.get(channel);
    if (!subs) {
      subs = new Set();
      this.channels.set(channel, subs);
    }
    subs.add(sub);
    return async () => {
      if (!sub.active) return;
      sub.active = false;
      const current = this.channels.get(channel);
      if (!current) return;
      current.delete(sub);
      if (current.size === 0) this.channels.delete(channel);
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const subs of this.channels.values()) for (const sub of subs) sub.active = false;
    this.channels.clear();
  }

  private assertOpen(): void {
    if (this.closed) throw closedError('pubsub');
  }
}

/** Locks stored in the memory cache, under the same key names the Redis twin uses. */
export class MemoryLocks implements Locks {
  constructor(private readonly cache: MemoryCache) {}

  async tryAcquire(key: string, ttlMs: number): Promise<Lock | null> {
    const ttl = checkTtl(ttlMs) as number;
    const token = newLockToken();
    const ok = await this.cache.setIfAbsent(LOCK_KEY_PREFIX + key, token, ttl);
    if (!ok) return null;
    return new TokenLock(key, token, {
      release: (k, t) => this.cache.deleteIfEquals(LOCK_KEY_PREFIX + k, t),
      extend: (k, t, ms) => this.cache.expireIfEquals(LOCK_KEY_PREFIX + k, t, ms),
    });
  }

  acquire(key: string, ttlMs: number, waitMs: number): Promise<Lock | null> {
    return acquireWithBackoff(() => this.tryAcquire(key, ttlMs), waitMs);
  }
}

export interface MemoryCachePlatformOptions extends MemoryCacheOptions {
  /** Receives errors thrown by pub/sub handlers (they would otherwise be lost or crash the process). */
  onError?: ErrorHandler;
}

export function createMemoryCachePlatform(opts: MemoryCachePlatformOptions = {}): CachePlatform {
  const cache = new MemoryCache(opts);
  const pubsub = new MemoryPubSub(opts.onError);
  const locks = new MemoryLocks(cache);
  return {
    kind: 'memory',
    cache,
    pubsub,
    locks,
    async close() {
      await pubsub.close();
      await cache.close();
    },
  };
}
