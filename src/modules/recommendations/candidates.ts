import { topK } from '../../ml/metrics.js';
import { scoreUser } from '../../ml/recommender.js';
import { executeRaw, type Db } from '../../platform/db/index.js';
import type { LoadedModel } from './store.js';

/** One engagement of the viewer, newest first. */
export interface Seen {
  itemType: string;
  itemId: string;
  weight: number;
  at: number;
}

/** A candidate with the score each source gave it (0 when the source did not propose it), each in [0, 1]. */
export interface Candidate {
  id: string;
  collaborative: number;
  content: number;
  followed: number;
  trending: number;
}

export type Sources = Map<string, Candidate>;

export const PER_SOURCE = 150;
/** Posts (and videos) older than this are not proposed by content, followed or freshness sources. */
export const RECENT_DAYS = 30;

export function add(out: Sources, id: string, field: Exclude<keyof Candidate, 'id'>, score: number): void {
  let c = out.get(id);
  if (!c) out.set(id, (c = { id, collaborative: 0, content: 0, followed: 0, trending: 0 }));
  if (score > c[field]) c[field] = score;
}

/** Per model, the item indices of each other type: left out of a source's top-K (computed once per loaded model). */
const otherTypes = new WeakMap<LoadedModel, Map<string, Set<number>>>();
function notOfType(model: LoadedModel, itemType: string): Set<number> {
  let byType = otherTypes.get(model);
  if (!byType) otherTypes.set(model, (byType = new Map()));
  let set = byType.get(itemType);
  if (!set) {
    set = new Set();
    model.items.forEach((key, i) => {
      if (!key.startsWith(`${itemType}:`)) set!.add(i);
    });
    byType.set(itemType, set);
  }
  return set;
}

/**
 * (a) co-visitation and (b) matrix factorisation, from the served model. The viewer's history is
 * read fresh from the log and folded in when the model has not seen them yet, so a new user's
 * first likes count before the next training. Candidates are the top of each component; their
 * score is the blend the offline benchmark measures (src/ml/recommender.ts).
 */
export function collaborative(out: Sources, model: LoadedModel, viewerId: string, seen: Seen[], itemType: 'post' | 'video' = 'post'): void {
  const history = { items: [] as number[], weights: [] as number[], times: [] as number[] };
  for (const s of seen) {
    const i = model.itemIndex.get(`${s.itemType}:${s.itemId}`);
    if (i === undefined) continue;
    history.items.push(i);
    history.weights.push(s.weight);
    history.times.push(s.at);
  }
  const user = model.userIndex.get(viewerId) ?? null;
  if (user === null && history.items.length === 0) return;
  const parts = scoreUser(model.model, user, history);
  // The model mixes posts and videos; only items of the asked type compete for the top K.
  const exclude = new Set([...history.items, ...notOfType(model, itemType)]);
  const picks = new Set([...topK(parts.mf, PER_SOURCE, exclude), ...topK(parts.covisit, PER_SOURCE, exclude)]);
  let max = 0;
  for (const i of picks) max = Math.max(max, parts.blended[i]!);
  if (max <= 0) return;
  for (const i of picks) {
    const [type, id] = model.items[i]!.split(':') as [string, string];
    if (type === itemType && parts.blended[i]! > 0) add(out, id, 'collaborative', parts.blended[i]! / max);
  }
}

/**
 * (c) content similarity: recent posts sharing hashtags with what the viewer engaged with, plus
 * the hashtags they picked at onboarding (the cold-start signal). New posts the model has never
 * seen reach people this way.
 */
export async function content(out: Sources, db: Db, seen: Seen[], interests: string[]): Promise<void> {
  const postIds = seen.filter((s) => s.itemType === 'post').map((s) => s.itemId);
  const weights = new Map<string, number>();
  for (const t of interests) weights.set(t, 3);
  if (postIds.length) {
    const { rows } = await executeRaw<{ tag: string; n: number }>(db, `select tag, count(*)::int as n from post_hashtags where post_id = any($1::uuid[]) group by tag`, [postIds]);
    for (const r of rows) weights.set(r.tag, (weights.get(r.tag) ?? 0) + Number(r.n));
  }
  const top = [...weights.entries()].sort((a, b) => b[1] - a[1]).slice(0, 20);
  if (top.length === 0) return;
  const { rows } = await executeRaw<{ id: string; s: number }>(
    db,
    `select h.post_id as id, sum(t.w)::float8 as s
       from unnest($1::text[], $2::float8[]) as t(tag, w)
       join post_hashtags h on h.tag = t.tag
       join posts p on p.id = h.post_id
      where p.deleted_at is null and p.reply_to_id is null and p.repost_of_id is null and p.visibility = 'public'
        and p.moderation_state = 'visible' and p.created_at > now() - make_interval(days => $3)
      group by h.post_id order by s desc, h.post_id desc limit $4`,
    [top.map((t) => t[0]), top.map((t) => t[1]), RECENT_DAYS, PER_SOURCE],
  );
  const max = Math.max(0, ...rows.map((r) => Number(r.s)));
  for (const r of rows) add(out, r.id, 'content', Number(r.s) / max);
}

/** (d) followed creators: their recent top-level posts, newest scoring highest. */
export async function followed(out: Sources, db: Db, viewerId: string): Promise<void> {
  const { rows } = await executeRaw<{ id: string }>(
    db,
    `select p.id from follows f join posts p on p.author_id = f.followee_id
      where f.follower_id = $1 and p.deleted_at is null and p.reply_to_id is null and p.repost_of_id is null
        and p.created_at > now() - make_interval(days => $2)
      order by p.id desc limit $3`,
    [viewerId, RECENT_DAYS, PER_SOURCE],
  );
  rows.forEach((r, rank) => add(out, r.id, 'followed', 1 - rank / (rows.length + 1)));
}

/** (e) trending: the current list, by rank. */
export function trending(out: Sources, ids: string[]): void {
  ids.slice(0, PER_SOURCE).forEach((id, rank) => add(out, id, 'trending', 1 - rank / (ids.length + 1)));
}
