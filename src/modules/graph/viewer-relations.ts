import { randomUUID } from 'node:crypto';
import type { Cache } from '../../platform/cache/types.js';
import { executeRaw, type Db } from '../../platform/db/index.js';
import { relationsOf, type Relation } from './relations.js';

/** Accounts a viewer relates to, beyond which the sets are not cached (each read asks the database). */
export const RELATION_SET_CAP = 5000;
/** A cached set is trusted this long even without a change (bounds the cost of a missed invalidation). */
const SET_TTL_MS = 10 * 60 * 1000;
/** Longer than SET_TTL_MS, so a set can never outlive the version it was stamped with. */
const VERSION_TTL_MS = 30 * 24 * 3600 * 1000;

const versionKey = (userId: string) => `rel:v:${userId}`;
const setsKey = (userId: string) => `rel:s:${userId}`;

/** How one viewer stands towards everyone they relate to. */
export interface ViewerSets {
  /** Accounts the viewer follows. */
  following: Set<string>;
  /** Accounts the viewer blocked or that blocked the viewer. */
  blocked: Set<string>;
  /** Accounts the viewer muted, with the end of the mute in ms since the epoch (null: forever). */
  muted: Map<string, number | null>;
}

interface Stored {
  /** The version read before the database was: a change after that makes this stale. */
  v: string;
  f: string[];
  b: string[];
  m: [string, number | null][];
}

/**
 * The viewer's follows, blocks (both ways) and mutes, cached per viewer in the cache interface
 * (Redis in production) so list reads apply their rules without a database round trip.
 *
 * Never stale after a change: every change writes a new random version for the accounts it
 * concerns (after its transaction committed); a cached set carries the version that was current
 * *before* it was read from the database, so a set read by a request that raced the change
 * carries the old version and is discarded by the next read. Version and set are fetched
 * together (one pipelined round trip on Redis).
 */
export class ViewerRelations {
  constructor(
    private readonly db: Db,
    private readonly cache: Cache,
  ) {}

  /** The viewer's sets; null when they relate to more than RELATION_SET_CAP accounts. */
  async sets(viewerId: string): Promise<ViewerSets | null> {
    const [version, cached] = await Promise.all([this.cache.get(versionKey(viewerId)), this.cache.get(setsKey(viewerId))]);
    const v = version ?? '0';
    if (cached !== null) {
      const stored = JSON.parse(cached) as Stored | { v: string; tooMany: true };
      if (stored.v === v) return 'tooMany' in stored ? null : toSets(stored);
    }
    const { rows } = await executeRaw<{ k: 'f' | 'b' | 'm'; id: string; until: string | null }>(
      this.db,
      `(select 'f' as k, followee_id as id, null::text as until from follows where follower_id = $1
        union all
        select 'b', blocked_id, null from blocks where blocker_id = $1
        union all
        select 'b', blocker_id, null from blocks where blocked_id = $1
        union all
        select 'm', muted_id, (extract(epoch from expires_at) * 1000)::bigint::text from mutes where muter_id = $1 and (expires_at is null or expires_at > now()))
       limit $2`,
      [viewerId, RELATION_SET_CAP + 1],
    );
    if (rows.length > RELATION_SET_CAP) {
      await this.cache.set(setsKey(viewerId), JSON.stringify({ v, tooMany: true }), SET_TTL_MS);
      return null;
    }
    const stored: Stored = {
      v,
      f: rows.filter((r) => r.k === 'f').map((r) => r.id),
      b: rows.filter((r) => r.k === 'b').map((r) => r.id),
      m: rows.filter((r) => r.k === 'm').map((r) => [r.id, r.until === null ? null : Number(r.until)]),
    };
    await this.cache.set(setsKey(viewerId), JSON.stringify(stored), SET_TTL_MS);
    return toSets(stored);
  }

  /**
   * Same answer as relationsOf, from the cached sets when the viewer has them. `known`: the
   * viewer's sets as `sets()` already answered them in this request (null included), so they are
   * not fetched again.
   */
  async relations(viewerId: string | null, otherIds: string[], known?: ViewerSets | null): Promise<Map<string, Relation>> {
    if (!viewerId) return relationsOf(this.db, viewerId, otherIds);
    const sets = known === undefined ? await this.sets(viewerId) : known;
    if (!sets) return relationsOf(this.db, viewerId, otherIds);
    const out = new Map<string, Relation>();
    const now = Date.now();
    for (const id of otherIds) {
      if (id === viewerId || out.has(id)) continue;
      const until = sets.muted.get(id);
      out.set(id, { following: sets.following.has(id), blocked: sets.blocked.has(id), muted: until !== undefined && (until === null || until > now) });
    }
    return out;
  }

  /**
   * Call after a committed change of follows, blocks or mutes that concerns these accounts. The
   * set is dropped as well as re-versioned: should the version key ever be evicted (a cache under
   * memory pressure), no set stamped before the change is left to match an absent version.
   */
  async changed(userIds: string[]): Promise<void> {
    await Promise.all(
      [...new Set(userIds)].flatMap((id) => [this.cache.set(versionKey(id), randomUUID(), VERSION_TTL_MS), this.cache.del(setsKey(id))]),
    );
  }
}

function toSets(s: Stored): ViewerSets {
  return { following: new Set(s.f), blocked: new Set(s.b), muted: new Map(s.m) };
}
