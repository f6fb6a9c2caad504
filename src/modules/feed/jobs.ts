import type { Deps } from '../../platform/deps.js';
import { job, type JobDefinition } from '../../platform/jobs/index.js';
import { feedServiceFor } from './service.js';

declare module '../../platform/jobs/index.js' {
  interface JobPayloads {
    /** Sent by the posts writer in the transaction that creates a top-level post or repost. */
    'feed.fanout': { postId: string };
  }
}

export function feedJobs(deps: Deps): JobDefinition[] {
  const fanout = job({
    name: 'feed.fanout',
    retryLimit: 5,
    retryDelaySeconds: 2,
    // Pushes are idempotent at read time (ids are de-duplicated), so a retry after a partial run is harmless.
    handler: async ({ postId }) => {
      const r = await feedServiceFor(deps).fanout(postId);
      deps.logger.debug({ postId, ...r }, 'fanned out a post');
    },
  });
  return [fanout];
}
