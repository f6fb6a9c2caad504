import type { Deps } from '../../platform/deps.js';
import { purgeIdempotencyKeys } from '../../platform/http/idempotency.js';
import { job, type JobDefinition } from '../../platform/jobs/index.js';

declare module '../../platform/jobs/index.js' {
  interface JobPayloads {
    'instance.purge_idempotency_keys': Record<string, never>;
  }
}

export function instanceJobs(deps: Deps): JobDefinition[] {
  const purge = job({
    name: 'instance.purge_idempotency_keys',
    cron: '17 * * * *',
    retryLimit: 2,
    handler: async () => {
      const n = await purgeIdempotencyKeys(deps.database.db);
      if (n) deps.logger.info({ purged: n }, 'forgot expired idempotency keys');
    },
  });
  return [purge];
}
