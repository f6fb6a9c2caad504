import type { Deps } from '../../platform/deps.js';
import { job, type JobDefinition } from '../../platform/jobs/index.js';
import { reconcileFollowCounts } from './counters.js';

declare module '../../platform/jobs/index.js' {
  interface JobPayloads {
    'graph.reconcile_counts': Record<string, never>;
  }
}

export function graphJobs(deps: Deps): JobDefinition[] {
  const reconcile = job({
    name: 'graph.reconcile_counts',
    // Daily at a quiet hour: counters are kept exact in each transaction; this only repairs drift.
    cron: '23 4 * * *',
    retryLimit: 2,
    // A large instance walks every account in batches; the batches are independent, so a retry loses nothing.
    expireInSeconds: 2 * 3600,
    handler: async () => {
      const r = await reconcileFollowCounts(deps.database);
      deps.logger.info(r, 'reconciled follower counters');
    },
  });
  return [reconcile];
}
