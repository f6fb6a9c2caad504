import { Redis, type RedisOptions } from 'ioredis';
import type { Cache, CachePlatform, Lock, Locks, MessageHandler, PubSub } from './types.js';
import {
  LOCK_KEY_PREFIX,
  TokenLock,
  acquireWithBackoff,
  checkInteger,
  checkMaxLen,
  checkTtl,
  dispatch,
  newLockToken,
  reportSafely,
  type ErrorHandler,
} from './common.js';

/**
 * The Redis twin (REDIS_URL). One command connection serves the cache, the locks and PUBLISH;
 * a second connection, made on the first subscribe, is the subscriber (a connection in
 * subscriber mode can run nothing else). Every key, lock key and channel gets `keyPrefix`, done
 * here rather than with ioredis' own keyPrefix option because that one does not apply to
 * pub/sub channels, and tests rely on the prefix to isolate themselves on a shared server.
 */

// Scripts run atomically on the server: no other client can interleave between their calls.
const SCRIPTS = {
  // The TTL goes on only when this call created the key (a fixed window, not a sliding one).
  sfIncrWithTtl: `
    local created = redis.call('EXISTS', KEYS[1]) == 0
    local value = redis.call('INCRBY', KEYS[1], ARGV[1])
    if created then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
    return value`,
  // The same, also answering the remaining TTL, so a rate limiter needs one round trip per request.
  sfIncrTtl: `
    local created = redis.call('EXISTS', KEYS[1]) == 0
    local value = redis.call('INCR', KEYS[1])
    if created then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
    return {value, redis.call('PTTL', KEYS[1])}`,
  // Compare-and-delete: a holder whose lock expired and was taken by someone else gets 0.
  sfReleaseLock: `
    if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
    return 0`,
  sfExtendLock: `
    if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
    return 0`,
} as const;

type ScriptedRedis = Redis & {
  sfIncrWithTtl(key: string, by: number, ttlMs: number): Promise<number>;
  sfIncrTtl(key: string, ttlMs: number): Promise<[number, number]>;
  sfReleaseLock(key: string, token: string): Promise<number>;
  sfExtendLock(key: string, token: string, ttlMs: number): Promise<number>;
};

function withScripts(client: Redis): ScriptedRedis {
  // defineCommand sends EVALSHA and falls back to EVAL once per connection, so scripts are not resent each call.
  for (const [name, lua] of Object.entries(SCRIPTS)) client.defineCommand(name, { numberOfKeys: 1, lua });
  return client as ScriptedRedis;
}

/** QUIT (waits for pending replies), then wait for the socket to close so no handle outlives close(). */
async function closeClient(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
  try {
    if (client.status === 'ready') await client.quit();
    else client.disconnect();
  } catch {
    client.disconnect();
  }
  let timer: NodeJS.Timeout | undefined;
  const forced = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      client.disconnect();
      resolve();
    }, 2000);
  });
  await Promise.race([ended, forced]);
  clearTimeout(timer);
}

export class RedisCache implements Cache {
  private closing: Promise<void> | undefined;

  constructor(
    private readonly client: ScriptedRedis,
    private readonly prefix: string,
  ) {}

  async get(key: string): Promise<string | null> {
    return this.client.get(this.prefix + key);
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    const ttl = checkTtl(ttlMs);
    if (ttl === undefined) await this.client.set(this.prefix + key, value);
    else await this.client.set(this.prefix + key, value, 'PX', ttl);
  }

  async setIfAbsent(key: string, value: string, ttlMs?: number): Promise<boolean> {
    const ttl = checkTtl(ttlMs);
    const reply =
      ttl === undefined
        ? await this.client.set(this.prefix + key, value, 'NX')
        : await this.client.set(this.prefix + key, value, 'PX', ttl, 'NX');
    return reply === 'OK';
  }

  async del(key: string): Promise<void> {
    await this.client.del(this.prefix + key);
  }

  async incr(key: string, ttlMs?: number, by = 1): Promise<number> {
    const ttl = checkTtl(ttlMs);
    checkInteger('by', by);
    if (ttl === undefined) return this.client.incrby(this.prefix + key, by);
    return this.client.sfIncrWithTtl(this.prefix + key, by, ttl);
  }

  async incrWithTtl(key: string, ttlMs: number): Promise<{ value: number; ttlMs: number }> {
    const ttl = checkTtl(ttlMs)!;
    const [value, left] = await this.client.sfIncrTtl(this.prefix + key, ttl);
    return { value, ttlMs: left };
  }

  async ttl(key: string): Promise<number> {
    return this.client.pttl(this.prefix + key);
  }

  async listPush(key: string, values: string[], maxLen: number): Promise<void> {
    checkMaxLen(maxLen);
    if (values.length === 0) return; // LPUSH with no values is a syntax error in Redis.
    const k = this.prefix + key;
    // MULTI/EXEC so no reader ever sees the list over its cap.
    const results = await this.client.multi().lpush(k, ...values).ltrim(k, 0, maxLen - 1).exec();
    if (!results) throw new Error('listPush transaction was aborted');
    // EXEC reports a failed command (e.g. WRONGTYPE) per command instead of rejecting.
    for (const [err] of results) if (err) throw err;
  }

  async listRange(key: string, start: number, stop: number): Promise<string[]> {
    checkInteger('start', start);
    checkInteger('stop', stop);
    return this.client.lrange(this.prefix + key, start, stop);
  }

  async ping(): Promise<void> {
    await this.client.ping();
  }

  /** Closes the command connection, which the locks and PUBLISH share: close the platform instead. */
  close(): Promise<void> {
    this.closing ??= closeClient(this.client);
    return this.closing;
  }
}

interface Subscription {
  handler: MessageHandler;
  active: boolean;
}

interface ChannelState {
  subs: Set<Subscription>;
  /** The SUBSCRIBE for this channel; later subscribers wait on it too. */
  ready: Promise<void>;
}

export class RedisPubSub implements PubSub {
  private subscriber: Redis | undefined;
  private readonly channels = new Map<string, ChannelState>();
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly publisher: Redis,
    private readonly prefix: string,
    private readonly onError: ErrorHandler,
  ) {}

  async publish(channel: string, message: string): Promise<void> {
    this.assertOpen();
    await this.publisher.publish(this.prefix + channel, message);
  }

  async publishMany(messages: { channel: string; message: string }[]): Promise<void> {
    this.assertOpen();
    if (messages.length === 0) return;
    const pipeline = this.publisher.pipeline();
    for (const m of messages) pipeline.publish(this.prefix + m.channel, m.message);
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([err]) => err);
    if (failed) throw failed[0];
  }

  async subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>> {
    this.assertOpen();
    const sub: Subscription = { handler, active: true };
    let state = this.channels.get(channel);
    if (!state) {
      // One SUBSCRIBE per channel however many handlers; the handlers fan out locally.
      const ready = this.getSubscriber()
        .subscribe(this.prefix + channel)
        .then(() => undefined);
      state = { subs: new Set(), ready };
      this.channels.set(channel, state);
    }
    const joined = state;
    joined.subs.add(sub);
    try {
      await joined.ready;
    } catch (err) {
      sub.active = false;
      joined.subs.delete(sub);
      if (joined.subs.size === 0 && this.channels.get(channel) === joined) this.channels.delete(channel);
      throw err;
    }
    return async () => {
      if (!sub.active) return;
      // Local removal first: once this returns, the handler is never called again.
      sub.active = false;
      joined.subs.delete(sub);
      if (joined.subs.size > 0 || this.channels.get(channel) !== joined) return;
      this.channels.delete(channel);
      if (this.closed || !this.subscriber) return;
      // Commands on one connection run in order, so a SUBSCRIBE issued after this UNSUBSCRIBE
      // (a new handler arriving meanwhile) still ends subscribed.
      try {
        await this.subscriber.unsubscribe(this.prefix + channel);
      } catch (err) {
        // Delivery already stopped locally; a stray server-side subscription only costs ignored messages.
        reportSafely(this.onError, err);
      }
    };
  }

  close(): Promise<void> {
    this.closed = true;
    this.closing ??= (async () => {
      for (const state of this.channels.values()) for (const sub of state.subs) sub.active = false;
      this.channels.clear();
      if (this.subscriber) await closeClient(this.subscriber);
    })();
    return this.closing;
  }

  private getSubscriber(): Redis {
    if (this.subscriber) return this.subscriber;
    // duplicate() copies the URL and options (timeouts, TLS, auth); ioredis re-subscribes after reconnects.
    // No ready check on this connection: ioredis writes SUBSCRIBE as soon as the socket connects,
    // and the ready check's INFO that follows is refused in subscriber mode ("Ready check failed"),
    // which failed every subscription made during the handshake (sockets authenticating at once).
    const subscriber = this.publisher.duplicate({ enableReadyCheck: false, enableAutoPipelining: false });
    subscriber.on('error', (err: unknown) => reportSafely(this.onError, err));
    subscriber.on('message', (prefixed: string, message: string) => {
      if (!prefixed.startsWith(this.prefix)) return;
      const channel = prefixed.slice(this.prefix.length);
      const state = this.channels.get(channel);
      if (!state) return;
      for (const sub of [...state.subs]) {
        if (sub.active) dispatch(sub.handler, message, channel, this.onError);
      }
    });
    this.subscriber = subscriber;
    return subscriber;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('pubsub is closed');
  }
}

export class RedisLocks implements Locks {
  constructor(
    private readonly client: ScriptedRedis,
    private readonly prefix: string,
  ) {}

  async tryAcquire(key: string, ttlMs: number): Promise<Lock | null> {
    const ttl = checkTtl(ttlMs) as number;
    const token = newLockToken();
    const reply = await this.client.set(this.lockKey(key), token, 'PX', ttl, 'NX');
    if (reply !== 'OK') return null;
    return new TokenLock(key, token, {
      release: async (k, t) => (await this.client.sfReleaseLock(this.lockKey(k), t)) === 1,
      extend: async (k, t, ms) => (await this.client.sfExtendLock(this.lockKey(k), t, ms)) === 1,
    });
  }

  acquire(key: string, ttlMs: number, waitMs: number): Promise<Lock | null> {
    return acquireWithBackoff(() => this.tryAcquire(key, ttlMs), waitMs);
  }

  private lockKey(key: string): string {
    return this.prefix + LOCK_KEY_PREFIX + key;
  }
}

export interface RedisCachePlatformOptions {
  url: string;
  /** Put before every key, lock and channel, e.g. `sf:`; lets several apps or test runs share a server. */
  keyPrefix?: string;
  /** Connection errors (ioredis keeps reconnecting) and errors thrown by pub/sub handlers. */
  onError?: ErrorHandler;
  /** Bound on connecting plus the first PING; a wrong URL fails within it. Default 5000 ms. */
  connectTimeoutMs?: number;
  /** Extra ioredis options (TLS, retry strategy...). */
  redisOptions?: RedisOptions;
}

/** The URL without its password, for error messages (secrets never reach a log line). */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

/** Connects, PINGs, and only then returns: a wrong REDIS_URL fails at startup, not on the first request. */
export async function connectRedisCachePlatform(opts: RedisCachePlatformOptions): Promise<CachePlatform> {
  const prefix = opts.keyPrefix ?? 'sf:';
  const onError = opts.onError ?? (() => {});
  const connectTimeoutMs = opts.connectTimeoutMs ?? 5000;
  const client = new Redis(opts.url, {
    lazyConnect: true,
    connectTimeout: connectTimeoutMs,
    // While Redis is down a command fails after a few reconnect attempts instead of the default
    // 20, so requests get an error quickly rather than piling up in the offline queue.
    maxRetriesPerRequest: 3,
    // Commands issued in the same tick leave in one write (a request's parallel GETs cost one
    // round trip and one syscall instead of one each).
    enableAutoPipelining: true,
    ...opts.redisOptions,
  });
  let started = false;
  let startupError: unknown;
  // Always listening: an 'error' event with no listener is reported as unhandled by ioredis.
  client.on('error', (err: unknown) => {
    if (started) reportSafely(onError, err);
    else startupError ??= err;
  });

  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect().then(() => client.ping()),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${connectTimeoutMs} ms`)), connectTimeoutMs);
      }),
    ]);
  } catch (err) {
    client.disconnect();
    // connect() itself only says "Connection is closed."; the 'error' event has the real cause.
    const cause = startupError ?? err;
    throw new Error(`cannot reach Redis at ${redactRedisUrl(opts.url)}: ${describeError(cause)}`, { cause });
  } finally {
    clearTimeout(timer);
  }
  started = true;

  const scripted = withScripts(client);
  const cache = new RedisCache(scripted, prefix);
  const pubsub = new RedisPubSub(scripted, prefix, onError);
  const locks = new RedisLocks(scripted, prefix);
  let closing: Promise<void> | undefined;
  return {
    kind: 'redis',
    cache,
    pubsub,
    locks,
    close() {
      closing ??= (async () => {
        await pubsub.close();
        await cache.close();
      })();
      return closing;
    },
  };
}
