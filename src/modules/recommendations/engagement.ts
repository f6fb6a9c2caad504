import { inArray } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import type { Executor } from '../../platform/db/index.js';
import { posts } from '../posts/tables.js';
import { videos } from '../videos/tables.js';
import { engagementEvents, type EngagementKind, type ItemType } from './tables.js';

export interface Engagement {
  /** Given by listeners (the job id): a retried delivery then inserts nothing twice. */
  id?: string;
  userId: string | null;
  itemType: ItemType;
  itemId: string;
  /** The item's author or owner; looked up (posts and videos) when the caller does not have it at hand. */
  creatorId?: string | null;
  kind: EngagementKind;
  at?: Date;
}

/**
 * How much each signal says about taste (recommender confidence) and about momentum (trending:
 * per user and item only the strongest counts). A completed watch says more than a view, a share
 * more than a like.
 */
export const KIND_WEIGHTS: Record<EngagementKind, number> = { view: 1, complete: 3, like: 4, save: 4, comment: 5, share: 6, create: 1 };

/**
 * Append engagement to the log. The listeners in listeners.ts call it for the other modules' domain events
 * (a like that rolls back publishes nothing, so leaves no trace). Engaging with one's own item is not a signal: it is
 * dropped (an author's `create` is kept: it feeds hashtag trends).
 */
export async function recordEngagement(ex: Executor, items: Engagement[]): Promise<void> {
  const missing = (type: ItemType) => items.filter((e) => e.creatorId === undefined && e.itemType === type).map((e) => e.itemId);
  const authors = new Map<string, string>();
  const missingPosts = missing('post');
  const missingVideos = missing('video');
  if (missingPosts.length) for (const p of await ex.select({ id: posts.id, authorId: posts.authorId }).from(posts).where(inArray(posts.id, missingPosts))) authors.set(p.id, p.authorId);
  if (missingVideos.length) for (const v of await ex.select({ id: videos.id, ownerId: videos.ownerId }).from(videos).where(inArray(videos.id, missingVideos))) authors.set(v.id, v.ownerId);
  const rows = items
    .map((e) => ({ ...e, creatorId: e.creatorId !== undefined ? e.creatorId : (authors.get(e.itemId) ?? null) }))
    .filter((e) => e.kind === 'create' || e.userId === null || e.userId !== e.creatorId)
    .map((e) => ({ id: e.id ?? uuidv7(), userId: e.userId, itemType: e.itemType, itemId: e.itemId, creatorId: e.creatorId, kind: e.kind, at: e.at ?? new Date() }));
  if (rows.length) await ex.insert(engagementEvents).values(rows).onConflictDoNothing();
}

