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
 */
export function canSee(post: PostRow, author: UserRow | undefined, rel: Relation | undefined, viewerId: string | null, ctx: ReadContext): boolean {
  if (post.deletedAt !== null || post.moderationState !== 'visible') return false;
  if (!author || effectiveState(author.state, author.suspendedUntil) !== 'active') return false;
  if (ctx === 'hashtag' && post.visibility === 'unlisted') return false;
  if (viewerId === post.authorId) return true;
  if (rel?.blocked) return false;
  if ((post.visibility === 'followers' || author.isPrivate) && !rel?.following) return false;
  if (ctx !== 'direct' && ctx !== 'embed' && rel?.muted) return false;
  return true;
}
