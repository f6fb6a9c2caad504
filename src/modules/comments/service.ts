import { likesPerTarget, reconcileCounter } from '../../platform/db/counters.js';
import { and, desc, eq, inArray, isNotNull, isNull, or, gt, sql, type SQL } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import { type Db, type Executor, type Tx } from '../../platform/db/index.js';
import type { Deps } from '../../platform/deps.js';
import { precheckHolds } from '../../ml/text/precheck.js';
import { AppError, badRequest, notFound } from '../../platform/errors.js';
import { effectiveState } from '../auth/session-state.js';
import { relationsOf } from '../graph/relations.js';
import { postNotFound } from '../posts/reader.js';
import { postsServicesFor } from '../posts/service.js';
import { posts } from '../posts/tables.js';
import { likes } from '../reactions/tables.js';
import { videoCommentTarget } from '../videos/social.js';
import { presentPublic, type PublicUser } from '../users/present.js';
import type { UsersService } from '../users/service.js';
import { users, type UserRow } from '../users/tables.js';
import { isStaff } from '../posts/rules.js';
import { presentComment, type CommentPage, type CommentRow, type PresentedComment } from './present.js';
import './events.js';
import { comments, type CommentTarget } from './tables.js';

export const MAX_COMMENT = 2000;
/** Depths run 0 (top level) to MAX_DEPTH; a reply to a comment at MAX_DEPTH becomes its sibling. */
export const MAX_DEPTH = 3;
const MAX_ROUNDS = 4;

const invalidParent = () => badRequest('comments.invalid_parent', 'parentId is not a comment on this post', { errors: [{ field: 'parentId', message: 'is not a comment on this post' }] });
export const commentNotFound = () => notFound('comments.not_found', 'no such comment, or you may not see it');

// Tab and newline stay; every other C0 control, DEL and bidi override is refused (as for posts).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const BIDI = /[\u202a-\u202e\u2066-\u2069]/;
const invalid = (code: string, message: string, field = 'text') => badRequest(code, message, { errors: [{ field, message }] });

/** Comment text is plain text, 1 to MAX_COMMENT code points after trimming and NFC. */
export function normaliseCommentText(raw: string): string {
  const text = raw.replace(/\r\n?/g, '\n').normalize('NFC').trim();
  if (CONTROL.test(text)) throw invalid('comments.invalid_characters', 'text contains control characters');
  if (BIDI.test(text)) throw invalid('comments.invalid_characters', 'text contains bidirectional override characters');
  if ([...text].length > MAX_COMMENT) throw invalid('comments.text_too_long', `text is longer than ${MAX_COMMENT} characters`);
  if (text === '') throw invalid('comments.text_required', 'text is empty');
  return text;
}

/**
 * What comments need from the module owning a kind of target (posts now, videos later): whether a
 * viewer may see it, under that module's own rules, and who owns it (may pin and delete comments).
 */
export interface CommentTargetAdapter {
  /** The owner's id when the viewer may see the target (and comment on it); otherwise throws 404. */
  assertVisible(ex: Executor, viewerId: string | null, id: string): Promise<{ ownerId: string }>;
  /** The owner whatever the visibility; `lock` takes the target's row lock (pinning serialises on it). */
  ownerOf(tx: Executor, id: string, lock?: boolean): Promise<string | undefined>;
  /** Targets that keep a comment counter (videos.comment_count) move it here, in the comment's transaction. */
  adjustComments?(tx: Tx, id: string, delta: 1 | -1): Promise<void>;
}

export type CommentTargets = Partial<Record<CommentTarget, CommentTargetAdapter>>;

/** Posts as comment targets: visibility is the posts module's (hydrator.visibleRow, 'direct' rules). */
export function postCommentTarget(deps: Deps): CommentTargetAdapter {
  const { hydrator } = postsServicesFor(deps);
  return {
    async assertVisible(ex, viewerId, id) {
      const p = await hydrator.visibleRow(ex, viewerId, id, 'direct');
      if (!p) throw postNotFound();
      if (p.repostOfId) throw new AppError(422, 'posts.is_repost', 'comment on the reposted post (repostOf.id), not on the repost');
      return { ownerId: p.authorId };
    },
    async ownerOf(ex, id, lock = false) {
      const q = ex.select({ authorId: posts.authorId }).from(posts).where(eq(posts.id, id));
      const [p] = lock ? await q.for('update') : await q;
      return p?.authorId;
    },
  };
}

interface Key {
  likes: number;
  id: string;
}
export type CommentSort = 'newest' | 'top';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const badCursor = () => badRequest('request.invalid_cursor', 'cursor is not valid; pass back the nextCursor of a previous page', { errors: [{ field: 'cursor', message: 'is not valid' }] });

/** Cursors name the sort they belong to, so one from another sort is refused rather than misread. */
export function encodeCommentCursor(sort: CommentSort, k: Key): string {
  return Buffer.from(sort === 'top' ? `t.${k.likes}.${k.id}` : `n.${k.id}`, 'utf8').toString('base64url');
}

export function decodeCommentCursor(sort: CommentSort, cursor: string): Key {
  const parts = Buffer.from(cursor, 'base64url').toString('utf8').split('.');
  if (sort === 'newest') {
    if (parts.length !== 2 || parts[0] !== 'n' || !UUID.test(parts[1]!)) throw badCursor();
    return { likes: 0, id: parts[1]!.toLowerCase() };
  }
  if (parts.length !== 3 || parts[0] !== 't' || !/^\d{1,9}$/.test(parts[1]!) || !UUID.test(parts[2]!)) throw badCursor();
  return { likes: Number(parts[1]), id: parts[2]!.toLowerCase() };
}

export interface ListQuery {
  sort: CommentSort;
  limit: number;
  cursor?: string | undefined;
  parentId?: string | undefined;
}

export class CommentsService {
  constructor(
    private readonly deps: Deps,
    private readonly users: UsersService,
    private readonly targets: CommentTargets,
  ) {}

  private get db() {
    return this.deps.database.db;
  }

  private target(type: CommentTarget): CommentTargetAdapter {
    const t = this.targets[type];
    if (!t) throw notFound('comments.unsupported_target', `${type}s cannot be commented on yet`);
    return t;
  }

  async create(authorId: string, type: CommentTarget, targetId: string, input: { text: string; parentId?: string | undefined }): Promise<string> {
    const text = normaliseCommentText(input.text);
    const target = this.target(type);
    return this.deps.database.transaction(async (tx) => {
      const { ownerId } = await target.assertVisible(tx, authorId, targetId);
      let parentId: string | null = null;
      let parentAuthorId: string | null = null;
      let depth = 0;
      if (input.parentId) {
        // Row lock: a concurrent delete of the parent waits, so the counter and the row agree.
        let [parent] = await tx.select().from(comments).where(eq(comments.id, input.parentId)).for('update');
        if (!parent || parent.targetType !== type || parent.targetId !== targetId || parent.deletedAt !== null)
          throw invalidParent();
        // Replying to a comment one may not see (blocked author, ...) is refused like a foreign parent.
        if (!(await this.visibleRow(tx, authorId, parent.id))) throw invalidParent();
        if (parent.depth >= MAX_DEPTH && parent.parentId) {
          // Too deep: the reply attaches next to the comment it answers, under the deepest allowed parent.
          [parent] = await tx.select().from(comments).where(eq(comments.id, parent.parentId)).for('update');
          if (!parent) throw invalidParent();
        }
        parentId = parent.id;
        parentAuthorId = parent.authorId;
        depth = parent.depth + 1;
        await tx
          .update(comments)
          .set({ replyCount: sql`${comments.replyCount} + 1` })
          .where(eq(comments.id, parent.id));
      }
      const id = uuidv7();
      // The moderation pre-check: clearly abusive text starts out held until the moderation job scores it.
      const moderationState = precheckHolds(text, this.deps.config.moderation.precheckMinTerms) ? 'held' : 'visible';
      await tx.insert(comments).values({ id, targetType: type, targetId, authorId, parentId, depth, text, moderationState });
      await this.deps.events.publish('comment.created', { commentId: id, authorId, targetType: type, targetId, targetOwnerId: ownerId, parentId, parentAuthorId, text }, { tx });
      await target.adjustComments?.(tx, targetId, 1);
      return id;
    });
  }

  /**
   * A comment the viewer may see and act on (like, reply): live, on a target they may see, by an
   * active author neither side blocked. Undefined otherwise.
   */
  async visibleRow(ex: Executor, viewerId: string | null, id: string): Promise<CommentRow | undefined> {
    const [c] = await ex.select().from(comments).where(eq(comments.id, id));
    if (!c || c.deletedAt !== null) return undefined;
    if (!(await this.moderationAllows(ex, viewerId, [c])).has(c.id)) return undefined;
    try {
      await this.target(c.targetType).assertVisible(ex, viewerId, c.targetId);
    } catch (e) {
      if (e instanceof AppError && e.status < 500) return undefined;
      throw e;
    }
    const [author] = await this.users.byIds([c.authorId], ex);
    if (!author || effectiveState(author.state, author.suspendedUntil) !== 'active') return undefined;
    if (viewerId && viewerId !== c.authorId && (await relationsOf(ex, viewerId, [c.authorId])).get(c.authorId)?.blocked) return undefined;
    return c;
  }

  async get(viewerId: string | null, id: string): Promise<PresentedComment> {
    const c = await this.visibleRow(this.db, viewerId, id);
    if (!c) throw commentNotFound();
    const shown = await this.present(viewerId, [c], false);
    return shown.get(c.id)!;
  }

  /** Author only: others get 404, as for posts. */
  async edit(userId: string, id: string, rawText: string): Promise<void> {
    const text = normaliseCommentText(rawText);
    await this.deps.database.transaction(async (tx) => {
      const c = await this.visibleRow(tx, userId, id);
      if (!c || c.authorId !== userId) throw commentNotFound();
      const held = precheckHolds(text, this.deps.config.moderation.precheckMinTerms);
      await tx
        .update(comments)
        .set({ text, editedAt: new Date(), ...(held ? { moderationState: 'held' as const } : {}) })
        .where(eq(comments.id, id));
      await this.deps.events.publish('comment.edited', { commentId: id, authorId: userId, targetType: c.targetType, targetId: c.targetId, text }, { tx });
    });
  }

  /** The author, or the owner of what it comments on. Soft delete; the parent's reply counter goes down. */
  async delete(userId: string, id: string): Promise<void> {
    await this.deps.database.transaction(async (tx) => {
      const [c] = await tx.select().from(comments).where(eq(comments.id, id)).for('update');
      if (!c || c.deletedAt !== null) throw commentNotFound();
      if (c.authorId !== userId && (await this.target(c.targetType).ownerOf(tx, c.targetId)) !== userId) throw commentNotFound();
      await tx.update(comments).set({ deletedAt: new Date(), pinnedAt: null }).where(eq(comments.id, id));
      await this.deps.events.publish('comment.deleted', { commentId: id, authorId: c.authorId, targetType: c.targetType, targetId: c.targetId }, { tx });
      await this.target(c.targetType).adjustComments?.(tx, c.targetId, -1);
      if (c.parentId)
        await tx
          .update(comments)
          .set({ replyCount: sql`greatest(0, ${comments.replyCount} - 1)` })
          .where(eq(comments.id, c.parentId));
    });
  }

  /** The target's owner only; one pinned comment per target, so pinning another unpins the old one. */
  async pin(userId: string, id: string, pinned: boolean): Promise<void> {
    await this.deps.database.transaction(async (tx) => {
      const [c] = await tx.select().from(comments).where(eq(comments.id, id));
      if (!c || c.deletedAt !== null) throw commentNotFound();
      const target = this.target(c.targetType);
      // The target's row lock serialises concurrent pins, so two can never both stay pinned.
      if ((await target.ownerOf(tx, c.targetId, true)) !== userId) throw commentNotFound();
      await target.assertVisible(tx, userId, c.targetId);
      if (!pinned) {
        await tx.update(comments).set({ pinnedAt: null }).where(eq(comments.id, id));
        return;
      }
      if (c.parentId) throw new AppError(422, 'comments.not_top_level', 'only top-level comments can be pinned');
      await tx
        .update(comments)
        .set({ pinnedAt: null })
        .where(and(eq(comments.targetType, c.targetType), eq(comments.targetId, c.targetId), isNotNull(comments.pinnedAt)));
      await tx.update(comments).set({ pinnedAt: new Date() }).where(eq(comments.id, id));
    });
  }

  /**
   * Top-level comments of a target (or the replies to parentId), in keyset pages. The pinned
   * comment leads the first page of the top-level list, as an extra item, and is not repeated.
   */
  async list(viewerId: string | null, type: CommentTarget, targetId: string, q: ListQuery): Promise<CommentPage> {
    await this.target(type).assertVisible(this.db, viewerId, targetId);
    const after0 = q.cursor === undefined ? null : decodeCommentCursor(q.sort, q.cursor);
    const base: SQL[] = [eq(comments.targetType, type), eq(comments.targetId, targetId), or(isNull(comments.deletedAt), gt(comments.replyCount, 0))!];
    const topLevel = !q.parentId;
    if (q.parentId) {
      const [parent] = await this.db.select().from(comments).where(eq(comments.id, q.parentId));
      if (!parent || parent.targetType !== type || parent.targetId !== targetId) throw commentNotFound();
      base.push(eq(comments.parentId, q.parentId));
    } else {
      base.push(isNull(comments.parentId), isNull(comments.pinnedAt));
    }
    const skeleton = async (after: Key | null, n: number): Promise<CommentRow[]> => {
      const where = [...base];
      if (after && q.sort === 'newest') where.push(sql`${comments.id} < ${after.id}`);
      if (after && q.sort === 'top') where.push(sql`(${comments.likeCount}, ${comments.id}) < (${after.likes}, ${after.id}::uuid)`);
      const order = q.sort === 'top' ? [desc(comments.likeCount), desc(comments.id)] : [desc(comments.id)];
      return this.db
        .select()
        .from(comments)
        .where(and(...where))
        .orderBy(...order)
        .limit(n);
    };

    const items: PresentedComment[] = [];
    if (topLevel && after0 === null) {
      const pinned = await this.db
        .select()
        .from(comments)
        .where(and(eq(comments.targetType, type), eq(comments.targetId, targetId), isNotNull(comments.pinnedAt), isNull(comments.deletedAt)))
        .limit(1);
      const shown = await this.present(viewerId, pinned, true);
      for (const c of pinned) if (shown.has(c.id)) items.push(shown.get(c.id)!);
    }
    const extra = items.length;
    let after = after0;
    const key = (c: CommentRow): Key => ({ likes: c.likeCount, id: c.id });
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const rows = await skeleton(after, q.limit + 1);
      const shown = await this.present(viewerId, rows, true);
      for (const row of rows) {
        if (items.length - extra === q.limit) return { items, nextCursor: encodeCommentCursor(q.sort, after!) };
        after = key(row);
        const c = shown.get(row.id);
        if (c) items.push(c);
      }
      if (rows.length <= q.limit) return { items, nextCursor: null };
    }
    return { items, nextCursor: after === null ? null : encodeCommentCursor(q.sort, after) };
  }

  /**
   * Ids of the rows moderation lets the viewer see: visible ones; held ones for their author and for
   * moderators/admins (whose role is read only when a held comment by someone else is in the batch);
   * removed ones for nobody.
   */
  private async moderationAllows(ex: Executor, viewerId: string | null, rows: CommentRow[]): Promise<Set<string>> {
    const out = new Set<string>();
    let staff: boolean | undefined;
    for (const c of rows) {
      if (c.moderationState === 'visible' || (c.moderationState === 'held' && c.authorId === viewerId)) out.add(c.id);
      else if (c.moderationState === 'held' && viewerId) {
        if (staff === undefined) {
          const [viewer] = await ex.select({ role: users.role }).from(users).where(eq(users.id, viewerId));
          staff = isStaff(viewer?.role);
        }
        if (staff) out.add(c.id);
      }
    }
    return out;
  }

  /**
   * The rows the viewer may see, presented and keyed by id. Hidden: authors who are not active,
   * blocked either way, or (in lists) muted by the viewer. Deleted comments show as placeholders.
   */
  private async present(viewerId: string | null, rows: CommentRow[], list: boolean): Promise<Map<string, PresentedComment>> {
    const out = new Map<string, PresentedComment>();
    if (rows.length === 0) return out;
    const authorIds = [...new Set(rows.map((c) => c.authorId))];
    const authorRows = await this.users.byIds(authorIds);
    const relations = await relationsOf(this.db, viewerId, authorIds);
    const authors = new Map<string, UserRow>(authorRows.map((u) => [u.id, u]));
    const allowed = await this.moderationAllows(this.db, viewerId, rows);
    const visible = rows.filter((c) => {
      if (c.deletedAt !== null) return true;
      if (!allowed.has(c.id)) return false;
      const a = authors.get(c.authorId);
      if (!a || effectiveState(a.state, a.suspendedUntil) !== 'active') return false;
      if (viewerId === c.authorId) return true;
      const rel = relations.get(c.authorId);
      return !rel?.blocked && !(list && rel?.muted);
    });
    if (visible.length === 0) return out;
    const ttl = this.deps.config.signedUrlTtlSeconds;
    const presented = new Map<string, PublicUser>();
    for (const id of new Set(visible.filter((c) => c.deletedAt === null).map((c) => c.authorId))) presented.set(id, await presentPublic(authors.get(id)!, this.deps.storage, ttl));
    let liked: Set<string> | null = null;
    if (viewerId) {
      const ids = visible.map((c) => c.id);
      const r = await this.db
        .select({ id: likes.targetId })
        .from(likes)
        .where(and(eq(likes.userId, viewerId), eq(likes.targetType, 'comment'), inArray(likes.targetId, ids)));
      liked = new Set(r.map((x) => x.id));
    }
    for (const c of visible) out.set(c.id, presentComment(c, presented.get(c.authorId), liked ? liked.has(c.id) : null));
    return out;
  }
}

/** The comments flavour of reconcileLikes: one statement, touching only the rows that are wrong. */
export async function reconcileCommentLikes(db: Db): Promise<number> {
  return reconcileCounter(db, { table: 'comments', column: 'like_count', counts: likesPerTarget('comment') });
}

/** Add delta to a comment's like counter inside the like's transaction; undefined when there is no such comment. */
export async function adjustCommentLikes(tx: Tx, id: string, delta: 1 | -1): Promise<number | undefined> {
  const [row] = await tx
    .update(comments)
    .set({ likeCount: sql`greatest(0, ${comments.likeCount} + ${delta})` })
    .where(eq(comments.id, id))
    .returning({ n: comments.likeCount });
  return row?.n;
}

export async function commentLikeCount(ex: Executor, id: string): Promise<number | undefined> {
  const [row] = await ex.select({ n: comments.likeCount }).from(comments).where(eq(comments.id, id));
  return row?.n;
}

const built = new WeakMap<Deps, CommentsService>();

/** One service per Deps (stateless), generic over target kinds; posts and videos are wired. */
export function commentsServiceFor(deps: Deps): CommentsService {
  let s = built.get(deps);
  if (!s) {
    s = new CommentsService(deps, postsServicesFor(deps).users, { post: postCommentTarget(deps), video: videoCommentTarget() });
    built.set(deps, s);
  }
  return s;
}
