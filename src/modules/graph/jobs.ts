import type { Deps } from '../../platform/deps.js';
import { on, type EventSubscription } from '../../platform/events/index.js';
import { job, type JobDefinition } from '../../platform/jobs/index.js';
import '../users/events.js';
import { reconcileFollowCounts } from './counters.js';
import { GraphService } from './service.js';

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

export function graphListeners(deps: Deps): EventSubscription[] {
  return [
    on({
      event: 'account.went_public',
      subscriber: 'graph',
      retryLimit: 5,
      // Batches commit one by one; a retry continues with the requests still pending.
      handler: async ({ userId }) => {
        const approved = await new GraphService(deps).approveAll(userId);
        deps.logger.info({ userId, approved }, 'approved pending follow requests of an account that went public');
      },
    }),
  ];
}
