import { and, asc, desc, eq, gt, isNull, lt, ne, sql, type SQL } from 'drizzle-orm';
import { executeRaw } from '../../platform/db/index.js';
import type { Deps } from '../../platform/deps.js';
import { badRequest, notFound } from '../../platform/errors.js';
import { decodeCursor, encodeCursor } from '../admin/cursor.js';
import type { UsersService } from '../users/service.js';
import type { PostsHydrator } from './hydrate.js';
import type { PostPage, PresentedPost } from './present.js';
import type { ReadContext } from './rules.js';
import { postEdits, postHashtags, posts } from './tables.js';
import { normaliseTag } from './text.js';

/** How many skeleton batches one page may read while the rules keep dropping posts. */
const MAX_ROUNDS = 4;
/** Ancestors shown above a post in a thread view; deeper threads are opened from the shown root. */
const MAX_ANCESTORS = 50;

export const postNotFound = () => notFound('posts.not_found', 'no such post, or you may not see it');

/** How a list's position is written into its opaque cursor. */
export interface CursorCodec<K> {
  encode(key: K): string;
  decode(cursor: string): K;
}

/** The default: the last post id (UUIDv7, so id order is creation order). */
export const idCursor: CursorCodec<string> = { encode: encodeCursor, decode: decodeCursor };

/**
 * Keyset paging over a skeleton of keyed ids, with the rules applied after hydration. The cursor is
 * the last key the skeleton returned, not the last post shown: posts hidden by the rules are
 * stepped over once, and keys only grow, so posts written between pages land before the first page
 * (newest-first lists) and can neither be repeated nor push an older one out of reach.
 */
export async function pageOfKeys<K, T = PresentedPost>(
  skeleton: (after: K | null, n: number) => Promise<{ id: string; key: K }[]>,
  show: (ids: string[]) => Promise<Map<string, T>>,
  limit: number,
  cursor: string | undefined,
  codec: CursorCodec<K>,
): Promise<{ items: T[]; nextCursor: string | null }> {
  let after: K | null = cursor === undefined ? null : codec.decode(cursor);
  const items: T[] = [];
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const rows = await skeleton(after, limit + 1);
    const shown = await show(rows.map((r) => r.id));
    for (const row of rows) {
      // A full page with rows still to look at: there is a next page, starting after the last one taken.
      if (items.length === limit) return { items, nextCursor: codec.encode(after!) };
      after = row.key;
      const p = shown.get(row.id);
      if (p) items.push(p);
    }
    if (rows.length <= limit) return { items, nextCursor: null };
  }
  return { items, nextCursor: after === null ? null : codec.encode(after) };
}

/** pageOfKeys for lists ordered by post id. */
export async function pageOf(
  skeleton: (after: string | null, n: number) => Promise<string[]>,
  show: (ids: string[]) => Promise<Map<string, PresentedPost>>,
  limit: number,
  cursor: string | undefined,
): Promise<PostPage> {
  return pageOfKeys(async (after, n) => (await skeleton(after, n)).map((id) => ({ id, key: id })), show, limit, cursor, idCursor);
}

export interface Paging {
  limit: number;
  cursor?: string | undefined;
}

export class PostsReader {
  constructor(
    private readonly deps: Deps,
    private readonly users: UsersService,
    private readonly hydrator: PostsHydrator,
  ) {}

  private get db() {
    return this.deps.database.db;
  }

  /** A post the viewer may see, or 404: hidden and missing posts answer alike, so ids leak nothing. */
  async get(viewerId: string | null, id: string, ctx: ReadContext = 'direct'): Promise<PresentedPost> {
    const p = (await this.hydrator.present(viewerId, [id], ctx)).get(id);
    if (!p) throw postNotFound();
    return p;
  }

  async history(viewerId: string | null, id: string) {
    await this.get(viewerId, id);
    const rows = await this.db.select().from(postEdits).where(eq(postEdits.postId, id)).orderBy(desc(postEdits.replacedAt), desc(postEdits.id));
    return { items: rows.map((r) => ({ text: r.text, mediaIds: r.media.map((m) => m.id), replacedAt: r.replacedAt.toISOString() })) };
  }

  /**
   * A post, the chain of posts it answers (root first) and its direct replies, oldest first,
   * in cursor pages. Hidden ancestors are left out rather than shown as holes.
   */
  async thread(viewerId: string | null, id: string, paging: Paging) {
    const post = await this.get(viewerId, id);
    let ancestors: PresentedPost[] = [];
    if (post.replyTo) {
      const { rows } = await executeRaw<{ id: string; depth: number }>(
        this.db,
        `with recursive up as (
           select id, reply_to_id, 1 as depth from posts where id = $1
           union all
           select p.id, p.reply_to_id, up.depth + 1 from posts p join up on p.id = up.reply_to_id where up.depth < $2
         ) select id, depth from up order by depth desc`,
        [post.replyTo, MAX_ANCESTORS],
      );
      ancestors = await this.hydrator.presentList(
        viewerId,
        rows.map((r) => r.id),
        'list',
      );
    }
    const replies = await pageOf(
      async (after, n) => {
        const where = [eq(posts.replyToId, id), isNull(posts.deletedAt)];
        if (after) where.push(gt(posts.id, after));
        return (await this.db.select({ id: posts.id }).from(posts).where(and(...where)).orderBy(asc(posts.id)).limit(n)).map((r) => r.id);
      },
      (ids) => this.hydrator.present(viewerId, ids, 'list'),
      paging.limit,
      paging.cursor,
    );
    return { post, ancestors, replies };
  }

  /**
   * Skeleton for timelines (home feed): ids of the live top-level posts and reposts of the authors
   * `authorIds` selects (a subquery, `GraphService.followeesSql`), newest first, below `before`
   * when given. Replies are left out, as the fan-out leaves them out.
   * Rules are not applied here: callers hydrate the ids through `hydrator.present`.
   */
  async timelineIds(authorIds: SQL, before: string | null, limit: number): Promise<string[]> {
    if (limit <= 0) return [];
    const where = [sql`${posts.authorId} in (${authorIds})`, isNull(posts.deletedAt), isNull(posts.replyToId)];
    if (before) where.push(lt(posts.id, before));
    const rows = await this.db.select({ id: posts.id }).from(posts).where(and(...where)).orderBy(desc(posts.id)).limit(limit);
    return rows.map((r) => r.id);
  }

  /**
   * timelineIds for the authors the raw SQL `authorsSql` selects from its parameters `$1` and `$2`
   * (GraphService.FOLLOWEES_WITH_AT_LEAST), as a prepared statement named after `name`: the home
   * feed runs it on every page.
   */
  async preparedTimelineIds(name: string, authorsSql: string, params: [unknown, unknown], before: string | null, limit: number): Promise<string[]> {
    if (limit <= 0) return [];
    const base = `select id from posts where author_id in (${authorsSql}) and deleted_at is null and reply_to_id is null`;
    const { rows } = before
      ? await this.deps.database.prepared<{ id: string }>(`${name}.before`, `${base} and id < $3 order by id desc limit $4`, [...params, before, limit])
      : await this.deps.database.prepared<{ id: string }>(name, `${base} order by id desc limit $3`, [...params, limit]);
    return rows.map((r) => r.id);
  }

  /** What the fan-out needs to know about a post: its author, and whether it belongs in timelines at all. */
  async fanoutInfo(id: string): Promise<{ authorId: string; timeline: boolean } | undefined> {
    const [p] = await this.db.select({ authorId: posts.authorId, replyToId: posts.replyToId, deletedAt: posts.deletedAt }).from(posts).where(eq(posts.id, id));
    return p ? { authorId: p.authorId, timeline: p.replyToId === null && p.deletedAt === null } : undefined;
  }

  /** Newest first: the author's posts and reposts, and their replies when asked. */
  async profileFeed(viewerId: string | null, username: string, paging: Paging & { includeReplies: boolean }): Promise<PostPage> {
    const author = await this.users.visibleByUsername(username);
    if (!author) throw notFound('users.not_found', 'no such user');
    const base: SQL[] = [eq(posts.authorId, author.id), isNull(posts.deletedAt)];
    if (!paging.includeReplies) base.push(isNull(posts.replyToId));
    return pageOf(
      async (after, n) => {
        const where = after ? [...base, lt(posts.id, after)] : base;
        return (await this.db.select({ id: posts.id }).from(posts).where(and(...where)).orderBy(desc(posts.id)).limit(n)).map((r) => r.id);
      },
      (ids) => this.hydrator.present(viewerId, ids, 'list'),
      paging.limit,
      paging.cursor,
    );
  }

  /** Newest first. Unlisted posts are filtered in the skeleton already (cheaper) and again by the rules. */
  async hashtagFeed(viewerId: string | null, rawTag: string, paging: Paging): Promise<PostPage> {
    const tag = normaliseTag(rawTag);
    if (!tag) throw badRequest('posts.invalid_hashtag', 'a hashtag is 1 to 64 letters, digits or underscores', { errors: [{ field: 'tag', message: 'is not a hashtag' }] });
    return pageOf(
      async (after, n) => {
        const where = [eq(postHashtags.tag, tag), isNull(posts.deletedAt), ne(posts.visibility, 'unlisted')];
        if (after) where.push(lt(postHashtags.postId, after));
        const rows = await this.db
          .select({ id: postHashtags.postId })
          .from(postHashtags)
          .innerJoin(posts, eq(posts.id, postHashtags.postId))
          .where(and(...where))
          .orderBy(desc(postHashtags.postId))
          .limit(n);
        return rows.map((r) => r.id);
      },
      (ids) => this.hydrator.present(viewerId, ids, 'hashtag'),
      paging.limit,
      paging.cursor,
    );
  }
}
