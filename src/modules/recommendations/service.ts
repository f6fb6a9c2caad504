import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { executeRaw } from '../../platform/db/index.js';
import type { Deps } from '../../platform/deps.js';
import { badRequest } from '../../platform/errors.js';
import type { PostPage } from '../posts/present.js';
import { postsServicesFor } from '../posts/service.js';
import { normaliseTag } from '../posts/text.js';
import { trendingServiceFor } from '../trending/service.js';
import type { PresentedVideo, VideoPage } from '../videos/present.js';
import { videosServiceFor } from '../videos/service.js';
import { collaborative, content, followed, trending, type Seen, type Sources } from './candidates.js';
import { KIND_WEIGHTS } from './engagement.js';
import { blend, diversify } from './rank.js';
import { ModelStore } from './store.js';
import { userInterests, type EngagementKind } from './tables.js';
import { LISTED_VIDEO, videoContent, videoFollowed } from './video-candidates.js';

/** Engagements of the viewer read per request (the freshest signal, newer than any model). */
const HISTORY = 200;
/** Ranked ids kept per viewer so pages are stable; a cursor points into this list. */
const SNAPSHOT_TTL_MS = 15 * 60 * 1000;
const MAX_INTERESTS = 20;

export interface ForYouPage extends PostPage {
  /** The model version that ranked the list (null: no model trained yet, other sources only). */
  modelId: string | null;
}

export interface ForYouVideoPage extends VideoPage {
  modelId: string | null;
}

type FeedKind = 'posts' | 'videos';
const snapshotKey = (kind: FeedKind, viewerId: string) => (kind === 'posts' ? `foryou:v1:${viewerId}` : `foryou:v1:videos:${viewerId}`);

interface Snapshot {
  s: string;
  modelId: string | null;
  ids: string[];
}

const invalidCursor = () => badRequest('request.invalid_cursor', 'cursor is not valid; pass back the nextCursor of a previous page', { errors: [{ field: 'cursor', message: 'is not valid' }] });

export class RecommendationsService {
  readonly models: ModelStore;

  constructor(private readonly deps: Deps) {
    this.models = new ModelStore(deps);
  }

  private get db() {
    return this.deps.database.db;
  }

  /**
   * The "For you" list: candidates from every source, blended, freshness added, re-ranked for
   * diversity, then the visibility rules applied last (at hydration, per page), as every list does.
   */
  async forYou(viewerId: string, limit: number, cursor?: string): Promise<ForYouPage> {
    const { hydrator } = postsServicesFor(this.deps);
    return this.feed('posts', viewerId, limit, cursor, () => this.rank(viewerId), (ids) => hydrator.present(viewerId, ids, 'hashtag'));
  }

  /**
   * "For you" for videos: the same sources, blend and diversity re-rank over videos (the posts
   * feed's items are posts, so videos are a list of their own), with the videos module's rules
   * (`list` context) applied last, per page.
   */
  async forYouVideos(viewerId: string, limit: number, cursor?: string): Promise<ForYouVideoPage> {
    const videos = videosServiceFor(this.deps);
    return this.feed<PresentedVideo>('videos', viewerId, limit, cursor, () => this.rankVideos(viewerId), (ids) => videos.present(viewerId, ids, 'list'));
  }

  /** Pages over a ranking kept per viewer (the cursor is a position in it), hydrated and filtered per page. */
  private async feed<T>(
    kind: FeedKind,
    viewerId: string,
    limit: number,
    cursor: string | undefined,
    rank: () => Promise<{ ids: string[]; modelId: string | null }>,
    show: (ids: string[]) => Promise<Map<string, T>>,
  ): Promise<{ items: T[]; nextCursor: string | null; modelId: string | null }> {
    let snap: Snapshot | null = null;
    let at = 0;
    const key = snapshotKey(kind, viewerId);
    if (cursor !== undefined) {
      const m = /^([a-f0-9]{8})\.(\d{1,4})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
      if (!m) throw invalidCursor();
      at = Number(m[2]);
      const cached = await this.deps.cache.cache.get(key);
      const parsed = cached ? (JSON.parse(cached) as Snapshot) : null;
      // An expired list is ranked again; the page continues at the same depth.
      if (parsed?.s === m[1]) snap = parsed;
    }
    if (!snap) {
      const ranked = await rank();
      snap = { s: randomBytes(4).toString('hex'), modelId: ranked.modelId, ids: ranked.ids };
      await this.deps.cache.cache.set(key, JSON.stringify(snap), SNAPSHOT_TTL_MS);
    }
    const items: T[] = [];
    while (at < snap.ids.length && items.length < limit) {
      const batch = snap.ids.slice(at, at + limit - items.length + 5);
      const shown = await show(batch);
      for (const id of batch) {
        if (items.length === limit) break;
        at++;
        const x = shown.get(id);
        if (x !== undefined) items.push(x);
      }
    }
    const next = at < snap.ids.length ? Buffer.from(`${snap.s}.${at}`, 'utf8').toString('base64url') : null;
    return { items, nextCursor: next, modelId: snap.modelId };
  }

  /** The ranked candidate ids for a viewer (before the per-page visibility rules). */
  async rank(viewerId: string): Promise<{ ids: string[]; modelId: string | null }> {
    const seen = await this.history(viewerId);
    const interests = await this.interests(viewerId);
    const sources: Sources = new Map();
    const model = await this.models.get();
    if (model) collaborative(sources, model, viewerId, seen);
    await content(sources, this.db, seen, interests);
    await followed(sources, this.db, viewerId);
    trending(
      sources,
      (await trendingServiceFor(this.deps).list('post', 'day')).map((e) => e.id),
    );
    const seenIds = new Set(seen.map((s) => s.itemId));
    const ids = [...sources.keys()].filter((id) => !seenIds.has(id));
    if (ids.length === 0) return { ids: [], modelId: model?.id ?? null };
    // Creators and ages in one query; replies, reposts, dead and own posts drop out here.
    const { rows } = await executeRaw<{ id: string; author_id: string; created_at: Date | string }>(
      this.db,
      `select id, author_id, created_at from posts where id = any($1::uuid[]) and deleted_at is null and reply_to_id is null and repost_of_id is null and author_id <> $2`,
      [ids, viewerId],
    );
    const now = Date.now();
    const scored = rows.map((r) => ({ id: r.id, creatorId: r.author_id, score: blend(sources.get(r.id)!, new Date(r.created_at), now) }));
    return { ids: diversify(scored).map((s) => s.id), modelId: model?.id ?? null };
  }

  /** The ranked video ids for a viewer (before the per-page visibility rules). */
  async rankVideos(viewerId: string): Promise<{ ids: string[]; modelId: string | null }> {
    const seen = await this.history(viewerId);
    const interests = await this.interests(viewerId);
    const sources: Sources = new Map();
    const model = await this.models.get();
    if (model) collaborative(sources, model, viewerId, seen, 'video');
    await videoContent(sources, this.db, seen, interests);
    await videoFollowed(sources, this.db, viewerId);
    trending(
      sources,
      (await trendingServiceFor(this.deps).list('video', 'day')).map((e) => e.id),
    );
    // A video only viewed (not finished) may be proposed again; finished, liked or shared ones not.
    const seenIds = new Set(seen.filter((s) => s.itemType === 'video' && s.weight > KIND_WEIGHTS.view).map((s) => s.itemId));
    const ids = [...sources.keys()].filter((id) => !seenIds.has(id));
    if (ids.length === 0) return { ids: [], modelId: model?.id ?? null };
    // Creators and ages in one query; unfinished, unlisted, private, moderated, deleted and own videos drop out here.
    const { rows } = await executeRaw<{ id: string; owner_id: string; published_at: Date | string }>(
      this.db,
      `select v.id, v.owner_id, v.published_at from videos v where v.id = any($1::uuid[]) and ${LISTED_VIDEO} and v.owner_id <> $2`,
      [ids, viewerId],
    );
    const now = Date.now();
    const scored = rows.map((r) => ({ id: r.id, creatorId: r.owner_id, score: blend(sources.get(r.id)!, new Date(r.published_at), now) }));
    return { ids: diversify(scored).map((s) => s.id), modelId: model?.id ?? null };
  }

  private async history(viewerId: string): Promise<Seen[]> {
    const { rows } = await executeRaw<{ item_type: string; item_id: string; kind: EngagementKind; at: Date | string }>(
      this.db,
      `select item_type, item_id, kind, at from engagement_events where user_id = $1 and kind <> 'create' order by at desc limit $2`,
      [viewerId, HISTORY],
    );
    return rows.map((r) => ({ itemType: r.item_type, itemId: r.item_id, weight: KIND_WEIGHTS[r.kind] ?? 1, at: new Date(r.at).getTime() }));
  }

  async interests(userId: string): Promise<string[]> {
    const rows = await this.db.select({ tag: userInterests.tag }).from(userInterests).where(eq(userInterests.userId, userId)).orderBy(userInterests.tag);
    return rows.map((r) => r.tag);
  }

  /** Replace the viewer's onboarding interests (hashtags, without '#'). */
  async setInterests(userId: string, raw: string[]): Promise<string[]> {
    const tags: string[] = [];
    raw.forEach((t, i) => {
      const tag = normaliseTag(t.replace(/^#/, ''));
      if (!tag) throw badRequest('recommendations.invalid_interest', `hashtags.${i} is not a hashtag (1 to 64 letters, digits or _)`, { errors: [{ field: `hashtags.${i}`, message: 'is not a hashtag' }] });
      if (!tags.includes(tag)) tags.push(tag);
    });
    if (tags.length > MAX_INTERESTS) throw badRequest('recommendations.too_many_interests', `at most ${MAX_INTERESTS} interests`, { errors: [{ field: 'hashtags', message: `has more than ${MAX_INTERESTS}` }] });
    await this.deps.database.transaction(async (tx) => {
      await tx.delete(userInterests).where(eq(userInterests.userId, userId));
      if (tags.length) await tx.insert(userInterests).values(tags.map((tag) => ({ userId, tag })));
    });
    await this.forget(userId);
    return this.interests(userId);
  }

  /** For tests and the CLI: drop a viewer's cached ranking. */
  async forget(viewerId: string): Promise<void> {
    await this.deps.cache.cache.del(snapshotKey('posts', viewerId));
    await this.deps.cache.cache.del(snapshotKey('videos', viewerId));
  }
}

const built = new WeakMap<Deps, RecommendationsService>();
export function recommendationsFor(deps: Deps): RecommendationsService {
  let s = built.get(deps);
  if (!s) built.set(deps, (s = new RecommendationsService(deps)));
  return s;
}

