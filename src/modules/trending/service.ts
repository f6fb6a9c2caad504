import { and, asc, eq } from 'drizzle-orm';
import { executeRaw } from '../../platform/db/index.js';
import type { Deps } from '../../platform/deps.js';
import { badRequest } from '../../platform/errors.js';
import type { PostPage } from '../posts/present.js';
import { postsServicesFor } from '../posts/service.js';
import { KIND_WEIGHTS } from '../recommendations/engagement.js';
import type { PresentedVideo, VideoPage } from '../videos/present.js';
import { videosServiceFor } from '../videos/service.js';
import { trendingScores, type TrendingKind, type TrendingWindow } from './tables.js';

/** Seconds in each window, and how far back the item's own baseline reaches. */
export const WINDOWS: Record<TrendingWindow, { seconds: number; baselineSeconds: number }> = {
  hour: { seconds: 3600, baselineSeconds: 24 * 3600 },
  day: { seconds: 24 * 3600, baselineSeconds: 7 * 24 * 3600 },
  week: { seconds: 7 * 24 * 3600, baselineSeconds: 28 * 24 * 3600 },
};
/** Entries kept per list. */
const KEEP = 100;
const CACHE_TTL_MS = 30 * 60 * 1000;

export interface TrendingEntry {
  id: string;
  score: number;
  users: number;
}

const cacheKey = (kind: TrendingKind, window: TrendingWindow) => `trending:v1:${kind}:${window}`;
const weightCase = `case e.kind ${Object.entries(KIND_WEIGHTS)
  .map(([k, w]) => `when '${k}' then ${w}`)
  .join(' ')} else 1 end`;

/**
 * Trending = momentum against the item's own past, counted in unique accounts.
 *
 * For a window W (hour, day, week) and each item:
 * - velocity v: every account that engaged within W counts once (its strongest signal, weighted
 *   by KIND_WEIGHTS), decayed by exp(-age / (W/2)); repeating an action adds nothing;
 * - baseline mu: the same unique-account count per W-long slice over the preceding period
 *   (24 h for hour, 7 d for day, 28 d for week), averaged; expected now E = mu * mean decay;
 * - score = (v - E) / sqrt(E + 1): a Poisson z-score, so a burst on a new item (E = 0) beats
 *   steady traffic on an old one (v ~ E), and the +1 keeps tiny counts from exploding.
 * Items need at least TRENDING_MIN_USERS accounts in the window.
 */
export class TrendingService {
  constructor(private readonly deps: Deps) {}

  private get db() {
    return this.deps.database.db;
  }

  async compute(kind: TrendingKind, window: TrendingWindow, now = new Date()): Promise<TrendingEntry[]> {
    const { seconds: W, baselineSeconds: B } = WINDOWS[window];
    const tau = W / 2;
    // Posts (and the hashtags they carry) and videos count only while they are live and public
    // (videos: finished processing, too).
    const livePost = `exists (select 1 from posts p where p.id = e.item_id and p.deleted_at is null and p.moderation_state = 'visible' and p.visibility = 'public')`;
    const liveVideo = `exists (select 1 from videos v where v.id = e.item_id and v.deleted_at is null and v.moderation_state = 'visible' and v.visibility = 'public' and v.status = 'ready')`;
    const source =
      kind === 'hashtag'
        ? `select h.tag as item, e.user_id, e.at, ${weightCase} as w from engagement_events e join post_hashtags h on h.post_id = e.item_id
           where e.item_type = 'post' and ${livePost}`
        : `select e.item_id::text as item, e.user_id, e.at, ${weightCase} as w from engagement_events e
           where e.item_type = '${kind}' and e.kind <> 'create' and ${kind === 'post' ? livePost : liveVideo}`;
    const { rows } = await executeRaw<{ item: string; v: number; users: number; base: number }>(
      this.db,
      `with ev as (
         select * from (${source} and e.user_id is not null and e.at > $1::timestamptz - make_interval(secs => $2) and e.at <= $1::timestamptz) s
       ),
       cur as (select item, user_id, max(at) as at, max(w) as w from ev where at > $1::timestamptz - make_interval(secs => $3) group by item, user_id),
       vel as (select item, sum(w * exp(-extract(epoch from ($1::timestamptz - at)) / $4))::float8 as v, count(*)::int as users from cur group by item),
       base as (
         select item, sum(w)::float8 as total from (
           select item, user_id, floor(extract(epoch from ($1::timestamptz - at)) / $3) as slice, max(w) as w
           from ev where at <= $1::timestamptz - make_interval(secs => $3) group by item, user_id, slice
         ) x group by item
       )
       select vel.item, vel.v, vel.users, coalesce(base.total, 0)::float8 as base from vel left join base on base.item = vel.item where vel.users >= $5`,
      [now.toISOString(), W + B, W, tau, this.deps.config.discovery.trendingMinUsers],
    );
    const meanDecay = (tau / W) * (1 - Math.exp(-W / tau));
    const slices = B / W;
    return rows
      .map((r) => {
        const expected = (Number(r.base) / slices) * meanDecay;
        return { id: r.item, score: (Number(r.v) - expected) / Math.sqrt(expected + 1), users: Number(r.users) };
      })
      .filter((e) => e.score > 0)
      .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1))
      .slice(0, KEEP);
  }

  /** Compute one list, store it (table, then cache) atomically replacing the previous one. */
  async refresh(kind: TrendingKind, window: TrendingWindow, now = new Date()): Promise<TrendingEntry[]> {
    const entries = await this.compute(kind, window, now);
    await this.deps.database.transaction(async (tx) => {
      await tx.delete(trendingScores).where(and(eq(trendingScores.kind, kind), eq(trendingScores.window, window)));
      if (entries.length)
        await tx.insert(trendingScores).values(entries.map((e, rank) => ({ kind, window, itemId: e.id, rank, score: e.score, users: e.users, computedAt: now })));
    });
    await this.deps.cache.cache.set(cacheKey(kind, window), JSON.stringify(entries), CACHE_TTL_MS);
    return entries;
  }

  async refreshAll(kinds: TrendingKind[] = ['post', 'video', 'hashtag']): Promise<void> {
    for (const kind of kinds) for (const window of Object.keys(WINDOWS) as TrendingWindow[]) await this.refresh(kind, window);
  }

  /** The last computed list: from the cache, refilled from the table when the cache lost it. Never computed on a request. */
  async list(kind: TrendingKind, window: TrendingWindow): Promise<TrendingEntry[]> {
    const hit = await this.deps.cache.cache.get(cacheKey(kind, window));
    if (hit !== null) return JSON.parse(hit) as TrendingEntry[];
    const rows = await this.db
      .select()
      .from(trendingScores)
      .where(and(eq(trendingScores.kind, kind), eq(trendingScores.window, window)))
      .orderBy(asc(trendingScores.rank));
    const entries = rows.map((r) => ({ id: r.itemId, score: r.score, users: r.users }));
    await this.deps.cache.cache.set(cacheKey(kind, window), JSON.stringify(entries), CACHE_TTL_MS);
    return entries;
  }

  /** Trending posts the viewer may see, in pages over the stored list (the cursor is a position in it). */
  async posts(viewerId: string | null, window: TrendingWindow, limit: number, cursor?: string): Promise<PostPage> {
    const { hydrator } = postsServicesFor(this.deps);
    return this.page('post', window, limit, cursor, (ids) => hydrator.present(viewerId, ids, 'hashtag'));
  }

  /** Trending videos the viewer may see (the videos module's rules, `list` context), in pages like posts. */
  async videos(viewerId: string | null, window: TrendingWindow, limit: number, cursor?: string): Promise<VideoPage> {
    const videos = videosServiceFor(this.deps);
    return this.page<PresentedVideo>('video', window, limit, cursor, (ids) => videos.present(viewerId, ids, 'list'));
  }

  /** A page of a stored list, hydrated and filtered per batch; hidden entries are stepped over. */
  private async page<T>(kind: TrendingKind, window: TrendingWindow, limit: number, cursor: string | undefined, show: (ids: string[]) => Promise<Map<string, T>>): Promise<{ items: T[]; nextCursor: string | null }> {
    const list = await this.list(kind, window);
    let at = cursor === undefined ? 0 : decodeOffset(cursor);
    const items: T[] = [];
    while (at < list.length && items.length < limit) {
      const batch = list.slice(at, at + limit - items.length + 5);
      const shown = await show(batch.map((e) => e.id));
      for (const e of batch) {
        if (items.length === limit) break;
        at++;
        const x = shown.get(e.id);
        if (x !== undefined) items.push(x);
      }
    }
    return { items, nextCursor: at < list.length ? encodeOffset(at) : null };
  }

  async hashtags(window: TrendingWindow, limit: number, cursor?: string): Promise<{ items: { tag: string; score: number; users: number }[]; nextCursor: string | null }> {
    const list = await this.list('hashtag', window);
    const at = cursor === undefined ? 0 : decodeOffset(cursor);
    const items = list.slice(at, at + limit).map((e) => ({ tag: e.id, score: e.score, users: e.users }));
    return { items, nextCursor: at + limit < list.length ? encodeOffset(at + limit) : null };
  }
}

const encodeOffset = (n: number) => Buffer.from(`o${n}`, 'utf8').toString('base64url');
function decodeOffset(cursor: string): number {
  const m = /^o(\d{1,4})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw badRequest('request.invalid_cursor', 'cursor is not valid; pass back the nextCursor of a previous page', { errors: [{ field: 'cursor', message: 'is not valid' }] });
  return Number(m[1]);
}

const built = new WeakMap<Deps, TrendingService>();
export function trendingServiceFor(deps: Deps): TrendingService {
  let s = built.get(deps);
  if (!s) built.set(deps, (s = new TrendingService(deps)));
  return s;
}
