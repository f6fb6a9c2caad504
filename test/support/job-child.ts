// A worker process for the crash-recovery test: `hang` starts the job and never finishes it (the
// parent SIGKILLs this process mid-run); `run` finishes it. Each writes a line per attempt to OUT.
import { appendFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config.js';
import { createDeps } from '../../src/platform/deps.js';
import { createLogger } from '../../src/platform/logger.js';

declare module '../../src/platform/jobs/index.js' {
  interface JobPayloads {
    'test.crashy': { n: number };
  }
}

const [mode, dataDir, databaseUrl, out, template] = process.argv.slice(2) as [string, string, string, string, string];
const config = loadConfig({ DATA_DIR: dataDir, DATABASE_URL: databaseUrl || undefined, LOG_LEVEL: 'silent', SECRET_KEY: 'x'.repeat(32) }, { persistSecret: false });
const deps = await createDeps(config, createLogger('silent'), {
  pgliteTemplate: template ? new Blob([readFileSync(template)]) : undefined,
  migrate: false,
  jobPollingIntervalSeconds: 0.5,
  jobMaintenanceIntervalSeconds: 1,
});
deps.jobs.define({
  name: 'test.crashy',
  expireInSeconds: 2,
  retryLimit: 3,
  retryDelaySeconds: 1,
  concurrency: 1,
  handler: async (data, ctx) => {
    appendFileSync(out, `${mode} start ${data.n} attempt=${ctx.retryCount}\n`);
    if (mode === 'hang') await new Promise(() => {});
    appendFileSync(out, `${mode} done ${data.n}\n`);
  },
});
await deps.jobs.start();
if (mode === 'hang' && process.argv[7] === 'send') await deps.jobs.send('test.crashy', { n: 7 });
await deps.jobs.work();
appendFileSync(out, `${mode} ready pid=${process.pid} ${path.basename(dataDir)}\n`);
