import { and, asc, desc, eq, gt, inArray, isNull, notInArray, or, sql, type SQL } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Deps } from '../../platform/deps.js';
import type { Executor, Tx } from '../../platform/db/index.js';
import './events.js';
import { AppError, badRequest, forbidden, notFound } from '../../platform/errors.js';
import { UsersService } from '../users/service.js';
import { users, type UserRow } from '../users/tables.js';
import { bumpStats, statsOf, type StatsDelta } from './counters.js';
import { decodeGraphCursor, encodeGraphCursor } from './cursor.js';
import { isBlockedEitherWay, type Relation } from './relations.js';
import { blocks, followRequests, follows, mutes } from './tables.js';
import { ViewerRelations } from './viewer-relations.js';

export type FollowState = 'following' | 'requested';

export interface PageQuery {
  limit: number;
  cursor?: string | undefined;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** What the viewer may know about how they stand towards one account. */
export interface Relationship {
  following: boolean;
  followedBy: boolean;
  /** The viewer asked to follow and the account has not answered yet. */
  requested: boolean;
  /** The account asked to follow the viewer. */
  requestedBy: boolean;
  /** The viewer blocked them. */
  blocking: boolean;
  /** Either side blocked the other; deliberately not split into "who" (docs/graph.md). */
  unavailable: boolean;
  muting: boolean;
  /** When the mute ends; null while muting forever or not muting. */
  muteExpiresAt: string | null;
}

export interface MutedUser {
  user: UserRow;
  expiresAt: Date | null;
}

/** One message for both directions, so a refused follow never tells who blocked whom. */
const blockedError = () => forbidden('graph.blocked', 'this account is not available to you');
const selfError = (what: string) => badRequest('graph.self', `you cannot ${what} yourself`);

const GONE_STATES = ['deactivated', 'deleted'] as const;
const MICRO_ISO = (col: PgColumn) => sql<string>`to_char(${col} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** The follow and block decisions between two accounts are serialised, so a block can never race a follow into existence. */
async function lockPair(tx: Executor, a: string, b: string): Promise<void> {
  const key = a < b ? `graph:${a}:${b}` : `graph:${b}:${a}`;
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`);
}

const followEdge = (followerId: string, followeeId: string) => and(eq(follows.followerId, followerId), eq(follows.followeeId, followeeId));
const requestEdge = (requesterId: string, targetId: string) => and(eq(followRequests.requesterId, requesterId), eq(followRequests.targetId, targetId));
const activeMute = () => or(isNull(mutes.expiresAt), gt(mutes.expiresAt, sql`now()`));

/**
 * The social graph: follows, follow requests, blocks and mutes, with the follower / following
 * counters kept in the same transaction as each change. Other modules (posts fan-out, feeds,
 * notifications) use the read methods; the names are part of the module's contract.
 */
export class GraphService {
  private readonly users: UsersService;
  /** Cached follows/blocks/mutes per viewer; every change below marks the accounts it concerns. */
  readonly viewerRelations: ViewerRelations;

  constructor(private readonly deps: Deps) {
    this.users = new UsersService(deps);
    this.viewerRelations = new ViewerRelations(deps.database.db, deps.cache.cache);
  }

  private get db() {
    return this.deps.database.db;
  }

  /** An account others may see, or 404: deactivated and deleted accounts are gone from the graph's view too. */
  async resolve(username: string): Promise<UserRow> {
    const u = await this.users.visibleByUsername(username);
    if (!u) throw notFound('users.not_found', 'no such user');
    return u;
  }

  // ---- reads for other modules -------------------------------------------------------------

  /** Followers of an author in follower-id order, for fan-out in batches (pass the last id back as afterId). */
  async followerIds(authorId: string, afterId?: string, limit = 1000): Promise<string[]> {
    const rows = await this.db
      .select({ id: follows.followerId })
      .from(follows)
      .where(and(eq(follows.followeeId, authorId), afterId ? gt(follows.followerId, afterId) : undefined))
      .orderBy(asc(follows.followerId))
      .limit(limit);
    return rows.map((r) => r.id);
  }

  /** Everyone a user follows (home feed assembly, read-time merge). */
  async followeeIds(userId: string): Promise<string[]> {
    const rows = await this.db.select({ id: follows.followeeId }).from(follows).where(eq(follows.followerId, userId));
    return rows.map((r) => r.id);
  }

  /**
   * Raw SQL text selecting the followees of `$1` with at least `$2` followers (the stored counter),
   * for prepared statements that embed it (feed: the authors merged at read time).
   */
  static readonly FOLLOWEES_WITH_AT_LEAST =
    'select f.followee_id from follows f join user_stats s on s.user_id = f.followee_id where f.follower_id = $1 and s.followers >= $2';

  /**
   * The accounts `userId` follows as a subquery for another module's statement (one round trip
   * instead of fetching the ids first): with `self`, `userId` too.
   */
  followeesSql(userId: string, opts: { self?: boolean } = {}): SQL {
    const followees = sql`select followee_id from ${follows} where follower_id = ${userId}`;
    return opts.self ? sql`select ${userId}::uuid union all ${followees}` : followees;
  }

  /** The stored counter (what the fan-out threshold compares against), not a count(*). */
  async followerCount(userId: string): Promise<number> {
    return (await statsOf(this.db, userId)).followers;
  }

  async stats(userId: string): Promise<{ followers: number; following: number; posts: number }> {
    return statsOf(this.db, userId);
  }

  relations(viewerId: string | null, ids: string[]): Promise<Map<string, Relation>> {
    return this.viewerRelations.relations(viewerId, ids);
  }

  isBlockedEitherWay(a: string, b: string): Promise<boolean> {
    return isBlockedEitherWay(this.db, a, b);
  }

  async isFollowing(followerId: string, followeeId: string): Promise<boolean> {
    const rows = await this.db.select({ x: follows.followerId }).from(follows).where(followEdge(followerId, followeeId)).limit(1);
    return rows.length > 0;
  }

  // ---- follows -----------------------------------------------------------------------------

  /** Follow, or ask to when the account is private. Repeating it answers the same and changes nothing. */
  async follow(viewerId: string, target: UserRow): Promise<FollowState> {
    if (target.id === viewerId) throw selfError('follow');
    const state = await this.deps.database.transaction(async (tx): Promise<FollowState> => {
      await lockPair(tx, viewerId, target.id);
      if (await isBlockedEitherWay(tx, viewerId, target.id)) throw blockedError();
      const existing = await tx.select({ x: follows.followerId }).from(follows).where(followEdge(viewerId, target.id)).limit(1);
      if (existing.length) return 'following';
      if (target.isPrivate) {
        const asked = await tx.insert(followRequests).values({ requesterId: viewerId, targetId: target.id }).onConflictDoNothing().returning({ x: followRequests.requesterId });
        if (asked.length) await this.deps.events.publish('follow.requested', { requesterId: viewerId, targetId: target.id }, { tx });
        return 'requested';
      }
      await this.addFollow(tx, viewerId, target.id, false);
      return 'following';
    });
    await this.viewerRelations.changed([viewerId]);
    return state;
  }

  /** Stop following, and withdraw a pending request; a no-op when there is neither. */
  async unfollow(viewerId: string, target: UserRow): Promise<void> {
    if (target.id === viewerId) throw selfError('unfollow');
    await this.deps.database.transaction(async (tx) => {
      await lockPair(tx, viewerId, target.id);
      await tx.delete(followRequests).where(requestEdge(viewerId, target.id));
      const gone = await tx.delete(follows).where(followEdge(viewerId, target.id)).returning({ x: follows.followerId });
      if (gone.length) {
        await bumpStats(tx, [{ userId: target.id, followers: -1, following: 0 }, { userId: viewerId, followers: 0, following: -1 }]);
        await this.deps.events.publish('user.unfollowed', { followerId: viewerId, followeeId: target.id }, { tx });
      }
    });
    await this.viewerRelations.changed([viewerId]);
  }

  /** Approve a request to follow the viewer: it becomes a follow, counted in the same transaction. */
  async approve(viewerId: string, requester: UserRow): Promise<void> {
    await this.deps.database.transaction(async (tx) => {
      await lockPair(tx, viewerId, requester.id);
      const req = await tx.delete(followRequests).where(requestEdge(requester.id, viewerId)).returning({ x: followRequests.requesterId });
      if (!req.length) throw notFound('graph.request_not_found', 'this account has no pending request to follow you');
      await this.addFollow(tx, requester.id, viewerId, true);
    });
    await this.viewerRelations.changed([requester.id]);
  }

  /** Approve every pending request to follow `userId` (the account went public), in batches. */
  async approveAll(userId: string): Promise<number> {
    let approved = 0;
    for (;;) {
      const requesters = await this.deps.database.transaction(async (tx) => {
        const batch = await tx
          .delete(followRequests)
          .where(
            and(
              eq(followRequests.targetId, userId),
              inArray(followRequests.requesterId, tx.select({ id: followRequests.requesterId }).from(followRequests).where(eq(followRequests.targetId, userId)).limit(500)),
            ),
          )
          .returning({ requesterId: followRequests.requesterId });
        for (const r of batch) await this.addFollow(tx, r.requesterId, userId, true);
        return batch.map((r) => r.requesterId);
      });
      await this.viewerRelations.changed(requesters);
      approved += requesters.length;
      if (requesters.length === 0) return approved;
    }
  }

  async deny(viewerId: string, requester: UserRow): Promise<void> {
    const req = await this.db.delete(followRequests).where(requestEdge(requester.id, viewerId)).returning({ x: followRequests.requesterId });
    if (!req.length) throw notFound('graph.request_not_found', 'this account has no pending request to follow you');
  }

  private async addFollow(tx: Tx, followerId: string, followeeId: string, approved: boolean): Promise<void> {
    const added = await tx.insert(follows).values({ followerId, followeeId }).onConflictDoNothing().returning({ x: follows.followerId });
    if (!added.length) return;
    await bumpStats(tx, [{ userId: followeeId, followers: 1, following: 0 }, { userId: followerId, followers: 0, following: 1 }]);
    await this.deps.events.publish('user.followed', { followerId, followeeId, approved }, { tx });
  }

  // ---- blocks and mutes --------------------------------------------------------------------

  /** Block: follows and pending requests both ways go, with the counters, in one transaction. */
  async block(viewerId: string, target: UserRow): Promise<void> {
    if (target.id === viewerId) throw selfError('block');
    await this.deps.database.transaction(async (tx) => {
      await lockPair(tx, viewerId, target.id);
      const added = await tx.insert(blocks).values({ blockerId: viewerId, blockedId: target.id }).onConflictDoNothing().returning({ x: blocks.blockerId });
      if (added.length) await this.deps.events.publish('user.blocked', { blockerId: viewerId, blockedId: target.id }, { tx });
      const gone = await tx
        .delete(follows)
        .where(or(followEdge(viewerId, target.id), followEdge(target.id, viewerId)))
        .returning({ follower: follows.followerId, followee: follows.followeeId });
      const deltas: StatsDelta[] = gone.flatMap((f) => [
        { userId: f.followee, followers: -1, following: 0 },
        { userId: f.follower, followers: 0, following: -1 },
      ]);
      await bumpStats(tx, deltas);
      await tx.delete(followRequests).where(or(requestEdge(viewerId, target.id), requestEdge(target.id, viewerId)));
    });
    await this.viewerRelations.changed([viewerId, target.id]);
  }

  /** Unblocking restores nothing: follows that the block removed stay removed. */
  async unblock(viewerId: string, target: UserRow): Promise<void> {
    if (target.id === viewerId) throw selfError('unblock');
    await this.db.delete(blocks).where(and(eq(blocks.blockerId, viewerId), eq(blocks.blockedId, target.id)));
    await this.viewerRelations.changed([viewerId, target.id]);
  }

  /** Mute (again): a new duration replaces the old one; none means until unmuted. */
  async mute(viewerId: string, target: UserRow, durationSeconds?: number): Promise<Date | null> {
    if (target.id === viewerId) throw selfError('mute');
    const expiresAt = durationSeconds === undefined ? null : new Date(Date.now() + durationSeconds * 1000);
    await this.db
      .insert(mutes)
      .values({ muterId: viewerId, mutedId: target.id, expiresAt })
      .onConflictDoUpdate({ target: [mutes.muterId, mutes.mutedId], set: { expiresAt, createdAt: sql`now()` } });
    await this.viewerRelations.changed([viewerId]);
    return expiresAt;
  }

  async unmute(viewerId: string, target: UserRow): Promise<void> {
    if (target.id === viewerId) throw selfError('unmute');
    await this.db.delete(mutes).where(and(eq(mutes.muterId, viewerId), eq(mutes.mutedId, target.id)));
    await this.viewerRelations.changed([viewerId]);
  }

  // ---- relationship and lists --------------------------------------------------------------

  async relationship(viewerId: string, target: UserRow): Promise<Relationship> {
    const none: Relationship = { following: false, followedBy: false, requested: false, requestedBy: false, blocking: false, unavailable: false, muting: false, muteExpiresAt: null };
    if (viewerId === target.id) return none;
    const t = target.id;
    const [f, r, b, m] = await Promise.all([
      this.db.select({ follower: follows.followerId }).from(follows).where(or(followEdge(viewerId, t), followEdge(t, viewerId))),
      this.db.select({ requester: followRequests.requesterId }).from(followRequests).where(or(requestEdge(viewerId, t), requestEdge(t, viewerId))),
      this.db
        .select({ blocker: blocks.blockerId })
        .from(blocks)
        .where(or(and(eq(blocks.blockerId, viewerId), eq(blocks.blockedId, t)), and(eq(blocks.blockerId, t), eq(blocks.blockedId, viewerId)))),
      this.db.select({ expiresAt: mutes.expiresAt }).from(mutes).where(and(eq(mutes.muterId, viewerId), eq(mutes.mutedId, t), activeMute())),
    ]);
    return {
      following: f.some((x) => x.follower === viewerId),
      followedBy: f.some((x) => x.follower === t),
      requested: r.some((x) => x.requester === viewerId),
      requestedBy: r.some((x) => x.requester === t),
      blocking: b.some((x) => x.blocker === viewerId),
      unavailable: b.length > 0,
      muting: m.length > 0,
      muteExpiresAt: m[0]?.expiresAt?.toISOString() ?? null,
    };
  }

  /**
   * Who may see an account's follower and following lists: anyone for a public account, the owner
   * and approved followers for a private one; nobody on the other side of a block.
   */
  async assertListsVisible(viewerId: string | null, target: UserRow): Promise<void> {
    if (viewerId === target.id) return;
    if (viewerId && (await this.isBlockedEitherWay(viewerId, target.id))) throw blockedError();
    if (!target.isPrivate) return;
    if (!viewerId || !(await this.isFollowing(viewerId, target.id))) {
      throw new AppError(403, 'graph.private', 'this account is private: only its approved followers see who follows it and whom it follows');
    }
  }

  followers(viewerId: string | null, targetId: string, page: PageQuery): Promise<Page<UserRow>> {
    return this.onlyUsers(this.page(follows, follows.createdAt, follows.followerId, eq(follows.followeeId, targetId), viewerId, page));
  }

  following(viewerId: string | null, targetId: string, page: PageQuery): Promise<Page<UserRow>> {
    return this.onlyUsers(this.page(follows, follows.createdAt, follows.followeeId, eq(follows.followerId, targetId), viewerId, page));
  }

  incomingRequests(viewerId: string, page: PageQuery): Promise<Page<UserRow>> {
    return this.onlyUsers(this.page(followRequests, followRequests.createdAt, followRequests.requesterId, eq(followRequests.targetId, viewerId), null, page));
  }

  blocked(viewerId: string, page: PageQuery): Promise<Page<UserRow>> {
    return this.onlyUsers(this.page(blocks, blocks.createdAt, blocks.blockedId, eq(blocks.blockerId, viewerId), null, page));
  }

  async muted(viewerId: string, page: PageQuery): Promise<Page<MutedUser>> {
    const res = await this.page(mutes, mutes.createdAt, mutes.mutedId, and(eq(mutes.muterId, viewerId), activeMute()), null, page, mutes.expiresAt);
    return { items: res.items.map((r) => ({ user: r.user, expiresAt: r.extra as Date | null })), nextCursor: res.nextCursor };
  }

  private async onlyUsers(p: Promise<Page<{ user: UserRow }>>): Promise<Page<UserRow>> {
    const { items, nextCursor } = await p;
    return { items: items.map((r) => r.user), nextCursor };
  }

  /**
   * One newest-first keyset page of accounts on the other end of an edge table. Joins users to
   * drop deactivated and deleted accounts (and, for a signed-in viewer, accounts on the other
   * side of a block) in the query itself, so every page is full and the cursor never lands on a
   * hidden row. Hydrating afterwards (UsersService.byIds) would leave pages short or need more
   * round trips, so this read (with the reconcile job's id walk) is where the graph touches the users table.
   */
  private async page(
    table: PgTable,
    at: PgColumn,
    otherId: PgColumn,
    where: SQL | undefined,
    viewerId: string | null,
    q: PageQuery,
    extra?: PgColumn,
  ): Promise<Page<{ user: UserRow; extra: unknown }>> {
    const cursor = q.cursor ? decodeGraphCursor(q.cursor) : undefined;
    const hideBlocked = viewerId
      ? sql`not exists (select 1 from ${blocks} where (${blocks.blockerId} = ${viewerId} and ${blocks.blockedId} = ${otherId}) or (${blocks.blockerId} = ${otherId} and ${blocks.blockedId} = ${viewerId}))`
      : undefined;
    const rows = await this.db
      .select({ user: users, at: MICRO_ISO(at), extra: extra ?? sql<null>`null` })
      .from(table)
      .innerJoin(users, eq(users.id, otherId))
      .where(
        and(
          where,
          notInArray(users.state, [...GONE_STATES]),
          hideBlocked,
          cursor ? sql`(${at}, ${otherId}) < (${cursor.at}::timestamptz, ${cursor.id}::uuid)` : undefined,
        ),
      )
      .orderBy(desc(at), desc(otherId))
      .limit(q.limit + 1);
    const more = rows.length > q.limit;
    const shown = rows.slice(0, q.limit);
    const last = shown[shown.length - 1];
    return {
      items: shown.map((r) => ({ user: r.user, extra: r.extra })),
      nextCursor: more && last ? encodeGraphCursor({ at: last.at, id: last.user.id }) : null,
    };
  }
}
