import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rebuildTerms } from '../../src/modules/search/terms.js';
import { videos } from '../../src/modules/videos/tables.js';
import { createTestEnv, type TestEnv } from '../support/app.js';
import { injectClient, signUp, type Call, type TestUser } from '../support/auth.js';
import { vocabularyHas } from './support.js';
import { expect4xx, graph } from '../posts/support.js';
import { makeVideos } from '../recommendations/support.js';

let env: TestEnv;
let call: Call;
let owner: TestUser;
let follower: TestUser;
let stranger: TestUser;
let blocked: TestUser;
let muter: TestUser;
let moderator: TestUser;
const v: Record<string, string> = {};
/** Words no other test writes, so results are this file's videos only. */
const W = `zv${Math.random().toString(36).slice(2, 7)}`;
const R = `rk${Math.random().toString(36).slice(2, 7)}`;
const P = `pv${Math.random().toString(36).slice(2, 7)}`;
const HOUR = 3600_000;

const one = async (title: string, extra: Partial<typeof videos.$inferInsert> = {}, who = owner) => (await makeVideos(env.deps, who.id, 1, title, extra))[0]!;

beforeAll(async () => {
  env = await createTestEnv();
  call = injectClient(env.app);
  [owner, follower, stranger, blocked, muter] = (await Promise.all([1, 2, 3, 4, 5].map(() => signUp(call, env.dataDir)))) as [TestUser, TestUser, TestUser, TestUser, TestUser];
  moderator = await signUp(call, env.dataDir, { role: 'moderator', deps: env.deps });
  await graph(env.deps).follow(follower, owner);
  await graph(env.deps).block(owner, blocked);
  await graph(env.deps).mute(muter, owner);
  v.public = await one(`My cooking video ${W}`, { tags: ['pasta', 'italian food'], description: 'Fresh pasta at home', durationSeconds: 300, publishedAt: new Date(Date.now() - 2 * HOUR) });
  v.followers = await one(`Garden video ${W}`, { visibility: 'followers', durationSeconds: 30 });
  v.private = await one(`Private video ${W}`, { visibility: 'private' });
  v.unlisted = await one(`Unlisted video ${W}`, { visibility: 'unlisted' });
  v.processing = await one(`Processing video ${W}`, { status: 'processing' });
  v.unpublished = await one(`Uploading video ${W}`, { status: 'uploading', publishedAt: null, renditions: [] });
  v.failed = await one(`Failed video ${W}`, { status: 'failed', publishedAt: null });
  v.held = await one(`Held video ${W}`, { moderationState: 'held' });
  v.removed = await one(`Removed video ${W}`, { moderationState: 'removed' });
  v.deleted = await one(`Deleted video ${W}`, { deletedAt: new Date() });
  v.other = await one(`Mountains at dawn ${W}`, {}, stranger);
  await rebuildTerms(env.deps.database.db);
});
afterAll(async () => env?.close());

const search = (qs: string, u?: TestUser) => call('GET', `/api/v1/search?${qs}`, { token: u?.accessToken });
type Page = { items: { id: string; title: string; owner: { id: string } }[]; nextCursor: string | null };
const videoIds = (res: Awaited<ReturnType<Call>>) => {
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return (res.body.videos as Page).items.map((x) => x.id);
};
const q = (words: string) => `type=videos&limit=50&q=${encodeURIComponent(words)}`;

describe('GET /search?type=videos: who finds what', () => {
  const all = () => [v.public, v.followers, v.private, v.unlisted, v.processing, v.unpublished, v.failed, v.held, v.removed, v.deleted];
  it.each([
    ['anonymous', () => undefined, () => [v.public]],
    ['a stranger', () => stranger, () => [v.public]],
    ['a follower', () => follower, () => [v.public, v.followers]],
    ['the owner', () => owner, () => [v.public, v.followers, v.private]],
    ['a moderator (no held or removed videos in search either)', () => moderator, () => [v.public]],
    ['an account the owner blocked', () => blocked, () => []],
    ['an account that muted the owner', () => muter, () => []],
  ])('%s', async (_who, user, expected) => {
    const found = videoIds(await search(q(`video ${W}`), user()));
    expect(new Set(found)).toEqual(new Set(expected()));
    for (const id of all()) if (!expected().includes(id)) expect(found).not.toContain(id);
  });

  it('a creator who blocked the viewer is hidden too (blocks work both ways)', async () => {
    const blocker = await signUp(call, env.dataDir);
    const id = await one(`Blocker clip ${W}`, {}, blocker);
    await rebuildTerms(env.deps.database.db);
    expect(videoIds(await search(q(`blocker ${W}`), stranger))).toEqual([id]);
    await graph(env.deps).block(blocker, stranger);
    expect(videoIds(await search(q(`blocker ${W}`), stranger))).toEqual([]);
  });

  it('a video made private or deleted after it was indexed disappears at once', async () => {
    const id = await one(`Changing clip ${W}`);
    expect(videoIds(await search(q(`changing ${W}`), stranger))).toEqual([id]);
    await env.deps.database.db.update(videos).set({ visibility: 'private' }).where(eq(videos.id, id));
    expect(videoIds(await search(q(`changing ${W}`), stranger))).toEqual([]);
    await env.deps.database.db.update(videos).set({ visibility: 'public', deletedAt: new Date() }).where(eq(videos.id, id));
    expect(videoIds(await search(q(`changing ${W}`), stranger))).toEqual([]);
  });
});

describe('GET /search?type=videos: matching', () => {
  it('matches title, tags and description, stemmed ("cook" finds "cooking", "foods" finds "food")', async () => {
    expect(videoIds(await search(q(`cook ${W}`)))).toEqual([v.public]);
    expect(videoIds(await search(q(`foods ${W}`)))).toEqual([v.public]);
    expect(videoIds(await search(q(`home ${W}`)))).toEqual([v.public]);
    expect(videoIds(await search(q(`mountains ${W}`)))).toEqual([v.other]);
  });

  it('the vector follows edits (a generated column): a new title is searchable at once, the old one no more', async () => {
    const id = await one(`Kangaroo ${W}`);
    await env.deps.database.db.update(videos).set({ title: `Wombat ${W}`, tags: ['platypus'] }).where(eq(videos.id, id));
    expect(videoIds(await search(q(`wombat ${W}`)))).toEqual([id]);
    expect(videoIds(await search(q(`platypus ${W}`)))).toEqual([id]);
    expect(videoIds(await search(q(`kangaroo ${W}`)))).toEqual([]);
  });

  it('tolerates typos: "vidoe" finds "video", "cookin" finds "cooking"', async () => {
    expect(videoIds(await search(q(`vidoe ${W}`)))).toContain(v.public);
    expect(videoIds(await search(q(`cookin ${W}`)))).toEqual([v.public]);
  });

  it('learns a ready video’s words from video.ready (typo correction before the nightly rebuild)', async () => {
    // Its own random part: a query word sharing trigrams with W would also be corrected towards W.
    const tail = Math.random().toString(36).slice(2, 7);
    const word = `zebracorn${tail}`;
    const id = await one(`Striped ${word}`);
    await env.deps.events.publish('video.ready', { videoId: id, ownerId: owner.id });
    // 45 s: inside the 60 s test timeout, so a timeout still reports the jobs.
    await vocabularyHas(env, word, undefined, 45_000);
    // One letter swapped: only the vocabulary can bridge it.
    const typo = `zebracron${tail}`;
    expect(videoIds(await search(q(typo)))).toEqual([id]);
  });

  it('ranks a title match above a tag match above a description match', async () => {
    const title = await one(`${R} in the title`);
    const tag = await one(`Something else`, { tags: [R] });
    const description = await one(`Another thing`, { description: `all about ${R} here` });
    await rebuildTerms(env.deps.database.db);
    expect(videoIds(await search(q(R)))).toEqual([title, tag, description]);
  });

  it('filters by duration (inclusive) and by publication date', async () => {
    expect(videoIds(await search(`${q(`video ${W}`)}&minDuration=300`, owner))).toEqual([v.public]);
    expect(new Set(videoIds(await search(`${q(`video ${W}`)}&maxDuration=60`, owner)))).toEqual(new Set([v.followers, v.private]));
    expect(videoIds(await search(`${q(`video ${W}`)}&minDuration=31&maxDuration=299`, owner))).toEqual([v.private]);
    expect(videoIds(await search(`${q(`video ${W}`)}&minDuration=30&maxDuration=30`, owner))).toEqual([v.followers]);
    const hourAgo = encodeURIComponent(new Date(Date.now() - HOUR).toISOString());
    expect(videoIds(await search(`${q(`video ${W}`)}&until=${hourAgo}`, owner))).toEqual([v.public]);
    expect(new Set(videoIds(await search(`${q(`video ${W}`)}&since=${hourAgo}`, owner)))).toEqual(new Set([v.followers, v.private]));
  });

  it('type=all answers videos next to posts, people and hashtags', async () => {
    const res = await search(`q=${encodeURIComponent(`video ${W}`)}`);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['hashtags', 'posts', 'users', 'videos']);
    expect((res.body.videos as Page).items.map((x) => x.id)).toEqual([v.public]);
  });

  it('pages by cursor without repeats, by relevance and newest published first', async () => {
    const now = Date.now();
    const many: string[] = [];
    // Two share one publication time: the id breaks the tie, so paging still neither repeats nor skips.
    for (let i = 0; i < 7; i++) many.push(await one(`paging ${P} ${'extra '.repeat(i)}`, { publishedAt: new Date(now - Math.min(i, 5) * 60_000), tags: i % 2 ? [P] : [] }));
    await env.deps.database.db.update(videos).set({ visibility: 'private' }).where(eq(videos.id, many[3]!));
    const visible = many.filter((_, i) => i !== 3);
    await rebuildTerms(env.deps.database.db);
    for (const sort of ['relevance', 'recent']) {
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let n = 0; n < 10; n++) {
        const res = await search(`type=videos&sort=${sort}&limit=2&q=${P}${cursor ? `&cursor=${cursor}` : ''}`, stranger);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        const page = res.body.videos as Page;
        seen.push(...page.items.map((x) => x.id));
        cursor = page.nextCursor;
        if (!cursor) break;
      }
      expect([...seen].sort(), sort).toEqual([...visible].sort());
      // Equal publication times (5 and 6): the later id first.
      if (sort === 'recent') expect(seen).toEqual([many[0], many[1], many[2], many[4], many[6], many[5]]);
    }
  });
});

describe('GET /search?type=videos: bad and hostile input', () => {
  const count = async () => (await env.deps.database.db.select({ n: sql<number>`count(*)::int` }).from(videos))[0]!.n;

  it.each([
    ['negative minDuration', 'q=x&type=videos&minDuration=-1'],
    ['minDuration not a number', 'q=x&type=videos&minDuration=long'],
    ['maxDuration too large', 'q=x&type=videos&maxDuration=1000000'],
    ['minDuration above maxDuration', 'q=x&type=videos&minDuration=60&maxDuration=30'],
    ['singular type', 'q=x&type=video'],
    ['garbage cursor', 'q=x&type=videos&cursor=abc'],
    ['a posts-style recent cursor', `q=x&type=videos&sort=recent&cursor=${Buffer.from(JSON.stringify([0, '01936a3e-0000-7000-8000-000000000000'])).toString('base64url')}`],
    ['a fractional recent cursor', `q=x&type=videos&sort=recent&cursor=${Buffer.from(JSON.stringify([1.5, '01936a3e-0000-7000-8000-000000000000'])).toString('base64url')}`],
    ['a cursor with a non-uuid id', `q=x&type=videos&cursor=${Buffer.from(JSON.stringify([1, 'x'])).toString('base64url')}`],
  ])('%s is a 400 problem and changes nothing', async (_name, qs) => {
    const n = await count();
    expect4xx(await search(qs), 400);
    expect(await count()).toBe(n);
  });

  it.each([`'; drop table videos; --`, `%_\\`, `a & | ! ( ) : * <->`, `\u0000nul`, 'x'.repeat(200), '🙂🙂', 'or and not'])('survives %j', async (text) => {
    const n = await count();
    const res = await search(`type=videos&q=${encodeURIComponent(text)}`);
    expect([200, 400], JSON.stringify(res.body)).toContain(res.status);
    expect(await count()).toBe(n);
  });
});

describe('GET /search/suggest: video titles as you type', () => {
  const suggest = async (text: string, u?: TestUser) => {
    const res = await call('GET', `/api/v1/search/suggest?q=${encodeURIComponent(text)}`, { token: u?.accessToken });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.videos as { id: string; title: string }[];
  };

  it.each([
    ['anonymous', () => undefined, () => [v.public]],
    ['a follower', () => follower, () => [v.public, v.followers]],
    ['the owner', () => owner, () => [v.public, v.followers, v.private]],
    ['an account the owner blocked', () => blocked, () => []],
    ['an account that muted the owner', () => muter, () => []],
  ])('offers what %s may find, the last word matching as a prefix', async (_who, user, expected) => {
    // "vid" is half typed: it matches "video"; unlisted, unfinished, held, removed and deleted videos never show.
    const got = await suggest(`${W} vid`, user());
    expect(new Set(got.map((x) => x.id))).toEqual(new Set(expected()));
    for (const x of got) expect(x.title).toMatch(/video/i);
  });

  it('earlier words are whole words, only the last is a prefix', async () => {
    expect((await suggest(`mountains ${W.slice(0, 5)}`)).map((x) => x.id)).toEqual([v.other]);
    const prefixOnly = (await suggest(W.slice(0, 5))).map((x) => x.id);
    expect(prefixOnly).toContain(v.other);
    expect(prefixOnly.length).toBeLessThanOrEqual(5);
    // "mountain" is not a prefix of anything else here, and a finished word is not a prefix of another.
    expect(await suggest(`${W} mountainz`)).toEqual([]);
  });

  it('SQL and tsquery syntax in what is typed is only text', async () => {
    for (const text of [`${W} vid':*`, `${W} & | ! ( ) :*`, `'); drop table videos; --`]) expect(Array.isArray(await suggest(text))).toBe(true);
    expect((await env.deps.database.db.select({ n: sql<number>`count(*)::int` }).from(videos))[0]!.n).toBeGreaterThan(0);
  });
});
