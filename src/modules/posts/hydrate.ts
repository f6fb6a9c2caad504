import { eq, inArray, sql } from 'drizzle-orm';
import { type Executor } from '../../platform/db/index.js';
import { RowSnapshots } from '../../platform/db/row-snapshots.js';
import type { Deps } from '../../platform/deps.js';
import { relationsOf } from '../graph/relations.js';
import { ViewerRelations, type ViewerSets } from '../graph/viewer-relations.js';
import { presentPublic, type PublicUser } from '../users/present.js';
import type { UsersService } from '../users/service.js';
import { users, type UserRow } from '../users/tables.js';
import { videosServiceFor } from '../videos/service.js';
import { presentCore, presentMedia, presentVideoMedia, type PostRow, type PresentedMedia, type PresentedPost, type PresentInput } from './present.js';
import { canSee, isStaff, type ReadContext } from './rules.js';
import { mediaAttachments, posts } from './tables.js';

interface ViewerState {
  liked: Set<string>;
  saved: Set<string>;
  reposted: Set<string>;
}

/** A post row with what was written with it in the same transaction (its hashtags and mentions). */
interface PostSnapshot {
  row: PostRow;
  hashtags: string[];
  /** Mentioned accounts, by id: their usernames and states are read with the other users. */
  mentionIds: string[];
}

/** Row snapshots kept per process (RowSnapshots); ~1 KB each. */
const POST_SNAPSHOTS = 20_000;
const USER_SNAPSHOTS = 20_000;

/**
 * One statement for every read: the current row version (xmin) of the posts asked for, of the
 * posts they quote or repost, of their authors and of the accounts they mention, plus the viewer's
 * likes, saves and reposts among the posts asked for.
 */
const VERSIONS_SQL = `with p as (
    select id, xmin::text as v, author_id from posts
     where id = any(array(select unnest(array[r.id, r.quote_of_id, r.repost_of_id]) from posts r where r.id = any($1::uuid[])))
  )
  select 'p' as k, id, v from p
  union all
  select 'u', u.id, u.xmin::text from users u
   where u.id in (select author_id from p union select user_id from post_mentions where post_id in (select id from p))
  union all
  select 'l', target_id, null from likes where user_id = $2 and target_type = 'post' and target_id = any($3::uuid[])
  union all
  select 's', target_id, null from saves where user_id = $2 and target_type = 'post' and target_id = any($3::uuid[])
  union all
  select 'r', repost_of_id, null from posts where author_id = $2 and repost_of_id = any($3::uuid[]) and deleted_at is null`;

/**
 * Steps 2-4 of every read (DESIGN §2): given the ids a skeleton query chose, load posts, authors,
 * relations and the viewer's reactions in a fixed number of batched queries, drop what the viewer
 * may not see, and shape the rest. Whatever the list, a hidden post never reaches `present`.
 *
 * Posts and users are taken from per-process row snapshots when their version (xmin) is the one
 * the database reports in the same read (platform/db/row-snapshots.ts): a page whose rows were
 * seen before costs one narrow statement instead of reading every wide row again.
 */
export class PostsHydrator {
  private readonly viewerRelations: ViewerRelations;
  private readonly postSnapshots = new RowSnapshots<PostSnapshot>(POST_SNAPSHOTS);
  private readonly userSnapshots = new RowSnapshots<UserRow>(USER_SNAPSHOTS);

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
    const { refs, authors, viewer } = await this.load(unique, viewerId);
    const rows = new Map(unique.filter((id) => refs.has(id)).map((id) => [id, refs.get(id)!.row]));
    const loaded = [...refs.values()].map((s) => s.row);
    const relations = await this.viewerRelations.relations(viewerId, [...new Set(loaded.map((p) => p.authorId))], viewerSets);
    const staff = await this.viewerIsStaff(this.db, viewerId, loaded);
    const visible = (p: PostRow | undefined, c: ReadContext) => p !== undefined && canSee(p, authors.get(p.authorId), relations.get(p.authorId), viewerId, c, staff);

    const shown: PostRow[] = [];
    const embedded = new Map<string, PostRow>();
    for (const id of unique) {
      const p = rows.get(id);
      if (!p || !visible(p, ctx)) continue;
      const quote = p.quoteOfId ? refs.get(p.quoteOfId)?.row : undefined;
      const original = p.repostOfId ? refs.get(p.repostOfId)?.row : undefined;
      // A repost is nothing but what it reposts: when that is hidden, so is the repost.
      if (p.repostOfId && !visible(original, 'embed')) continue;
      shown.push(p);
      if (quote && visible(quote, 'embed')) embedded.set(quote.id, quote);
      if (original) embedded.set(original.id, original);
    }
    if (shown.length === 0) return out;

    const input = await this.presentInput(viewerId, [...shown, ...embedded.values()], refs, authors);
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

  /**
   * The posts `ids` and the posts they quote or repost (`refs`), their authors and mentioned
   * accounts (`authors`), and the viewer's state among `ids`: the versions statement, then only
   * the rows whose snapshot is missing or out of date.
   */
  private async load(ids: string[], viewerId: string | null): Promise<{ refs: Map<string, PostSnapshot>; authors: Map<string, UserRow>; viewer: ViewerState | null }> {
    const { rows } = await this.deps.database.prepared<{ k: 'p' | 'u' | 'l' | 's' | 'r'; id: string; v: string | null }>('posts.versions', VERSIONS_SQL, [ids, viewerId, viewerId ? ids : []]);
    const viewer: ViewerState = { liked: new Set(), saved: new Set(), reposted: new Set() };
    const refs = new Map<string, PostSnapshot>();
    const userVersions = new Map<string, string>();
    const stalePosts: string[] = [];
    for (const r of rows) {
      if (r.k === 'p') {
        const snap = this.postSnapshots.get(r.id, r.v!);
        if (snap) refs.set(r.id, snap);
        else stalePosts.push(r.id);
      } else if (r.k === 'u') userVersions.set(r.id, r.v!);
      else if (r.k === 'l') viewer.liked.add(r.id);
      else if (r.k === 's') viewer.saved.add(r.id);
      else viewer.reposted.add(r.id);
    }
    if (stalePosts.length > 0) for (const snap of await this.readPosts(stalePosts)) refs.set(snap.row.id, snap);

    const authors = new Map<string, UserRow>();
    const staleUsers = new Set<string>();
    for (const snap of refs.values()) {
      for (const id of [snap.row.authorId, ...snap.mentionIds]) {
        if (authors.has(id) || staleUsers.has(id)) continue;
        const v = userVersions.get(id);
        const row = v === undefined ? undefined : this.userSnapshots.get(id, v);
        if (row) authors.set(id, row);
        else staleUsers.add(id);
      }
    }
    if (staleUsers.size > 0) for (const row of await this.readUsers([...staleUsers])) authors.set(row.id, row);
    return { refs, authors, viewer: viewerId ? viewer : null };
  }

  /** Posts with their hashtags and mentions, read in one statement (one version of each), and remembered. */
  private async readPosts(ids: string[]): Promise<PostSnapshot[]> {
    const found = await this.db
      .select({
        post: posts,
        v: sql<string>`"posts"."xmin"::text`,
        hashtags: sql<string[]>`array(select h.tag from post_hashtags h where h.post_id = "posts"."id")`,
        mentionIds: sql<string[]>`array(select m.user_id::text from post_mentions m where m.post_id = "posts"."id")`,
      })
      .from(posts)
      .where(inArray(posts.id, ids));
    return found.map((r) => {
      const snap: PostSnapshot = { row: r.post, hashtags: r.hashtags, mentionIds: r.mentionIds };
      this.postSnapshots.set(r.post.id, r.v, snap);
      return snap;
    });
  }

  private async readUsers(ids: string[]): Promise<UserRow[]> {
    const found = await this.db
      .select({ user: users, v: sql<string>`"users"."xmin"::text` })
      .from(users)
      .where(inArray(users.id, ids));
    return found.map((r) => {
      this.userSnapshots.set(r.user.id, r.v, r.user);
      return r.user;
    });
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

  /** Everything `presentCore` needs besides the rows: authors, hashtags and mentions, and the media rows when there are any. */
  private async presentInput(viewerId: string | null, rows: PostRow[], refs: Map<string, PostSnapshot>, userRows: Map<string, UserRow>): Promise<PresentInput> {
    const mediaIds = rows.flatMap((p) => p.media.filter((m) => m.kind === 'image').map((m) => m.id));
    const videoIds = rows.flatMap((p) => p.media.filter((m) => m.kind === 'video').map((m) => m.id));
    const ttl = this.deps.config.signedUrlTtlSeconds;
    const mediaRows = mediaIds.length ? await this.db.select().from(mediaAttachments).where(inArray(mediaAttachments.id, mediaIds)) : [];
    // Videos by their own rules, for this viewer ('direct': a post shares the video as a link would);
    // a post's media item shows none of the viewer's likes or resume positions, so they are not read.
    const shownVideos = videoIds.length ? await videosServiceFor(this.deps).present(viewerId, videoIds, 'direct', { viewerState: false }) : null;
    const authors = new Map<string, PublicUser>();
    await Promise.all(
      [...new Set(rows.map((p) => p.authorId))].map(async (id) => authors.set(id, await presentPublic(userRows.get(id)!, this.deps.storage, ttl))),
    );
    const hashtags = new Map<string, string[]>();
    const mentions = new Map<string, { id: string; username: string }[]>();
    for (const p of rows) {
      const snap = refs.get(p.id)!;
      hashtags.set(p.id, snap.hashtags);
      // A mention of an account that is gone no longer links anywhere.
      const linked = snap.mentionIds
        .map((id) => userRows.get(id))
        .filter((u): u is UserRow => u !== undefined && u.state !== 'deleted' && u.state !== 'deactivated')
        .map((u) => ({ id: u.id, username: u.username }));
      mentions.set(p.id, linked);
    }
    const media = new Map<string, PresentedMedia>();
    await Promise.all(mediaRows.map(async (m) => media.set(m.id, await presentMedia(m, this.deps.storage, ttl))));
    for (const id of videoIds) media.set(id, presentVideoMedia(id, shownVideos?.get(id)));
    return { authors, hashtags, mentions, media };
  }
}
