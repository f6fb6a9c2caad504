import type { Cache } from '../../platform/cache/types.js';

/** Ids kept per home timeline (newest first). Older pages are read from the database. */
export const TIMELINE_CAP = 800;
/**
 * A rebuild loads this many ids, leaving head-room under the cap: fan-out pushes that land while a
 * rebuild runs go in before the rebuilt ids and must not be trimmed off the tail.
 */
export const REBUILD_SIZE = TIMELINE_CAP - 100;
/** A built timeline is trusted this long; then the next read rebuilds it (bounds drift after missed pushes). */
export const BUILT_TTL_MS = 7 * 24 * 3600 * 1000;
/** A rebuild that never finished (its process died) stops blocking others after this. */
export const BUILDING_TTL_MS = 60 * 1000;

export const timelineKey = (userId: string) => `tl:${userId}`;
export const builtKey = (userId: string) => `tl:${userId}:built`;

/** Newest first, each id once: fan-out retries and rebuild races may push an id twice or out of order. */
/** Sort comparator for ids (time-ordered): newest first. */
export const byNewest = (a: string, b: string): number => (a < b ? 1 : a > b ? -1 : 0);

export function newestFirst(ids: Iterable<string>): string[] {
  const list = Array.isArray(ids) ? (ids as string[]) : [...ids];
  // Usually already strictly descending (then also free of repeats): one pass instead of a set and a sort.
  let ordered = true;
  for (let i = 1; i < list.length && ordered; i++) ordered = list[i - 1]! > list[i]!;
  if (ordered) return list === ids ? list.slice() : list;
  return [...new Set(list)].sort(byNewest);
}

/**
 * Home timelines in the cache interface: a capped list of post ids per user (`tl:<userId>`) and a
 * marker (`tl:<userId>:built`, 'building' or 'ready'). Only timelines with a marker receive
 * fan-out pushes; a missing marker means cold (never read, evicted, cache flushed), and the next
 * read rebuilds the list from the database.
 */
export class TimelineStore {
  constructor(private readonly cache: Cache) {}

  /** Push one post id into the timelines of `userIds` that are built (or being built); cold ones are skipped. */
  async pushIfBuilt(userIds: string[], postId: string): Promise<number> {
    const markers = await Promise.all(userIds.map((u) => this.cache.get(builtKey(u))));
    const warm = userIds.filter((_, i) => markers[i] !== null);
    await Promise.all(warm.map((u) => this.cache.listPush(timelineKey(u), [postId], TIMELINE_CAP)));
    return warm.length;
  }

  /**
   * The timeline's ids, newest first, building it first when cold. Null when another process is
   * building it right now: the caller answers from the database this once.
   *
   * Order of a rebuild: claim the marker ('building'), clear the list, query, push, mark 'ready'.
   * A post committed after the query has its fan-out job see the marker and push it; one
   * committed before the query is in the query's result. Either way no post is lost.
   */
  async read(userId: string, load: (limit: number) => Promise<string[]>): Promise<string[] | null> {
    // Marker and list together (one pipelined round trip on Redis); the list counts only when the marker says ready.
    const [marker, cachedIds] = await Promise.all([this.cache.get(builtKey(userId)), this.cache.listRange(timelineKey(userId), 0, TIMELINE_CAP - 1)]);
    if (marker === 'ready') return newestFirst(cachedIds);
    if (marker !== null || !(await this.cache.setIfAbsent(builtKey(userId), 'building', BUILDING_TTL_MS))) return null;
    await this.cache.del(timelineKey(userId));
    const ids = await load(REBUILD_SIZE);
    // LPUSH semantics: the last value given ends at the head, so oldest first.
    await this.cache.listPush(timelineKey(userId), ids.slice().reverse(), TIMELINE_CAP);
    await this.cache.set(builtKey(userId), 'ready', BUILT_TTL_MS);
    return newestFirst(await this.cache.listRange(timelineKey(userId), 0, TIMELINE_CAP - 1));
  }

  /** Forget a timeline (tests, operations): the next read rebuilds it. */
  async drop(userId: string): Promise<void> {
    await this.cache.del(builtKey(userId));
    await this.cache.del(timelineKey(userId));
  }
}
