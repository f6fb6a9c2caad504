import { executeRaw, TRIGRAM_SIMILARITY, type Executor } from '../../platform/db/index.js';

/** Similar vocabulary terms tried for a word the vocabulary does not know (pg_trgm similarity). */
const ALTERNATIVES = 3;

/** Count the lexemes of one post's text into the vocabulary. */
export async function addTerms(ex: Executor, text: string): Promise<void> {
  await executeRaw(
    ex,
    `insert into search_terms (term, docs)
       select lexeme, 1 from unnest(tsvector_to_array(to_tsvector('english', $1))) as lexeme
     on conflict (term) do update set docs = search_terms.docs + 1`,
    [text],
  );
}

/** Count one video's lexemes (title, tags and description, as its stored search vector holds them) into the vocabulary. */
export async function addVideoTerms(ex: Executor, videoId: string): Promise<void> {
  await executeRaw(
    ex,
    `insert into search_terms (term, docs)
       select lexeme, 1 from videos v, unnest(tsvector_to_array(v.search_vector)) as lexeme where v.id = $1::uuid
     on conflict (term) do update set docs = search_terms.docs + 1`,
    [videoId],
  );
}

/** Count a new post's hashtags (listed posts only: unlisted ones never show in hashtag discovery). */
export async function addHashtags(ex: Executor, tags: string[]): Promise<void> {
  if (tags.length === 0) return;
  await executeRaw(ex, `insert into search_hashtags (tag, posts) select distinct t, 1 from unnest($1::text[]) as t on conflict (tag) do update set posts = search_hashtags.posts + 1`, [tags]);
}

/** Recount both vocabularies from the live posts and videos (new installs, seeded data, deleted and moderated items). */
export async function rebuildTerms(ex: Executor): Promise<number> {
  await executeRaw(ex, `delete from search_terms`);
  await executeRaw(
    ex,
    `insert into search_terms (term, docs) select word, ndoc from ts_stat($$
       select to_tsvector('english', text) from posts where deleted_at is null
       union all
       select search_vector from videos where deleted_at is null and status = 'ready'$$)`,
  );
  await executeRaw(ex, `delete from search_hashtags`);
  await executeRaw(
    ex,
    `insert into search_hashtags (tag, posts)
       select h.tag, count(*)::int from post_hashtags h join posts p on p.id = h.post_id
        where p.deleted_at is null and p.moderation_state = 'visible' and p.visibility <> 'unlisted' group by h.tag`,
  );
  const { rows } = await executeRaw<{ n: number }>(ex, `select count(*)::int as n from search_terms`);
  return Number(rows[0]!.n);
}

/** A lexeme quoted for to_tsquery('simple', ...): it is matched as is, never parsed as operators. */
const quote = (lexeme: string) => `'${lexeme.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

/** A word being typed, as a tsquery prefix term: it matches every lexeme that starts with it. */
export const prefixLexeme = (word: string) => `${quote(word)}:*`;

/** A query's tsquery text and how many documents the vocabulary says each of its words matches. */
export interface CorrectedQuery {
  tsquery: string;
  /**
   * Per AND'ed word, the sum of the document counts of its options (a lexeme the vocabulary does
   * not count adds nothing). Counts live posts and videos as of the last rebuild plus what the
   * listeners added since: a planning hint, not a promise.
   */
  documents: number[];
}

/**
 * About how many of `rows` documents match all the words at once, taking the words as
 * independent (a word in 6% and one in 9% of all posts: about 0.5% have both).
 */
export function matchEstimate(q: CorrectedQuery, rows: number): number {
  if (rows <= 0) return Math.min(...q.documents);
  return q.documents.reduce((est, d) => est * Math.min(1, d / rows), rows);
}

/**
 * One query word's search options with each one's document count: its English stem and, when the
 * vocabulary does not know the stem (a typo), up to three similar known terms. Null: a stop word,
 * which searches nothing.
 */
export type WordOptions = Map<string, number> | null;

/** The options of each word (same order as `words`), in one statement. */
export async function wordOptions(ex: Executor, words: string[]): Promise<WordOptions[]> {
  if (words.length === 0) return [];
  const { rows } = await executeRaw<{ w: string; lex: string | null; docs: number | null; alts: { term: string; docs: number }[] | null }>(
    ex,
    // Alternatives only for words the vocabulary does not know (a known word needs none), found
    // through the GiST trigram index: 1-3 ms on 5 000 terms where a GIN index was passed over for
    // a scan of every term (7-19 ms on a loaded 2-core machine).
    `select w, lex, docs,
            case when docs is not null then null else
              (select json_agg(json_build_object('term', a.term, 'docs', a.docs) order by a.sim desc, a.docs desc) from (
                 select t.term, t.docs, similarity(t.term, w) as sim
                   from search_terms t where t.term % w and similarity(t.term, w) >= $2
                  order by sim desc, t.docs desc limit $3) a) end as alts
       from (select w, lex, (select t.docs from search_terms t where t.term = lex) as docs
               from (select w, (tsvector_to_array(to_tsvector('english', w)))[1] as lex from unnest($1::text[]) as w) q0) q`,
    [words, TRIGRAM_SIMILARITY, ALTERNATIVES],
  );
  const byWord = new Map<string, WordOptions>();
  for (const r of rows) {
    if (!r.lex) continue;
    const options = new Map<string, number>([[r.lex, Number(r.docs ?? 0)]]);
    for (const a of r.alts ?? []) options.set(a.term, Number(a.docs));
    byWord.set(r.w, options);
  }
  return words.map((w) => byWord.get(w) ?? null);
}

/**
 * The tsquery text for a query's words from their options (wordOptions()): each word's options
 * OR'd, so a typo ("vidoe") still reaches "video"; the words AND'ed; stop words left out. Null
 * when nothing searchable is left.
 */
export function combineOptions(perWord: WordOptions[]): CorrectedQuery | null {
  const groups: string[] = [];
  const documents: number[] = [];
  for (const options of perWord) {
    if (!options) continue;
    groups.push(`(${[...options.keys()].map(quote).join(' | ')})`);
    documents.push([...options.values()].reduce((a, b) => a + b, 0));
  }
  return groups.length ? { tsquery: groups.join(' & '), documents } : null;
}
