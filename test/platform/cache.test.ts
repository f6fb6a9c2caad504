import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createCachePlatform } from '../../src/platform/cache/index.js';
import { closeDeps, createDeps } from '../../src/platform/deps.js';
import { createLogger } from '../../src/platform/logger.js';
import { MemoryCache, createMemoryCachePlatform } from '../../src/platform/cache/memory.js';
import type { CachePlatform, Lock } from '../../src/platform/cache/types.js';

/**
 * One contract, run against every twin: the memory twin always, the Redis twin when REDIS_URL
 * is set. Anything the application relies on belongs here, so that code tested on the embedded
 * column cannot break on Redis or the other way round.
 */

interface Twin {
  name: string;
  create: (opts?: { onError?: (err: unknown) => void }) => Promise<CachePlatform>;
  /**
   * Whether two instances share state. True for Redis: that is what makes it work across
   * processes. False for memory: each instance stands for its own process, and pretending
   * otherwise in a test would hide that the memory twin is single-process only.
   */
  sharedAcrossInstances: boolean;
}

/** Poll until `check` passes; for asynchronous delivery, without asserting how long it takes. */
async function eventually(check: () => void, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(5);
    }
  }
}

function describeCacheContract(twin: Twin): void {
  describe(`cache platform contract: ${twin.name}`, () => {
    const opened: CachePlatform[] = [];
    const open = async (opts?: { onError?: (err: unknown) => void }): Promise<CachePlatform> => {
      const platform = await twin.create(opts);
      opened.push(platform);
      return platform;
    };
    // Keys are unique per test so tests never see each other's state on a shared server.
    const key = (name: string): string => `${name}:${randomUUID()}`;

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((p) => p.close()));
    });

    describe('cache', () => {
      it('gets, sets, overwrites and deletes', async () => {
        const { cache } = await open();
        const k = key('basic');
        expect(await cache.get(k)).toBeNull();
        await cache.set(k, 'one');
        expect(await cache.get(k)).toBe('one');
        await cache.set(k, 'two');
        expect(await cache.get(k)).toBe('two');
        await cache.del(k);
        expect(await cache.get(k)).toBeNull();
        await cache.del(k); // deleting an absent key is fine
        await cache.set(k, '');
        expect(await cache.get(k)).toBe('');
      });

      it('expires a value after its TTL', async () => {
        const { cache } = await open();
        const k = key('ttl');
        await cache.set(k, 'v', 150);
        expect(await cache.get(k)).toBe('v');
        await sleep(400);
        expect(await cache.get(k)).toBeNull();
        expect(await cache.ttl(k)).toBe(-2);
      });

      it('reports ttl as Redis PTTL does: -2 absent, -1 no expiry, else remaining ms', async () => {
        const { cache } = await open();
        const k = key('ttl-values');
        expect(await cache.ttl(k)).toBe(-2);
        await cache.set(k, 'v');
        expect(await cache.ttl(k)).toBe(-1);
        await cache.set(k, 'v', 10_000);
        const remaining = await cache.ttl(k);
        expect(remaining).toBeGreaterThan(0);
        expect(remaining).toBeLessThanOrEqual(10_000);
        expect(Number.isInteger(remaining)).toBe(true);
        // A plain set clears an earlier TTL (SET without KEEPTTL).
        await cache.set(k, 'w');
        expect(await cache.ttl(k)).toBe(-1);
      });

      it('refuses TTLs Redis would refuse', async () => {
        const { cache } = await open();
        const k = key('bad-ttl');
        await expect(cache.set(k, 'v', 0)).rejects.toThrow(RangeError);
        await expect(cache.set(k, 'v', -5)).rejects.toThrow(RangeError);
        await expect(cache.setIfAbsent(k, 'v', Number.NaN)).rejects.toThrow(RangeError);
        await expect(cache.incr(k, -1)).rejects.toThrow(RangeError);
        expect(await cache.get(k)).toBeNull();
      });

      it('setIfAbsent sets only when absent, and again after expiry', async () => {
        const { cache } = await open();
        const k = key('nx');
        expect(await cache.setIfAbsent(k, 'first', 150)).toBe(true);
        expect(await cache.setIfAbsent(k, 'second', 150)).toBe(false);
        expect(await cache.get(k)).toBe('first');
        await sleep(400);
        expect(await cache.setIfAbsent(k, 'third')).toBe(true);
        expect(await cache.get(k)).toBe('third');
        expect(await cache.ttl(k)).toBe(-1);
      });

      it('setIfAbsent under contention: exactly one of many concurrent calls wins', async () => {
        const { cache } = await open();
        const k = key('nx-race');
        const results = await Promise.all(Array.from({ length: 50 }, (_, i) => cache.setIfAbsent(k, `v${i}`, 10_000)));
        const winners = results.flatMap((won, i) => (won ? [i] : []));
        expect(winners).toHaveLength(1);
        expect(await cache.get(k)).toBe(`v${winners[0]}`);
      });

      it('incr counts from zero, by any integer step', async () => {
        const { cache } = await open();
        const k = key('incr');
        expect(await cache.incr(k)).toBe(1);
        expect(await cache.incr(k)).toBe(2);
        expect(await cache.incr(k, undefined, 5)).toBe(7);
        expect(await cache.incr(k, undefined, -10)).toBe(-3);
        expect(await cache.get(k)).toBe('-3');
        expect(await cache.ttl(k)).toBe(-1);
        await cache.set(k, '41');
        expect(await cache.incr(k)).toBe(42);
      });

      it('incr applies the TTL only when it creates the key (fixed window)', async () => {
        const { cache } = await open();
        const k = key('incr-ttl');
        expect(await cache.incr(k, 150)).toBe(1);
        const first = await cache.ttl(k);
        expect(first).toBeGreaterThan(0);
        expect(first).toBeLessThanOrEqual(150);
        // A longer TTL on a later call does not extend the window.
        expect(await cache.incr(k, 60_000)).toBe(2);
        expect(await cache.ttl(k)).toBeLessThanOrEqual(150);
        await sleep(400);
        expect(await cache.get(k)).toBeNull();
        // The next window starts fresh.
        expect(await cache.incr(k, 60_000)).toBe(1);
        expect(await cache.ttl(k)).toBeGreaterThan(150);
      });

      it('incr is atomic: 200 concurrent calls give 200 distinct results ending at 200', async () => {
        const { cache } = await open();
        const k = key('incr-race');
        const results = await Promise.all(Array.from({ length: 200 }, () => cache.incr(k, 10_000)));
        expect(new Set(results).size).toBe(200);
        expect(Math.max(...results)).toBe(200);
        expect(await cache.get(k)).toBe('200');
      });

      it('incrWithTtl counts in a fixed window and answers the time left, atomically', async () => {
        const { cache } = await open();
        const k = key('incr-with-ttl');
        const first = await cache.incrWithTtl(k, 300);
        expect(first.value).toBe(1);
        expect(first.ttlMs).toBeGreaterThan(0);
        expect(first.ttlMs).toBeLessThanOrEqual(300);
        const results = await Promise.all(Array.from({ length: 100 }, () => cache.incrWithTtl(k, 60_000)));
        expect(new Set(results.map((r) => r.value)).size).toBe(100);
        expect(Math.max(...results.map((r) => r.value))).toBe(101);
        // Later calls do not extend the window.
        expect(results.every((r) => r.ttlMs <= 300)).toBe(true);
        await sleep(500);
        expect((await cache.incrWithTtl(k, 60_000)).value).toBe(1);
      });

      it('incr rejects a non-integer value or step', async () => {
        const { cache } = await open();
        const k = key('incr-bad');
        await cache.set(k, 'hello');
        await expect(cache.incr(k)).rejects.toThrow(/not an integer/);
        expect(await cache.get(k)).toBe('hello');
        await expect(cache.incr(key('incr-step'), undefined, 1.5)).rejects.toThrow(RangeError);
      });

      it('listPush keeps the newest first and trims to maxLen', async () => {
        const { cache } = await open();
        const k = key('list');
        await cache.listPush(k, ['a', 'b', 'c'], 10);
        // LPUSH a b c: the last value given is the newest, at the head.
        expect(await cache.listRange(k, 0, -1)).toEqual(['c', 'b', 'a']);
        await cache.listPush(k, ['d'], 10);
        expect(await cache.listRange(k, 0, -1)).toEqual(['d', 'c', 'b', 'a']);
        await cache.listPush(k, [], 10); // nothing to push is a no-op
        expect(await cache.listRange(k, 0, -1)).toEqual(['d', 'c', 'b', 'a']);

        const capped = key('list-cap');
        for (let i = 1; i <= 20; i++) await cache.listPush(capped, [String(i)], 5);
        expect(await cache.listRange(capped, 0, -1)).toEqual(['20', '19', '18', '17', '16']);
        await cache.listPush(capped, ['21', '22', '23', '24', '25', '26', '27'], 5);
        expect(await cache.listRange(capped, 0, -1)).toEqual(['27', '26', '25', '24', '23']);
        await expect(cache.listPush(capped, ['x'], 0)).rejects.toThrow(RangeError);
      });

      it('listPush keeps its cap under concurrent pushes', async () => {
        const { cache } = await open();
        const k = key('list-race');
        await Promise.all(Array.from({ length: 50 }, (_, i) => cache.listPush(k, [`v${i}`], 10)));
        const items = await cache.listRange(k, 0, -1);
        expect(items).toHaveLength(10);
        expect(new Set(items).size).toBe(10);
      });

      it('listRange follows LRANGE: inclusive stop, negative indices, clamping', async () => {
        const { cache } = await open();
        const k = key('range');
        await cache.listPush(k, ['e', 'd', 'c', 'b', 'a'], 100); // list is a b c d e
        expect(await cache.listRange(k, 0, -1)).toEqual(['a', 'b', 'c', 'd', 'e']);
        expect(await cache.listRange(k, 0, 0)).toEqual(['a']);
        expect(await cache.listRange(k, 1, 2)).toEqual(['b', 'c']);
        expect(await cache.listRange(k, -2, -1)).toEqual(['d', 'e']);
        expect(await cache.listRange(k, -100, 1)).toEqual(['a', 'b']);
        expect(await cache.listRange(k, 3, 100)).toEqual(['d', 'e']);
        expect(await cache.listRange(k, 3, 1)).toEqual([]);
        expect(await cache.listRange(k, 5, 10)).toEqual([]);
        expect(await cache.listRange(k, -1, -2)).toEqual([]);
        expect(await cache.listRange(key('absent'), 0, -1)).toEqual([]);
      });

      it('rejects operations on a key of the other type, as Redis does (WRONGTYPE)', async () => {
        const { cache } = await open();
        const list = key('wt-list');
        const str = key('wt-str');
        await cache.listPush(list, ['a'], 10);
        await cache.set(str, 'v');
        await expect(cache.get(list)).rejects.toThrow(/WRONGTYPE/);
        await expect(cache.incr(list)).rejects.toThrow(/WRONGTYPE/);
        await expect(cache.listPush(str, ['a'], 10)).rejects.toThrow(/WRONGTYPE/);
        await expect(cache.listRange(str, 0, -1)).rejects.toThrow(/WRONGTYPE/);
        // set replaces a value of any type; del and ttl work on any type.
        expect(await cache.ttl(list)).toBe(-1);
        await cache.set(list, 'now a string');
        expect(await cache.get(list)).toBe('now a string');
        await cache.del(str);
        expect(await cache.ttl(str)).toBe(-2);
      });

      it('pings, closes idempotently, and refuses work once closed', async () => {
        const platform = await open();
        await platform.cache.ping();
        await platform.close();
        await platform.close();
        await expect(platform.cache.get(key('closed'))).rejects.toThrow();
        await expect(platform.pubsub.publish(key('closed'), 'x')).rejects.toThrow();
      });
    });

    describe('pubsub', () => {
      it('delivers to every subscriber of a channel, in order, with the channel name', async () => {
        const { pubsub } = await open();
        const channel = key('ch');
        const a: string[] = [];
        const b: [string, string][] = [];
        await pubsub.subscribe(channel, (m) => a.push(m));
        await pubsub.subscribe(channel, (m, ch) => b.push([m, ch]));
        for (let i = 0; i < 5; i++) await pubsub.publish(channel, `m${i}`);
        await eventually(() => expect(a).toHaveLength(5));
        await eventually(() => expect(b).toHaveLength(5));
        expect(a).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
        expect(b.map(([m]) => m)).toEqual(a);
        expect(b.every(([, ch]) => ch === channel)).toBe(true);
      });

      it('takes many subscriptions at once on a fresh platform (the subscriber connection still connecting)', async () => {
        const { pubsub } = await open();
        const channels = Array.from({ length: 300 }, (_, i) => key(`burst-${i}`));
        const got = new Map<string, string[]>();
        // Spread over the connection's handshake (the first one starts it), as sockets authenticating one by one do.
        const subscribed: Promise<unknown>[] = [];
        for (const c of channels) {
          subscribed.push(pubsub.subscribe(c, (m) => got.set(c, [...(got.get(c) ?? []), m])));
          await new Promise((r) => setImmediate(r));
        }
        await Promise.all(subscribed);
        await Promise.all(channels.map((c) => pubsub.publish(c, `to ${c}`)));
        await eventually(() => expect(got.size).toBe(channels.length));
        for (const c of channels) expect(got.get(c)).toEqual([`to ${c}`]);
      });

      it('does not deliver to other channels', async () => {
        const { pubsub } = await open();
        const mine = key('mine');
        const other = key('other');
        const got: string[] = [];
        await pubsub.subscribe(mine, (m) => got.push(m));
        await pubsub.publish(other, 'not for me');
        await pubsub.publish(mine, 'for me');
        // Messages on one connection arrive in order, so once 'for me' is here the other is not coming.
        await eventually(() => expect(got).toEqual(['for me']));
      });

      it('never runs a handler inside publish()', async () => {
        const { pubsub } = await open();
        const channel = key('async');
        let calls = 0;
        await pubsub.subscribe(channel, () => calls++);
        const published = pubsub.publish(channel, 'x');
        expect(calls).toBe(0);
        await published;
        await eventually(() => expect(calls).toBe(1));
      });

      it('stops delivering once unsubscribed, and leaves other subscribers alone', async () => {
        const { pubsub } = await open();
        const channel = key('unsub');
        const a: string[] = [];
        const b: string[] = [];
        const stopA = await pubsub.subscribe(channel, (m) => a.push(m));
        await pubsub.subscribe(channel, (m) => b.push(m));
        await pubsub.publish(channel, 'both');
        await eventually(() => expect(a).toEqual(['both']));
        await stopA();
        await stopA(); // idempotent
        await pubsub.publish(channel, 'only b');
        // b and a were served by the same delivery, so once b has it, a would have had it too.
        await eventually(() => expect(b).toEqual(['both', 'only b']));
        expect(a).toEqual(['both']);
      });

      it('treats the same handler subscribed twice as two subscriptions', async () => {
        const { pubsub } = await open();
        const channel = key('twice');
        const got: string[] = [];
        const witness: string[] = [];
        const handler = (m: string): void => {
          got.push(m);
        };
        const stop1 = await pubsub.subscribe(channel, handler);
        await pubsub.subscribe(channel, handler);
        await pubsub.subscribe(channel, (m) => witness.push(m));
        await pubsub.publish(channel, 'x');
        await eventually(() => expect(witness).toEqual(['x']));
        expect(got).toEqual(['x', 'x']);
        await stop1();
        await pubsub.publish(channel, 'y');
        await eventually(() => expect(witness).toEqual(['x', 'y']));
        expect(got).toEqual(['x', 'x', 'y']);
      });

      it('can subscribe again after the last subscriber left', async () => {
        const { pubsub } = await open();
        const channel = key('resub');
        const stop = await pubsub.subscribe(channel, () => {});
        // Unsubscribe and subscribe again without waiting in between.
        const [, got] = await Promise.all([
          stop(),
          (async () => {
            const messages: string[] = [];
            await pubsub.subscribe(channel, (m) => messages.push(m));
            return messages;
          })(),
        ]);
        await pubsub.publish(channel, 'back');
        await eventually(() => expect(got).toEqual(['back']));
      });

      it('a throwing handler does not stop the others and is reported to onError', async () => {
        const errors: unknown[] = [];
        const { pubsub } = await open({ onError: (err) => errors.push(err) });
        const channel = key('throw');
        const got: string[] = [];
        await pubsub.subscribe(channel, () => {
          throw new Error('handler bug');
        });
        await pubsub.subscribe(channel, (async () => {
          throw new Error('async handler bug');
        }) as unknown as (m: string) => void);
        await pubsub.subscribe(channel, (m) => got.push(m));
        await pubsub.publish(channel, 'still delivered');
        await eventually(() => expect(got).toEqual(['still delivered']));
        await eventually(() => expect(errors).toHaveLength(2));
        expect(errors.map((e) => (e as Error).message).sort()).toEqual(['async handler bug', 'handler bug']);
      });
    });

    describe('locks', () => {
      it('refuses a second holder until the first releases', async () => {
        const { locks } = await open();
        const k = key('lock');
        const first = await locks.tryAcquire(k, 10_000);
        expect(first).not.toBeNull();
        expect(first?.key).toBe(k);
        expect(await locks.tryAcquire(k, 10_000)).toBeNull();
        expect(await first?.release()).toBe(true);
        expect(await first?.release()).toBe(false); // already released
        const second = await locks.tryAcquire(k, 10_000);
        expect(second).not.toBeNull();
        expect(second?.token).not.toBe(first?.token);
        await second?.release();
      });

      it('exactly one of many concurrent tryAcquire calls wins', async () => {
        const { locks } = await open();
        const k = key('lock-race');
        const results = await Promise.all(Array.from({ length: 30 }, () => locks.tryAcquire(k, 10_000)));
        expect(results.filter((l) => l !== null)).toHaveLength(1);
      });

      it('lets an expired lock be taken, and the stale holder can neither release nor extend it', async () => {
        const { locks } = await open();
        const k = key('lock-expire');
        const stale = await locks.tryAcquire(k, 80);
        expect(stale).not.toBeNull();
        await sleep(200);
        const fresh = await locks.tryAcquire(k, 10_000);
        expect(fresh).not.toBeNull();
        expect(await stale?.release()).toBe(false);
        expect(await stale?.extend(10_000)).toBe(false);
        // The new holder still holds it.
        expect(await locks.tryAcquire(k, 10_000)).toBeNull();
        expect(await fresh?.release()).toBe(true);
      });

      it('extend keeps a lock past its original TTL; extend after release fails', async () => {
        const { locks } = await open();
        const k = key('lock-extend');
        const lock = await locks.tryAcquire(k, 150);
        expect(lock).not.toBeNull();
        expect(await lock?.extend(10_000)).toBe(true);
        await sleep(400);
        expect(await locks.tryAcquire(k, 10_000)).toBeNull();
        expect(await lock?.release()).toBe(true);
        expect(await lock?.extend(10_000)).toBe(false);
        expect(await locks.tryAcquire(k, 10_000)).not.toBeNull();
      });

      it('acquire waits for a release', async () => {
        const { locks } = await open();
        const k = key('lock-wait');
        const holder = await locks.tryAcquire(k, 10_000);
        expect(holder).not.toBeNull();
        const waiting = locks.acquire(k, 10_000, 10_000);
        await sleep(100);
        await holder?.release();
        const next = await waiting;
        expect(next).not.toBeNull();
        expect(next?.token).not.toBe(holder?.token);
        await next?.release();
      });

      it('acquire waits for an abandoned lock to expire', async () => {
        const { locks } = await open();
        const k = key('lock-abandoned');
        expect(await locks.tryAcquire(k, 100)).not.toBeNull();
        expect(await locks.acquire(k, 10_000, 10_000)).not.toBeNull();
      });

      it('acquire gives up with null after waitMs', async () => {
        const { locks } = await open();
        const k = key('lock-timeout');
        const holder = await locks.tryAcquire(k, 10_000);
        expect(await locks.acquire(k, 10_000, 150)).toBeNull();
        expect(await locks.acquire(k, 10_000, 0)).toBeNull();
        await holder?.release();
        expect(await locks.acquire(k, 10_000, 0)).not.toBeNull();
      });

      it('serialises a read-modify-write done by concurrent workers', async () => {
        const { cache, locks } = await open();
        const k = key('lock-mutex');
        const counter = key('counter');
        await cache.set(counter, '0');
        const worker = async (): Promise<void> => {
          const lock = await locks.acquire(k, 10_000, 30_000);
          if (!lock) throw new Error('lock not acquired');
          try {
            const value = Number(await cache.get(counter));
            await sleep(2); // widen the window a missing lock would let others into
            await cache.set(counter, String(value + 1));
          } finally {
            await lock.release();
          }
        };
        await Promise.all(Array.from({ length: 10 }, worker));
        expect(await cache.get(counter)).toBe('10');
      });
    });

    if (twin.sharedAcrossInstances) {
      describe('across instances (separate processes)', () => {
        it('shares keys, counters and lists', async () => {
          const a = await open();
          const b = await open();
          const k = key('shared');
          await a.cache.set(k, 'from a');
          expect(await b.cache.get(k)).toBe('from a');
          const n = key('shared-counter');
          await Promise.all([...Array.from({ length: 50 }, () => a.cache.incr(n)), ...Array.from({ length: 50 }, () => b.cache.incr(n))]);
          expect(await a.cache.get(n)).toBe('100');
          const list = key('shared-list');
          await a.cache.listPush(list, ['1'], 10);
          await b.cache.listPush(list, ['2'], 10);
          expect(await a.cache.listRange(list, 0, -1)).toEqual(['2', '1']);
        });

        it('delivers a message published by one instance to subscribers of another', async () => {
          const a = await open();
          const b = await open();
          const channel = key('cross');
          const onA: string[] = [];
          const onB: string[] = [];
          await a.pubsub.subscribe(channel, (m) => onA.push(m));
          await b.pubsub.subscribe(channel, (m) => onB.push(m));
          await a.pubsub.publish(channel, 'hello');
          await b.pubsub.publish(channel, 'world');
          await eventually(() => expect(onA).toEqual(['hello', 'world']));
          await eventually(() => expect(onB).toEqual(['hello', 'world']));
        });

        it('excludes a holder in another instance, and hands over on release', async () => {
          const a = await open();
          const b = await open();
          const k = key('cross-lock');
          const held = await a.locks.tryAcquire(k, 10_000);
          expect(held).not.toBeNull();
          expect(await b.locks.tryAcquire(k, 10_000)).toBeNull();
          const waiting = b.locks.acquire(k, 10_000, 10_000);
          await sleep(50);
          await held?.release();
          const taken: Lock | null = await waiting;
          expect(taken).not.toBeNull();
          expect(await a.locks.tryAcquire(k, 10_000)).toBeNull();
        });
      });
    } else {
      describe('across instances (per-process twin)', () => {
        // Documents the limit of the memory twin: it is the one-process column, so two instances
        // behave like two processes without Redis and share nothing.
        it('shares nothing between instances', async () => {
          const a = await open();
          const b = await open();
          const k = key('isolated');
          await a.cache.set(k, 'only in a');
          expect(await b.cache.get(k)).toBeNull();
          expect(await a.locks.tryAcquire(k, 10_000)).not.toBeNull();
          expect(await b.locks.tryAcquire(k, 10_000)).not.toBeNull();
          const channel = key('isolated-ch');
          const onA: string[] = [];
          const onB: string[] = [];
          await a.pubsub.subscribe(channel, (m) => onA.push(m));
          await b.pubsub.subscribe(channel, (m) => onB.push(m));
          await a.pubsub.publish(channel, 'hello');
          await eventually(() => expect(onA).toEqual(['hello']));
          await new Promise((resolve) => setImmediate(resolve));
          expect(onB).toEqual([]);
        });
      });
    }
  });
}

describeCacheContract({
  name: 'memory',
  create: async (opts) => createMemoryCachePlatform({ onError: opts?.onError }),
  sharedAcrossInstances: false,
});

describe('memory twin specifics', () => {
  it('sweeps expired keys that are never read again', async () => {
    const cache = new MemoryCache({ sweepIntervalMs: 20 });
    try {
      for (let i = 0; i < 5; i++) await cache.set(`k${i}`, 'v', 30);
      await cache.set('kept', 'v');
      expect(cache.size).toBe(6);
      await eventually(() => expect(cache.size).toBe(1));
      expect(await cache.get('kept')).toBe('v');
    } finally {
      await cache.close();
    }
  });
});

describe('createCachePlatform', () => {
  it('uses the in-process twin without a Redis URL', async () => {
    const platform = await createCachePlatform({});
    try {
      expect(platform.kind).toBe('memory');
      await platform.cache.ping();
    } finally {
      await platform.close();
    }
  });

  it('fails fast with a clear error, and no password, when Redis cannot be reached', async () => {
    // Port 1 on loopback refuses connections; no Redis is needed for this test.
    const attempt = createCachePlatform({ redisUrl: 'redis://user:hunter2@127.0.0.1:1', connectTimeoutMs: 2000 });
    await expect(attempt).rejects.toThrow(/cannot reach Redis at redis:\/\/user:\*\*\*@127\.0\.0\.1:1/);
    await expect(attempt).rejects.toThrow(/ECONNREFUSED/);
    await expect(attempt).rejects.not.toThrow(/hunter2/);
  });
});

const redisUrl = process.env.REDIS_URL;
if (redisUrl) {
  // Unique per run so parallel runs (and other test files) on the same server never collide.
  const keyPrefix = `sf-test:${randomUUID()}:`;

  afterAll(async () => {
    // Remove what this run left behind (keys set without a TTL would stay forever).
    const admin = new Redis(redisUrl, { lazyConnect: true });
    try {
      await admin.connect();
      let cursor = '0';
      do {
        const [next, keys] = await admin.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) await admin.del(...keys);
      } while (cursor !== '0');
    } finally {
      await admin.quit();
    }
  });

  describeCacheContract({
    name: 'redis',
    create: (opts) => createCachePlatform({ redisUrl, keyPrefix, onError: opts?.onError }),
    sharedAcrossInstances: true,
  });

  describe('redis twin specifics', () => {
    const opened: CachePlatform[] = [];
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((p) => p.close()));
    });

    it('reports kind redis', async () => {
      const platform = await createCachePlatform({ redisUrl, keyPrefix });
      opened.push(platform);
      expect(platform.kind).toBe('redis');
    });

    it('isolates platforms with different key prefixes (keys, locks and channels)', async () => {
      const a = await createCachePlatform({ redisUrl, keyPrefix: `${keyPrefix}a:` });
      const b = await createCachePlatform({ redisUrl, keyPrefix: `${keyPrefix}b:` });
      opened.push(a, b);
      const k = `iso:${randomUUID()}`;
      await a.cache.set(k, 'a');
      expect(await b.cache.get(k)).toBeNull();
      expect(await a.locks.tryAcquire(k, 10_000)).not.toBeNull();
      expect(await b.locks.tryAcquire(k, 10_000)).not.toBeNull();
      const onA: string[] = [];
      const onB: string[] = [];
      await a.pubsub.subscribe(k, (m) => onA.push(m));
      await b.pubsub.subscribe(k, (m) => onB.push(m));
      await b.pubsub.publish(k, 'for b');
      await a.pubsub.publish(k, 'for a');
      await eventually(() => expect(onA).toEqual(['for a']));
      await eventually(() => expect(onB).toEqual(['for b']));
    });

    it("uses REDIS_KEY_PREFIX for the app's keys when no test prefix is given", async () => {
      const config = loadConfig(
        { SECRET_KEY: 'k'.repeat(32), DATA_DIR: '/tmp/sf-prefix-test', REDIS_URL: redisUrl, DATABASE_URL: process.env.DATABASE_URL, REDIS_KEY_PREFIX: keyPrefix },
        { persistSecret: false },
      );
      const deps = await createDeps(config, createLogger('silent'), { pgliteInMemory: true, migrate: false });
      try {
        const k = `configured:${randomUUID()}`;
        await deps.cache.cache.set(k, 'v', 60_000);
        const admin = new Redis(redisUrl);
        try {
          expect(await admin.get(`${keyPrefix}${k}`)).toBe('v');
          expect(await admin.get(`sf:${k}`)).toBeNull();
        } finally {
          await admin.quit();
        }
      } finally {
        await closeDeps(deps);
      }
    });

    it('stores keys under the prefix, so other tools see sf:-style names', async () => {
      const platform = await createCachePlatform({ redisUrl, keyPrefix });
      opened.push(platform);
      const k = `visible:${randomUUID()}`;
      await platform.cache.set(k, 'v', 60_000);
      const admin = new Redis(redisUrl);
      try {
        expect(await admin.get(`${keyPrefix}${k}`)).toBe('v');
      } finally {
        await admin.quit();
      }
    });
  });
}
