import { eq, inArray, sql } from 'drizzle-orm';
import { executeRaw, type Executor } from '../../platform/db/index.js';
import type { Deps } from '../../platform/deps.js';
import { relationsOf } from '../graph/relations.js';
import { ViewerRelations, type ViewerSets } from '../graph/viewer-relations.js';
import { presentPublic, type PublicUser } from '../users/present.js';
import type { UsersService } from '../users/service.js';
import { users, type UserRow } from '../users/tables.js';
import { presentCore, presentMedia, type PostRow, type PresentedMedia, type PresentedPost, type PresentInput } from './present.js';
import { canSee, isStaff, type ReadContext } from './rules.js';
import { mediaAttachments, posts } from './tables.js';

interface ViewerState {
  liked: Set<string>;
  saved: Set<string>;
  reposted: Set<string>;
}

/**
 * Steps 2-4 of every read (DESIGN §2): given the ids a skeleton query chose, load posts, authors,
 * relations and the viewer's reactions in a fixed number of batched queries, drop what the viewer
 * may not see, and shape the rest. Whatever the list, a hidden post never reaches `present`.
 */
export class PostsHydrator {
  private readonly viewerRelations: ViewerRelations;

  constructor(
    private readonly deps: Deps,
    private readonly users: UsersService,
  ) {
    this.viewerRelations = new ViewerRelations(deps.database.db, deps.cache.cache);
  }

  private get db() {
    return this.deps.database.db;
  }

  /**
   * The visible posts among `ids`, presented, keyed by id (callers keep their own order).
   * `viewerSets`: the viewer's relation sets when the caller already read them in this request.
   */
  async present(viewerId: string | null, ids: string[], ctx: ReadContext, viewerSets?: ViewerSets | null): Promise<Map<string, PresentedPost>> {
    const out = new Map<string, PresentedPost>();
    const unique = [...new Set(ids)];
    if (unique.length === 0) return out;
    // One query for the posts, the posts they quote or repost, and all their authors.
    const loaded = await this.db
      .select({ post: posts, author: users })
      .from(posts)
      .innerJoin(users, eq(users.id, posts.authorId))
      // = any(array(...)): the id list is computed first and every row found by primary key (an
      // `or` of two `in` lists made PostgreSQL scan the table).
      .where(sql`${posts.id} = any(array(select unnest(array[r.id, r.quote_of_id, r.repost_of_id]) from posts r where r.id in ${unique}))`);
    const refs = new Map(loaded.map((r) => [r.post.id, r.post]));
    const rows = new Map(unique.filter((id) => refs.has(id)).map((id) => [id, refs.get(id)!]));
    const authors = new Map(loaded.map((r) => [r.author.id, r.author]));
    const relations = await this.viewerRelations.relations(viewerId, [...authors.keys()], viewerSets);
    const staff = await this.viewerIsStaff(this.db, viewerId, refs.values());
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
    const { input, viewer } = await this.presentInput(all, authors, viewerId, shownIds);
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

  /**
   * Everything `present` needs besides the rows: hashtags and mentions of `rows`, and the viewer's
   * likes, saves and reposts among `shownIds`, in one statement (a union), plus the media rows
   * when there are any.
   */
  private async presentInput(rows: PostRow[], authorRows: Map<string, UserRow>, viewerId: string | null, shownIds: string[]): Promise<{ input: PresentInput; viewer: ViewerState | null }> {
    const ids = rows.map((p) => p.id);
    const mediaIds = rows.flatMap((p) => p.media.map((m) => m.id));
    const ttl = this.deps.config.signedUrlTtlSeconds;
    const [tagged, mediaRows] = await Promise.all([
      executeRaw<{ k: 'h' | 'm' | 'l' | 's' | 'r'; post_id: string; tag: string | null; id: string | null; username: string | null; state: string | null }>(
        this.db,
        `select 'h' as k, post_id, tag, null::uuid as id, null as username, null as state from post_hashtags where post_id = any($1::uuid[])
         union all
         select 'm', m.post_id, null, u.id, u.username, u.state from post_mentions m join users u on u.id = m.user_id where m.post_id = any($1::uuid[])
         union all
         select 'l', target_id, null, null, null, null from likes where user_id = $2 and target_type = 'post' and target_id = any($3::uuid[])
         union all
         select 's', target_id, null, null, null, null from saves where user_id = $2 and target_type = 'post' and target_id = any($3::uuid[])
         union all
         select 'r', repost_of_id, null, null, null, null from posts where author_id = $2 and repost_of_id = any($3::uuid[]) and deleted_at is null`,
        [ids, viewerId, viewerId ? shownIds : []],
      ),
      mediaIds.length ? this.db.select().from(mediaAttachments).where(inArray(mediaAttachments.id, mediaIds)) : Promise.resolve([]),
    ]);
    const authors = new Map<string, PublicUser>();
    await Promise.all(
      [...new Set(rows.map((p) => p.authorId))].map(async (id) => authors.set(id, await presentPublic(authorRows.get(id)!, this.deps.storage, ttl))),
    );
    const hashtags = new Map<string, string[]>();
    const mentions = new Map<string, { id: string; username: string }[]>();
    const state = { liked: new Set<string>(), saved: new Set<string>(), reposted: new Set<string>() };
    for (const r of tagged.rows) {
      if (r.k === 'h') hashtags.set(r.post_id, [...(hashtags.get(r.post_id) ?? []), r.tag!]);
      // A mention of an account that is gone no longer links anywhere.
      else if (r.k === 'm') {
        if (r.state !== 'deleted' && r.state !== 'deactivated') mentions.set(r.post_id, [...(mentions.get(r.post_id) ?? []), { id: r.id!, username: r.username! }]);
      } else if (r.k === 'l') state.liked.add(r.post_id);
      else if (r.k === 's') state.saved.add(r.post_id);
      else state.reposted.add(r.post_id);
    }
    const media = new Map<string, PresentedMedia>();
    await Promise.all(mediaRows.map(async (m) => media.set(m.id, await presentMedia(m, this.deps.storage, ttl))));
    return { input: { authors, hashtags, mentions, media }, viewer: viewerId ? state : null };
  }
}
