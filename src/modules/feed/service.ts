import type { Deps } from '../../platform/deps.js';
import { GraphService } from '../graph/service.js';
import type { PostPage, PresentedPost } from '../posts/present.js';
import { pageOf, type Paging } from '../posts/reader.js';
import { postsServicesFor, type PostsServices } from '../posts/service.js';
import { BigAuthorPosts } from './big-authors.js';
import { newestFirst, REBUILD_SIZE, TimelineStore } from './fanout.js';

/**
 * Authors with this many followers or more are not fanned out on write (one post would mean that
 * many list pushes); their posts are merged into their followers' home feeds at read time.
 * Compared with the stored follower counter (user_stats).
 */
export const FANOUT_MAX_FOLLOWERS = 10_000;
/** Follower ids per fan-out batch. */
export const FANOUT_BATCH = 1000;

export interface FeedOptions {
  /** Override FANOUT_MAX_FOLLOWERS (tests lower it to exercise the read-time merge). */
  fanoutMaxFollowers?: number;
  /** Tests: the big authors' kept lists (big-authors.ts) shorter or capped lower. */
  bigAuthors?: { keep?: number; max?: number };
}

/**
 * The home feed: hybrid fan-out. Skeleton = the viewer's cached timeline (ids pushed on write),
 * merged with the newest posts of followed authors above the threshold, then the posts module's
 * hydrate -> rules -> present pipeline, so nothing hidden ever leaks from a stale timeline.
 */
export class FeedService {
  readonly maxFollowers: number;
  readonly timelines: TimelineStore;
  private readonly bigAuthors: BigAuthorPosts;
  private readonly graph: GraphService;
  private readonly posts: PostsServices;

  constructor(
    private readonly deps: Deps,
    opts: FeedOptions = {},
  ) {
    this.maxFollowers = opts.fanoutMaxFollowers ?? FANOUT_MAX_FOLLOWERS;
    this.timelines = new TimelineStore(deps.cache.cache);
    this.graph = new GraphService(deps);
    this.posts = postsServicesFor(deps);
    this.bigAuthors = new BigAuthorPosts(deps.database, this.maxFollowers, opts.bigAuthors);
  }

  /** Job body of feed.fanout: push a new post into the built timelines of its author and followers. */
  async fanout(postId: string): Promise<{ pushed: number; skipped?: string }> {
    const info = await this.posts.reader.fanoutInfo(postId);
    if (!info || !info.timeline) return { pushed: 0, skipped: 'not a timeline post' };
    // The author's own timeline always gets it, whatever their audience.
    let pushed = await this.timelines.pushIfBuilt([info.authorId], postId);
    if ((await this.graph.followerCount(info.authorId)) >= this.maxFollowers) {
      // Merged at read time from the kept lists: this process's copy is read again at its next use.
      this.bigAuthors.stale();
      return { pushed, skipped: 'above the fan-out threshold' };
    }
    let after: string | undefined;
    for (;;) {
      const batch = await this.graph.followerIds(info.authorId, after, FANOUT_BATCH);
      if (batch.length === 0) break;
      pushed += await this.timelines.pushIfBuilt(batch, postId);
      if (batch.length < FANOUT_BATCH) break;
      after = batch[batch.length - 1];
    }
    return { pushed };
  }

  async home(viewerId: string, paging: Paging): Promise<PostPage> {
    const mine = this.graph.followeesSql(viewerId, { self: true });
    const load = (limit: number) => this.posts.reader.timelineIds(mine, null, limit);
    // The viewer's cached relation sets (their followees among them) and the timeline: one
    // pipelined round trip to Redis when both are warm.
    const [sets, cachedTimeline] = await Promise.all([this.graph.viewerRelations.sets(viewerId), this.timelines.read(viewerId, load)]);
    const followees = sets ? sets.following : new Set(await this.graph.followeeIds(viewerId));
    // Null: another request is rebuilding it; the database gives the same ids meanwhile.
    const timeline = cachedTimeline ?? (await load(REBUILD_SIZE));
    // Below the oldest cached id of a long timeline, older posts come from the database.
    const floor = timeline.length >= REBUILD_SIZE ? timeline[timeline.length - 1]! : null;

    const skeleton = async (after: string | null, n: number): Promise<string[]> => {
      const cached = (after ? timeline.filter((id) => id < after) : timeline).slice(0, n);
      // Followees at or above the threshold were never pushed: their newest posts are merged here.
      const big =
        (await this.bigAuthors.newest(followees, after, n)) ??
        (await this.posts.reader.preparedTimelineIds('feed.big-followees', GraphService.FOLLOWEES_WITH_AT_LEAST, [viewerId, this.maxFollowers], after, n));
      const parts = [cached, big];
      if (floor && cached.length < n) parts.push(await this.posts.reader.timelineIds(mine, after && after < floor ? after : floor, n));
      return newestFirst(parts.flat()).slice(0, n);
    };
    const show = async (ids: string[]): Promise<Map<string, PresentedPost>> => {
      const shown = await this.posts.hydrator.present(viewerId, ids, 'list', sets);
      // Timelines are not purged on unfollow: the author check happens here, at read time.
      for (const [id, p] of shown) if (p.author.id !== viewerId && !followees.has(p.author.id)) shown.delete(id);
      return shown;
    };
    return pageOf(skeleton, show, paging.limit, paging.cursor);
  }
}

const built = new WeakMap<Deps, FeedService>();

/** One FeedService per Deps; routes and jobs look it up per call, so tests can swap it with useFeedService. */
export function feedServiceFor(deps: Deps): FeedService {
  let s = built.get(deps);
  if (!s) {
    s = new FeedService(deps);
    built.set(deps, s);
  }
  return s;
}

/** Replace the FeedService of a process (tests: a lowered fan-out threshold). */
export function useFeedService(deps: Deps, service: FeedService): void {
  built.set(deps, service);
}
