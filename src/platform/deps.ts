import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { createCachePlatform } from './cache/index.js';
import type { CachePlatform } from './cache/types.js';
import { openDatabase, type Database } from './db/index.js';
import { Events } from './events/index.js';
import { Jobs } from './jobs/index.js';
import { createMailer } from './mail/index.js';
import type { Mailer } from './mail/types.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createPushSender, type PushSender } from './push/index.js';
import { createStorage } from './storage/index.js';
import type { Storage } from './storage/types.js';

/**
 * Everything a module may use, passed in explicitly (never imported as a singleton) so one process
 * can run every role in tests and many processes can each run one in production.
 */
export interface Deps {
  config: Config;
  logger: Logger;
  database: Database;
  jobs: Jobs;
  /** Domain events, delivered to listeners through the job queue (see docs/events.md). */
  events: Events;
  cache: CachePlatform;
  storage: Storage;
  mailer: Mailer;
  /** Web push (VAPID); `configured` is false without keys. */
  push: PushSender;
  metrics: Metrics;
}

export interface CreateDepsOptions {
  /** Tests: start the embedded database from a migrated template instead of an empty folder. */
  pgliteTemplate?: Blob;
  /** Tests: keep the embedded database in memory (no folder, no pid lock). */
  pgliteInMemory?: boolean;
  /** Tests: isolate Redis keys and channels per test file (overrides REDIS_KEY_PREFIX). */
  cacheKeyPrefix?: string;
  /** Run migrations before anything else uses the database (default true). */
  migrate?: boolean;
  /** pg-boss polling, seconds (tests use the minimum). */
  jobPollingIntervalSeconds?: number;
  /** Tests: false leaves cron jobs unscheduled (Jobs option `schedules`). */
  jobSchedules?: boolean;
  jobMaintenanceIntervalSeconds?: number;
  onProgress?: (step: string) => void;
}

export async function createDeps(config: Config, logger: Logger, opts: CreateDepsOptions = {}): Promise<Deps> {
  const say = opts.onProgress ?? (() => {});
  say(config.databaseUrl ? 'connecting to PostgreSQL' : `opening the embedded database in ${path.join(config.dataDir, 'db')}`);
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    poolMax: config.databasePoolMax,
    pgliteDir: opts.pgliteInMemory ? undefined : path.join(config.dataDir, 'db'),
    loadDataDir: opts.pgliteTemplate,
  });
  const closers: (() => Promise<void>)[] = [() => database.close()];
  try {
    if (opts.migrate !== false) {
      say('applying database migrations');
      await database.migrate();
    }
    say(config.redisUrl ? 'connecting to Redis' : 'using the in-process cache');
    const cache = await createCachePlatform({
      redisUrl: config.redisUrl,
      keyPrefix: opts.cacheKeyPrefix ?? config.redisKeyPrefix,
      onError: (err) => logger.warn({ err }, 'cache error'),
    });
    closers.push(() => cache.close());
    const storage = await createStorage(config);
    closers.push(() => storage.close());
    const mailer = createMailer(config);
    closers.push(() => mailer.close());
    const jobs = new Jobs(database, logger.child({ part: 'jobs' }), {
      ...config.jobs,
      pollingIntervalSeconds: opts.jobPollingIntervalSeconds,
      schedules: opts.jobSchedules,
      maintenanceIntervalSeconds: opts.jobMaintenanceIntervalSeconds,
      wake: cache.pubsub,
    });
    const metrics = createMetrics({ jobCounts: () => jobs.counts() });
    return { config, logger, database, jobs, events: new Events(jobs), cache, storage, mailer, push: createPushSender(config.notifications.vapid), metrics };
  } catch (err) {
    for (const close of closers.reverse()) await close().catch(() => {});
    throw err;
  }
}

/** Close in reverse order of opening; the database last, since jobs still use it while stopping. */
export async function closeDeps(deps: Deps): Promise<void> {
  await deps.jobs.stop(deps.config.shutdownTimeoutMs).catch((err: unknown) => deps.logger.warn({ err }, 'stopping jobs failed'));
  await deps.mailer.close().catch(() => {});
  await deps.storage.close().catch(() => {});
  await deps.cache.close().catch(() => {});
  await deps.database.close().catch(() => {});
}
