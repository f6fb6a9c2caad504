import { mulberry32 } from '../../src/ml/random.js';
import { uuidv7 } from 'uuidv7';
import { postHashtags, posts } from '../../src/modules/posts/tables.js';
import { users } from '../../src/modules/users/tables.js';
import { videos } from '../../src/modules/videos/tables.js';
import { eq } from 'drizzle-orm';
import { engagementEvents } from '../../src/modules/recommendations/tables.js';
import type { Deps } from '../../src/platform/deps.js';
import { eventually } from '../support/app.js';

/** Accounts straight in the table: engagement tests need many distinct users, not sign-in flows. */
export async function makeUsers(deps: Deps, n: number, prefix: string): Promise<string[]> {
  const rows = Array.from({ length: n }, (_, i) => ({ id: uuidv7(), username: `${prefix}_${i}_${Math.random().toString(36).slice(2, 6)}` }));
  await deps.database.db.insert(users).values(rows);
  return rows.map((r) => r.id);
}

export async function makePosts(deps: Deps, authorId: string, n: number, text: string, opts: { tags?: string[]; createdAt?: Date } = {}): Promise<string[]> {
  const rows = Array.from({ length: n }, (_, i) => ({ id: uuidv7(), authorId, text: `${text} ${i}`, ...(opts.createdAt ? { createdAt: opts.createdAt } : {}) }));
  await deps.database.db.insert(posts).values(rows);
  if (opts.tags?.length) await deps.database.db.insert(postHashtags).values(rows.flatMap((r) => opts.tags!.map((tag) => ({ tag, postId: r.id }))));
  return rows.map((r) => r.id);
}

/** Deterministic PRNG for synthetic data (mulberry32). */
export const prng = mulberry32;

/**
 * Finished videos written straight to the table (discovery tests are about ranking and rules, not
 * ffmpeg). Each gets `title` plus its index; `extra` sets any column (visibility, tags, status...).
 */
export async function makeVideos(deps: Deps, ownerId: string, n: number, title: string, extra: Partial<typeof videos.$inferInsert> = {}): Promise<string[]> {
  const rows = Array.from({ length: n }, (_, i) => ({
    id: uuidv7(),
    ownerId,
    title: n === 1 ? title : `${title} ${i}`,
    status: 'ready' as const,
    durationSeconds: 60,
    width: 320,
    height: 240,
    renditions: [{ height: 144, width: 192, bandwidth: 300_000 }],
    publishedAt: new Date(),
    ...extra,
  }));
  await deps.database.db.insert(videos).values(rows);
  return rows.map((r) => r.id);
}

/**
 * Listeners run on the job queue: wait until the engagement log holds `n` rows for `itemId`.
 * 45 s: inside the 60 s test timeout, so a timeout still reports the listener jobs.
 */
export async function engagementLogged(deps: Deps, itemId: string, n: number) {
  let rows: (typeof engagementEvents.$inferSelect)[] = [];
  await eventually(
    { deps },
    `engagement for ${itemId} reaching ${n} rows`,
    '%engagement%',
    async () => (rows = await deps.database.db.select().from(engagementEvents).where(eq(engagementEvents.itemId, itemId))).length >= n,
    45_000,
  );
  return rows;
}
