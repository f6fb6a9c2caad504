import { createHash } from 'node:crypto';
import { and, desc, eq, inArray, isNotNull, isNull, sql, type SQL } from 'drizzle-orm';
import sharp from 'sharp';
import { uuidv7 } from 'uuidv7';
import type { Tx } from '../../platform/db/index.js';
import type { Deps } from '../../platform/deps.js';
import { AppError, badRequest, notFound } from '../../platform/errors.js';
import { precheckHolds } from '../../ml/text/precheck.js';
import { likes, saves } from '../reactions/tables.js';
import { sniffImageFormat } from '../users/images.js';
import { UsersService } from '../users/service.js';
import { videoKeys } from './playback.js';
import { presentVideo, type PresentedVideo, type VideoPage } from './present.js';
import { isAnnounceable, videoViewer, visibleVideoRows, type VideoReadContext } from './rules.js';
import { videoProgress, videos, type VideoRow, type VideoVisibility } from './tables.js';
import './events.js';

export const videoNotFound = () => notFound('videos.not_found', 'no such video, or you may not see it');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const badCursor = () => badRequest('request.invalid_cursor', 'cursor is not valid; pass back the nextCursor of a previous page', { errors: [{ field: 'cursor', message: 'is not valid' }] });

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u202a-\u202e\u2066-\u2069]/;

function cleanText(field: string, raw: string, max: number, required: boolean): string {
  const text = raw.replace(/\r\n?/g, '\n').normalize('NFC').trim();
  if (CONTROL.test(text)) throw badRequest('videos.invalid_characters', `${field} contains control characters`, { errors: [{ field, message: 'contains control characters' }] });
  if ([...text].length > max) throw badRequest('videos.text_too_long', `${field} is longer than ${max} characters`, { errors: [{ field, message: `is longer than ${max} characters` }] });
  if (required && text === '') throw badRequest('videos.title_required', `${field} is empty`, { errors: [{ field, message: 'is empty' }] });
  return text;
}

function cleanTags(tags: string[]): string[] {
  const out: string[] = [];
  for (const raw of tags) {
    const t = raw.normalize('NFC').trim().toLowerCase();
    if (t === '' || CONTROL.test(t)) throw badRequest('videos.invalid_tag', 'tags must be non-empty plain text', { errors: [{ field: 'tags', message: 'has an empty or invalid tag' }] });
    if (!out.includes(t)) out.push(t);
  }
  return out;
}

export interface VideoInput {
  title: string;
  description?: string | undefined;
  tags?: string[] | undefined;
  category?: string | null | undefined;
  language?: string | null | undefined;
  visibility?: VideoVisibility | undefined;
  ageRestricted?: boolean | undefined;
}

export type VideoPatch = Partial<VideoInput>;

export const MAX_TITLE = 100;
export const MAX_DESCRIPTION = 5000;

/**
 * Videos: metadata, reads through the rules, views and resume positions. Upload (tus) lives in
 * upload.ts and processing in transcode.ts; they share the row written here.
 */
export class VideosService {
  private readonly users: UsersService;

  constructor(private readonly deps: Deps) {
    this.users = new UsersService(deps);
  }

  private get db() {
    return this.deps.database.db;
  }

  async create(ownerId: string, input: VideoInput): Promise<{ id: string; upload: { url: string } }> {
    const id = uuidv7();
    const title = cleanText('title', input.title, MAX_TITLE, true);
    const description = cleanText('description', input.description ?? '', MAX_DESCRIPTION, false);
    const text = moderatedText(title, description);
    await this.deps.database.transaction(async (tx) => {
      await tx.insert(videos).values({
        id,
        ownerId,
        title,
        description,
        tags: cleanTags(input.tags ?? []),
        category: input.category ?? null,
        language: input.language ?? null,
        visibility: input.visibility ?? 'public',
        ageRestricted: input.ageRestricted ?? false,
        // The inline moderation pre-check, as for posts and comments; the moderation job scores the rest.
        moderationState: precheckHolds(text, this.deps.config.moderation.precheckMinTerms) ? 'held' : 'visible',
      });
      await this.deps.events.publish('video.created', { videoId: id, ownerId, text }, { tx });
    });
    return { id, upload: { url: uploadUrl(this.deps.config.publicUrl, id) } };
  }

  /**
   * Presented videos the viewer may see, keyed by id. `viewerState: false` skips reading the
   * viewer's likes, saves and resume positions (`viewer` is then null) for callers that show none.
   */
  async present(viewerId: string | null, ids: string[], ctx: VideoReadContext, opts: { viewerState?: boolean } = {}): Promise<Map<string, PresentedVideo>> {
    const rows = await visibleVideoRows(this.db, viewerId, ids, ctx);
    const out = new Map<string, PresentedVideo>();
    if (rows.size === 0) return out;
    const shown = [...rows.keys()];
    let viewer: Map<string, { liked: boolean; saved: boolean; positionSeconds: number }> | null = null;
    if (viewerId && opts.viewerState !== false) {
      viewer = new Map(shown.map((id) => [id, { liked: false, saved: false, positionSeconds: 0 }]));
      const liked = await this.db.select({ id: likes.targetId }).from(likes).where(and(eq(likes.userId, viewerId), eq(likes.targetType, 'video'), inArray(likes.targetId, shown)));
      const saved = await this.db.select({ id: saves.targetId }).from(saves).where(and(eq(saves.userId, viewerId), eq(saves.targetType, 'video'), inArray(saves.targetId, shown)));
      const progress = await this.db.select().from(videoProgress).where(and(eq(videoProgress.userId, viewerId), inArray(videoProgress.videoId, shown)));
      for (const l of liked) viewer.get(l.id)!.liked = true;
      for (const x of saved) viewer.get(x.id)!.saved = true;
      for (const p of progress) viewer.get(p.videoId)!.positionSeconds = p.positionSeconds;
    }
    const { storage, config } = this.deps;
    const pctx = { storage, secretKey: config.secretKey, publicUrl: config.publicUrl, ttlSeconds: config.signedUrlTtlSeconds, viewer };
    for (const { video, owner } of rows.values()) out.set(video.id, await presentVideo(video, owner, pctx));
    return out;
  }

  async get(viewerId: string | null, id: string): Promise<PresentedVideo> {
    const v = (await this.present(viewerId, [id], 'direct')).get(id);
    if (!v) throw videoNotFound();
    return v;
  }

  /** The row when the viewer may see it (`direct` rules); undefined otherwise. */
  async visibleRow(ex: Tx | Deps['database']['db'], viewerId: string | null, id: string): Promise<VideoRow | undefined> {
    return (await visibleVideoRows(ex, viewerId, [id], 'direct')).get(id)?.video;
  }

  /** The caller's own live video, locked for update; others' answer 404 so their existence is not revealed. */
  private async ownRow(tx: Tx, userId: string, id: string): Promise<VideoRow> {
    const [v] = await tx.select().from(videos).where(and(eq(videos.id, id), isNull(videos.deletedAt))).for('update');
    if (!v || v.ownerId !== userId) throw videoNotFound();
    return v;
  }

  async update(userId: string, id: string, patch: VideoPatch): Promise<void> {
    await this.deps.database.transaction(async (tx) => {
      const v = await this.ownRow(tx, userId, id);
      const set: Partial<typeof videos.$inferInsert> = { updatedAt: new Date() };
      if (patch.title !== undefined) set.title = cleanText('title', patch.title, MAX_TITLE, true);
      if (patch.description !== undefined) set.description = cleanText('description', patch.description, MAX_DESCRIPTION, false);
      if (patch.tags !== undefined) set.tags = cleanTags(patch.tags);
      if (patch.category !== undefined) set.category = patch.category;
      if (patch.language !== undefined) set.language = patch.language;
      if (patch.visibility !== undefined) set.visibility = patch.visibility;
      if (patch.ageRestricted !== undefined) {
        if (!patch.ageRestricted && v.moderationAgeRestricted) throw new AppError(409, 'videos.age_restricted_by_moderation', 'a moderator age-restricted this video; appeal the decision to lift it');
        set.ageRestricted = patch.ageRestricted;
      }
      const textChanged = (set.title !== undefined && set.title !== v.title) || (set.description !== undefined && set.description !== v.description);
      // The inline pre-check on the new text; it never turns a removed video back into a held one.
      if (textChanged && v.moderationState === 'visible' && precheckHolds(moderatedText(set.title ?? v.title, set.description ?? v.description), this.deps.config.moderation.precheckMinTerms)) set.moderationState = 'held';
      await tx.update(videos).set(set).where(eq(videos.id, v.id));
      await this.deps.events.publish('video.updated', { videoId: v.id, ownerId: v.ownerId, textChanged }, { tx });
      // Opened up after publishing (private or unlisted made public, say): the followers hear of it now.
      const after = { ...v, ...set } as VideoRow;
      if (!isAnnounceable(v) && isAnnounceable(after)) await this.deps.events.publish('video.published', { videoId: v.id, ownerId: v.ownerId, visibility: after.visibility }, { tx });
    });
  }

  /** A poster chosen by the owner: JPEG, PNG or WebP, re-encoded (metadata stripped) to a JPEG at most 1280 wide. */
  async replaceThumbnail(userId: string, id: string, bytes: Buffer): Promise<void> {
    const format = sniffImageFormat(bytes);
    if (format !== 'jpeg' && format !== 'png' && format !== 'webp') throw new AppError(415, 'videos.unsupported_image', 'upload a JPEG, PNG or WebP image');
    let jpeg: Buffer;
    try {
      jpeg = await sharp(bytes, { limitInputPixels: 40_000_000 }).rotate().resize({ width: 1280, withoutEnlargement: true }).jpeg({ quality: 85 }).toBuffer();
    } catch {
      throw new AppError(422, 'videos.corrupt_image', 'the image could not be decoded; it may be damaged or incomplete');
    }
    // Checked before storing, so a stranger cannot fill storage under someone else's video.
    await this.deps.database.transaction(async (tx) => this.ownRow(tx, userId, id));
    const key = videoKeys.thumbnail(id, `custom-${createHash('sha256').update(jpeg).digest('hex').slice(0, 16)}`);
    await this.deps.storage.put(key, jpeg, { contentType: 'image/jpeg' });
    await this.deps.database.transaction(async (tx) => {
      const v = await this.ownRow(tx, userId, id);
      await tx.update(videos).set({ thumbnailKey: key, updatedAt: new Date() }).where(eq(videos.id, id));
      await this.deps.events.publish('video.updated', { videoId: v.id, ownerId: v.ownerId }, { tx });
    });
  }

  /** Soft delete by the owner (or a moderator); the stored files go in a job queued in the same transaction. */
  async delete(userId: string, isModerator: boolean, id: string): Promise<void> {
    await this.deps.database.transaction(async (tx) => {
      const [v] = await tx.select().from(videos).where(and(eq(videos.id, id), isNull(videos.deletedAt))).for('update');
      if (!v || (v.ownerId !== userId && !isModerator)) throw videoNotFound();
      await tx.update(videos).set({ deletedAt: new Date(), updatedAt: new Date() }).where(eq(videos.id, id));
      await this.deps.jobs.send('videos.delete_objects', { videoId: id }, { tx });
      await this.deps.events.publish('video.deleted', { videoId: id, ownerId: v.ownerId }, { tx });
    });
  }

  /** A creator's videos, newest first. The owner also sees their unlisted, private and unfinished ones. */
  async listByCreator(viewerId: string | null, username: string, limit: number, cursor: string | undefined): Promise<VideoPage> {
    const owner = await this.users.visibleByUsername(username);
    if (!owner) throw notFound('users.not_found', 'no such user');
    const ownerId = owner.id;
    const mine = viewerId === ownerId;
    return this.page(
      async (after, n) => {
        const where: SQL[] = [eq(videos.ownerId, ownerId), isNull(videos.deletedAt)];
        if (!mine) where.push(isNotNull(videos.publishedAt));
        if (after) where.push(sql`${videos.id} < ${after}::uuid`);
        return (await this.db.select({ id: videos.id }).from(videos).where(and(...where)).orderBy(desc(videos.id)).limit(n)).map((r) => r.id);
      },
      (ids) => this.present(viewerId, ids, mine ? 'direct' : 'list'),
      limit,
      cursor,
    );
  }

  /** Recently published public videos, newest first (ids are UUIDv7; publishing order is close enough for a cursor on id). */
  async recent(viewerId: string | null, limit: number, cursor: string | undefined): Promise<VideoPage> {
    return this.page(
      async (after, n) => {
        const where: SQL[] = [isNull(videos.deletedAt), isNotNull(videos.publishedAt), eq(videos.visibility, 'public'), eq(videos.moderationState, 'visible')];
        // Anonymous viewers never see age-restricted videos (rules.ts); skip them in the skeleton already.
        if (!viewerId) where.push(eq(videos.ageRestricted, false), eq(videos.moderationAgeRestricted, false));
        if (after) where.push(sql`${videos.id} < ${after}::uuid`);
        return (await this.db.select({ id: videos.id }).from(videos).where(and(...where)).orderBy(desc(videos.id)).limit(n)).map((r) => r.id);
      },
      (ids) => this.present(viewerId, ids, 'list'),
      limit,
      cursor,
    );
  }

  /** Keyset pages over ids; hidden videos are stepped over and the cursor is the last id looked at. */
  private async page(skeleton: (after: string | null, n: number) => Promise<string[]>, show: (ids: string[]) => Promise<Map<string, PresentedVideo>>, limit: number, cursor: string | undefined): Promise<VideoPage> {
    let after: string | null = null;
    if (cursor !== undefined) {
      const id = Buffer.from(cursor, 'base64url').toString('utf8');
      if (!UUID.test(id)) throw badCursor();
      after = id.toLowerCase();
    }
    const items: PresentedVideo[] = [];
    for (let round = 0; round < 4; round++) {
      const ids = await skeleton(after, limit + 1);
      const shown = await show(ids);
      for (const id of ids) {
        if (items.length === limit) return { items, nextCursor: Buffer.from(after!, 'utf8').toString('base64url') };
        after = id;
        const v = shown.get(id);
        if (v) items.push(v);
      }
      if (ids.length <= limit) return { items, nextCursor: null };
    }
    return { items, nextCursor: after ? Buffer.from(after, 'utf8').toString('base64url') : null };
  }

  /**
   * A view counts once per viewer (or anonymous fingerprint: address and user agent, hashed) per
   * video per window. The window is a set-if-absent key in the shared cache, so it holds across
   * processes; only a counted view moves the counter and publishes video.viewed.
   */
  async view(viewerId: string | null, fingerprint: string, id: string): Promise<{ counted: boolean; viewCount: number }> {
    const v = await this.visibleRow(this.db, viewerId, id);
    if (!v) throw videoNotFound();
    const who = viewerId ?? `anon:${createHash('sha256').update(fingerprint).digest('base64url').slice(0, 22)}`;
    const fresh = await this.deps.cache.cache.setIfAbsent(`video:view:${id}:${who}`, '1', this.deps.config.video.viewWindowSeconds * 1000);
    if (!fresh) return { counted: false, viewCount: v.viewCount };
    const viewCount = await this.deps.database.transaction(async (tx) => {
      const [row] = await tx.update(videos).set({ viewCount: sql`${videos.viewCount} + 1` }).where(eq(videos.id, id)).returning({ n: videos.viewCount });
      await this.deps.events.publish('video.viewed', { videoId: id, viewerId, at: new Date().toISOString() }, { tx });
      return row?.n ?? v.viewCount + 1;
    });
    return { counted: true, viewCount };
  }

  /**
   * A watch-time heartbeat: the resume position, and watch time grown by at most the wall time a
   * heartbeat may cover (so a client cannot claim hours in one call). Passing 90 % the first time
   * publishes video.completed.
   */
  async progress(userId: string, id: string, positionSeconds: number, watchedSeconds: number): Promise<{ positionSeconds: number; watchedSeconds: number; completed: boolean }> {
    return this.deps.database.transaction(async (tx) => {
      const v = await this.visibleRow(tx, userId, id);
      if (!v) throw videoNotFound();
      const duration = v.durationSeconds ?? 0;
      if (duration > 0 && positionSeconds > duration + 1) throw badRequest('videos.invalid_position', `positionSeconds is past the end of the video (${duration} s)`, { errors: [{ field: 'positionSeconds', message: 'is past the end' }] });
      const position = duration > 0 ? Math.min(positionSeconds, duration) : positionSeconds;
      const add = Math.min(watchedSeconds, 120);
      const [prev] = await tx.select().from(videoProgress).where(and(eq(videoProgress.userId, userId), eq(videoProgress.videoId, id))).for('update');
      const completing = !prev?.completedAt && duration > 0 && position >= duration * 0.9;
      const now = new Date();
      const watched = (prev?.watchedSeconds ?? 0) + add;
      await tx
        .insert(videoProgress)
        .values({ userId, videoId: id, positionSeconds: position, watchedSeconds: watched, completedAt: completing ? now : null, updatedAt: now })
        .onConflictDoUpdate({
          target: [videoProgress.userId, videoProgress.videoId],
          set: { positionSeconds: position, watchedSeconds: watched, updatedAt: now, ...(completing ? { completedAt: now } : {}) },
        });
      if (completing) await this.deps.events.publish('video.completed', { videoId: id, userId, durationSeconds: duration }, { tx });
      return { positionSeconds: position, watchedSeconds: watched, completed: completing || prev?.completedAt != null };
    });
  }

  async viewerFor(viewerId: string | null) {
    return videoViewer(this.db, viewerId);
  }
}

/** What moderation scores of a video: its title and description. */
export function moderatedText(title: string, description: string): string {
  return description ? `${title}\n${description}` : title;
}

export function uploadUrl(publicUrl: string, videoId: string): string {
  return `${publicUrl}/api/v1/uploads?videoId=${videoId}`;
}

const built = new WeakMap<Deps, VideosService>();
export function videosServiceFor(deps: Deps): VideosService {
  let s = built.get(deps);
  if (!s) {
    s = new VideosService(deps);
    built.set(deps, s);
  }
  return s;
}
