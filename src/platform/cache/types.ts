/**
 * Shared state that must work across processes: in one process it lives in memory, with
 * REDIS_URL it lives in Redis. Both twins pass the same test suite (test/platform/cache.test.ts).
 */
export interface Cache {
  get(key: string): Promise<string | null>;
  /** ttlMs omitted: no expiry. */
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  /** Set only when absent; true when this call set it. */
  setIfAbsent(key: string, value: string, ttlMs?: number): Promise<boolean>;
  del(key: string): Promise<void>;
  /** Atomically add `by` (default 1); the TTL is applied when the key is created. Returns the new value. */
  incr(key: string, ttlMs?: number, by?: number): Promise<number>;
  /** incr with a TTL, also answering the remaining TTL: one round trip (rate limits on every request). */
  incrWithTtl(key: string, ttlMs: number): Promise<{ value: number; ttlMs: number }>;
  /** Remaining time to live in ms, -1 with no expiry, -2 when absent. */
  ttl(key: string): Promise<number>;
  /** Capped list helpers (timelines): push to the head and trim to maxLen. */
  listPush(key: string, values: string[], maxLen: number): Promise<void>;
  listRange(key: string, start: number, stop: number): Promise<string[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type MessageHandler = (message: string, channel: string) => void;

export interface PubSub {
  publish(channel: string, message: string): Promise<void>;
  /** Many messages in one go (Redis: one pipelined write), each delivered as publish() would. */
  publishMany(messages: { channel: string; message: string }[]): Promise<void>;
  /** Resolves once the subscription is live; call the returned function to stop. */
  subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface Lock {
  readonly key: string;
  readonly token: string;
  release(): Promise<boolean>;
  /** Push the expiry further; false when the lock was lost. */
  extend(ttlMs: number): Promise<boolean>;
}

export interface Locks {
  /** Try once; null when someone else holds it. */
  tryAcquire(key: string, ttlMs: number): Promise<Lock | null>;
  /** Wait up to waitMs for the lock; null on time-out. */
  acquire(key: string, ttlMs: number, waitMs: number): Promise<Lock | null>;
}

export interface CachePlatform {
  kind: 'memory' | 'redis';
  cache: Cache;
  pubsub: PubSub;
  locks: Locks;
  close(): Promise<void>;
}
