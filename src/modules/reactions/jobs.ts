import type { Deps } from '../../platform/deps.js';
import { job, type JobDefinition } from '../../platform/jobs/index.js';
import { reactionAdapters } from './adapters.js';
import { reconcileLikeCounts } from './service.js';

declare module '../../platform/jobs/index.js' {
  interface JobPayloads {
    'reactions.reconcile_counts': Record<string, never>;
  }
}

export function reactionsJobs(deps: Deps): JobDefinition[] {
  const reconcile = job({
    name: 'reactions.reconcile_counts',
    // Daily, at a quiet hour: counters are kept in the same transaction as the like, so this only
    // repairs what a manual database edit or a bug left behind.
    cron: '23 4 * * *',
    retryLimit: 2,
    expireInSeconds: 60 * 60,
    handler: async () => {
      const fixed = await reconcileLikeCounts(deps.database.db, reactionAdapters(deps));
      if (Object.values(fixed).some((n) => n > 0)) deps.logger.warn({ fixed }, 'repaired like counters that had drifted');
    },
  });
  return [reconcile];
}
