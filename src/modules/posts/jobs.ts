import { reconcileCounter } from '../../platform/db/counters.js';
import { and, eq, isNull, lt } from 'drizzle-orm';
import { type Db } from '../../platform/db/index.js';
import type { Deps } from '../../platform/deps.js';
import { job, type JobDefinition } from '../../platform/jobs/index.js';
import { mediaAttachments } from './tables.js';

declare module '../../platform/jobs/index.js' {
  interface JobPayloads {
    'posts.reconcile_counts': Record<string, never>;
    'posts.sweep_orphan_media': Record<string, never>;
  }
}

/** Uploads never attached to a post are deleted after this long (a composer left open overnight is fine). */
export const ORPHAN_MEDIA_AGE_MS = 24 * 3600 * 1000;

/**
 * Repair drift in the reply, repost and quote counters and in each account's post count, one
 * statement each, touching only the rows that are wrong. The write path keeps them exact in the
 * same transaction; this only repairs what a manual edit or a bug left behind.
 */
export async function reconcilePostCounts(db: Db): Promise<{ replies: number; reposts: number; quotes: number; authors: number }> {
  const fix = (column: string, ref: string) =>
    reconcileCounter(db, { table: 'posts', column, counts: `select ${ref} as id, count(*)::int as n from posts where ${ref} is not null and deleted_at is null group by ${ref}` });
  const replies = await fix('reply_count', 'reply_to_id');
  const reposts = await fix('repost_count', 'repost_of_id');
  const quotes = await fix('quote_count', 'quote_of_id');
  // An account's post count: its live posts and replies, reposts excluded (as the writer counts them).
  const authors = await reconcileCounter(db, {
    table: 'user_stats',
    key: 'user_id',
    column: 'posts',
    counts: 'select author_id as id, count(*)::int as n from posts where deleted_at is null and repost_of_id is null group by author_id',
  });
  return { replies, reposts, quotes, authors };
}

/** Delete uploads older than `ORPHAN_MEDIA_AGE_MS` that no post claimed: their rows, then their files. */
export async function sweepOrphanMedia(deps: Deps, now = Date.now()): Promise<number> {
  const { db } = deps.database;
  const stale = await db
    .select({ id: mediaAttachments.id, ownerId: mediaAttachments.ownerId })
    .from(mediaAttachments)
    .where(and(isNull(mediaAttachments.postId), lt(mediaAttachments.createdAt, new Date(now - ORPHAN_MEDIA_AGE_MS))))
    .limit(1000);
  let deleted = 0;
  for (const m of stale) {
    // The row first, and only while still unclaimed: a post that claims it meanwhile keeps it (and its
    // files). A crash before the files go leaves orphaned objects, which cost space, not correctness.
    const gone = await db
      .delete(mediaAttachments)
      .where(and(eq(mediaAttachments.id, m.id), isNull(mediaAttachments.postId)))
      .returning({ id: mediaAttachments.id });
    if (!gone.length) continue;
    await deps.storage.deletePrefix(`media/${m.ownerId}/${m.id}/`);
    deleted++;
  }
  return deleted;
}

export function postsJobs(deps: Deps): JobDefinition[] {
  return [
    job({
      name: 'posts.reconcile_counts',
      cron: '41 4 * * *',
      retryLimit: 2,
      expireInSeconds: 60 * 60,
      handler: async () => {
        const fixed = await reconcilePostCounts(deps.database.db);
        if (Object.values(fixed).some((n) => n > 0)) deps.logger.warn({ fixed }, 'repaired post counters that had drifted');
      },
    }),
    job({
      name: 'posts.sweep_orphan_media',
      cron: '17 * * * *',
      retryLimit: 2,
      handler: async () => {
        const n = await sweepOrphanMedia(deps);
        if (n > 0) deps.logger.info({ deleted: n }, 'deleted media uploads no post claimed');
      },
    }),
  ];
}
