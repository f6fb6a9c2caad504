import { and, eq, or, sql, type SQL } from 'drizzle-orm';
import { executeRaw, type Executor } from '../../platform/db/index.js';
import { blocks, mutes } from './tables.js';

/** How a viewer stands towards one other account: what every read path needs to apply its rules. */
export interface Relation {
  /** The viewer follows them. */
  following: boolean;
  /** Either side blocked the other: hide everything, both ways. */
  blocked: boolean;
  /** The viewer muted them: hide from the viewer only. */
  muted: boolean;
}

const NONE: Relation = { following: false, blocked: false, muted: false };

/**
 * Relations of one viewer to many accounts (hydration step of every read), in one round trip:
 * follows, blocks both ways and live mutes as one union. An anonymous viewer follows, blocks and
 * mutes nobody.
 */
export async function relationsOf(db: Executor, viewerId: string | null, otherIds: string[]): Promise<Map<string, Relation>> {
  const out = new Map<string, Relation>();
  const ids = [...new Set(otherIds)].filter((id) => id !== viewerId);
  for (const id of ids) out.set(id, { ...NONE });
  if (!viewerId || ids.length === 0) return out;
  const { rows } = await executeRaw<{ k: 'f' | 'b' | 'm'; id: string }>(
    db,
    `select 'f' as k, followee_id as id from follows where follower_id = $1 and followee_id = any($2::uuid[])
     union all
     select 'b', case when blocker_id = $1 then blocked_id else blocker_id end from blocks
       where (blocker_id = $1 and blocked_id = any($2::uuid[])) or (blocked_id = $1 and blocker_id = any($2::uuid[]))
     union all
     select 'm', muted_id from mutes where muter_id = $1 and muted_id = any($2::uuid[]) and (expires_at is null or expires_at > now())`,
    [viewerId, ids],
  );
  for (const r of rows) {
    const rel = out.get(r.id);
    if (!rel) continue;
    if (r.k === 'f') rel.following = true;
    else if (r.k === 'b') rel.blocked = true;
    else rel.muted = true;
  }
  return out;
}

export async function isBlockedEitherWay(db: Executor, a: string, b: string): Promise<boolean> {
  const rows = await db
    .select({ x: blocks.blockerId })
    .from(blocks)
    .where(or(and(eq(blocks.blockerId, a), eq(blocks.blockedId, b)), and(eq(blocks.blockerId, b), eq(blocks.blockedId, a))))
    .limit(1);
  return rows.length > 0;
}

/**
 * Who must not hear from `actorId`, as an SQL condition on a recipient column, for statements
 * that pick an audience themselves (the video fan-out's page query): true when either side
 * blocked the other or the recipient has a live mute of the actor.
 */
export function excludedFromAudienceSql(actorId: string, recipient: SQL): SQL {
  return sql`(exists (select 1 from ${blocks} where (${blocks.blockerId} = ${actorId} and ${blocks.blockedId} = ${recipient}) or (${blocks.blockedId} = ${actorId} and ${blocks.blockerId} = ${recipient}))
    or exists (select 1 from ${mutes} where ${mutes.mutedId} = ${actorId} and ${mutes.muterId} = ${recipient} and (${mutes.expiresAt} is null or ${mutes.expiresAt} > now())))`;
}
