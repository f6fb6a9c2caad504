import type { Deps } from '../../platform/deps.js';
import { on, type EventSubscription } from '../../platform/events/index.js';
import { job, type JobDefinition } from '../../platform/jobs/index.js';
import '../graph/events.js';
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

export function feedListeners(deps: Deps): EventSubscription[] {
  return [
    on({
      event: 'user.followed',
      subscriber: 'feed',
      retryLimit: 5,
      // The new followee's recent posts belong in the follower's home feed: forgetting the built
      // timeline makes the next read rebuild it from the database, with them in it.
      handler: async ({ followerId }) => feedServiceFor(deps).timelines.drop(followerId),
    }),
  ];
}
