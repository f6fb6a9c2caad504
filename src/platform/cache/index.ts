import type { ErrorHandler } from './common.js';
import { createMemoryCachePlatform } from './memory.js';
import { connectRedisCachePlatform } from './redis.js';
import type { CachePlatform } from './types.js';

export type { Cache, CachePlatform, Lock, Locks, MessageHandler, PubSub } from './types.js';
export type { ErrorHandler } from './common.js';

export interface CachePlatformOptions {
  /** Redis when set (config.redisUrl), the in-process twin otherwise. */
  redisUrl?: string;
  /** Redis only: prefix for keys, locks and channels. Default `sf:`. */
  keyPrefix?: string;
  /** Connection errors and errors thrown by pub/sub handlers; wire it to the logger. */
  onError?: ErrorHandler;
  /** Redis only: how long startup may wait for the first PING. Default 5000 ms. */
  connectTimeoutMs?: number;
}

/**
 * The cache / pub-sub / locks platform the configuration asks for. With Redis it connects and
 * PINGs before returning, so a wrong REDIS_URL stops startup with one clear error.
 */
export async function createCachePlatform(opts: CachePlatformOptions): Promise<CachePlatform> {
  if (opts.redisUrl) {
    return connectRedisCachePlatform({
      url: opts.redisUrl,
      keyPrefix: opts.keyPrefix,
      onError: opts.onError,
      connectTimeoutMs: opts.connectTimeoutMs,
    });
  }
  return createMemoryCachePlatform({ onError: opts.onError });
}
