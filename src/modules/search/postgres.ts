import { LRUCache } from 'lru-cache';
import { executeRaw, type Database, type Executor } from '../../platform/db/index.js';
import { rankedAfter, type HashtagHit, type NameQuery, type PostQuery, type SearchBackend, type SearchKey, type SuggestQuery, type VideoQuery } from './backend.js';
import { combineOptions, matchEstimate, prefixLexeme, wordOptions, type CorrectedQuery, type WordOptions } from './terms.js';

/**
 * Search on the product's own tables, identical on PGlite and PostgreSQL:
 * - posts: `posts.search_vector`, a stored `to_tsvector('english', text)` with a GIN index (added
 *   by the hand-written migration *_discovery_search_vector_manual.sql, so the ORM never selects
 *   it), for words and stems; each query word the
 *   vocabulary (search_terms) does not know is OR'd with its nearest known terms by trigram
 *   similarity, so a typo ("vidoe") still reaches "video" with one full-text index scan.
 * - videos: `videos.search_vector`, a stored weighted vector (title A, tags B, description C; the
 *   hand-written migration *_videos_search.sql) with a GIN index, queried with the same corrected
 *   tsquery; ts_rank_cd's default weights rank a title match above a tag or description match.
 * - users: trigram similarity on lower(username) and lower(display_name), prefix matches first.
 * - hashtags: trigram similarity and prefix on the hashtag vocabulary (search_hashtags).
 * Every value goes in as a bind parameter; LIKE patterns escape their wildcards.
 */
/** Matches ranked by relevance: the newest this many (see posts()). */
export const RELEVANCE_WINDOW = 1000;

/** Query words whose options are kept at most (a few hundred bytes each). */
const CACHED_WORDS = 10_000;

/** How long the post count the match plans use is kept (see matchPlan()). */
const POST_COUNT_MS = 60_000;

/** People search's prefix tier: candidates per username length (see users()). */
export const PREFIX_PER_LENGTH = 50;
/** The longest username (the accounts module's limit): the prefix tier's last length. */
const USERNAME_MAX_LENGTH = 30;

/** Words beyond this many are left to the ranking (websearch query) rather than each being required. */
const MAX_WORDS = 8;

/** The words of a query, each required: lower-case letter/digit runs, de-duplicated, at most MAX_WORDS. */
export function queryWords(q: string): string[] {
  return [...new Set(q.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? [])].filter((w) => w.length <= 64).slice(0, MAX_WORDS);
}

export const likePrefix = (q: string) => `${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * The conditions every video search shares (`$1` is the tsquery, pushed by the caller): finished,
 * published, unmoderated, listed videos; others' private ones left out early (the videos module's
 * rules still decide per viewer at hydration).
 */
function listedVideos(values: unknown[], viewerId: string | null): string[] {
  const where = [
    `v.search_vector @@ to_tsquery('simple', $1)`,
    `v.deleted_at is null`,
    `v.status = 'ready'`,
    `v.published_at is not null`,
    `v.moderation_state = 'visible'`,
    `v.visibility <> 'unlisted'`,
  ];
  if (viewerId) {
    values.push(viewerId);
    where.push(`(v.visibility <> 'private' or v.owner_id = $${values.length}::uuid)`);
  } else where.push(`v.visibility = 'public'`);
  return where;
}

/**
 * How `from`'s matches are found. `scan`: walk the table newest first (its primary key; ids are
 * time-ordered) testing each row, which stops after the rows wanted: best for a common word, whose
 * matches are dense. `index`: every match from the full-text (GIN) index first, then the newest:
 * best for a rarer word, whose newest matches are spread over a large part of the table (a word in
 * 0.6% of 1M posts meant testing ~190 000 rows to find its newest 1000: 90 ms). `rum` (posts only,
 * where the server has the RUM extension: migration 0014): the RUM index hands the matches out
 * newest first by itself, so only the rows wanted are read from the table: best for all but the
 * commonest words (psql, 1M posts, a word in 6 600 posts: 3.6 ms against 135 ms by the GIN index
 * and 177 ms by the walk).
 */
export type MatchPlan = 'scan' | 'index' | 'rum';

/** What reading one match from the index costs, in rows tested by a walk (see matchPlan()). */
const INDEX_ROW_COST = 10;
/** What reading one match's entry from the RUM index costs, in rows tested by a walk (entries are read and ordered in memory). */
const RUM_ENTRY_COST = 0.5;
/** What fetching one of the rows a RUM scan hands out costs, in rows tested by a walk (they are few, and the newest, so often cached). */
const RUM_ROW_COST = 3;

/**
 * The plan for finding the newest `wanted` of about `estimate` matches among `rows` rows: a
 * scan tests about wanted x rows / estimate rows; the index reads every match, each at roughly
 * the cost of testing INDEX_ROW_COST rows in a scan (random heap reads against a sequential walk;
 * measured on 1M posts); RUM (when `rum`) reads every match's index entry and fetches only the
 * rows wanted. The cheapest wins; a tie goes to the scan.
 */
export function matchPlan(estimate: number, wanted: number, rows: number, rum = false): MatchPlan {
  const plain = plainPlan(estimate, wanted, rows);
  if (!rum) return plain;
  const viaRum = estimate * RUM_ENTRY_COST + Math.min(wanted, estimate) * RUM_ROW_COST;
  return viaRum < Math.min(scanCost(estimate, wanted, rows), estimate * INDEX_ROW_COST) ? 'rum' : plain;
}

/** Rows a walk tests to find the newest `wanted` of `estimate` matches among `rows`. */
const scanCost = (estimate: number, wanted: number, rows: number) => (wanted * rows) / Math.max(estimate, 1);

/** matchPlan() without RUM. */
function plainPlan(estimate: number, wanted: number, rows: number): 'scan' | 'index' {
  return estimate * INDEX_ROW_COST < scanCost(estimate, wanted, rows) ? 'index' : 'scan';
}

/** The largest bigint: a RUM scan from here hands out every match, newest first. */
const MAX_ORDER = '9223372036854775807';

/**
 * A post's place in the RUM index's order: the first 60 bits of its id as a number (the generated
 * column `posts.search_order` of migration 0014). Never decreases as the id grows: ids compare as
 * their bytes, and these are the leading ones.
 */
export function searchOrder(id: string): string {
  return BigInt(`0x${id.replace(/-/g, '').slice(0, 15)}`).toString();
}

/**
 * `from`'s rows under `where` as the plan says, newest first, at most `limit` (a parameter number):
 * with the index plan the matches are a materialized CTE, so the planner cannot turn them back into
 * a walk of the primary key (which its row estimates often favour: testing a row's search vector
 * costs more than it assumes).
 */
function newestMatches(from: 'posts p' | 'videos v', where: string[], columns: string, limit: string, plan: 'scan' | 'index'): string {
  const alias = from.slice(-1);
  if (plan === 'scan') return `select ${columns} from ${from} where ${where.join(' and ')} order by ${alias}.id desc limit ${limit}`;
  return `with c as materialized (select ${columns} from ${from} where ${where.join(' and ')}) select * from c order by id desc limit ${limit}`;
}

/**
 * Relevance ranked among the newest RELEVANCE_WINDOW matches of `from` ("posts p" or "videos v")
 * under `where`, whose $1 is the tsquery: a common word matches a large share of all rows, and
 * ranking every one of them would cost a scan of them all. Adds its parameters to `values`.
 */
function rankedWindow(from: 'posts p' | 'videos v', where: string[], values: unknown[], after: SearchKey | null, limit: number, plan: 'scan' | 'index' = 'scan'): string {
  const alias = from.slice(-1);
  let page = '';
  if (after) {
    values.push(after.score, after.id);
    page = `where (score, id) < ($${values.length - 1}::float8, $${values.length}::uuid)`;
  }
  values.push(RELEVANCE_WINDOW, limit);
  const window = newestMatches(from, where, `${alias}.id, ${alias}.search_vector`, `$${values.length - 1}`, plan);
  return `select id, score from (
      select m.id, ts_rank_cd(m.search_vector, to_tsquery('simple', $1))::float8 as score
      from (${window}) m
    ) s ${page} order by score desc, id desc limit $${values.length}`;
}

/** Run a skeleton statement answering (id, score) rows; each row's key is its score and id. */
async function keyed(ex: Executor, sql: string, values: unknown[]): Promise<{ id: string; key: SearchKey }[]> {
  const { rows } = await executeRaw<{ id: string; score: number }>(ex, sql, values);
  return rows.map((r) => ({ id: r.id, key: { score: Number(r.score), id: r.id } }));
}

/**
 * Search statements run on the pool, outside transactions: the trigram threshold of `%`
 * (TRIGRAM_SIMILARITY) is a session setting every connection starts with (platform/db).
 */
export class PostgresSearchBackend implements SearchBackend {
  readonly kind = 'postgres';
  readonly relevanceWindow = RELEVANCE_WINDOW;

  /**
   * `plan` fixes the match plan of post searches instead of choosing it per query (tests compare
   * the plans); `wordSeconds` keeps each query word's options that long (0, the default: only
   * while the lookup runs).
   */
  constructor(
    private readonly database: Database,
    private readonly options: { plan?: MatchPlan; wordSeconds?: number } = {},
  ) {
    const seconds = options.wordSeconds ?? 0;
    this.words = seconds > 0 ? new LRUCache({ max: CACHED_WORDS, ttl: seconds * 1000 }) : new Map();
  }

  /**
   * The planner's count of posts (pg_class.reltuples) and whether the RUM index of migration 0014
   * exists, re-read each POST_COUNT_MS (an operator may add the index by hand later).
   */
  private postCount: { rows: number; rum: boolean; at: number } | null = null;

  /**
   * Each query word's options (its stem, or a typo's similar known terms; terms.ts), by word: kept
   * for `wordSeconds` (the service's SEARCH_CACHE_SECONDS), so the words common to many searches
   * ("video" in "video", "cooking video", a typo-free `all` search...) are looked up once per period
   * instead of once per search; a word the vocabulary learns meanwhile, or a count that moves, shows
   * when the period ends, as new matches do in a kept ranking. In-flight lookups are shared either
   * way (a `type=all` search asks for posts and videos at once); a failed one is not kept.
   */
  private readonly words: LRUCache<string, Promise<WordOptions>> | Map<string, Promise<WordOptions>>;

  private async corrected(words: string[]): Promise<CorrectedQuery | null> {
    const cache = this.words;
    const options = words.map((w) => cache.get(w));
    const missing = words.filter((_, i) => !options[i]);
    if (missing.length) {
      const lookup = wordOptions(this.database.db, missing);
      missing.forEach((w, i) => {
        const one = lookup.then((all) => all[i] ?? null);
        const forget = () => cache.get(w) === one && cache.delete(w);
        if (cache instanceof Map) void one.then(forget, forget);
        else one.catch(forget);
        cache.set(w, one);
        options[words.indexOf(w)] = one;
      });
    }
    // Every word has its lookup now (kept or just started).
    return combineOptions(await Promise.all(options.map((o) => o!)));
  }

  private async postRows(): Promise<{ rows: number; rum: boolean }> {
    const now = Date.now();
    if (!this.postCount || now - this.postCount.at > POST_COUNT_MS) {
      const { rows } = await executeRaw<{ n: number; rum: boolean }>(
        this.database.db,
        `select reltuples::float8 as n, to_regclass('posts_search_rum') is not null as rum from pg_class where oid = 'posts'::regclass`,
      );
      // -1 (never analysed): a new, small install, where either plan is cheap.
      this.postCount = { rows: Math.max(0, Number(rows[0]?.n ?? 0)), rum: rows[0]?.rum === true, at: now };
    }
    return this.postCount;
  }

  /** Whether this database has the RUM index post searches can use (migration 0014). */
  async hasRum(): Promise<boolean> {
    return (await this.postRows()).rum;
  }

  async posts(query: PostQuery): Promise<{ id: string; key: SearchKey }[]> {
    const corrected = await this.corrected(queryWords(query.q));
    if (!corrected) return [];
    const { rows: total, rum } = await this.postRows();
    const estimate = matchEstimate(corrected, total);
    const wanted = query.sort === 'recent' ? query.limit : RELEVANCE_WINDOW;
    const plan = this.options.plan ?? matchPlan(estimate, wanted, total, rum);
    if (plan === 'rum') {
      const rows = await this.postsByRum(corrected.tsquery, query, wanted);
      if (rows) return rows;
    }
    // RUM could not tell the newest apart (see postsByRum): the best of the other plans.
    return this.postsBy(plan === 'rum' ? plainPlan(estimate, wanted, total) : plan, corrected.tsquery, query);
  }

  /** The conditions every post search shares (`$1` is the tsquery); adds its parameters to `values`. */
  private postWhere(values: unknown[], query: PostQuery): string[] {
    const where = [
      `p.search_vector @@ to_tsquery('simple', $1)`,
      `p.deleted_at is null`,
      `p.moderation_state = 'visible'`,
      `p.visibility <> 'unlisted'`,
      `p.repost_of_id is null`,
    ];
    if (query.since) {
      values.push(query.since.toISOString());
      where.push(`p.created_at >= $${values.length}::timestamptz`);
    }
    if (query.until) {
      values.push(query.until.toISOString());
      where.push(`p.created_at < $${values.length}::timestamptz`);
    }
    return where;
  }

  private postsBy(plan: 'scan' | 'index', tsquery: string, query: PostQuery): Promise<{ id: string; key: SearchKey }[]> {
    const values: unknown[] = [tsquery];
    const where = this.postWhere(values, query);
    let sql: string;
    if (query.sort === 'recent') {
      if (query.after) {
        values.push(query.after.id);
        where.push(`p.id < $${values.length}::uuid`);
      }
      values.push(query.limit);
      sql = `select id, 0::float8 as score from (${newestMatches('posts p', where, 'p.id', `$${values.length}`, plan)}) m order by id desc`;
    } else sql = rankedWindow('posts p', where, values, query.after, query.limit, plan);
    return keyed(this.database.db, sql, values);
  }

  /**
   * The same answer as postsBy() through the RUM index, which hands matches out in `search_order`
   * (the id's leading 60 bits): one more row than wanted is read, and when the last one shares its
   * `search_order` with another (two ids alike in their first 60 bits, which UUIDv7 makes all but
   * impossible) the newest `wanted` cannot be told from the order alone: null, and the caller uses
   * another plan. Otherwise the extra row is the oldest and is dropped, and the rest are exactly
   * the newest matches by id. Relevance ranks them here as rankedWindow() does in SQL (same
   * ts_rank_cd scores, same order and keyset).
   */
  private async postsByRum(tsquery: string, query: PostQuery, wanted: number): Promise<{ id: string; key: SearchKey }[] | null> {
    const values: unknown[] = [tsquery];
    const where = this.postWhere(values, query);
    const recent = query.sort === 'recent';
    let from = MAX_ORDER;
    if (recent && query.after) {
      values.push(query.after.id);
      where.push(`p.id < $${values.length}::uuid`);
      // Start the index's walk at the cursor: rows above it are never fetched.
      from = searchOrder(query.after.id);
    }
    values.push(from, wanted + 1);
    const score = recent ? '0::float8' : `ts_rank_cd(p.search_vector, to_tsquery('simple', $1))::float8`;
    const { rows } = await executeRaw<{ id: string; score: number; ord: string }>(
      this.database.db,
      `select p.id, ${score} as score, p.search_order::text as ord from posts p
        where ${where.join(' and ')} order by p.search_order <=| $${values.length - 1}::int8 limit $${values.length}`,
      values,
    );
    if (rows.length > wanted) {
      const orders = rows.map((r) => BigInt(r.ord));
      const oldest = orders.reduce((a, b) => (b < a ? b : a));
      if (orders.filter((o) => o === oldest).length > 1) return null;
      rows.splice(orders.indexOf(oldest), 1);
    }
    const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
    if (recent) return rows.sort(byId).map((r) => ({ id: r.id, key: { score: 0, id: r.id } }));
    const ranked = rows.map((r) => ({ id: r.id, key: { score: Number(r.score), id: r.id } })).sort((a, b) => b.key.score - a.key.score || byId(a, b));
    const after = query.after;
    const start = after ? ranked.findIndex((r) => rankedAfter(r.key, after)) : 0;
    return start < 0 ? [] : ranked.slice(start, start + query.limit);
  }

  async videos(query: VideoQuery): Promise<{ id: string; key: SearchKey }[]> {
    const tx = this.database.db;
    const corrected = await this.corrected(queryWords(query.q));
    if (!corrected) return [];
    const values: unknown[] = [corrected.tsquery];
    const where = listedVideos(values, query.viewerId);
    if (query.since) {
      values.push(query.since.toISOString());
      where.push(`v.published_at >= $${values.length}::timestamptz`);
    }
    if (query.until) {
      values.push(query.until.toISOString());
      where.push(`v.published_at < $${values.length}::timestamptz`);
    }
    if (query.minDuration !== undefined) {
      values.push(query.minDuration);
      where.push(`v.duration_seconds >= $${values.length}::float8`);
    }
    if (query.maxDuration !== undefined) {
      values.push(query.maxDuration);
      where.push(`v.duration_seconds <= $${values.length}::float8`);
    }
    let sql: string;
    if (query.sort === 'recent') {
      // Newest published first; the key is the publication time in whole microseconds (exact in
      // a float8 and in JSON) then the id, so equal times still page without repeats.
      const published = `(extract(epoch from v.published_at) * 1000000)::float8`;
      if (query.after) {
        values.push(query.after.score, query.after.id);
        where.push(`(${published}, v.id) < ($${values.length - 1}::float8, $${values.length}::uuid)`);
      }
      values.push(query.limit);
      sql = `select v.id, ${published} as score from videos v where ${where.join(' and ')} order by v.published_at desc, v.id desc limit $${values.length}`;
    } else sql = rankedWindow('videos v', where, values, query.after, query.limit);
    return keyed(tx, sql, values);
  }

  async videoSuggestions(query: SuggestQuery): Promise<string[]> {
    const words = queryWords(query.q);
    const last = words.at(-1);
    if (!last) return [];
    const tx = this.database.db;
    // The words typed before the last are whole (typo-corrected as in search); the last one is
    // still being typed, so it matches as a prefix of any stored lexeme.
    const head = words.length > 1 ? await this.corrected(words.slice(0, -1)) : null;
    const values: unknown[] = [head ? `${head.tsquery} & ${prefixLexeme(last)}` : prefixLexeme(last)];
    const where = listedVideos(values, query.viewerId);
    const { rows } = await executeRaw<{ id: string }>(tx, rankedWindow('videos v', where, values, null, query.limit), values);
    return rows.map((r) => r.id);
  }

  /**
   * People in two tiers, best first: usernames that start with q (score 2 + similarity), then
   * names merely similar to it (score = similarity, at most 1). The tiers are separate queries so
   * the first, index lookups, usually fills the page alone: a similarity scan over every account
   * sharing a common name prefix ("user_", "the") costs a sequential scan of the table.
   *
   * The prefix tier's candidates are, for each username length from q's own up, the first
   * PREFIX_PER_LENGTH matches of that length in name order (one range scan of the (length, name)
   * index per length): every match where a prefix is shared by fewer names than that per length,
   * and otherwise the shortest ones, which are the most similar. Scoring all matches of a short
   * prefix instead ("user": every seeded account) cost a similarity per account, 150-250 ms.
   */
  async users(query: NameQuery): Promise<{ id: string; key: SearchKey }[]> {
    const q = query.q.toLowerCase();
    const sim = `greatest(similarity(lower(u.username), $1), coalesce(similarity(lower(u.display_name), $1), 0))`;
    const active = `(u.state = 'active' or (u.state = 'suspended' and u.suspended_until <= now()))`;
    const ranked = (tx: Executor, values: unknown[], scored: string, after: SearchKey | null, limit: number) => {
      let page = '';
      if (after) {
        values.push(after.score, after.id);
        page = `where (score, id) < ($${values.length - 1}::float8, $${values.length}::uuid)`;
      }
      values.push(limit);
      return executeRaw<{ id: string; score: number }>(tx, `select id, score from (${scored}) s ${page} order by score desc, id desc limit $${values.length}`, values);
    };
    const tx = this.database.db;
    const rows: { id: string; score: number }[] = [];
    const inPrefixTier = !query.after || query.after.score >= 2;
    if (inPrefixTier) {
      const values: unknown[] = [q, likePrefix(q), [...q].length, USERNAME_MAX_LENGTH, PREFIX_PER_LENGTH];
      const candidates = `select u.id, (2 + ${sim})::float8 as score
          from generate_series($3::int, $4::int) as l(len)
          cross join lateral (
            select u.id, u.username, u.display_name from users u
             where length(lower(u.username)) = l.len and (lower(u.username) collate "C") like $2 and ${active}
             order by (lower(u.username) collate "C") limit $5) u`;
      rows.push(...(await ranked(tx, values, candidates, query.after, query.limit)).rows);
    }
    if (rows.length < query.limit) {
      // Prefix matches are the other tier's, whatever their similarity.
      const values: unknown[] = [q, likePrefix(q)];
      const similar = `select u.id, (${sim})::float8 as score from users u
          where (lower(u.username) % $1 or lower(u.display_name) % $1) and not (lower(u.username) like $2) and ${active}`;
      rows.push(...(await ranked(tx, values, similar, inPrefixTier ? null : query.after, query.limit - rows.length)).rows);
    }
    return rows.map((r) => ({ id: r.id, key: { score: Number(r.score), id: r.id } }));
  }

  async hashtags(query: NameQuery): Promise<HashtagHit[]> {
    const q = query.q.toLowerCase();
    const values: unknown[] = [q, likePrefix(q)];
    let page = '';
    if (query.after) {
      values.push(query.after.score, query.after.id);
      page = `where (score, tag) < ($3::float8, $4::text)`;
    }
    values.push(query.limit);
    // The hashtag vocabulary (search_hashtags) holds counts of live, listed posts; unused tags drop out.
    const sql = `select tag, posts, score from (
        select h.tag, h.posts, (similarity(h.tag, $1) + case when h.tag like $2 then 1 else 0 end)::float8 as score
        from search_hashtags h
        where (h.tag % $1 or h.tag like $2) and h.posts > 0
      ) s ${page} order by score desc, tag desc limit $${values.length}`;
    const { rows } = await executeRaw<{ tag: string; posts: number; score: number }>(this.database.db, sql, values);
    return rows.map((r) => ({ tag: r.tag, posts: Number(r.posts), key: { score: Number(r.score), id: r.tag } }));
  }
}
