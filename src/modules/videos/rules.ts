import { eq, inArray } from 'drizzle-orm';
import type { Executor } from '../../platform/db/index.js';
import { effectiveState } from '../auth/session-state.js';
import { relationsOf, type Relation } from '../graph/relations.js';
import { users, type UserRow } from '../users/tables.js';
import { videos, type VideoRow } from './tables.js';

/**
 * Where a video is shown: `direct` (GET /videos/:id, playback, a like or comment target) or `list`
 * (a creator's channel, recent uploads, search, recommendations: unlisted videos and muted
 * creators never appear there).
 */
export type VideoReadContext = 'direct' | 'list';

export interface VideoViewer {
  id: string;
  /** Moderators and admins also see held and removed videos (to review them). */
  isModerator: boolean;
}

/**
 * The one place deciding whether a viewer may see a video; every read path of the videos module
 * (and search/recommendations through visibleVideoIds) goes through it. A private account's videos
 * are followers-only whatever their own visibility, as for posts.
 */
export function canSeeVideo(v: VideoRow, owner: UserRow | undefined, rel: Relation | undefined, viewer: VideoViewer | null, ctx: VideoReadContext): boolean {
  if (v.deletedAt !== null) return false;
  if (!owner || effectiveState(owner.state, owner.suspendedUntil) !== 'active') return false;
  if (viewer?.id === v.ownerId) return true;
  if (v.moderationState !== 'visible' && !viewer?.isModerator) return false;
  // Age-restricted: signed-in accounts only (accounts record no birth date; docs/moderation.md).
  if (isAgeRestricted(v) && !viewer) return false;
  // Until its first rendition is published there is nothing for anyone else to watch.
  if (v.publishedAt === null) return false;
  if (rel?.blocked) return false;
  if (v.visibility === 'private') return false;
  if (ctx === 'list' && v.visibility === 'unlisted') return false;
  if ((v.visibility === 'followers' || owner.isPrivate) && !rel?.following) return false;
  if (ctx === 'list' && rel?.muted) return false;
  return true;
}

/**
 * Whether the creator's followers may be told of the video now ("new video from someone you
 * follow"): published, not deleted, not held or removed, and public or followers-only. When a video
 * becomes announceable later (a moderator restores it, the creator opens it up), `video.published`
 * is sent again; the fan-out's per-recipient dedupe key keeps anyone from hearing twice.
 */
export function isAnnounceable(v: Pick<VideoRow, 'deletedAt' | 'publishedAt' | 'moderationState' | 'visibility'>): boolean {
  return v.deletedAt === null && v.publishedAt !== null && v.moderationState === 'visible' && (v.visibility === 'public' || v.visibility === 'followers');
}

/** Restricted by its creator or by a moderator. */
export function isAgeRestricted(v: Pick<VideoRow, 'ageRestricted' | 'moderationAgeRestricted'>): boolean {
  return v.ageRestricted || v.moderationAgeRestricted;
}

/** The viewer as the rules need them: id and whether their role reviews content. */
export async function videoViewer(ex: Executor, viewerId: string | null): Promise<VideoViewer | null> {
  if (!viewerId) return null;
  const [u] = await ex.select({ role: users.role }).from(users).where(eq(users.id, viewerId));
  return { id: viewerId, isModerator: u?.role === 'moderator' || u?.role === 'admin' };
}

/**
 * Rows, owners and relations for many videos in four queries, filtered by the rules. Sequential
 * on purpose: `ex` may be a transaction, whose one connection must not get overlapping queries.
 */
export async function visibleVideoRows(ex: Executor, viewerId: string | null, ids: string[], ctx: VideoReadContext): Promise<Map<string, { video: VideoRow; owner: UserRow }>> {
  const out = new Map<string, { video: VideoRow; owner: UserRow }>();
  const unique = [...new Set(ids)];
  if (unique.length === 0) return out;
  const rows = await ex.select().from(videos).where(inArray(videos.id, unique));
  if (rows.length === 0) return out;
  const ownerIds = [...new Set(rows.map((v) => v.ownerId))];
  const owners = new Map((await ex.select().from(users).where(inArray(users.id, ownerIds))).map((u) => [u.id, u]));
  const relations = await relationsOf(ex, viewerId, ownerIds);
  const viewer = await videoViewer(ex, viewerId);
  for (const v of rows) {
    const owner = owners.get(v.ownerId);
    if (owner && canSeeVideo(v, owner, relations.get(v.ownerId), viewer, ctx)) out.set(v.id, { video: v, owner });
  }
  return out;
}

/** The ids among `ids` the viewer may see (search and recommendations filter their candidates with it). */
export async function visibleVideoIds(ex: Executor, viewerId: string | null, ids: string[], ctx: VideoReadContext): Promise<Set<string>> {
  return new Set((await visibleVideoRows(ex, viewerId, ids, ctx)).keys());
}
