import type { Database } from '../../platform/db/index.js';
import { byNewest } from './fanout.js';

/** Newest live top-level posts kept per big author: a bit over two pages. */
export const BIG_AUTHOR_KEEP = 48;
/** Kept lists older than this are read again before use (stale-while-revalidate after the first read). */
export const BIG_AUTHOR_REFRESH_MS = 1000;
/** With more accounts than this at or above the threshold, the feed asks the database per page instead. */
export const BIG_AUTHOR_MAX = 2000;

interface Kept {
  /** Author id -> newest post ids, newest first (at most BIG_AUTHOR_KEEP). */
  posts: Map<string, string[]>;
  /** When the read that made it began. */
  started: number;
  /** Same, or 0 once a local change made it stale. */
  at: number;
}

/**
 * The newest posts of every account at or above the fan-out threshold, kept in this process and
 * read again from the database at most once a second. Their posts are never pushed into timelines
 * (one post would mean that many pushes), so every home page merges them in; asking the database
 * for them on every page cost as much as the rest of the page together (one more round trip).
 *
 * Ids only: every page still goes through hydration and the rules, so a post deleted or hidden
 * since is dropped there. What waits for the next read is a *new* post of a big author: up to a
 * second on API processes other than the worker that ran its fan-out (which marks its own copy
 * stale at once). New posts have the largest ids, so a late one lands above the first page and
 * never between pages a reader already has.
 */
export class BigAuthorPosts {
  private kept: Kept | null = null;
  private loading: Promise<Kept | null> | null = null;
  private loadingSince = 0;
  private staleSince = 0;
  /** Too many big authors to keep (more than `max`): the caller asks the database. */
  private tooMany = false;

  private readonly keep: number;
  private readonly max: number;

  constructor(
    private readonly database: Database,
    private readonly threshold: number,
    /** Tests: smaller lists and a smaller cap than BIG_AUTHOR_KEEP and BIG_AUTHOR_MAX. */
    opts: { keep?: number; max?: number } = {},
  ) {
    this.keep = opts.keep ?? BIG_AUTHOR_KEEP;
    this.max = opts.max ?? BIG_AUTHOR_MAX;
  }

  /** A post of a big author was written (fan-out job): read again at the next use. */
  stale(): void {
    this.staleSince = Date.now();
    if (this.kept) this.kept.at = 0;
  }

  /**
   * The newest `n` ids below `before` of the authors among `followees` that are at or above the
   * threshold, newest first; null when the kept lists cannot answer (too many big authors, or a
   * page deeper than BIG_AUTHOR_KEEP posts of some author), and the caller asks the database.
   */
  async newest(followees: Iterable<string>, before: string | null, n: number): Promise<string[] | null> {
    // Threshold 0 (fan-out off): every author is merged at read time; there is nothing worth keeping.
    if (this.threshold <= 0) return null;
    const kept = await this.current();
    if (!kept) return null;
    const out: string[] = [];
    for (const id of followees) {
      const list = kept.posts.get(id);
      if (!list) continue;
      const below = before ? list.filter((p) => p < before) : list;
      // A full list may have older posts past its end: only trust it while it has n to give.
      if (list.length >= this.keep && below.length < n) return null;
      for (let i = 0; i < below.length && i < n; i++) out.push(below[i]!);
    }
    return out.sort(byNewest).slice(0, n);
  }

  private async current(): Promise<Kept | null> {
    if (this.tooMany && this.kept && Date.now() - this.kept.at < 60 * BIG_AUTHOR_REFRESH_MS) return null;
    if (this.kept && Date.now() - this.kept.at < BIG_AUTHOR_REFRESH_MS) return this.tooMany ? null : this.kept;
    // A read in flight will do unless it began before the last local change (it may miss that post).
    const loading = this.loading && this.loadingSince > this.staleSince ? this.loading : this.startLoad();
    // The first read, and a read after a local change, wait for the new lists; others keep using
    // the previous ones meanwhile.
    if (!this.kept || this.kept.at === 0) return loading;
    return this.tooMany ? null : this.kept;
  }

  private startLoad(): Promise<Kept | null> {
    const since = Date.now();
    const p: Promise<Kept | null> = this.load(since).finally(() => {
      if (this.loading === p) this.loading = null;
    });
    // Nobody may be waiting on a background read: its failure (the database away a moment) must not
    // become an unhandled rejection; the next page retries, and those that wait on it still see it.
    p.catch(() => {});
    this.loading = p;
    this.loadingSince = since;
    return p;
  }

  private async load(started: number): Promise<Kept | null> {
    const { rows } = await this.database.prepared<{ author: string; id: string | null }>(
      'feed.big-author-posts',
      `with a as (select user_id from user_stats where followers >= $1::int limit $3::int)
       select a.user_id as author, p.id from a
       left join lateral (select id from posts where author_id = a.user_id and deleted_at is null and reply_to_id is null order by id desc limit $2::int) p on true`,
      [this.threshold, this.keep, this.max + 1],
    );
    const posts = new Map<string, string[]>();
    for (const r of rows) {
      let list = posts.get(r.author);
      if (!list) posts.set(r.author, (list = []));
      if (r.id) list.push(r.id);
    }
    for (const list of posts.values()) list.sort(byNewest);
    const kept: Kept = { posts, started, at: this.staleSince >= started ? 0 : started };
    // Two reads can overlap (one began before a change): the one that began last wins.
    if (!this.kept || started >= this.kept.started) {
      this.kept = kept;
      this.tooMany = posts.size > this.max;
    }
    return this.tooMany ? null : this.kept;
  }
}
