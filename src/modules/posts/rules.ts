import { effectiveState } from '../auth/session-state.js';
import type { Relation } from '../graph/relations.js';
import type { UserRow } from '../users/tables.js';
import type { PostRow } from './present.js';

/**
 * Where a post is being shown, which decides the rules that apply:
 * - direct: GET /posts/:id and its history, the post a thread is about, a like or save target;
 * - list: profile feeds, thread ancestors and replies (muted authors are dropped);
 * - hashtag: discovery feeds (unlisted posts never appear);
 * - embed: a quoted or reposted post inside another.
 */
export type ReadContext = 'direct' | 'list' | 'hashtag' | 'embed';

/**
 * The one place deciding whether a viewer may see a post. Every read path calls it after hydration,
 * so a new endpoint cannot forget a rule. A private account's posts are followers-only whatever
 * their own visibility says: approving followers would mean nothing otherwise.
 * Held content (waiting for a moderator) stays visible to its author and to moderators and admins
 * (`viewerIsStaff`), marked as held; nobody else sees it anywhere. Removed content is gone for all
 * read paths (moderators reach it through the moderation queue).
 */
export function canSee(post: PostRow, author: UserRow | undefined, rel: Relation | undefined, viewerId: string | null, ctx: ReadContext, viewerIsStaff = false): boolean {
  if (post.deletedAt !== null || post.moderationState === 'removed') return false;
  if (post.moderationState === 'held' && viewerId !== post.authorId && !viewerIsStaff) return false;
  if (!author || effectiveState(author.state, author.suspendedUntil) !== 'active') return false;
  if (ctx === 'hashtag' && post.visibility === 'unlisted') return false;
  if (viewerId === post.authorId) return true;
  if (post.moderationState === 'held') return true;
  if (rel?.blocked) return false;
  if ((post.visibility === 'followers' || author.isPrivate) && !rel?.following) return false;
  if (ctx !== 'direct' && ctx !== 'embed' && rel?.muted) return false;
  return true;
}

/** Moderators and admins see held content (to review it) wherever it shows up. */
export function isStaff(role: string | undefined): boolean {
  return role === 'moderator' || role === 'admin';
}
