import { executeRaw, type Database, type Tx } from '../../platform/db/index.js';
import type { HashtagHit, NameQuery, PostQuery, SearchBackend, SearchKey } from './backend.js';

/**
 * Search on the product's own tables, identical on PGlite and PostgreSQL:
 * - posts: `to_tsvector('english', text)` (GIN) for words and stems, OR pg_trgm word similarity
 *   (`<%`, GIN gin_trgm_ops) so a typo ("vidoe") still reaches "video"; the score adds both.
 * - users: trigram similarity on lower(username) and lower(display_name), prefix matches first.
 * - hashtags: trigram similarity and prefix on post_hashtags.tag, counted over live posts.
 * Every value goes in as a bind parameter; LIKE patterns escape their wildcards.
 */
/** Word similarity at which a misspelt word still matches (pg_trgm's default 0.6 misses one swapped pair of letters in a short word). */
const WORD_SIMILARITY = 0.45;
const NAME_SIMILARITY = 0.3;

/** Words beyond this many are left to the ranking (websearch query) rather than each being required. */
const MAX_WORDS = 8;

/** The words of a query, each required: lower-case letter/digit runs, de-duplicated, at most MAX_WORDS. */
export function queryWords(q: string): string[] {
  return [...new Set(q.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? [])].filter((w) => w.length <= 64).slice(0, MAX_WORDS);
}

export const likePrefix = (q: string) => `${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export class PostgresSearchBackend implements SearchBackend {
  readonly kind = 'postgres';

  constructor(private readonly database: Database) {}

  /** The thresholds are set per transaction (SET LOCAL), so they never leak to other queries on a pooled connection. */
  private inTx<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.database.transaction(async (tx) => {
      await executeRaw(tx, `select set_config('pg_trgm.word_similarity_threshold', $1, true), set_config('pg_trgm.similarity_threshold', $2, true)`, [
        String(WORD_SIMILARITY),
        String(NAME_SIMILARITY),
      ]);
      return fn(tx);
    });
  }

  async posts(query: PostQuery): Promise<{ id: string; key: SearchKey }[]> {
    const words = queryWords(query.q);
    if (words.length === 0) return [];
    const values: unknown[] = [query.q];
    // Every word must match, exactly (stemmed full-text) or nearly (trigram word similarity): each
    // is an OR of two GIN index scans, and the planner ANDs the bitmaps.
    const wordMatch = words.map((w) => {
      values.push(w);
      return `(to_tsvector('english', p.text) @@ plainto_tsquery('english', $${values.length}) or $${values.length} <% p.text)`;
    });
    const where = [
      ...wordMatch,
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
    const score = `(ts_rank_cd(to_tsvector('english', p.text), websearch_to_tsquery('english', $1)) + word_similarity($1, p.text))::float8`;
    let sql: string;
    if (query.sort === 'recent') {
      if (query.after) {
        values.push(query.after.id);
        where.push(`p.id < $${values.length}::uuid`);
      }
      values.push(query.limit);
      sql = `select p.id, 0::float8 as score from posts p where ${where.join(' and ')} order by p.id desc limit $${values.length}`;
    } else {
      let page = '';
      if (query.after) {
        values.push(query.after.score, query.after.id);
        page = `where (score, id) < ($${values.length - 1}::float8, $${values.length}::uuid)`;
      }
      values.push(query.limit);
      sql = `select id, score from (select p.id, ${score} as score from posts p where ${where.join(' and ')}) s ${page} order by score desc, id desc limit $${values.length}`;
    }
    const { rows } = await this.inTx((tx) => executeRaw<{ id: string; score: number }>(tx, sql, values));
    return rows.map((r) => ({ id: r.id, key: { score: Number(r.score), id: r.id } }));
  }

  async users(query: NameQuery): Promise<{ id: string; key: SearchKey }[]> {
    const q = query.q.toLowerCase();
    const values: unknown[] = [q, likePrefix(q)];
    let page = '';
    if (query.after) {
      values.push(query.after.score, query.after.id);
      page = `where (score, id) < ($3::float8, $4::uuid)`;
    }
    values.push(query.limit);
    const sql = `select id, score from (
        select u.id, (greatest(similarity(lower(u.username), $1), coalesce(similarity(lower(u.display_name), $1), 0))
                      + case when lower(u.username) like $2 then 1 else 0 end)::float8 as score
        from users u
        where (lower(u.username) % $1 or lower(u.display_name) % $1 or lower(u.username) like $2)
          and (u.state = 'active' or (u.state = 'suspended' and u.suspended_until <= now()))
      ) s ${page} order by score desc, id desc limit $${values.length}`;
    const { rows } = await this.inTx((tx) => executeRaw<{ id: string; score: number }>(tx, sql, values));
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
    // Counted over live, listed posts only: a tag used only on removed posts is not suggested.
    const sql = `select tag, posts, score from (
        select h.tag, count(*)::int as posts, (similarity(h.tag, $1) + case when h.tag like $2 then 1 else 0 end)::float8 as score
        from post_hashtags h join posts p on p.id = h.post_id
        where (h.tag % $1 or h.tag like $2)
          and p.deleted_at is null and p.moderation_state = 'visible' and p.visibility <> 'unlisted'
        group by h.tag
      ) s ${page} order by score desc, tag desc limit $${values.length}`;
    const { rows } = await this.inTx((tx) => executeRaw<{ tag: string; posts: number; score: number }>(tx, sql, values));
    return rows.map((r) => ({ tag: r.tag, posts: Number(r.posts), key: { score: Number(r.score), id: r.tag } }));
  }
}
