import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordEngagement } from '../../src/modules/recommendations/engagement.js';
import { engagementEvents } from '../../src/modules/recommendations/tables.js';
import { trendingServiceFor } from '../../src/modules/trending/service.js';
import { videos } from '../../src/modules/videos/tables.js';
import { createTestEnv, type TestEnv } from '../support/app.js';
import { injectClient, signUp, type Call, type TestUser } from '../support/auth.js';
import { expect4xx, graph } from '../posts/support.js';
import { engagementLogged, makeUsers, makeVideos } from '../recommendations/support.js';

let env: TestEnv;
let call: Call;
let owner: TestUser;
let viewer: TestUser;
let crowd: string[];
const HOUR = 3600_000;

beforeAll(async () => {
  env = await createTestEnv();
  call = injectClient(env.app);
  [owner, viewer] = (await Promise.all([signUp(call, env.dataDir), signUp(call, env.dataDir)])) as [TestUser, TestUser];
  crowd = await makeUsers(env.deps, 40, 'vcrowd');
});
afterAll(async () => env?.close());

const engage = (userId: string, itemId: string, at: Date, kind: 'view' | 'complete' | 'like' = 'view') =>
  recordEngagement(env.deps.database.db, [{ userId, itemType: 'video', itemId, creatorId: owner.id, kind, at }]);

const logged = (itemId: string, n: number) => engagementLogged(env.deps, itemId, n);

describe('trending videos: scores', () => {
  it('one account repeating an action adds nothing; one account alone never trends', async () => {
    const [once, repeated, alone] = await makeVideos(env.deps, owner.id, 3, 'repeat test');
    const now = new Date();
    // The same three accounts on both: two views ten minutes ago and one completed watch now...
    for (const id of [once!, repeated!]) {
      for (const u of crowd.slice(0, 2)) await engage(u, id, new Date(now.getTime() - 10 * 60_000));
      await engage(crowd[2]!, id, now, 'complete');
    }
    // ...and on one of them the third account goes on viewing and finishing it, 60 times over the hour.
    for (let i = 1; i <= 60; i++) await engage(crowd[2]!, repeated!, new Date(now.getTime() - i * 59_000), i % 2 ? 'view' : 'complete');
    for (let i = 0; i < 60; i++) await engage(crowd[3]!, alone!, new Date(now.getTime() - i * 60_000), 'like');
    const list = await trendingServiceFor(env.deps).compute('video', 'hour', now);
    const score = (id: string) => list.find((e) => e.id === id)?.score;
    expect(score(once!)).toBeGreaterThan(0);
    expect(score(repeated!)).toBeCloseTo(score(once!)!, 9);
    expect(list.find((e) => e.id === repeated)!.users).toBe(3);
    expect(score(alone!)).toBeUndefined();
  });

  it('a burst on a new video beats steady traffic on an old one', async () => {
    const now = new Date();
    const [old] = await makeVideos(env.deps, owner.id, 1, 'steady old', { publishedAt: new Date(now.getTime() - 30 * HOUR) });
    const [fresh] = await makeVideos(env.deps, owner.id, 1, 'new burst');
    for (let h = 0; h < 25; h++) for (let k = 0; k < 6; k++) await engage(crowd[(h * 6 + k) % crowd.length]!, old!, new Date(now.getTime() - h * HOUR - 5 * 60_000));
    for (const u of crowd.slice(10, 15)) await engage(u, fresh!, new Date(now.getTime() - 15 * 60_000));
    const list = await trendingServiceFor(env.deps).compute('video', 'hour', now);
    const rank = (id: string) => list.findIndex((e) => e.id === id);
    expect(rank(fresh!)).toBeGreaterThanOrEqual(0);
    const oldRank = rank(old!);
    if (oldRank >= 0) expect(rank(fresh!)).toBeLessThan(oldRank);
    expect((await trendingServiceFor(env.deps).compute('video', 'day', now)).findIndex((e) => e.id === fresh)).toBeGreaterThanOrEqual(0);
  });

  it('only live, public, finished videos trend; anonymous views count for nothing', async () => {
    const [gone, removed, held, followers, priv, unlisted, processing, anonymous] = await makeVideos(env.deps, owner.id, 8, 'hidden trend');
    const db = env.deps.database.db;
    for (const u of crowd.slice(20, 30)) for (const id of [gone, removed, held, followers, priv, unlisted, processing]) await engage(u, id!, new Date(), 'like');
    for (let i = 0; i < 30; i++) await recordEngagement(db, [{ userId: null, itemType: 'video', itemId: anonymous!, creatorId: owner.id, kind: 'view' }]);
    await db.update(videos).set({ deletedAt: new Date() }).where(eq(videos.id, gone!));
    await db.update(videos).set({ moderationState: 'removed' }).where(eq(videos.id, removed!));
    await db.update(videos).set({ moderationState: 'held' }).where(eq(videos.id, held!));
    await db.update(videos).set({ visibility: 'followers' }).where(eq(videos.id, followers!));
    await db.update(videos).set({ visibility: 'private' }).where(eq(videos.id, priv!));
    await db.update(videos).set({ visibility: 'unlisted' }).where(eq(videos.id, unlisted!));
    await db.update(videos).set({ status: 'processing' }).where(eq(videos.id, processing!));
    const ids = (await trendingServiceFor(env.deps).compute('video', 'hour')).map((e) => e.id);
    for (const id of [gone, removed, held, followers, priv, unlisted, processing, anonymous]) expect(ids).not.toContain(id);
  });
});

describe('engagement log from the videos module’s events', () => {
  it('views, completed watches and likes are logged with the owner as creator; the owner’s own are not', async () => {
    const [id] = await makeVideos(env.deps, owner.id, 1, 'logged video', { durationSeconds: 10 });
    expect((await call('POST', `/api/v1/videos/${id}/views`, { token: viewer.accessToken })).status).toBe(200);
    expect((await call('POST', `/api/v1/videos/${id}/views`, { token: owner.accessToken })).status).toBe(200);
    expect((await call('POST', `/api/v1/videos/${id}/progress`, { token: viewer.accessToken, body: { positionSeconds: 10, watchedSeconds: 10 } })).status).toBe(200);
    expect((await call('POST', `/api/v1/videos/${id}/progress`, { token: owner.accessToken, body: { positionSeconds: 10, watchedSeconds: 10 } })).status).toBe(200);
    expect((await call('POST', `/api/v1/videos/${id}/like`, { token: viewer.accessToken })).status).toBe(200);
    expect((await call('POST', `/api/v1/videos/${id}/views`)).status).toBe(200);
    const rows = await logged(id!, 4);
    // The owner's own view and watch published events too; give the queue a moment to prove they stay out.
    await new Promise((r) => setTimeout(r, 1500));
    const all = await env.deps.database.db.select().from(engagementEvents).where(eq(engagementEvents.itemId, id!));
    expect(all.length).toBe(rows.length);
    expect(all.map((r) => `${r.userId === viewer.id ? 'viewer' : r.userId === null ? 'anonymous' : 'other'}:${r.kind}`).sort()).toEqual(['anonymous:view', 'viewer:complete', 'viewer:like', 'viewer:view']);
    expect(all.every((r) => r.creatorId === owner.id)).toBe(true);
  });
});

describe('GET /trending/videos', () => {
  let shown: string;
  let byBlocker: string;
  let blocker: TestUser;
  beforeAll(async () => {
    shown = (await makeVideos(env.deps, owner.id, 1, 'trend me'))[0]!;
    blocker = await signUp(call, env.dataDir);
    byBlocker = (await makeVideos(env.deps, blocker.id, 1, 'blocked trend'))[0]!;
    await graph(env.deps).block(blocker, viewer);
    for (const u of crowd.slice(0, 8)) {
      await engage(u, shown, new Date(), 'like');
      await recordEngagement(env.deps.database.db, [{ userId: u, itemType: 'video', itemId: byBlocker, kind: 'complete' }]);
    }
    await trendingServiceFor(env.deps).refreshAll();
  });

  const ids = (res: Awaited<ReturnType<Call>>) => {
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return (res.body.items as { id: string }[]).map((x) => x.id);
  };

  it('serves the computed list (every window), with each viewer’s rules applied', async () => {
    for (const window of ['hour', 'day', 'week']) {
      const anon = ids(await call('GET', `/api/v1/trending/videos?window=${window}&limit=50`));
      expect(anon).toContain(shown);
      expect(anon).toContain(byBlocker);
    }
    const mine = ids(await call('GET', '/api/v1/trending/videos?window=hour&limit=50', { token: viewer.accessToken }));
    expect(mine).toContain(shown);
    expect(mine).not.toContain(byBlocker);
    expect(ids(await call('GET', '/api/v1/trending/videos?window=hour&limit=50', { token: owner.accessToken }))).toContain(shown);
  });

  it('a video hidden after the computation is left out at once', async () => {
    await env.deps.database.db.update(videos).set({ visibility: 'private' }).where(eq(videos.id, byBlocker));
    expect(ids(await call('GET', '/api/v1/trending/videos?window=hour&limit=50'))).not.toContain(byBlocker);
    expect(ids(await call('GET', '/api/v1/trending/videos?window=hour&limit=50', { token: blocker.accessToken }))).toContain(byBlocker);
    await env.deps.database.db.update(videos).set({ visibility: 'public' }).where(eq(videos.id, byBlocker));
  });

  it('pages without repeats', async () => {
    const all: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 50; i++) {
      const res = await call('GET', `/api/v1/trending/videos?window=hour&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      all.push(...ids(res));
      cursor = res.body.nextCursor as string | null;
      if (!cursor) break;
    }
    expect(new Set(all).size).toBe(all.length);
    expect(all).toContain(shown);
  });

  it.each([
    ['unknown window', '?window=month'],
    ['limit 0', '?limit=0'],
    ['limit 51', '?limit=51'],
    ['garbage cursor', '?cursor=abc'],
    ['a cursor past any list', `?cursor=${Buffer.from('o99999').toString('base64url')}`],
    ['extra parameter', '?kind=post'],
  ])('%s is a 400 problem', async (_n, qs) => {
    expect4xx(await call('GET', `/api/v1/trending/videos${qs}`), 400);
  });
});
