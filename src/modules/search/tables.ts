import { sql } from 'drizzle-orm';
import { index, integer, pgTable, text } from 'drizzle-orm/pg-core';

/**
 * The vocabulary of post text: every lexeme `to_tsvector('english', text)` produces, with how many
 * posts use it. Typo tolerance corrects query words against this small table (trigram index)
 * instead of running trigram matching over every post, so a search stays one full-text index scan
 * however many posts there are. Fed by the post.created / post.edited listeners and rebuilt by the
 * `search.rebuild_terms` job (which also forgets terms of deleted posts).
 */
export const searchTerms = pgTable(
  'search_terms',
  {
    term: text('term').primaryKey(),
    docs: integer('docs').notNull().default(0),
  },
  (t) => [index('search_terms_trgm_idx').using('gist', sql`${t.term} gist_trgm_ops`)],
);

/**
 * Every hashtag with the number of live, listed posts using it: hashtag search and suggestions
 * read this small table instead of grouping post_hashtags (one row per post) on every keystroke.
 * Counted up by the post.created listener, recounted by `search.rebuild_terms`.
 */
export const searchHashtags = pgTable(
  'search_hashtags',
  {
    tag: text('tag').primaryKey(),
    posts: integer('posts').notNull().default(0),
  },
  (t) => [index('search_hashtags_trgm_idx').using('gist', sql`${t.tag} gist_trgm_ops`)],
);
