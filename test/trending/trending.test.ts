import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engagementEvents } from '../../src/modules/recommendations/tables.js';
import { recordEngagement } from '../../src/modules/recommendations/engagement.js';
import { posts } from '../../src/modules/posts/tables.js';
import { trendingServiceFor } from '../../src/modules/trending/service.js';
import { createTestEnv, type TestEnv } from '../support/app.js';
import { injectClient, signUp, type Call, type TestUser } from '../support/auth.js';
import { expect4xx, graph, post, type PostBody } from '../posts/support.js';
import { engagementLogged, makePosts, makeUsers } from '../recommendations/support.js';

let env: TestEnv;
let call: Call;
let author: TestUser;
let viewer: TestUser;
let crowd: string[];
const HOUR = 3600_000;

beforeAll(async () => {
  env = await createTestEnv();
  call = injectClient(env.app);
  [author, viewer] = (await Promise.all([signUp(call, env.dataDir), signUp(call, env.dataDir)])) as [TestUser, TestUser];
  crowd = await makeUsers(env.deps, 40, 'crowd');
});
afterAll(async () => env?.close());

const logged = (itemId: string, n: number) => engagementLogged(env.deps, itemId, n);

const engage = (userId: string, itemId: string, at: Date, kind: 'view' | 'like' = 'view') =>
  recordEngagement(env.deps.database.db, [{ userId, itemType: 'post', itemId, creatorId: author.id, kind, at }]);

describe('trending scores', () => {
  it('one account repeating an action adds nothing: the same score as acting once', async () => {
    const [once, repeated, alone] = await makePosts(env.deps, author.id, 3, 'repeat test');
    const now = new Date();
    for (const u of crowd.slice(0, 3)) await engage(u, once!, new Date(now.getTime() - 10 * 60_000));
    for (const u of crowd.slice(0, 3)) await engage(u, repeated!, new Date(now.getTime() - 10 * 60_000));
    // The third account hammers the item 60 times more over the hour.
    for (let i = 0; i < 60; i++) await engage(crowd[2]!, repeated!, new Date(now.getTime() - i * 60_000));
    // A single account alone never makes a trend, however often it acts.
    for (let i = 0; i < 60; i++) await engage(crowd[3]!, alone!, new Date(now.getTime() - i * 60_000), 'like');
    const list = await trendingServiceFor(env.deps).compute('post', 'hour', now);
    const score = (id: string) => list.find((e) => e.id === id)?.score;
    expect(score(once!)).toBeGreaterThan(0);
    // Same three accounts: only the latest time of the repeater moved, by at most 10 minutes of decay.
    expect(score(repeated!)).toBeGreaterThanOrEqual(score(once!)!);
    expect(score(repeated!)! / score(once!)!).toBeLessThan(1.4);
    expect(list.find((e) => e.id === repeated)!.users).toBe(3);
    expect(score(alone!)).toBeUndefined();
  });

  it('a burst on a new item beats steady traffic on an old one', async () => {
    const now = new Date();
    const [old] = await makePosts(env.deps, author.id, 1, 'steady old', { createdAt: new Date(now.getTime() - 30 * HOUR) });
    const [fresh] = await makePosts(env.deps, author.id, 1, 'new burst');
    // Old: 6 different accounts every hour for a day, and in this hour too (more than the burst).
    for (let h = 0; h < 25; h++) for (let k = 0; k < 6; k++) await engage(crowd[(h * 6 + k) % crowd.length]!, old!, new Date(now.getTime() - h * HOUR - 5 * 60_000));
    // New: 5 accounts in the last 20 minutes, nothing before.
    for (const u of crowd.slice(10, 15)) await engage(u, fresh!, new Date(now.getTime() - 15 * 60_000));
    const list = await trendingServiceFor(env.deps).compute('post', 'hour', now);
    const rank = (id: string) => list.findIndex((e) => e.id === id);
    expect(rank(fresh!)).toBeGreaterThanOrEqual(0);
    const oldRank = rank(old!);
    if (oldRank >= 0) expect(rank(fresh!)).toBeLessThan(oldRank);
    // Day window: the old item's steady traffic still counts as its baseline, not as a trend.
    const day = await trendingServiceFor(env.deps).compute('post', 'day', now);
    expect(day.findIndex((e) => e.id === fresh)).toBeGreaterThanOrEqual(0);
  });

  it('deleted and removed posts do not trend', async () => {
    const [gone, removed] = await makePosts(env.deps, author.id, 2, 'hidden trend');
    for (const u of crowd.slice(20, 30)) {
      await engage(u, gone!, new Date());
      await engage(u, removed!, new Date());
    }
    await env.deps.database.db.update(posts).set({ deletedAt: new Date() }).where(eq(posts.id, gone!));
    await env.deps.database.db.update(posts).set({ moderationState: 'removed' }).where(eq(posts.id, removed!));
    const ids = (await trendingServiceFor(env.deps).compute('post', 'hour')).map((e) => e.id);
    expect(ids).not.toContain(gone);
    expect(ids).not.toContain(removed);
  });
});

describe('engagement log from the domain events', () => {
  it('likes, saves, replies, comments and reposts are logged; liking one’s own post is not', async () => {
    const p = await post(call, author, { text: 'log me #logtag' });
    expect((await call('POST', `/api/v1/posts/${p.id}/like`, { token: viewer.accessToken })).status).toBe(200);
    expect((await call('POST', `/api/v1/posts/${p.id}/like`, { token: author.accessToken })).status).toBe(200);
    await post(call, viewer, { text: 'a reply', replyTo: p.id });
    expect((await call('POST', `/api/v1/posts/${p.id}/repost`, { token: viewer.accessToken })).status).toBeLessThan(300);
    expect((await call('POST', `/api/v1/posts/${p.id}/save`, { token: viewer.accessToken })).status).toBe(200);
    expect((await call('POST', `/api/v1/posts/${p.id}/comments`, { token: viewer.accessToken, body: { text: 'a comment' } })).status).toBe(201);
    const rows = await logged(p.id, 6);
    // Self-likes publish an event but are not a signal; give the queue a moment to prove it stays out.
    await new Promise((r) => setTimeout(r, 1500));
    const all = await env.deps.database.db.select().from(engagementEvents).where(and(eq(engagementEvents.itemId, p.id)));
    expect(all.length).toBe(rows.length);
    const kinds = all.map((r) => `${r.userId === viewer.id ? 'viewer' : 'author'}:${r.kind}`).sort();
    expect(kinds).toEqual(['author:create', 'viewer:comment', 'viewer:comment', 'viewer:like', 'viewer:save', 'viewer:share']);
    expect(rows.every((r) => r.creatorId === author.id)).toBe(true);
  });
});

describe('GET /trending/posts and /trending/hashtags', () => {
  let shown: PostBody;
  let blockedPost: PostBody;
  beforeAll(async () => {
    shown = await post(call, author, { text: 'trend me #trendtag' });
    const other = await signUp(call, env.dataDir);
    blockedPost = await post(call, other, { text: 'blocked trend #trendtag' });
    await graph(env.deps).block(viewer, other);
    await logged(shown.id, 1);
    await logged(blockedPost.id, 1);
    for (const u of crowd.slice(0, 8)) {
      await engage(u, shown.id, new Date(), 'like');
      await recordEngagement(env.deps.database.db, [{ userId: u, itemType: 'post', itemId: blockedPost.id, kind: 'like' }]);
    }
    await trendingServiceFor(env.deps).refreshAll();
  });

  it('serves the computed list, with the viewer’s rules applied', async () => {
    const anon = await call('GET', '/api/v1/trending/posts?window=hour&limit=50');
    expect(anon.status).toBe(200);
    const anonIds = (anon.body.items as PostBody[]).map((p) => p.id);
    expect(anonIds).toContain(shown.id);
    expect(anonIds).toContain(blockedPost.id);
    const mine = await call('GET', '/api/v1/trending/posts?window=hour&limit=50', { token: viewer.accessToken });
    const mineIds = (mine.body.items as PostBody[]).map((p) => p.id);
    expect(mineIds).toContain(shown.id);
    expect(mineIds).not.toContain(blockedPost.id);
  });

  it('pages without repeats', async () => {
    const all: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 50; i++) {
      const res = await call('GET', `/api/v1/trending/posts?window=hour&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      all.push(...(res.body.items as PostBody[]).map((p) => p.id));
      cursor = res.body.nextCursor as string | null;
      if (!cursor) break;
    }
    expect(new Set(all).size).toBe(all.length);
    expect(all).toContain(shown.id);
  });

  it('trending hashtags count unique accounts', async () => {
    const res = await call('GET', '/api/v1/trending/hashtags?window=day');
    expect(res.status).toBe(200);
    const tag = (res.body.items as { tag: string; users: number }[]).find((t) => t.tag === 'trendtag');
    expect(tag).toBeDefined();
    // 8 accounts engaging and the two authors posting.
    expect(tag!.users).toBe(10);
  });

  it('is read from the cache: a recompute is needed to change it', async () => {
    const [late] = await makePosts(env.deps, author.id, 1, 'late');
    for (const u of crowd.slice(0, 8)) await engage(u, late!, new Date(), 'like');
    const before = await call('GET', '/api/v1/trending/posts?window=hour&limit=50');
    expect((before.body.items as PostBody[]).map((p) => p.id)).not.toContain(late);
    await trendingServiceFor(env.deps).refresh('post', 'hour');
    const after = await call('GET', '/api/v1/trending/posts?window=hour&limit=50');
    expect((after.body.items as PostBody[]).map((p) => p.id)).toContain(late);
  });

  it.each([
    ['unknown window', '/api/v1/trending/posts?window=month'],
    ['limit 0', '/api/v1/trending/posts?limit=0'],
    ['limit 51', '/api/v1/trending/hashtags?limit=51'],
    ['garbage cursor', '/api/v1/trending/posts?cursor=abc'],
    ['extra parameter', '/api/v1/trending/hashtags?tag=x'],
  ])('%s is a 400 problem', async (_n, url) => {
    expect4xx(await call('GET', url), 400);
  });
});
