import type { FastifyRateLimitOptions, FastifyRateLimitStore } from '@fastify/rate-limit';
import type { Cache } from '../cache/types.js';

type RouteOptions = Parameters<FastifyRateLimitStore['child']>[0];

/**
 * @fastify/rate-limit store on our cache interface: counters live in Redis when REDIS_URL is set
 * (shared by every API process) and in memory otherwise, with no second code path.
 */
export function cacheRateLimitStore(cache: Cache, prefix = 'rl:'): new (options: FastifyRateLimitOptions) => FastifyRateLimitStore {
  class CacheStore implements FastifyRateLimitStore {
    private readonly namespace: string;

    constructor(options: FastifyRateLimitOptions, namespace = '') {
      void options;
      this.namespace = namespace;
    }

    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow?: number): void {
      const windowMs = timeWindow ?? 60_000;
      const k = `${prefix}${this.namespace}${key}`;
      cache
        .incrWithTtl(k, windowMs)
        .then(({ value, ttlMs }) => callback(null, { current: value, ttl: ttlMs > 0 ? ttlMs : windowMs }))
        .catch((err: Error) => callback(err));
    }

    child(routeOptions: RouteOptions): FastifyRateLimitStore {
      // A route with its own limit counts separately from the global one.
      return new CacheStore(routeOptions as FastifyRateLimitOptions, `${routeOptions.method}:${routeOptions.url}:`);
    }
  }
  return CacheStore;
}
