import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { buildApp, type App } from './app.js';
import type { Config } from './config.js';
import { defineJobs } from './modules/index.js';
import { closeDeps, createDeps, type CreateDepsOptions, type Deps } from './platform/deps.js';

export type Role = 'api' | 'worker';

export interface RunningServer {
  deps: Deps;
  app: App | undefined;
  /** The address the API listens on, when it runs. */
  url: string | undefined;
  /** Stop accepting, drain requests, let running jobs finish (or hand them back), close pools. */
  stop(): Promise<void>;
}

/**
 * Start the given roles in this process. `social-flow start` runs them all; `api` and `worker`
 * run one each, so they can scale separately against the same PostgreSQL and Redis.
 */
export async function startServer(config: Config, logger: Logger, roles: Role[], opts: CreateDepsOptions = {}): Promise<RunningServer> {
  const say = opts.onProgress ?? ((m: string) => logger.info(m));
  if (!config.databaseUrl && !existsSync(path.join(config.dataDir, 'db', 'PG_VERSION'))) {
    say(`first start: creating the embedded database in ${path.join(config.dataDir, 'db')} (takes a few seconds, once)`);
  }
  const deps = await createDeps(config, logger, { ...opts, onProgress: say });
  let app: App | undefined;
  try {
    defineJobs(deps);
    say('preparing the job queue');
    await deps.jobs.start();
    if (roles.includes('worker')) await deps.jobs.work();
    if (roles.includes('api')) {
      app = await buildApp(deps);
      await app.listen({ port: config.port, host: config.host });
    }
  } catch (err) {
    await app?.close().catch(() => {});
    await closeDeps(deps);
    throw err;
  }
  const address = app?.server.address();
  const url = address && typeof address === 'object' ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : undefined;
  let stopping: Promise<void> | undefined;
  return {
    deps,
    app,
    url,
    stop() {
      stopping ??= (async () => {
        // Fastify stops accepting at once, answers 503 to new requests on kept-alive sockets and
        // waits for in-flight ones; then the workers get the shutdown grace period.
        await app?.close();
        await closeDeps(deps);
      })();
      return stopping;
    },
  };
}
