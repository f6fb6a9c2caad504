import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { buildApp, type App } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { defineJobs } from '../../src/modules/index.js';
import type { ModuleRoutes } from '../../src/modules/types.js';
import { closeDeps, createDeps, type Deps } from '../../src/platform/deps.js';
import { createLogger } from '../../src/platform/logger.js';
import { startServer, type Role, type RunningServer } from '../../src/server.js';
import { createTestDatabase } from './db.js';
import { pollUntil } from './poll.js';

export interface TestEnvOptions {
  /** Extra environment, as an operator would set it (e.g. RATE_LIMIT_MAX). */
  env?: Record<string, string>;
  /** Route plugins mounted under /api/v1 next to the modules'. */
  extraRoutes?: ModuleRoutes[];
  /** False: cron jobs are not scheduled, for tests that send those jobs themselves. */
  schedules?: boolean;
}

export interface TestEnv {
  config: Config;
  dataDir: string;
  deps: Deps;
  app: App;
  close(): Promise<void>;
}

/**
 * The configuration a test process gets: a temporary DATA_DIR, quiet logs, ephemeral port, and
 * the machine's Redis when REDIS_URL is set (so the same suites run on both columns).
 */
export function testConfig(dataDir: string, databaseUrl: string | undefined, env: Record<string, string> = {}): Config {
  return loadConfig(
    {
      NODE_ENV: 'test',
      DATA_DIR: dataDir,
      PORT: '0',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      SECRET_KEY: randomBytes(32).toString('hex'),
      RATE_LIMIT_MAX: '100000',
      // Two test files share two cores; a busy embedded database may take seconds to answer a ping.
      READINESS_TIMEOUT_MS: '30000',
      DATABASE_URL: databaseUrl,
      REDIS_URL: process.env.REDIS_URL,
      ...env,
    },
    { persistSecret: false },
  );
}

function tempDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'sf-data-'));
}

/** Deps and an app for `app.inject` tests, with job workers running in the same process. */
export async function createTestEnv(opts: TestEnvOptions = {}): Promise<TestEnv> {
  const dataDir = tempDir();
  const tdb = await createTestDatabase();
  const config = testConfig(dataDir, tdb.databaseUrl, opts.env);
  const deps = await createDeps(config, createLogger(config.logLevel), {
    pgliteTemplate: tdb.pgliteTemplate,
    pgliteInMemory: true,
    cacheKeyPrefix: `sft:${randomBytes(4).toString('hex')}:`,
    migrate: false,
    jobPollingIntervalSeconds: 0.5,
  });
  defineJobs(deps);
  await deps.jobs.start();
  // Workers run too: flows such as "register, then read the email" need their jobs done.
  await deps.jobs.work();
  const app = await buildApp(deps, { extraRoutes: opts.extraRoutes });
  return {
    config,
    dataDir,
    deps,
    app,
    async close() {
      await app.close();
      await closeDeps(deps);
      await tdb.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface TestServer extends RunningServer {
  url: string;
  config: Config;
  close(): Promise<void>;
}

/** A real listening server on 127.0.0.1 with the given roles, for flows that go over HTTP. */
export async function startTestServer(opts: TestEnvOptions & { roles?: Role[] } = {}): Promise<TestServer> {
  const dataDir = tempDir();
  const tdb = await createTestDatabase();
  const config = testConfig(dataDir, tdb.databaseUrl, opts.env);
  const server = await startServer(config, createLogger(config.logLevel), opts.roles ?? ['api', 'worker'], {
    pgliteTemplate: tdb.pgliteTemplate,
    pgliteInMemory: true,
    cacheKeyPrefix: `sft:${randomBytes(4).toString('hex')}:`,
    migrate: false,
    jobPollingIntervalSeconds: 0.5,
    jobSchedules: opts.schedules,
    onProgress: () => {},
  });
  if (!server.url) throw new Error('the api role did not start');
  return {
    ...server,
    url: server.url,
    config,
    async close() {
      await server.stop();
      await tdb.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Wait for background work (a job or event listener) to make `done()` true. Under a loaded CI
 * machine listener jobs have been seen to take over 20 s (cause not found yet): the wait is 120 s,
 * and a timeout says which jobs of `queues` (a SQL LIKE pattern) were where, with their retries
 * and last output, so the next occurrence explains itself.
 */
export async function eventually(env: { deps: TestEnv['deps'] }, what: string, queues: string, done: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  await pollUntil(done, what, {
    timeoutMs,
    explain: async () => {
      const { rows } = await env.deps.database.query<Record<string, unknown>>(
        'select name, state, retry_count, created_on, started_on, completed_on, output from pgboss.job where name like $1 order by created_on',
        [queues],
      );
      return `jobs ${queues}: ${JSON.stringify(rows)}`;
    },
  });
}
