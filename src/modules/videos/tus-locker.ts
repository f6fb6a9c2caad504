import { ERRORS, type Lock as TusLock, type Locker, type RequestRelease } from '@tus/utils';
import type { CachePlatform, Lock } from '../../platform/cache/index.js';

export interface CacheLockerOptions {
  /** How long a lock outlives a holder that died (renewed every third of it while held). */
  ttlMs: number;
  /** How long a request waits for the upload's lock before tus answers 500 ERR_LOCK_TIMEOUT. */
  acquireTimeoutMs: number;
}

const lockKey = (id: string) => `tus-upload:${id}`;
const releaseChannel = (id: string) => `tus-release:${id}`;

/**
 * tus upload locks on the cache platform's locks (Redis in production, in-process in the embedded
 * column), so requests for one upload may land on any API process. tus's contract: a request that
 * wants a held lock asks the holder to let go (a client that reconnected while its old PATCH still
 * streams); the holder's `requestRelease` ends that request, which unlocks. Across processes the
 * ask travels on pub/sub. A holder that dies leaves a lock that expires after `ttlMs`.
 */
export class CacheLocker implements Locker {
  constructor(
    private readonly cache: Pick<CachePlatform, 'locks' | 'pubsub'>,
    private readonly opts: CacheLockerOptions,
  ) {}

  newLock(id: string): TusLock {
    return new CacheLock(id, this.cache, this.opts);
  }
}

class CacheLock implements TusLock {
  private held: Lock | null = null;
  private renew: NodeJS.Timeout | undefined;
  private stopListening: (() => Promise<void>) | undefined;

  constructor(
    private readonly id: string,
    private readonly cache: Pick<CachePlatform, 'locks' | 'pubsub'>,
    private readonly opts: CacheLockerOptions,
  ) {}

  async lock(stopSignal: AbortSignal, requestRelease: RequestRelease): Promise<void> {
    const deadline = Date.now() + this.opts.acquireTimeoutMs;
    let askedAt = 0;
    for (;;) {
      if (stopSignal.aborted) throw ERRORS.ERR_LOCK_TIMEOUT;
      const got = await this.cache.locks.tryAcquire(lockKey(this.id), this.opts.ttlMs);
      if (got) {
        this.held = got;
        break;
      }
      // Ask whoever holds it to finish; again every half second (the holder may have been
      // between acquiring and listening when the first ask went out).
      if (Date.now() - askedAt > 500) {
        askedAt = Date.now();
        await this.cache.pubsub.publish(releaseChannel(this.id), 'release');
      }
      if (Date.now() > deadline) throw ERRORS.ERR_LOCK_TIMEOUT;
      await new Promise((r) => setTimeout(r, 25));
    }
    const held = this.held;
    try {
      this.stopListening = await this.cache.pubsub.subscribe(releaseChannel(this.id), () => void requestRelease());
    } catch (err) {
      // Without the release channel nobody could ask this request to let go: do not hold the lock.
      this.held = null;
      await held.release().catch(() => false);
      throw err;
    }
    this.renew = setInterval(() => {
      void held.extend(this.opts.ttlMs).catch(() => false);
    }, Math.max(50, Math.floor(this.opts.ttlMs / 3)));
    this.renew.unref();
  }

  async unlock(): Promise<void> {
    const held = this.held;
    if (!held) throw new Error('Releasing an unlocked lock!');
    this.held = null;
    clearInterval(this.renew);
    await this.stopListening?.().catch(() => {});
    await held.release();
  }
}
