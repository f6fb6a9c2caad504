import { asc, eq, gt, inArray, sql } from 'drizzle-orm';
import type { Database, Executor } from '../../platform/db/index.js';
import { users } from '../users/tables.js';
import { userStats } from './tables.js';

/** A change to one account's counters; negative values decrement. */
export interface StatsDelta {
  userId: string;
  followers: number;
  following: number;
}

/**
 * Apply counter changes inside the caller's transaction. The row is created on first use (an
 * account with no row has zero of everything), and a counter never goes below zero even when it
 * had drifted low before the change. Rows are touched in id order so two transactions over the
 * same accounts always lock them in the same order.
 */
export async function bumpStats(tx: Executor, deltas: StatsDelta[]): Promise<void> {
  const merged = new Map<string, StatsDelta>();
  for (const d of deltas) {
    const m = merged.get(d.userId) ?? { userId: d.userId, followers: 0, following: 0 };
    m.followers += d.followers;
    m.following += d.following;
    merged.set(d.userId, m);
  }
  const ordered = [...merged.values()].filter((d) => d.followers !== 0 || d.following !== 0).sort((a, b) => (a.userId < b.userId ? -1 : 1));
  for (const d of ordered) {
    await tx
      .insert(userStats)
      .values({ userId: d.userId, followers: Math.max(d.followers, 0), following: Math.max(d.following, 0) })
      .onConflictDoUpdate({
        target: userStats.userId,
        set: {
          followers: sql`greatest(${userStats.followers} + ${d.followers}::int, 0)`,
          following: sql`greatest(${userStats.following} + ${d.following}::int, 0)`,
        },
      });
  }
}

export interface ReconcileResult {
  /** Accounts looked at. */
  checked: number;
  /** Accounts whose followers or following count was wrong and is now right. */
  fixed: number;
}

/**
 * Recompute followers / following from the follows table for every account, in batches, and fix
 * the ones that drifted (a crash between statements cannot cause drift, but manual SQL, restores
 * and bugs can). Each batch locks its stats rows before counting: a follow that commits meanwhile
 * waits on that lock and then adds its +1 on top of the fresh count, so the job never undoes a
 * concurrent change. It walks the users table's ids only because every account must be checked,
 * including ones whose stats row was lost.
 */
export async function reconcileFollowCounts(database: Database, batchSize = 500): Promise<ReconcileResult> {
  let after: string | undefined;
  let checked = 0;
  let fixed = 0;
  for (;;) {
    const ids = (
      await database.db
        .select({ id: users.id })
        .from(users)
        .where(after ? gt(users.id, after) : undefined)
        .orderBy(asc(users.id))
        .limit(batchSize)
    ).map((r) => r.id);
    if (ids.length === 0) break;
    after = ids[ids.length - 1];
    checked += ids.length;
    fixed += await database.transaction(async (tx) => {
      await tx.insert(userStats).values(ids.map((userId) => ({ userId }))).onConflictDoNothing();
      await tx.select({ id: userStats.userId }).from(userStats).where(inArray(userStats.userId, ids)).orderBy(asc(userStats.userId)).for('update');
      const res = (await tx.execute(sql`
        update user_stats as s set followers = t.followers, following = t.following
        from (
          select user_stats.user_id,
            (select count(*)::int from follows f where f.followee_id = user_stats.user_id) as followers,
            (select count(*)::int from follows f where f.follower_id = user_stats.user_id) as following
          from user_stats where ${inArray(userStats.userId, ids)}
        ) as t
        where s.user_id = t.user_id and (s.followers <> t.followers or s.following <> t.following)
        returning s.user_id`)) as unknown as { rows: unknown[] };
      return res.rows.length;
    });
  }
  return { checked, fixed };
}

/** The stored counters of one account (zeros before its first follow or post). */
export async function statsOf(db: Executor, userId: string): Promise<{ followers: number; following: number; posts: number }> {
  const [row] = await db.select({ followers: userStats.followers, following: userStats.following, posts: userStats.posts }).from(userStats).where(eq(userStats.userId, userId));
  return row ?? { followers: 0, following: 0, posts: 0 };
}
