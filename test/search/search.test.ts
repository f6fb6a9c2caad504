import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { posts } from '../../src/modules/posts/tables.js';
import { searchHashtags, searchTerms } from '../../src/modules/search/tables.js';
import type { SearchKey } from '../../src/modules/search/backend.js';
import { matchPlan, PostgresSearchBackend, PREFIX_PER_LENGTH, searchOrder } from '../../src/modules/search/postgres.js';
import { matchEstimate, rebuildTerms } from '../../src/modules/search/terms.js';
import { users } from '../../src/modules/users/tables.js';
import { createTestEnv, type TestEnv } from '../support/app.js';
import { injectClient, signUp, type Call, type TestUser } from '../support/auth.js';
import { lexemeOf, vocabularyHas } from './support.js';
import { expect4xx, graph, post, type PostBody } from '../posts/support.js';

let env: TestEnv;
let call: Call;
let author: TestUser;
let follower: TestUser;
let stranger: TestUser;
let blocked: TestUser;
let muter: TestUser;
const made: Record<string, PostBody> = {};
/** A word no other test file writes, so results are this file's posts only. */
const W = `zq${Math.random().toString(36).slice(2, 7)}`;
const P = `pg${Math.random().toString(36).slice(2, 7)}`;

beforeAll(async () => {
  env = await createTestEnv();
  call = injectClient(env.app);
  [author, follower, stranger, blocked, muter] = (await Promise.all([1, 2, 3, 4, 5].map(() => signUp(call, env.dataDir)))) as [TestUser, TestUser, TestUser, TestUser, TestUser];
  await graph(env.deps).follow(follower, author);
  await graph(env.deps).block(author, blocked);
  await graph(env.deps).mute(muter, author);
  made.public = await post(call, author, { text: `My new cooking video about pasta ${W} #Cooking${W}` });
  made.followers = await post(call, author, { text: `Followers only video of the garden ${W}`, visibility: 'followers' });
  made.unlisted = await post(call, author, { text: `Unlisted video of the kitchen ${W}`, visibility: 'unlisted' });
  made.deleted = await post(call, author, { text: `Deleted video of the lake ${W}` });
  made.removed = await post(call, author, { text: `Removed video of the sea ${W}` });
  made.other = await post(call, stranger, { text: `Mountains at dawn, no moving pictures here ${W}` });
  expect((await call('DELETE', `/api/v1/posts/${made.deleted.id}`, { token: author.accessToken })).status).toBe(204);
  await env.deps.database.db.update(posts).set({ moderationState: 'removed' }).where(eq(posts.id, made.removed.id));
  // The vocabularies are fed by post.created listeners on the job queue: wait for this file's words.
  await vocabularyHas(env, W, `cooking${W}`);
});

afterAll(async () => env?.close());

const search = (qs: string, u?: TestUser) => call('GET', `/api/v1/search?${qs}`, { token: u?.accessToken });
/**
 * Whether this database should have the RUM index: wherever the server offers the extension (.ci/run
 * installs it for the PostgreSQL column and says so loudly when it cannot; PGlite has none).
 */
async function rumExpected(): Promise<boolean> {
  const { rows } = await env.deps.database.query<{ n: number }>(`select count(*)::int as n from pg_available_extensions where name = 'rum'`);
  return Number(rows[0]!.n) > 0;
}

const postIds = (res: Awaited<ReturnType<Call>>) => ((res.body.posts as { items: PostBody[] }).items ?? []).map((p) => p.id);

describe('GET /search: rules', () => {
  it('answers the visible posts for each viewer, never deleted, removed or unlisted ones', async () => {
    const q = `video ${W}`;
    const anon = postIds(await search(`type=posts&q=${encodeURIComponent(q)}`));
    expect(anon).toEqual([made.public!.id]);
    const fol = postIds(await search(`type=posts&q=${encodeURIComponent(q)}`, follower));
    expect(new Set(fol)).toEqual(new Set([made.public!.id, made.followers!.id]));
    const own = postIds(await search(`type=posts&q=${encodeURIComponent(q)}`, author));
    expect(new Set(own)).toEqual(new Set([made.public!.id, made.followers!.id]));
    expect(postIds(await search(`type=posts&q=${encodeURIComponent(q)}`, stranger))).toEqual([made.public!.id]);
  });

  it('hides posts across a block (both ways) and from a viewer who muted the author', async () => {
    const q = encodeURIComponent(`video ${W}`);
    expect(postIds(await search(`type=posts&q=${q}`, blocked))).toEqual([]);
    expect(postIds(await search(`type=posts&q=${q}`, muter))).toEqual([]);
  });

  it('leaves blocked accounts out of people results and suggestions', async () => {
    const res = await search(`type=users&q=${encodeURIComponent(author.username)}`, blocked);
    expect(res.status).toBe(200);
    expect((res.body.users as { items: { id: string }[] }).items.map((u) => u.id)).not.toContain(author.id);
    const sug = await call('GET', `/api/v1/search/suggest?q=${encodeURIComponent(author.username.slice(0, 12))}`, { token: blocked.accessToken });
    expect((sug.body.users as { id: string }[]).map((u) => u.id)).not.toContain(author.id);
    const seen = await search(`type=users&q=${encodeURIComponent(author.username)}`, stranger);
    expect((seen.body.users as { items: { id: string }[] }).items[0]!.id).toBe(author.id);
  });

  it('leaves suspended and deleted accounts out of people results', async () => {
    const gone = await signUp(call, env.dataDir);
    await env.deps.database.db.update(users).set({ state: 'deactivated' }).where(eq(users.id, gone.id));
    const res = await search(`type=users&q=${encodeURIComponent(gone.username)}`);
    expect((res.body.users as { items: { id: string }[] }).items.map((u) => u.id)).not.toContain(gone.id);
  });
});

describe('GET /search: matching', () => {
  it('tolerates typos: "vidoe" finds "video", "cookin" finds "cooking"', async () => {
    expect(postIds(await search(`type=posts&q=${encodeURIComponent(`vidoe ${W}`)}`))).toContain(made.public!.id);
    expect(postIds(await search(`type=posts&q=vidoe`))).toContain(made.public!.id);
    expect(postIds(await search(`type=posts&q=cookin`))).toContain(made.public!.id);
  });

  it('a rebuild of the vocabulary forgets words and hashtags of deleted and removed posts', async () => {
    const mark = `gone${W}`;
    const p = await post(call, stranger, { text: `vanishing ${mark} #${mark}` });
    await vocabularyHas(env, mark, mark);
    expect((await call('DELETE', `/api/v1/posts/${p.id}`, { token: stranger.accessToken })).status).toBe(204);
    await rebuildTerms(env.deps.database.db);
    expect(await env.deps.database.db.select().from(searchTerms).where(eq(searchTerms.term, await lexemeOf(env, mark)))).toEqual([]);
    expect(await env.deps.database.db.select().from(searchHashtags).where(eq(searchHashtags.tag, mark))).toEqual([]);
    // Live posts' words are still there, so typos are still corrected.
    expect(postIds(await search(`type=posts&q=vidoe`))).toContain(made.public!.id);
  });

  it('does not match unrelated text', async () => {
    expect(postIds(await search(`type=posts&q=${encodeURIComponent(`pasta ${W}`)}`))).not.toContain(made.other!.id);
  });

  it('finds hashtags by prefix and by similarity, counting live posts only', async () => {
    const res = await search(`type=hashtags&q=${encodeURIComponent(`#cooking${W}`)}`);
    expect(res.status).toBe(200);
    expect((res.body.hashtags as { items: { tag: string; posts: number }[] }).items).toContainEqual({ tag: `cooking${W}`, posts: 1 });
    const sug = await call('GET', `/api/v1/search/suggest?q=${encodeURIComponent(`#cook`)}`);
    expect((sug.body.hashtags as { tag: string }[]).map((h) => h.tag)).toContain(`cooking${W}`);
  });

  it('type=all answers each kind; since/until filter posts by date', async () => {
    const all = await search(`q=${encodeURIComponent(`video ${W}`)}`);
    expect(all.status).toBe(200);
    expect(Object.keys(all.body).sort()).toEqual(['hashtags', 'posts', 'users', 'videos']);
    const future = new Date(Date.now() + 3600_000).toISOString();
    expect(postIds(await search(`type=posts&q=${encodeURIComponent(`video ${W}`)}&since=${encodeURIComponent(future)}`))).toEqual([]);
    expect(postIds(await search(`type=posts&q=${encodeURIComponent(`video ${W}`)}&until=${encodeURIComponent(future)}`))).toEqual([made.public!.id]);
  });

  it('pages by cursor without repeats, by relevance and by date', async () => {
    const many: string[] = [];
    for (let i = 0; i < 7; i++) many.push((await post(call, stranger, { text: `paging sample ${i} ${P} ${'extra '.repeat(i)}` })).id);
    for (const sort of ['relevance', 'recent']) {
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let n = 0; n < 10; n++) {
        const res = await search(`type=posts&sort=${sort}&limit=3&q=${P}${cursor ? `&cursor=${cursor}` : ''}`);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        const page = res.body.posts as { items: PostBody[]; nextCursor: string | null };
        seen.push(...page.items.map((p) => p.id));
        cursor = page.nextCursor;
        if (!cursor) break;
      }
      expect(seen.sort()).toEqual([...many].sort());
      if (sort === 'recent') {
        const first = await search(`type=posts&sort=recent&limit=7&q=${P}`);
        expect(postIds(first)).toEqual([...many].reverse());
      }
    }
  });
});

describe('post search match plans (walk the table newest first, or read the full-text index)', () => {
  it('both plans answer the same skeletons for every sort and page, leaving out deleted, removed and unlisted posts', async () => {
    const X = `mp${Math.random().toString(36).slice(2, 7)}`;
    const live: string[] = [];
    for (let i = 0; i < 6; i++) live.push((await post(call, stranger, { text: `plan sample ${i} ${X} ${i % 2 ? X : ''}` })).id);
    const unlisted = await post(call, stranger, { text: `plan unlisted ${X}`, visibility: 'unlisted' });
    const deleted = await post(call, stranger, { text: `plan deleted ${X}` });
    expect((await call('DELETE', `/api/v1/posts/${deleted.id}`, { token: stranger.accessToken })).status).toBe(204);
    const removed = await post(call, stranger, { text: `plan removed ${X}` });
    await env.deps.database.db.update(posts).set({ moderationState: 'removed' }).where(eq(posts.id, removed.id));
    const backends = { scan: new PostgresSearchBackend(env.deps.database, { plan: 'scan' }), index: new PostgresSearchBackend(env.deps.database, { plan: 'index' }) };
    const rum = (await rumExpected()) ? new PostgresSearchBackend(env.deps.database, { plan: 'rum' }) : null;
    const pages = async (b: PostgresSearchBackend, q: string, sort: 'relevance' | 'recent') => {
      const out: { id: string; key: SearchKey }[] = [];
      for (let n = 0; n < 10; n++) {
        const rows = await b.posts({ q, sort, after: out.at(-1)?.key ?? null, limit: 2 });
        out.push(...rows);
        if (rows.length < 2) break;
      }
      return out;
    };
    for (const q of [X, `sample ${X}`, `${X} 3`])
      for (const sort of ['relevance', 'recent'] as const) {
        const scan = await pages(backends.scan, q, sort);
        expect(await pages(backends.index, q, sort), `${q} ${sort}`).toEqual(scan);
        if (rum) expect(await pages(rum, q, sort), `rum: ${q} ${sort}`).toEqual(scan);
        expect(scan.length, `${q} ${sort}`).toBeGreaterThan(0);
        for (const r of scan) expect(live).toContain(r.id);
        for (const hidden of [unlisted, deleted, removed]) expect(scan.map((r) => r.id)).not.toContain(hidden.id);
      }
    expect(new Set((await pages(backends.index, X, 'relevance')).map((r) => r.id))).toEqual(new Set(live));
    // Relevance: the posts with the word twice first.
    expect(new Set((await pages(backends.index, X, 'relevance')).slice(0, 3).map((r) => r.id))).toEqual(new Set(live.filter((_, i) => i % 2)));
    expect((await pages(backends.index, X, 'recent')).map((r) => r.id)).toEqual([...live].reverse());
  });

  it('uses the RUM index where the server has the extension (the PostgreSQL column in CI installs it), never on PGlite', async () => {
    const backend = new PostgresSearchBackend(env.deps.database);
    expect(await backend.hasRum()).toBe(await rumExpected());
    if (env.deps.database.kind === 'pglite') expect(await backend.hasRum()).toBe(false);
  });

  it('RUM plan: ids alike in their first 60 bits (its order) still come out newest first by id, through another plan', async () => {
    const X = `rt${Math.random().toString(36).slice(2, 7)}`;
    // Two ids sharing their leading 60 bits (same millisecond, same next 12 bits), newest first by
    // the last digit; inserted in both orders, so the index's order among equals cannot decide.
    const base = '019a0000-0000-7000-8000-0000000000';
    const ids = [`${base}01`, `${base}02`, `${base}03`, `${base}04`];
    const [older, newer, older2, newer2] = ids as [string, string, string, string];
    const author = (await env.deps.database.db.select({ id: users.id }).from(users).limit(1))[0]!.id;
    await env.deps.database.db.insert(posts).values([
      { id: newer, authorId: author, text: `tie first ${X}`, visibility: 'public' },
      { id: older, authorId: author, text: `tie second ${X}`, visibility: 'public' },
      { id: older2, authorId: author, text: `tie third ${X} twin`, visibility: 'public' },
      { id: newer2, authorId: author, text: `tie fourth ${X} twin`, visibility: 'public' },
    ]);
    expect(searchOrder(older)).toBe(searchOrder(newer));
    const plans = [new PostgresSearchBackend(env.deps.database, { plan: 'scan' })];
    if (await rumExpected()) plans.push(new PostgresSearchBackend(env.deps.database, { plan: 'rum' }));
    for (const b of plans) {
      // The newest one alone: the index cannot tell which of the two equals that is.
      expect((await b.posts({ q: X, sort: 'recent', after: null, limit: 1 })).map((r) => r.id)).toEqual([newer2]);
      expect((await b.posts({ q: `${X} twin`, sort: 'recent', after: null, limit: 1 })).map((r) => r.id)).toEqual([newer2]);
      expect((await b.posts({ q: X, sort: 'recent', after: { score: 0, id: older2 }, limit: 1 })).map((r) => r.id)).toEqual([newer]);
      expect((await b.posts({ q: X, sort: 'recent', after: { score: 0, id: newer }, limit: 5 })).map((r) => r.id)).toEqual([older]);
    }
  });

  it('chooses RUM, where there is one, for all but the commonest words', () => {
    // 1M posts, the newest 1000 wanted: a word in 6 600 posts is read through RUM, one in 85 000 still walked.
    expect(matchPlan(6_600, 1000, 1_000_000, true)).toBe('rum');
    expect(matchPlan(85_000, 1000, 1_000_000, true)).toBe('scan');
    expect(matchPlan(300, 21, 1_000_000, true)).toBe('rum');
    // Without RUM: as before.
    expect(matchPlan(6_600, 1000, 1_000_000)).toBe('index');
  });

  it('chooses the index for a word too rare for a short walk, the walk for a common one', () => {
    // 1M posts, the newest 1000 wanted: a word in 5 000 posts is read from the index, one in 85 000 walked.
    expect(matchPlan(5_000, 1000, 1_000_000)).toBe('index');
    expect(matchPlan(85_000, 1000, 1_000_000)).toBe('scan');
    // A first page of 21 by date: only a rare word is worth the index.
    expect(matchPlan(5_000, 21, 1_000_000)).toBe('scan');
    expect(matchPlan(300, 21, 1_000_000)).toBe('index');
    // Nothing counted (a word the vocabulary has not seen yet): the index finds the few there are.
    expect(matchPlan(0, 1000, 1_000_000)).toBe('index');
    // Two common words together are rare: 6% and 9% of 1M posts, about 5 400 with both.
    const both = matchEstimate({ tsquery: "('night') & ('today')", documents: [60_906, 88_567] }, 1_000_000);
    expect(Math.round(both)).toBe(5394);
    expect(matchPlan(both, 1000, 1_000_000)).toBe('index');
    // One word (its typo options' counts already added up): its own count.
    expect(matchEstimate({ tsquery: "('a' | 'b')", documents: [7_000] }, 1_000_000)).toBe(7_000);
  });
});

describe('GET /search?type=users: prefix matches first, then similar names', () => {
  /** The ids of every page of people found for q, `limit` per page, following the cursors (10 pages at most). */
  const peoplePages = async (q: string, limit: number): Promise<string[]> => {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let n = 0; n < 10; n++) {
      const res = await search(`type=users&limit=${limit}&q=${q}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const page = res.body.users as { items: { id: string }[]; nextCursor: string | null };
      seen.push(...page.items.map((u) => u.id));
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    return seen;
  };

  it('pages through both tiers without repeats or gaps, prefix matches first', async () => {
    const stem = `pfx${Math.random().toString(36).slice(2, 6)}`;
    // Five accounts whose username starts with the query, two only similar to it (the last letter
    // changed; the query inside the name), one unrelated.
    const rows = [
      ...Array.from({ length: 5 }, (_, i) => ({ username: `${stem}_${i}x`, tier: 'prefix' })),
      // A last letter the stem does not end in (with '9' for a stem ending in '9', the name would be a prefix match).
      { username: `${stem.slice(0, -1)}${stem.endsWith('9') ? '8' : '9'}_q`, tier: 'similar' },
      { username: `zz${stem}_1`, tier: 'similar' },
      { username: `unrelated${Math.random().toString(36).slice(2, 8)}`, tier: 'none' },
    ];
    const ids = new Map<string, string>();
    for (const r of rows) {
      const id = crypto.randomUUID();
      await env.deps.database.db.insert(users).values({ id, username: r.username, email: `${r.username}@example.test` });
      ids.set(r.username, id);
    }
    const want = (tier: string) => rows.filter((r) => r.tier === tier).map((r) => ids.get(r.username)!);
    const seen = await peoplePages(stem, 2);
    expect(new Set(seen.slice(0, 5))).toEqual(new Set(want('prefix')));
    for (const id of want('similar')) expect(seen.slice(5)).toContain(id);
    expect(seen).not.toContain(want('none')[0]);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('a prefix many names share: the exact name first, and at most PREFIX_PER_LENGTH names of each length, the first in name order', async () => {
    const stem = `pl${Math.random().toString(36).slice(2, 7)}`;
    const digits = (n: number, width: number) => String(n).padStart(width, '0');
    // The exact name, 3 names one letter longer, PREFIX_PER_LENGTH + 5 two letters longer.
    const names = [stem, ...[1, 2, 3].map((i) => `${stem}${i}`), ...Array.from({ length: PREFIX_PER_LENGTH + 5 }, (_, i) => `${stem}${digits(i, 2)}`)];
    const ids = new Map<string, string>();
    await env.deps.database.db.insert(users).values(
      names.map((username) => {
        const id = crypto.randomUUID();
        ids.set(id, username);
        return { id, username, email: `${username}@example.test` };
      }),
    );
    const seen = (await peoplePages(stem, 20)).map((id) => ids.get(id) ?? `other ${id}`);
    // Ranked by similarity, whose trigrams can favour a longer name (one ending as the query does).
    expect(seen[0]).toBe(stem);
    expect(seen).toHaveLength(1 + 3 + PREFIX_PER_LENGTH);
    expect(new Set(seen).size).toBe(seen.length);
    // Of the longer names, the first PREFIX_PER_LENGTH in name order: 00 .. 49.
    const want = [...[1, 2, 3].map((i) => `${stem}${i}`), ...Array.from({ length: PREFIX_PER_LENGTH }, (_, i) => `${stem}${digits(i, 2)}`)];
    expect(new Set(seen.slice(1))).toEqual(new Set(want));
  });
});

describe('GET /search: bad and hostile input', () => {
  const before = async () => (await env.deps.database.db.select({ n: sql<number>`count(*)::int` }).from(posts))[0]!.n;

  it.each([
    ['no q', 'type=posts'],
    ['empty q', 'q='],
    ['blank q', 'q=%20%20%20'],
    ['overlong q', `q=${'a'.repeat(201)}`],
    ['unknown type', 'q=x&type=videos2'],
    ['unknown sort', 'q=x&sort=best'],
    ['bad date', 'q=x&since=yesterday'],
    ['since after until', `q=x&since=${encodeURIComponent('2030-01-02T00:00:00Z')}&until=${encodeURIComponent('2030-01-01T00:00:00Z')}`],
    ['limit 0', 'q=x&limit=0'],
    ['limit 51', 'q=x&limit=51'],
    ['garbage cursor', 'q=x&type=posts&cursor=abc'],
    ['cursor without a type', `q=x&cursor=${Buffer.from(JSON.stringify([1, '01936a3e-0000-7000-8000-000000000000'])).toString('base64url')}`],
    ['extra parameter', 'q=x&userId=1'],
  ])('%s is a 400 problem and changes nothing', async (_name, qs) => {
    const n = await before();
    expect4xx(await search(qs), 400);
    expect(await before()).toBe(n);
  });

  it.each([`'; drop table posts; --`, `%_\\`, `"unclosed`, `a & | ! ( ) : * <->`, `\u0000nul`, `${'x'.repeat(200)}`, '🙂🙂', '((((((((((', 'or and not'])(
    'survives %j',
    async (q) => {
      const n = await before();
      for (const type of ['all', 'posts', 'users', 'hashtags']) {
        const res = await search(`type=${type}&q=${encodeURIComponent(q)}`);
        expect([200, 400], JSON.stringify(res.body)).toContain(res.status);
      }
      const sug = await call('GET', `/api/v1/search/suggest?q=${encodeURIComponent(q.slice(0, 64))}`);
      expect([200, 400]).toContain(sug.status);
      expect(await before()).toBe(n);
    },
  );

  it('a wildcard in a name query is literal, not a pattern', async () => {
    const res = await search(`type=users&q=${encodeURIComponent('%')}`);
    expect(res.status).toBe(200);
    expect((res.body.users as { items: unknown[] }).items).toEqual([]);
  });

  it('suggest refuses an empty or overlong q', async () => {
    expect4xx(await call('GET', '/api/v1/search/suggest?q='), 400);
    expect4xx(await call('GET', `/api/v1/search/suggest?q=${'a'.repeat(65)}`), 400);
  });
});
