import type { Deps } from '../../platform/deps.js';
import { on, type EventSubscription } from '../../platform/events/index.js';
import { job, type JobDefinition } from '../../platform/jobs/index.js';
import '../posts/events.js';
import '../videos/events.js';
import { addHashtags, addTerms, addVideoTerms, rebuildTerms } from './terms.js';

declare module '../../platform/jobs/index.js' {
  interface JobPayloads {
    /** Recount the search vocabularies (terms and hashtags) from the live posts and videos; nightly, and after a bulk import. */
    'search.rebuild_terms': Record<string, never>;
  }
}

export function searchJobs(deps: Deps): JobDefinition[] {
  return [
    job({
      name: 'search.rebuild_terms',
      cron: '37 3 * * *',
      scheduleData: {},
      retryLimit: 2,
      expireInSeconds: 60 * 60,
      handler: async () => {
        const n = await deps.database.transaction((tx) => rebuildTerms(tx));
        deps.logger.info({ terms: n }, 'search vocabulary rebuilt');
      },
    }),
  ];
}

/** New words and hashtags become searchable (and typo-correctable) as posts are written and videos finish processing or are edited. */
export function searchListeners(deps: Deps): EventSubscription[] {
  const db = deps.database.db;
  return [
    on({
      event: 'post.created',
      subscriber: 'search',
      handler: async (p) => {
        await addTerms(db, p.text);
        if (p.visibility !== 'unlisted') await addHashtags(db, p.hashtags);
      },
    }),
    on({ event: 'post.edited', subscriber: 'search', handler: (p) => addTerms(db, p.text) }),
    // A video is searchable once ready; its words are read from its stored vector, so they are
    // exactly what the index holds.
    on({ event: 'video.ready', subscriber: 'search', handler: (p) => addVideoTerms(db, p.videoId) }),
    on({ event: 'video.updated', subscriber: 'search', handler: (p) => addVideoTerms(db, p.videoId) }),
  ];
}
