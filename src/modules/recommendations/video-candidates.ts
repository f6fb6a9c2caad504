import { executeRaw, type Db } from '../../platform/db/index.js';
import { add, PER_SOURCE, RECENT_DAYS, type Seen, type Sources } from './candidates.js';

/**
 * Video candidate sources for "For you" (videos), the counterparts of the post sources in
 * candidates.ts; collaborative candidates come from the same model (`collaborative(..., 'video')`).
 * Skeletons only: the videos module's rules run on every page after hydration.
 */

/** A video that may be proposed to others at all: finished, listed, unmoderated, not deleted. */
export const LISTED_VIDEO = `v.deleted_at is null and v.status = 'ready' and v.published_at is not null and v.moderation_state = 'visible' and v.visibility <> 'unlisted' and v.visibility <> 'private'`;

/**
 * (c) content similarity: recent videos sharing tags with the videos the viewer engaged with, plus
 * their onboarding interests (hashtags match video tags of the same spelling). A new video reaches
 * people this way before any training includes it.
 */
export async function videoContent(out: Sources, db: Db, seen: Seen[], interests: string[]): Promise<void> {
  const videoIds = seen.filter((s) => s.itemType === 'video').map((s) => s.itemId);
  const weights = new Map<string, number>();
  for (const t of interests) weights.set(t, 3);
  if (videoIds.length) {
    const { rows } = await executeRaw<{ tag: string; n: number }>(db, `select t as tag, count(*)::int as n from videos v, unnest(v.tags) as t where v.id = any($1::uuid[]) group by t`, [videoIds]);
    for (const r of rows) weights.set(r.tag, (weights.get(r.tag) ?? 0) + Number(r.n));
  }
  const top = [...weights.entries()].sort((a, b) => b[1] - a[1]).slice(0, 20);
  if (top.length === 0) return;
  const { rows } = await executeRaw<{ id: string; s: number }>(
    db,
    `select v.id, sum(t.w)::float8 as s
       from unnest($1::text[], $2::float8[]) as t(tag, w)
       join videos v on v.tags @> array[t.tag]
      where ${LISTED_VIDEO} and v.published_at > now() - make_interval(days => $3)
      group by v.id order by s desc, v.id desc limit $4`,
    [top.map((t) => t[0]), top.map((t) => t[1]), RECENT_DAYS, PER_SOURCE],
  );
  const max = Math.max(0, ...rows.map((r) => Number(r.s)));
  for (const r of rows) add(out, r.id, 'content', Number(r.s) / max);
}

/** (d) followed creators: their recent videos, newest scoring highest. */
export async function videoFollowed(out: Sources, db: Db, viewerId: string): Promise<void> {
  const { rows } = await executeRaw<{ id: string }>(
    db,
    `select v.id from follows f join videos v on v.owner_id = f.followee_id
      where f.follower_id = $1 and ${LISTED_VIDEO} and v.published_at > now() - make_interval(days => $2)
      order by v.published_at desc, v.id desc limit $3`,
    [viewerId, RECENT_DAYS, PER_SOURCE],
  );
  rows.forEach((r, rank) => add(out, r.id, 'followed', 1 - rank / (rows.length + 1)));
}
