// A second app process for the cross-process test: API role only, on the same PostgreSQL and
// Redis as the test process (env: DATABASE_URL, REDIS_URL, SECRET_KEY, DATA_DIR, CACHE_PREFIX).
// Prints `listening <url>` once it accepts connections; stops on SIGTERM.
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/platform/logger.js';
import { startServer } from '../../src/server.js';

const config = loadConfig(
  { NODE_ENV: 'test', PORT: '0', LOG_LEVEL: 'silent', RATE_LIMIT_MAX: '100000', DATA_DIR: process.env.DATA_DIR, DATABASE_URL: process.env.DATABASE_URL, REDIS_URL: process.env.REDIS_URL, SECRET_KEY: process.env.SECRET_KEY },
  { persistSecret: false },
);
const server = await startServer(config, createLogger('silent'), ['api'], { migrate: false, cacheKeyPrefix: process.env.CACHE_PREFIX, onProgress: () => {} });
process.stdout.write(`listening ${server.url}\n`);
process.on('SIGTERM', () => {
  void server.stop().then(() => process.exit(0));
});
