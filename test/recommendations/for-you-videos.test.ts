import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordEngagement } from '../../src/modules/recommendations/engagement.js';
import { recommendationsFor } from '../../src/modules/recommendations/service.js';
import { trainRecommender } from '../../src/modules/recommendations/trainer.js';
import { trendingServiceFor } from '../../src/modules/trending/service.js';
import { videos } from '../../src/modules/videos/tables.js';
import { createTestEnv, type TestEnv } from '../support/app.js';
import { injectClient, signUp, type Call, type TestUser } from '../support/auth.js';
import { expect4xx, graph } from '../posts/support.js';
import { makePosts, makeUsers, makeVideos } from './support.js';

let env: TestEnv;
let call: Call;
let viewer: TestUser;
let creator: TestUser;
let crowd: string[];

beforeAll(async () => {
  env = await createTestEnv({ env: { RECOMMENDER_FACTORS: '8', RECOMMENDER_ITERATIONS: '10' } });
  call = injectClient(env.app);
  [viewer, creator] = (await Promise.all([signUp(call, env.dataDir), signUp(call, env.dataDir)])) as [TestUser, TestUser];
  crowd = await makeUsers(env.deps, 30, 'fyv');
});
afterAll(async () => env?.close());

const forYou = (u: TestUser | undefined, qs = '?limit=50') => call('GET', `/api/v1/feed/for-you/videos${qs}`, { token: u?.accessToken });
const ids = (res: Awaited<ReturnType<Call>>) => {
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return (res.body.items as { id: string }[]).map((x) => x.id);
};
const fresh = async (u: TestUser) => {
  await recommendationsFor(env.deps).forget(u.id);
  return u;
};

describe('GET /feed/for-you/videos: sources', () => {
  it('learns from what people watch: the model proposes the videos watched by people with the same taste', async () => {
    // One planted video per creator, so the per-creator cap does not reorder them.
    const makers = await makeUsers(env.deps, 12, 'maker');
    const planted = (await Promise.all(makers.slice(0, 8).map((m) => makeVideos(env.deps, m, 1, 'planted')))).flat();
    const others = (await Promise.all(makers.slice(8).map((m) => makeVideos(env.deps, m, 2, 'other')))).flat();
    const events: Parameters<typeof recordEngagement>[1] = [];
    for (const u of crowd.slice(0, 12)) for (const v of planted) events.push({ userId: u, itemType: 'video', itemId: v, kind: 'complete' });
    for (const u of crowd.slice(12, 24)) for (const v of others) events.push({ userId: u, itemType: 'video', itemId: v, kind: 'complete' });
    events.push({ userId: viewer.id, itemType: 'video', itemId: planted[0]!, kind: 'complete' }, { userId: viewer.id, itemType: 'video', itemId: planted[5]!, kind: 'like' });
    await recordEngagement(env.deps.database.db, events);
    const model = await trainRecommender(env.deps);
    await recommendationsFor(env.deps).models.refresh();
    const res = await forYou(await fresh(viewer));
    expect(res.body.modelId).toBe(model.id);
    const list = ids(res);
    const unseen = planted.filter((_, i) => i !== 0 && i !== 5);
    for (const v of unseen) expect(list).toContain(v);
    // Finished and liked videos are not proposed again.
    expect(list).not.toContain(planted[0]);
    expect(list).not.toContain(planted[5]);
    const pos = (id: string) => (list.includes(id) ? list.indexOf(id) : list.length);
    for (const p of unseen) for (const o of others) expect(pos(p)).toBeLessThan(pos(o));
  });

  it('cold start: a new account gets videos tagged with its interests, then trending ones', async () => {
    const newbie = await signUp(call, env.dataDir);
    const [maker] = await makeUsers(env.deps, 1, 'garden_maker');
    const garden = await makeVideos(env.deps, maker!, 3, 'tomatoes', { tags: ['gardening'] });
    const [hot] = await makeVideos(env.deps, maker!, 1, 'hot right now');
    await recordEngagement(env.deps.database.db, crowd.slice(0, 5).map((userId) => ({ userId, itemType: 'video' as const, itemId: hot!, kind: 'like' as const })));
    await trendingServiceFor(env.deps).refreshAll(['video']);
    expect(ids(await forYou(newbie)).filter((id) => garden.includes(id))).toEqual([]);
    expect((await call('PUT', '/api/v1/me/interests', { token: newbie.accessToken, body: { hashtags: ['gardening'] } })).status).toBe(200);
    const list = ids(await forYou(newbie));
    expect(list.filter((id) => garden.includes(id)).sort()).toEqual([...garden].sort());
    expect(list).toContain(hot);
  });

  it('a new video reaches people through its tags before any training; followed creators’ videos are candidates', async () => {
    const [maker] = await makeUsers(env.deps, 1, 'knit_maker');
    const [older] = await makeVideos(env.deps, maker!, 1, 'older', { tags: ['knitting'] });
    await recordEngagement(env.deps.database.db, [{ userId: creator.id, itemType: 'video', itemId: older!, kind: 'like' }]);
    const [brandNew] = await makeVideos(env.deps, maker!, 1, 'brand new', { tags: ['knitting'] });
    const followed = await signUp(call, env.dataDir);
    const [fromFollowed] = await makeVideos(env.deps, followed.id, 1, 'from someone I follow', { visibility: 'followers' });
    await graph(env.deps).follow(creator, followed);
    const list = ids(await forYou(await fresh(creator)));
    expect(list).toContain(brandNew);
    expect(list).toContain(fromFollowed);
  });
});

describe('GET /feed/for-you/videos: rules and ranking', () => {
  it('never own, hidden or unfinished videos; at most 2 of one creator in any 10; pages without repeats', async () => {
    const u = await signUp(call, env.dataDir);
    const blocker = await signUp(call, env.dataDir);
    const stranger = await signUp(call, env.dataDir);
    await graph(env.deps).block(blocker, u);
    const tag = `rules${Math.random().toString(36).slice(2, 6)}`;
    const makers = await makeUsers(env.deps, 4, 'rules_maker');
    const shown = (await Promise.all(makers.map((m) => makeVideos(env.deps, m, 4, 'shown', { tags: [tag] })))).flat();
    const hidden = {
      own: (await makeVideos(env.deps, u.id, 1, 'mine', { tags: [tag] }))[0]!,
      blocker: (await makeVideos(env.deps, blocker.id, 1, 'by a blocker', { tags: [tag] }))[0]!,
      followers: (await makeVideos(env.deps, stranger.id, 1, 'followers only', { tags: [tag], visibility: 'followers' }))[0]!,
      private: (await makeVideos(env.deps, stranger.id, 1, 'private', { tags: [tag], visibility: 'private' }))[0]!,
      unlisted: (await makeVideos(env.deps, stranger.id, 1, 'unlisted', { tags: [tag], visibility: 'unlisted' }))[0]!,
      processing: (await makeVideos(env.deps, stranger.id, 1, 'processing', { tags: [tag], status: 'processing' }))[0]!,
      held: (await makeVideos(env.deps, stranger.id, 1, 'held', { tags: [tag], moderationState: 'held' }))[0]!,
    };
    expect((await call('PUT', '/api/v1/me/interests', { token: u.accessToken, body: { hashtags: [tag] } })).status).toBe(200);
    const seen: { id: string; owner: { id: string } }[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 20; i++) {
      const res = await forYou(u, `?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      seen.push(...(res.body.items as { id: string; owner: { id: string } }[]));
      cursor = res.body.nextCursor as string | null;
      if (!cursor) break;
    }
    const seenIds = seen.map((x) => x.id);
    expect(new Set(seenIds).size).toBe(seenIds.length);
    for (const id of shown) expect(seenIds).toContain(id);
    for (const [label, id] of Object.entries(hidden)) expect(seenIds, label).not.toContain(id);
    // The first ten: later on, when only a few creators are left, the cap gives way rather than drop videos.
    const counts = new Map<string, number>();
    for (const x of seen.slice(0, 10)) counts.set(x.owner.id, (counts.get(x.owner.id) ?? 0) + 1);
    expect(Math.max(...counts.values())).toBeLessThanOrEqual(2);
  });

  it('a video hidden after the ranking was kept is left out of the next page', async () => {
    const u = await signUp(call, env.dataDir);
    const tag = `later${Math.random().toString(36).slice(2, 6)}`;
    const [maker] = await makeUsers(env.deps, 1, 'later_maker');
    const vids = await makeVideos(env.deps, maker!, 2, 'later', { tags: [tag] });
    expect((await call('PUT', '/api/v1/me/interests', { token: u.accessToken, body: { hashtags: [tag] } })).status).toBe(200);
    const first = await forYou(u, '?limit=1');
    const firstIds = ids(first);
    expect(firstIds).toHaveLength(1);
    const rest = vids.find((id) => id !== firstIds[0])!;
    await env.deps.database.db.update(videos).set({ deletedAt: new Date() }).where(eq(videos.id, rest));
    expect(ids(await forYou(u, `?limit=50&cursor=${first.body.nextCursor as string}`))).not.toContain(rest);
  });

  it('the posts feed stays posts: no video ids in GET /feed/for-you', async () => {
    const u = await signUp(call, env.dataDir);
    const tag = `mixed${Math.random().toString(36).slice(2, 6)}`;
    const [maker] = await makeUsers(env.deps, 1, 'mixed_maker');
    const [v] = await makeVideos(env.deps, maker!, 1, 'a video', { tags: [tag] });
    const [p] = await makePosts(env.deps, maker!, 1, 'a post', { tags: [tag] });
    expect((await call('PUT', '/api/v1/me/interests', { token: u.accessToken, body: { hashtags: [tag] } })).status).toBe(200);
    const posts = await call('GET', '/api/v1/feed/for-you?limit=50', { token: u.accessToken });
    expect(ids(posts)).toContain(p);
    expect(ids(posts)).not.toContain(v);
    expect(ids(await forYou(u))).toContain(v);
    expect(ids(await forYou(u))).not.toContain(p);
  });
});

describe('GET /feed/for-you/videos: access and bad input', () => {
  it('anonymous is 401', async () => {
    expect4xx(await forYou(undefined), 401);
  });
  it.each([
    ['limit 0', '?limit=0'],
    ['limit 51', '?limit=51'],
    ['garbage cursor', '?cursor=abc'],
    ['a cursor that does not decode to a position', `?cursor=${Buffer.from('zzzzzzzz.1').toString('base64url')}`],
    ['extra parameter', '?userId=x'],
  ])('%s is a 400 problem', async (_n, qs) => {
    expect4xx(await forYou(viewer, qs), 400);
  });
});
