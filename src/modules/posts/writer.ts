import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import type { Tx } from '../../platform/db/index.js';
import type { Deps } from '../../platform/deps.js';
import { precheckHolds } from '../../ml/text/precheck.js';
import { AppError, badRequest, notFound } from '../../platform/errors.js';
import { relationsOf } from '../graph/relations.js';
// user_stats belongs to the graph module; its `posts` counter is kept here, in the transaction
// that creates or deletes the post, because a counter updated anywhere else can drift.
import { userStats } from '../graph/tables.js';
import { videos } from '../videos/tables.js';
import type { UsersService } from '../users/service.js';
import type { PostsHydrator } from './hydrate.js';
import type { PostRow } from './present.js';
import { postNotFound } from './reader.js';
import { mediaAttachments, postEdits, postHashtags, postMentions, posts, type PostMediaRef, type PostVisibility } from './tables.js';
import './events.js';
import { normaliseText, parseHashtags, parseMentions } from './text.js';

export const MAX_IMAGES = 4;

export interface NewPost {
  text: string;
  visibility?: PostVisibility | undefined;
  replyTo?: string | undefined;
  quoteOf?: string | undefined;
  media?: string[] | undefined;
}

const mediaProblem = (message: string) => badRequest('posts.invalid_media', message, { errors: [{ field: 'media', message }] });

/** Counter columns of posts that other posts change (one reply, quote or repost at a time). */
type Counter = 'replyCount' | 'quoteCount' | 'repostCount';
const COUNTER_COLUMN: Record<Counter, string> = { replyCount: 'reply_count', quoteCount: 'quote_count', repostCount: 'repost_count' };

async function bump(tx: Tx, id: string, counter: Counter, delta: 1 | -1): Promise<void> {
  // greatest(0, ...): a counter repaired by the reconcile job while a delete was in flight must not go negative.
  const col = sql.raw(`"${COUNTER_COLUMN[counter]}"`);
  await tx
    .update(posts)
    .set({ [counter]: sql`greatest(0, ${col} + ${delta})` })
    .where(eq(posts.id, id));
}

async function bumpUserPosts(tx: Tx, userId: string, delta: 1 | -1): Promise<void> {
  await tx
    .insert(userStats)
    .values({ userId, posts: Math.max(0, delta) })
    .onConflictDoUpdate({ target: userStats.userId, set: { posts: sql`greatest(0, ${userStats.posts} + ${delta})` } });
}

/**
 * The write path of posts. Every change and the counters, hashtags, mentions and media it implies
 * commit together or not at all, with the domain events they publish (docs/events.md).
 */
export class PostsWriter {
  constructor(
    private readonly deps: Deps,
    private readonly users: UsersService,
    private readonly hydrator: PostsHydrator,
  ) {}

  async create(authorId: string, input: NewPost): Promise<string> {
    const mediaIds = [...new Set(input.media ?? [])];
    if (mediaIds.length !== (input.media?.length ?? 0)) throw mediaProblem('the same media id is listed twice');
    const text = normaliseText(input.text, mediaIds.length > 0);
    const tags = parseHashtags(text);
    const names = parseMentions(text);
    return this.deps.database.transaction(async (tx) => {
      let visibility: PostVisibility = input.visibility ?? 'public';
      let rootId: string | null = null;
      let parent: PostRow | undefined;
      if (input.replyTo) {
        parent = await this.target(tx, authorId, input.replyTo, 'replyTo');
        rootId = parent.rootId ?? parent.id;
        // Answering a followers-only post in public would quote it to everyone.
        if (parent.visibility === 'followers') visibility = 'followers';
      }
      const quoted = input.quoteOf ? await this.target(tx, authorId, input.quoteOf, 'quoteOf') : undefined;
      const media = await this.claimMedia(tx, authorId, mediaIds);
      const id = uuidv7();
      // The moderation pre-check: clearly abusive text starts out held until the moderation job scores it.
      const moderationState = precheckHolds(text, this.deps.config.moderation.precheckMinTerms) ? 'held' : 'visible';
      await tx.insert(posts).values({ id, authorId, text, visibility, replyToId: parent?.id ?? null, rootId, quoteOfId: input.quoteOf ?? null, media, moderationState });
      const mentioned = await this.writeTags(tx, id, authorId, tags, names);
      const images = media.filter((m) => m.kind === 'image').map((m) => m.id);
      if (images.length) await tx.update(mediaAttachments).set({ postId: id }).where(inArray(mediaAttachments.id, images));
      if (parent) await bump(tx, parent.id, 'replyCount', 1);
      if (input.quoteOf) await bump(tx, input.quoteOf, 'quoteCount', 1);
      await bumpUserPosts(tx, authorId, 1);
      // Home timelines: only top-level posts are fanned out (replies live in threads).
      if (!parent) await this.deps.jobs.send('feed.fanout', { postId: id }, { tx });
      const events = this.deps.events;
      await events.publish('post.created', { postId: id, authorId, visibility, replyToId: parent?.id ?? null, rootId, quoteOfId: quoted?.id ?? null, hashtags: tags, text }, { tx });
      if (parent && parent.authorId !== authorId) await events.publish('post.replied', { postId: id, authorId, parentId: parent.id, parentAuthorId: parent.authorId }, { tx });
      if (quoted && quoted.authorId !== authorId) await events.publish('post.quoted', { postId: id, authorId, quotedId: quoted.id, quotedAuthorId: quoted.authorId }, { tx });
      for (const userId of mentioned) if (userId !== authorId) await events.publish('user.mentioned', { postId: id, authorId, userId }, { tx });
      return id;
    });
  }

  /** Replace the text of one's own post, keeping the previous version in post_edits. */
  async edit(authorId: string, id: string, rawText: string): Promise<void> {
    await this.deps.database.transaction(async (tx) => {
      const [p] = await tx
        .select()
        .from(posts)
        .where(and(eq(posts.id, id), eq(posts.authorId, authorId), isNull(posts.deletedAt), isNull(posts.repostOfId)))
        .for('update');
      // Someone else's post answers like a missing one: editing is only ever about one's own posts.
      if (!p) throw postNotFound();
      const text = normaliseText(rawText, p.media.length > 0);
      const tags = parseHashtags(text);
      const names = parseMentions(text);
      if (text === p.text) return;
      const now = new Date();
      await tx.insert(postEdits).values({ id: uuidv7(), postId: id, text: p.text, media: p.media, replacedAt: now });
      const held = precheckHolds(text, this.deps.config.moderation.precheckMinTerms);
      await tx
        .update(posts)
        .set({ text, editedAt: now, ...(held ? { moderationState: 'held' as const } : {}) })
        .where(eq(posts.id, id));
      await tx.delete(postHashtags).where(eq(postHashtags.postId, id));
      const before = await tx.delete(postMentions).where(eq(postMentions.postId, id)).returning({ userId: postMentions.userId });
      const mentioned = await this.writeTags(tx, id, authorId, tags, names);
      await this.deps.events.publish('post.edited', { postId: id, authorId, editedAt: now.toISOString(), text }, { tx });
      const already = new Set(before.map((m) => m.userId));
      for (const userId of mentioned) {
        if (userId !== authorId && !already.has(userId)) await this.deps.events.publish('user.mentioned', { postId: id, authorId, userId }, { tx });
      }
    });
  }

  /** Soft delete: the row stays for the thread's shape and counters, and every read drops it. */
  async delete(authorId: string, id: string): Promise<void> {
    await this.deps.database.transaction(async (tx) => {
      const [p] = await tx
        .update(posts)
        .set({ deletedAt: new Date() })
        .where(and(eq(posts.id, id), eq(posts.authorId, authorId), isNull(posts.deletedAt)))
        .returning();
      if (!p) throw postNotFound();
      await this.undoCounters(tx, p);
      await this.deps.events.publish('post.deleted', { postId: p.id, authorId }, { tx });
    });
  }

  /**
   * Repost a post the caller may see. One live repost per user and post: a second call answers
   * the existing one (created false), so a retried tap is harmless. Followers-only posts cannot be
   * reposted: that would show them to the reposter's audience.
   */
  async repost(userId: string, targetId: string): Promise<{ id: string; created: boolean }> {
    return this.deps.database.transaction(async (tx) => {
      let target = await this.hydrator.visibleRow(tx, userId, targetId, 'direct');
      if (target?.repostOfId) target = await this.hydrator.visibleRow(tx, userId, target.repostOfId, 'direct');
      if (!target) throw postNotFound();
      if (target.visibility === 'followers') throw new AppError(422, 'posts.not_repostable', 'followers-only posts cannot be reposted');
      const [row] = await tx
        .insert(posts)
        .values({ id: uuidv7(), authorId: userId, text: '', visibility: 'public', repostOfId: target.id })
        .onConflictDoNothing()
        .returning({ id: posts.id });
      if (row) {
        await bump(tx, target.id, 'repostCount', 1);
        await this.deps.jobs.send('feed.fanout', { postId: row.id }, { tx });
        if (target.authorId !== userId) await this.deps.events.publish('post.reposted', { repostId: row.id, userId, postId: target.id, postAuthorId: target.authorId }, { tx });
        return { id: row.id, created: true };
      }
      const [existing] = await tx
        .select({ id: posts.id })
        .from(posts)
        .where(and(eq(posts.authorId, userId), eq(posts.repostOfId, target.id), isNull(posts.deletedAt)));
      return { id: existing!.id, created: false };
    });
  }

  /** Undo one's repost; nothing to undo is not an error (the client's state is reached either way). */
  async unrepost(userId: string, targetId: string): Promise<void> {
    await this.deps.database.transaction(async (tx) => {
      const rows = await tx
        .update(posts)
        .set({ deletedAt: new Date() })
        .where(and(eq(posts.authorId, userId), eq(posts.repostOfId, targetId), isNull(posts.deletedAt)))
        .returning();
      for (const p of rows) await this.undoCounters(tx, p);
      if (rows.length) await this.deps.events.publish('post.unreposted', { userId, postId: targetId }, { tx });
    });
  }

  private async undoCounters(tx: Tx, p: PostRow): Promise<void> {
    if (p.replyToId) await bump(tx, p.replyToId, 'replyCount', -1);
    if (p.quoteOfId) await bump(tx, p.quoteOfId, 'quoteCount', -1);
    if (p.repostOfId) await bump(tx, p.repostOfId, 'repostCount', -1);
    else await bumpUserPosts(tx, p.authorId, -1);
  }

  /** A reply or quote target: visible to the author, and an original post rather than a repost. */
  private async target(tx: Tx, authorId: string, id: string, field: 'replyTo' | 'quoteOf'): Promise<PostRow> {
    const p = await this.hydrator.visibleRow(tx, authorId, id, 'direct');
    if (!p || p.repostOfId) throw notFound('posts.not_found', `${field}: no such post, or you may not see it`);
    return p;
  }

  /**
   * The media of a new post: the author's image uploads not attached yet (rows locked, so one upload
   * can never end up in two posts), or one of the author's own videos by its id (any status: it
   * plays once processed; a video may be shared in several posts).
   */
  private async claimMedia(tx: Tx, ownerId: string, ids: string[]): Promise<PostMediaRef[]> {
    if (ids.length === 0) return [];
    const rows = await tx
      .select({ id: mediaAttachments.id, kind: mediaAttachments.kind })
      .from(mediaAttachments)
      .where(and(inArray(mediaAttachments.id, ids), eq(mediaAttachments.ownerId, ownerId), isNull(mediaAttachments.postId)))
      .for('update');
    const kinds = new Map<string, 'image' | 'video'>(rows.map((r) => [r.id, r.kind]));
    const rest = ids.filter((id) => !kinds.has(id));
    if (rest.length) {
      const own = await tx
        .select({ id: videos.id })
        .from(videos)
        .where(and(inArray(videos.id, rest), eq(videos.ownerId, ownerId), isNull(videos.deletedAt)));
      for (const v of own) kinds.set(v.id, 'video');
    }
    if (kinds.size !== ids.length) throw mediaProblem('media must be your own image uploads that are not attached to a post yet, or your own videos');
    const videoCount = [...kinds.values()].filter((k) => k === 'video').length;
    if (videoCount > 1 || (videoCount === 1 && kinds.size > 1)) throw mediaProblem('a post has one video and nothing else, or up to 4 images');
    if (kinds.size > MAX_IMAGES) throw mediaProblem(`a post has at most ${MAX_IMAGES} images`);
    return ids.map((id) => ({ id, kind: kinds.get(id)! }));
  }

  /**
   * Hashtags, and mentions of accounts that exist and are active. An account that blocked the
   * author, or that the author blocked, is not mentioned: a block hides mentions both ways.
   */
  private async writeTags(tx: Tx, postId: string, authorId: string, tags: string[], names: string[]): Promise<string[]> {
    if (tags.length) await tx.insert(postHashtags).values(tags.map((tag) => ({ tag, postId })));
    if (!names.length) return [];
    const mentioned = await this.users.activeByUsernames(names, tx);
    const relations = await relationsOf(
      tx,
      authorId,
      mentioned.map((u) => u.id),
    );
    const ids = mentioned.filter((u) => !relations.get(u.id)?.blocked).map((u) => u.id);
    if (ids.length) await tx.insert(postMentions).values(ids.map((userId) => ({ postId, userId })));
    return ids;
  }
}
