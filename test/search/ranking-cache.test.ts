import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../support/app.js';
import { injectClient, signUp, type TestUser } from '../support/auth.js';
import { post, type PostBody } from '../posts/support.js';
import { vocabularyHas } from './support.js';

// Relevance rankings are reused for SEARCH_CACHE_SECONDS (search/service.ts): pages are cut from
// one ranking, hydration and the rules still run per request, and a new match shows once the
// ranking expires. One environment keeps rankings for 2 s, one does not keep them at all.

let cached: TestEnv;
let uncached: TestEnv;

beforeAll(async () => {
  [cached, uncached] = await Promise.all([createTestEnv({ env: { SEARCH_CACHE_SECONDS: '2' } }), createTestEnv({ env: { SEARCH_CACHE_SECONDS: '0' } })]);
});
afterAll(async () => {
  await cached?.close();
  await uncached?.close();
});

type Page = { items: PostBody[]; nextCursor: string | null };

async function setUp(env: TestEnv) {
  const call = injectClient(env.app);
  const [author, reader] = (await Promise.all([signUp(call, env.dataDir), signUp(call, env.dataDir)])) as [TestUser, TestUser];
  const word = `rk${Math.random().toString(36).slice(2, 8)}`;
  const made: string[] = [];
  // Different relevance: one to three mentions of the word.
  for (let i = 0; i < 12; i++) made.push((await post(call, author, { text: `${`${word} `.repeat(1 + (i % 3))}number ${i}` })).id);
  const page = async (cursor?: string): Promise<Page> => {
    const qs = `type=posts&limit=5&q=${word}${cursor ? `&cursor=${cursor}` : ''}`;
    const res = await call('GET', `/api/v1/search?${qs}`, { token: reader.accessToken });
    expect(res.status).toBe(200);
    return res.body.posts as unknown as Page;
  };
  const all = async () => {
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const p = await page(cursor);
      ids.push(...p.items.map((x) => x.id));
      cursor = p.nextCursor ?? undefined;
    } while (cursor);
    return ids;
  };
  return { call, author, word, made, page, all };
}

describe('relevance rankings reused for a while', () => {
  it('pages of one ranking do not move when matches arrive, rules still apply at once, new matches show after expiry', async () => {
    const s = await setUp(cached);
    const first = await s.page();
    expect(first.items).toHaveLength(5);
    // Best first: the posts with the word three times lead.
    expect(first.items.slice(0, 4).every((p) => p.text.startsWith(`${s.word} ${s.word} ${s.word}`))).toBe(true);

    const late = await post(s.call, s.author, { text: `${s.word} ${s.word} ${s.word} ${s.word} arrived late` });
    const rest: string[] = [];
    let cursor = first.nextCursor ?? undefined;
    while (cursor) {
      const p = await s.page(cursor);
      rest.push(...p.items.map((x) => x.id));
      cursor = p.nextCursor ?? undefined;
    }
    const seen = [...first.items.map((x) => x.id), ...rest];
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.sort()).toEqual([...s.made].sort());

    // Deleting a ranked post hides it on the next request: the ranking holds ids, the rules decide.
    const gone = s.made[4]!;
    expect((await s.call('DELETE', `/api/v1/posts/${gone}`, { token: s.author.accessToken })).status).toBe(204);
    const now = await s.all();
    expect(now).not.toContain(gone);
    expect(now).not.toContain(late.id);
    expect(now).toHaveLength(11);

    await new Promise((r) => setTimeout(r, 2100));
    const after = await s.all();
    expect(after[0]).toBe(late.id);
    expect(after).toHaveLength(12);
  });

  it('with SEARCH_CACHE_SECONDS=0 every request ranks afresh', async () => {
    const s = await setUp(uncached);
    expect(await s.all()).toHaveLength(12);
    const late = await post(s.call, s.author, { text: `${s.word} ${s.word} ${s.word} ${s.word} arrived late` });
    const now = await s.all();
    expect(now[0]).toBe(late.id);
    expect(now).toHaveLength(13);
  });

  it('a sort by date is never cached', async () => {
    const s = await setUp(cached);
    const recent = async () => ((await s.call('GET', `/api/v1/search?type=posts&sort=recent&q=${s.word}`)).body.posts as unknown as Page).items.map((p) => p.id);
    expect(await recent()).toHaveLength(12);
    const late = await post(s.call, s.author, { text: `${s.word} late` });
    expect((await recent())[0]).toBe(late.id);
  });
});

describe('query words\' typo corrections reused for a while', () => {
  /** A search for a typo of a word nobody has written yet; then a post teaches the vocabulary the word. */
  async function typoOfNewWord(env: TestEnv) {
    const call = injectClient(env.app);
    const author = await signUp(call, env.dataDir);
    // Consonants and a closing "k": nothing the English stemmer trims, so the stored term is the word.
    const letters = 'bcdfghmnprtvwz';
    const word = `tq${Array.from({ length: 5 }, () => letters[Math.floor(Math.random() * letters.length)]).join('')}k`;
    const typo = word.slice(0, 3) + word[4]! + word[3]! + word.slice(5);
    const find = async () => {
      const res = await call('GET', `/api/v1/search?type=posts&sort=recent&q=${typo}`);
      expect(res.status).toBe(200);
      return (res.body.posts as unknown as Page).items.map((x) => x.id);
    };
    expect(await find()).toEqual([]);
    const made = await post(call, author, { text: `all about ${word}` });
    await vocabularyHas(env, word);
    return { find, made };
  }

  it('a word the vocabulary learned corrects a typo of it once the period ends', async () => {
    const { find, made } = await typoOfNewWord(cached);
    expect(await find()).toEqual([]);
    await new Promise((r) => setTimeout(r, 2100));
    expect(await find()).toEqual([made.id]);
  });

  it('with SEARCH_CACHE_SECONDS=0 at once', async () => {
    const { find, made } = await typoOfNewWord(uncached);
    expect(await find()).toEqual([made.id]);
  });
});
