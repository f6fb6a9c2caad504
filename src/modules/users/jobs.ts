import type { Deps } from '../../platform/deps.js';
import { job, type JobDefinition } from '../../platform/jobs/index.js';
import { purgeDeletedAccounts } from './account.js';

declare module '../../platform/jobs/index.js' {
  interface JobPayloads {
    'users.purge_deleted': Record<string, never>;
  }
}

export function usersJobs(deps: Deps): JobDefinition[] {
  const purge = job({
    name: 'users.purge_deleted',
    // Hourly: an account is erased at most an hour after its grace period ends.
    cron: '41 * * * *',
    retryLimit: 2,
    // Many accounts and a slow object store can take a while; the next tick resumes anyway.
    expireInSeconds: 50 * 60,
    handler: async () => {
      await purgeDeletedAccounts(deps);
    },
  });
  return [purge];
}
