import { and, eq, gt, inArray, isNull, or, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/db/index.js';
import { blocks, follows, mutes } from './tables.js';

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
 * Relations of one viewer to many accounts in three queries (hydration step of every read).
 * An anonymous viewer follows, blocks and mutes nobody.
 */
export async function relationsOf(db: Executor, viewerId: string | null, otherIds: string[]): Promise<Map<string, Relation>> {
  const out = new Map<string, Relation>();
  const ids = [...new Set(otherIds)].filter((id) => id !== viewerId);
  for (const id of ids) out.set(id, { ...NONE });
  if (!viewerId || ids.length === 0) return out;
  // One after another: `db` may be a transaction, whose single connection must not get overlapping queries.
  const f = await db.select({ id: follows.followeeId }).from(follows).where(and(eq(follows.followerId, viewerId), inArray(follows.followeeId, ids)));
  const b = await db
    .select({ blocker: blocks.blockerId, blocked: blocks.blockedId })
    .from(blocks)
    .where(or(and(eq(blocks.blockerId, viewerId), inArray(blocks.blockedId, ids)), and(eq(blocks.blockedId, viewerId), inArray(blocks.blockerId, ids))));
  const m = await db
    .select({ id: mutes.mutedId })
    .from(mutes)
    .where(and(eq(mutes.muterId, viewerId), inArray(mutes.mutedId, ids), or(isNull(mutes.expiresAt), gt(mutes.expiresAt, new Date()))));
  for (const r of f) out.get(r.id)!.following = true;
  for (const r of b) out.get(r.blocker === viewerId ? r.blocked : r.blocker)!.blocked = true;
  for (const r of m) out.get(r.id)!.muted = true;
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
 * Among `recipientIds`, those who must not hear from `actorId`: either side blocked the other,
 * or the recipient muted the actor. Three queries whatever the batch size (notification fan-out:
 * relationsOf answers from one viewer's side, this from many viewers' towards one actor).
 */
export async function excludedAudience(db: Executor, actorId: string, recipientIds: string[]): Promise<Set<string>> {
  const out = new Set<string>();
  const ids = [...new Set(recipientIds)].filter((id) => id !== actorId);
  if (ids.length === 0) return out;
  const b = await db
    .select({ blocker: blocks.blockerId, blocked: blocks.blockedId })
    .from(blocks)
    // One array parameter rather than a thousand: planning cost stays flat with the batch size.
    .where(or(and(eq(blocks.blockerId, actorId), sql`${blocks.blockedId} = any(${sql.param(ids)}::uuid[])`), and(eq(blocks.blockedId, actorId), sql`${blocks.blockerId} = any(${sql.param(ids)}::uuid[])`)));
  const m = await db
    .select({ id: mutes.muterId })
    .from(mutes)
    .where(and(eq(mutes.mutedId, actorId), sql`${mutes.muterId} = any(${sql.param(ids)}::uuid[])`, or(isNull(mutes.expiresAt), gt(mutes.expiresAt, new Date()))));
  for (const r of b) out.add(r.blocker === actorId ? r.blocked : r.blocker);
  for (const r of m) out.add(r.id);
  return out;
}
