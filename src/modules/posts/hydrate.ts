import { and, eq, inArray, isNull } from 'drizzle-orm';
import type { Executor } from '../../platform/db/index.js';
import type { Deps } from '../../platform/deps.js';
import { relationsOf } from '../graph/relations.js';
import { likes, saves } from '../reactions/tables.js';
import { presentPublic, type PublicUser } from '../users/present.js';
import type { UsersService } from '../users/service.js';
import { users, type UserRow } from '../users/tables.js';
import { presentCore, presentMedia, type PostRow, type PresentedMedia, type PresentedPost, type PresentInput } from './present.js';
import { canSee, isStaff, type ReadContext } from './rules.js';
import { mediaAttachments, postHashtags, postMentions, posts } from './tables.js';

/**
 * Steps 2-4 of every read (DESIGN §2): given the ids a skeleton query chose, load posts, authors,
 * relations and the viewer's reactions in a fixed number of batched queries, drop what the viewer
 * may not see, and shape the rest. Whatever the list, a hidden post never reaches `present`.
 */
export class PostsHydrator {
  constructor(
    private readonly deps: Deps,
    private readonly users: UsersService,
  ) {}

  private get db() {
    return this.deps.database.db;
  }

  /** The visible posts among `ids`, presented, keyed by id (callers keep their own order). */
  async present(viewerId: string | null, ids: string[], ctx: ReadContext): Promise<Map<string, PresentedPost>> {
    const out = new Map<string, PresentedPost>();
    const unique = [...new Set(ids)];
    if (unique.length === 0) return out;
    const rows = new Map((await this.db.select().from(posts).where(inArray(posts.id, unique))).map((p) => [p.id, p]));
    const refIds = [...rows.values()].flatMap((p) => [p.quoteOfId, p.repostOfId]).filter((id): id is string => id !== null && !rows.has(id));
    const refs = new Map(rows);
    if (refIds.length > 0) for (const p of await this.db.select().from(posts).where(inArray(posts.id, [...new Set(refIds)]))) refs.set(p.id, p);

    const authorIds = [...new Set([...refs.values()].map((p) => p.authorId))];
    const [authorRows, relations] = await Promise.all([this.users.byIds(authorIds), relationsOf(this.db, viewerId, authorIds)]);
    const authors = new Map(authorRows.map((u) => [u.id, u]));
    const staff = await this.viewerIsStaff(this.db, viewerId, [...refs.values()]);
    const visible = (p: PostRow | undefined, c: ReadContext) => p !== undefined && canSee(p, authors.get(p.authorId), relations.get(p.authorId), viewerId, c, staff);

    const shown: PostRow[] = [];
    const embedded = new Map<string, PostRow>();
    for (const id of unique) {
      const p = rows.get(id);
      if (!p || !visible(p, ctx)) continue;
      const quote = p.quoteOfId ? refs.get(p.quoteOfId) : undefined;
      const original = p.repostOfId ? refs.get(p.repostOfId) : undefined;
      // A repost is nothing but what it reposts: when that is hidden, so is the repost.
      if (p.repostOfId && !visible(original, 'embed')) continue;
      shown.push(p);
      if (quote && visible(quote, 'embed')) embedded.set(quote.id, quote);
      if (original) embedded.set(original.id, original);
    }
    if (shown.length === 0) return out;

    const all = [...shown, ...embedded.values()];
    const shownIds = shown.map((p) => p.id);
    const [input, viewer] = await Promise.all([this.presentInput(all, authors), this.viewerState(viewerId, shownIds)]);
    for (const p of shown) {
      const quote = p.quoteOfId ? embedded.get(p.quoteOfId) : undefined;
      const original = p.repostOfId ? embedded.get(p.repostOfId) : undefined;
      out.set(p.id, {
        ...presentCore(p, input),
        quoteOf: quote ? presentCore(quote, input) : null,
        repostOf: original ? presentCore(original, input) : null,
        viewer: viewer ? { liked: viewer.liked.has(p.id), saved: viewer.saved.has(p.id), reposted: viewer.reposted.has(p.id) } : null,
      });
    }
    return out;
  }

  /** Presented, visible posts in the order of `ids`. */
  async presentList(viewerId: string | null, ids: string[], ctx: ReadContext): Promise<PresentedPost[]> {
    const map = await this.present(viewerId, ids, ctx);
    return ids.map((id) => map.get(id)).filter((p): p is PresentedPost => p !== undefined);
  }

  /**
   * One post as the rules see it, read through `ex` (a transaction on the write path, so a reply
   * or like cannot target a post that was hidden a moment before). Undefined when not visible.
   */
  async visibleRow(ex: Executor, viewerId: string | null, id: string, ctx: ReadContext): Promise<PostRow | undefined> {
    const [p] = await ex.select().from(posts).where(eq(posts.id, id));
    if (!p) return undefined;
    // One after the other: `ex` may be a transaction, whose single connection must not be sent overlapping queries.
    const [author] = await this.users.byIds([p.authorId], ex);
    const relations = await relationsOf(ex, viewerId, [p.authorId]);
    const staff = await this.viewerIsStaff(ex, viewerId, [p]);
    return canSee(p, author, relations.get(p.authorId), viewerId, ctx, staff) ? p : undefined;
  }

  /** The viewer's role matters only for held posts by someone else, so it is read only then. */
  private async viewerIsStaff(ex: Executor, viewerId: string | null, rows: Iterable<PostRow>): Promise<boolean> {
    if (!viewerId) return false;
    let needed = false;
    for (const p of rows) if (p.moderationState === 'held' && p.authorId !== viewerId) needed = true;
    if (!needed) return false;
    const [viewer] = await ex.select({ role: users.role }).from(users).where(eq(users.id, viewerId));
    return isStaff(viewer?.role);
  }

  private async presentInput(rows: PostRow[], authorRows: Map<string, UserRow>): Promise<PresentInput> {
    const ids = rows.map((p) => p.id);
    const mediaIds = rows.flatMap((p) => p.media.map((m) => m.id));
    const ttl = this.deps.config.signedUrlTtlSeconds;
    const [tagRows, mentionRows, mediaRows] = await Promise.all([
      this.db.select().from(postHashtags).where(inArray(postHashtags.postId, ids)),
      this.db
        .select({ postId: postMentions.postId, id: users.id, username: users.username, state: users.state })
        .from(postMentions)
        .innerJoin(users, eq(users.id, postMentions.userId))
        .where(inArray(postMentions.postId, ids)),
      mediaIds.length ? this.db.select().from(mediaAttachments).where(inArray(mediaAttachments.id, mediaIds)) : Promise.resolve([]),
    ]);
    const authors = new Map<string, PublicUser>();
    await Promise.all(
      [...new Set(rows.map((p) => p.authorId))].map(async (id) => authors.set(id, await presentPublic(authorRows.get(id)!, this.deps.storage, ttl))),
    );
    const hashtags = new Map<string, string[]>();
    for (const t of tagRows) hashtags.set(t.postId, [...(hashtags.get(t.postId) ?? []), t.tag]);
    const mentions = new Map<string, { id: string; username: string }[]>();
    // A mention of an account that is gone no longer links anywhere.
    for (const m of mentionRows) if (m.state !== 'deleted' && m.state !== 'deactivated') mentions.set(m.postId, [...(mentions.get(m.postId) ?? []), { id: m.id, username: m.username }]);
    const media = new Map<string, PresentedMedia>();
    await Promise.all(mediaRows.map(async (m) => media.set(m.id, await presentMedia(m, this.deps.storage, ttl))));
    return { authors, hashtags, mentions, media };
  }

  private async viewerState(viewerId: string | null, ids: string[]) {
    if (!viewerId) return null;
    const [liked, saved, reposted] = await Promise.all([
      this.db.select({ id: likes.targetId }).from(likes).where(and(eq(likes.userId, viewerId), eq(likes.targetType, 'post'), inArray(likes.targetId, ids))),
      this.db.select({ id: saves.targetId }).from(saves).where(and(eq(saves.userId, viewerId), eq(saves.targetType, 'post'), inArray(saves.targetId, ids))),
      this.db
        .select({ id: posts.repostOfId })
        .from(posts)
        .where(and(eq(posts.authorId, viewerId), inArray(posts.repostOfId, ids), isNull(posts.deletedAt))),
    ]);
    return { liked: new Set(liked.map((r) => r.id)), saved: new Set(saved.map((r) => r.id)), reposted: new Set(reposted.map((r) => r.id!)) };
  }
}
