import { randomUUID } from 'node:crypto';
import { ERRORS } from '@tus/utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CacheLocker } from '../../src/modules/videos/tus-locker.js';
import { createCachePlatform, type CachePlatform } from '../../src/platform/cache/index.js';

/**
 * The tus locker on the cache platform. With REDIS_URL the two lockers sit on two separate
 * platforms sharing Redis, as two API processes do; on the embedded column they share the one
 * in-process platform (one process).
 */
const redisUrl = process.env.REDIS_URL;
let a: CachePlatform;
let b: CachePlatform;

beforeAll(async () => {
  const keyPrefix = `sf-test:${randomUUID()}:`;
  a = await createCachePlatform({ redisUrl, keyPrefix });
  b = redisUrl ? await createCachePlatform({ redisUrl, keyPrefix }) : a;
});
afterAll(async () => {
  await a?.close();
  if (b !== a) await b?.close();
});

const never = new AbortController().signal;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(`tus upload locks on the cache platform (${redisUrl ? 'Redis, two platforms' : 'in-process'})`, () => {
  it('a second request asks the holder to let go, and gets the lock once it does', async () => {
    const id = randomUUID();
    const first = new CacheLocker(a, { ttlMs: 5_000, acquireTimeoutMs: 5_000 }).newLock(id);
    let releaseAsked = 0;
    await first.lock(never, async () => {
      releaseAsked++;
      await first.unlock();
    });
    const second = new CacheLocker(b, { ttlMs: 5_000, acquireTimeoutMs: 5_000 }).newLock(id);
    await second.lock(never, () => {});
    expect(releaseAsked).toBeGreaterThanOrEqual(1);
    await second.unlock();
  });

  it('times out with ERR_LOCK_TIMEOUT when the holder does not let go, and the lock outlives its TTL while held', async () => {
    const id = randomUUID();
    // A TTL far shorter than the wait: only renewal keeps the lock.
    const first = new CacheLocker(a, { ttlMs: 150, acquireTimeoutMs: 1_000 }).newLock(id);
    await first.lock(never, () => {});
    const second = new CacheLocker(b, { ttlMs: 150, acquireTimeoutMs: 600 }).newLock(id);
    await expect(second.lock(never, () => {})).rejects.toBe(ERRORS.ERR_LOCK_TIMEOUT);
    await first.unlock();
    await second.lock(never, () => {});
    await second.unlock();
  });

  it('a lock whose holder died expires after its TTL', async () => {
    const id = randomUUID();
    // Taken straight from the platform (no renewal): what a killed process leaves behind.
    const orphan = await a.locks.tryAcquire(`tus-upload:${id}`, 200);
    expect(orphan).not.toBeNull();
    await sleep(300);
    const next = new CacheLocker(b, { ttlMs: 5_000, acquireTimeoutMs: 2_000 }).newLock(id);
    await next.lock(never, () => {});
    await next.unlock();
  });

  it('uploads do not block each other; a cancelled request stops waiting; unlocking twice is an error', async () => {
    const one = new CacheLocker(a, { ttlMs: 5_000, acquireTimeoutMs: 5_000 }).newLock(randomUUID());
    const other = new CacheLocker(b, { ttlMs: 5_000, acquireTimeoutMs: 5_000 }).newLock(randomUUID());
    await one.lock(never, () => {});
    await other.lock(never, () => {});
    await other.unlock();
    await expect(other.unlock()).rejects.toThrow(/unlocked/);

    const id = randomUUID();
    const holder = new CacheLocker(a, { ttlMs: 5_000, acquireTimeoutMs: 5_000 }).newLock(id);
    await holder.lock(never, () => {});
    const stop = new AbortController();
    const waiting = new CacheLocker(b, { ttlMs: 5_000, acquireTimeoutMs: 5_000 }).newLock(id).lock(stop.signal, () => {});
    setTimeout(() => stop.abort(), 100);
    await expect(waiting).rejects.toBe(ERRORS.ERR_LOCK_TIMEOUT);
    await holder.unlock();
    await one.unlock();
  });

  it('does not keep a lock it cannot be asked to release (pub/sub down)', async () => {
    const id = randomUUID();
    const broken = { locks: a.locks, pubsub: { publish: (c: string, m: string) => a.pubsub.publish(c, m), subscribe: async () => Promise.reject(new Error('pub/sub is down')) } } as unknown as CachePlatform;
    await expect(new CacheLocker(broken, { ttlMs: 60_000, acquireTimeoutMs: 1_000 }).newLock(id).lock(never, () => {})).rejects.toThrow(/down/);
    // Released at once, not left to its 60 s TTL.
    const next = new CacheLocker(b, { ttlMs: 5_000, acquireTimeoutMs: 300 }).newLock(id);
    await next.lock(never, () => {});
    await next.unlock();
  });
});
