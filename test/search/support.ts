import { eq } from 'drizzle-orm';
import { searchHashtags, searchTerms } from '../../src/modules/search/tables.js';
import { eventually, type TestEnv } from '../support/app.js';

/**
 * The vocabulary entry of `word`: its English lexeme, as the listeners store it. The stemmer trims
 * suffixes (a random test word ending in "s", "e", "y"... is stored shortened), so a word is never
 * looked up as typed.
 */
export async function lexemeOf(env: { deps: TestEnv['deps'] }, word: string): Promise<string> {
  const { rows } = await env.deps.database.query<{ lexeme: string }>(`select (tsvector_to_array(to_tsvector('english', $1)))[1] as lexeme`, [word]);
  return rows[0]!.lexeme;
}

/** Wait until the search listeners have counted `word` (and hashtag `tag`, when given). */
export async function vocabularyHas(env: { deps: TestEnv['deps'] }, word: string, tag?: string, timeoutMs?: number): Promise<void> {
  const term = await lexemeOf(env, word);
  await eventually(
    env,
    `the search vocabulary learning ${word} (${term})${tag ? ` and #${tag}` : ''}`,
    '%search%',
    async () => {
      const t = await env.deps.database.db.select().from(searchTerms).where(eq(searchTerms.term, term));
      const h = tag ? await env.deps.database.db.select().from(searchHashtags).where(eq(searchHashtags.tag, tag)) : [1];
      return t.length > 0 && h.length > 0;
    },
    timeoutMs,
  );
}
