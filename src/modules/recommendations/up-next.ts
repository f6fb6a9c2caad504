import { executeRaw } from '../../platform/db/index.js';
import type { Deps } from '../../platform/deps.js';
import { trendingServiceFor } from '../trending/service.js';
import type { PresentedVideo } from '../videos/present.js';
import { videoNotFound, videosServiceFor } from '../videos/service.js';
import { LISTED_VIDEO } from './video-candidates.js';

/**
 * "Up next" for a video, strongest signal first:
 * 1. co-visitation from the engagement log: videos the other people who engaged with this one
 *    engaged with too, counted in accounts and divided by sqrt(their own audience), so a video
 *    everyone watches does not come next after everything;
 * 2. content: the share of this video's tags a candidate carries, and (weaker) the same creator;
 * 3. fill: trending videos (day, then week), then the newest videos.
 * The ranked ids depend on the video only, so they are kept a few minutes per video; each request
 * then drops the viewer's finished watches and applies the videos module's rules (`list`
 * context) last, as every list does. The current video never comes back.
 */
export const UP_NEXT_WEIGHTS = { covisit: 1.0, tags: 0.6, creator: 0.1 };
/** Accounts of the current video's audience read for co-visitation (the most recent). */
const AUDIENCE = 500;
const PER_SOURCE = 150;
/** Fill from the newest videos published within this many days. */
const FILL_DAYS = 90;
const CACHE_TTL_MS = 5 * 60 * 1000;
/** The viewer's recent completed watches that are not proposed again. */
const FINISHED = 200;

interface Scores {
  covisit: number;
  tags: number;
  creator: number;
  /** Fill rank: lower comes first (trending before newest). */
  fill: number;
}

export class UpNextService {
  constructor(private readonly deps: Deps) {}

  private get db() {
    return this.deps.database.db;
  }

  async upNext(viewerId: string | null, videoId: string, limit: number): Promise<{ items: PresentedVideo[] }> {
    const videos = videosServiceFor(this.deps);
    // The same rules (and the same 404) as GET /videos/:id.
    const current = await videos.visibleRow(this.db, viewerId, videoId);
    if (!current) throw videoNotFound();
    const ranked = await this.ranked(current.id, current.ownerId, current.tags);
    const finished = viewerId ? await this.finished(viewerId) : new Set<string>();
    const ids = ranked.filter((id) => id !== current.id && !finished.has(id));
    const items: PresentedVideo[] = [];
    for (let at = 0; at < ids.length && items.length < limit; ) {
      const batch = ids.slice(at, at + limit - items.length + 5);
      at += batch.length;
      const shown = await videos.present(viewerId, batch, 'list');
      for (const id of batch) {
        const v = shown.get(id);
        if (v && items.length < limit) items.push(v);
      }
    }
    return { items };
  }

  /** The ranked candidate ids for a video (viewer-independent; cached a few minutes). */
  async ranked(videoId: string, ownerId: string, tags: string[]): Promise<string[]> {
    const key = `upnext:v1:${videoId}`;
    const hit = await this.deps.cache.cache.get(key);
    if (hit !== null) return JSON.parse(hit) as string[];
    const scores = new Map<string, Scores>();
    const get = (id: string) => {
      let s = scores.get(id);
      if (!s) scores.set(id, (s = { covisit: 0, tags: 0, creator: 0, fill: Infinity }));
      return s;
    };
    for (const r of await this.covisited(videoId)) get(r.id).covisit = r.score;
    for (const r of await this.similar(videoId, ownerId, tags)) {
      const s = get(r.id);
      s.tags = tags.length ? r.shared / tags.length : 0;
      s.creator = r.sameCreator ? 1 : 0;
    }
    const trending = trendingServiceFor(this.deps);
    const fill = [...(await trending.list('video', 'day')), ...(await trending.list('video', 'week'))].map((e) => e.id);
    fill.push(...(await this.newest(videoId)));
    fill.forEach((id, rank) => {
      const s = get(id);
      s.fill = Math.min(s.fill, rank);
    });
    scores.delete(videoId);
    // Co-visitation and trending come from the log: only finished, listed, unmoderated videos go on.
    const { rows } = await executeRaw<{ id: string }>(this.db, `select v.id from videos v where v.id = any($1::uuid[]) and ${LISTED_VIDEO}`, [[...scores.keys()]]);
    const listed = new Set(rows.map((r) => r.id));
    for (const id of scores.keys()) if (!listed.has(id)) scores.delete(id);
    const w = UP_NEXT_WEIGHTS;
    const score = (s: Scores) => w.covisit * s.covisit + w.tags * s.tags + w.creator * s.creator;
    const ids = [...scores.entries()]
      .map(([id, s]) => ({ id, primary: score(s), fill: s.fill }))
      // Scored candidates first (trending breaks their ties), then the fill in its own order.
      .sort((a, b) => (a.primary > 0) !== (b.primary > 0) ? (a.primary > 0 ? -1 : 1) : b.primary - a.primary || a.fill - b.fill || (a.id < b.id ? 1 : -1))
      .map((x) => x.id);
    await this.deps.cache.cache.set(key, JSON.stringify(ids), CACHE_TTL_MS);
    return ids;
  }

  /** Co-visitation of one video from the log, each score in (0, 1]. */
  private async covisited(videoId: string): Promise<{ id: string; score: number }[]> {
    const days = this.deps.config.discovery.recommenderHistoryDays;
    const { rows } = await executeRaw<{ id: string; s: number }>(
      this.db,
      `with audience as (
         select user_id from engagement_events
          where item_type = 'video' and item_id = $1::uuid and user_id is not null and kind <> 'create' and at > now() - make_interval(days => $2)
          group by user_id order by max(at) desc limit $3
       ),
       co as (
         select e.item_id, count(distinct e.user_id)::float8 as n
           from engagement_events e join audience a on a.user_id = e.user_id
          where e.item_type = 'video' and e.item_id <> $1::uuid and e.kind <> 'create' and e.at > now() - make_interval(days => $2)
          group by e.item_id
       ),
       reach as (
         select e.item_id, count(distinct e.user_id)::float8 as n from engagement_events e
          where e.item_type = 'video' and e.item_id in (select item_id from co) and e.user_id is not null and e.kind <> 'create' and e.at > now() - make_interval(days => $2)
          group by e.item_id
       )
       select co.item_id as id, (co.n / sqrt(reach.n))::float8 as s from co join reach on reach.item_id = co.item_id
        order by s desc, co.item_id desc limit $4`,
      [videoId, days, AUDIENCE, PER_SOURCE],
    );
    const max = Math.max(0, ...rows.map((r) => Number(r.s)));
    return max > 0 ? rows.map((r) => ({ id: r.id, score: Number(r.s) / max })) : [];
  }

  /** Videos sharing tags with this one, or by the same creator. */
  private async similar(videoId: string, ownerId: string, tags: string[]): Promise<{ id: string; shared: number; sameCreator: boolean }[]> {
    const { rows } = await executeRaw<{ id: string; shared: number; same: boolean }>(
      this.db,
      `select v.id, (select count(*) from unnest(v.tags) t where t = any($2::text[]))::int as shared, v.owner_id = $3::uuid as same
         from videos v
        where (v.tags && $2::text[] or v.owner_id = $3::uuid) and v.id <> $1::uuid and ${LISTED_VIDEO}
        order by shared desc, same desc, v.published_at desc, v.id desc limit $4`,
      [videoId, tags, ownerId, PER_SOURCE],
    );
    return rows.map((r) => ({ id: r.id, shared: Number(r.shared), sameCreator: r.same }));
  }

  /** The last fill: the newest listed videos, so a new instance without trends still has an "up next". */
  private async newest(videoId: string): Promise<string[]> {
    const { rows } = await executeRaw<{ id: string }>(
      this.db,
      `select v.id from videos v where ${LISTED_VIDEO} and v.id <> $1::uuid and v.published_at > now() - make_interval(days => $2)
        order by v.published_at desc, v.id desc limit $3`,
      [videoId, FILL_DAYS, PER_SOURCE],
    );
    return rows.map((r) => r.id);
  }

  private async finished(viewerId: string): Promise<Set<string>> {
    const { rows } = await executeRaw<{ item_id: string }>(
      this.db,
      `select item_id from engagement_events where user_id = $1::uuid and item_type = 'video' and kind = 'complete' order by at desc limit $2`,
      [viewerId, FINISHED],
    );
    return new Set(rows.map((r) => r.item_id));
  }
}

const built = new WeakMap<Deps, UpNextService>();
export function upNextFor(deps: Deps): UpNextService {
  let s = built.get(deps);
  if (!s) built.set(deps, (s = new UpNextService(deps)));
  return s;
}
