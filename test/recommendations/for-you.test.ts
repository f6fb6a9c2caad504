import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordEngagement } from '../../src/modules/recommendations/engagement.js';
import { recommendationsFor } from '../../src/modules/recommendations/service.js';
import { recommenderModels, userInterests } from '../../src/modules/recommendations/tables.js';
import { trainRecommender, TrainingBusy } from '../../src/modules/recommendations/trainer.js';
import { posts } from '../../src/modules/posts/tables.js';
import { createTestEnv, type TestEnv } from '../support/app.js';
import { injectClient, signUp, type Call, type TestUser } from '../support/auth.js';
import { expect4xx, graph, relationsChanged, type PostBody } from '../posts/support.js';
import { makePosts, makeUsers, prng } from './support.js';

/**
 * Planted tastes: two groups of people, each engaging mostly with the posts of its own group of
 * creators, plus posts that random people touch now and then. Nothing in the posts' text or tags
 * gives the groups away, so only the collaborative model can find them.
 */
let env: TestEnv;
let call: Call;
let viewer: TestUser;
let other: TestUser;
let moderator: TestUser;
const alpha: string[] = [];
const beta: string[] = [];
const random: string[] = [];
let alphaCreators: string[] = [];
let viewerSeen: string[] = [];
let v1: string;

const forYou = (u: TestUser | undefined, qs = '') => call('GET', `/api/v1/feed/for-you${qs}`, { token: u?.accessToken });
const ids = (res: Awaited<ReturnType<Call>>) => (res.body.items as PostBody[]).map((p) => p.id);

beforeAll(async () => {
  env = await createTestEnv({ env: { RECOMMENDER_FACTORS: '8', RECOMMENDER_ITERATIONS: '10' } });
  call = injectClient(env.app);
  [viewer, other] = (await Promise.all([signUp(call, env.dataDir), signUp(call, env.dataDir)])) as [TestUser, TestUser];
  moderator = await signUp(call, env.dataDir, { role: 'moderator', deps: env.deps });
  const rand = prng(7);
  alphaCreators = await makeUsers(env.deps, 3, 'alpha_creator');
  const betaCreators = await makeUsers(env.deps, 3, 'beta_creator');
  const randomCreators = await makeUsers(env.deps, 5, 'random_creator');
  for (const c of alphaCreators) alpha.push(...(await makePosts(env.deps, c, 5, 'a post')));
  for (const c of betaCreators) beta.push(...(await makePosts(env.deps, c, 5, 'a post')));
  for (const c of randomCreators) random.push(...(await makePosts(env.deps, c, 4, 'a post')));
  const alphaFans = await makeUsers(env.deps, 14, 'alpha_fan');
  const betaFans = await makeUsers(env.deps, 14, 'beta_fan');
  const events: Parameters<typeof recordEngagement>[1] = [];
  const like = (userId: string, itemId: string) => events.push({ userId, itemType: 'post', itemId, kind: rand() < 0.5 ? 'like' : 'view', at: new Date(Date.now() - Math.floor(rand() * 3_600_000)) });
  for (const [fans, own] of [
    [alphaFans, alpha],
    [betaFans, beta],
  ] as const) {
    for (const u of fans) {
      for (const p of own) if (rand() < 0.6) like(u, p);
      like(u, random[Math.floor(rand() * random.length)]!);
    }
  }
  // The viewer has seen a third of the alpha posts (one per creator at least).
  viewerSeen = alphaCreators.map((_, i) => alpha[i * 5]!).concat(alpha[1]!, alpha[7]!);
  for (const p of viewerSeen) like(viewer.id, p);
  await recordEngagement(env.deps.database.db, events);
  v1 = (await trainRecommender(env.deps)).id;
  await recommendationsFor(env.deps).models.refresh();
});
afterAll(async () => env?.close());

describe('planted tastes', () => {
  it('the trained model ranks the planted (alpha) posts above beta and random ones', async () => {
    const { ids: ranked, modelId } = await recommendationsFor(env.deps).rank(viewer.id);
    expect(modelId).toBe(v1);
    const unseenAlpha = alpha.filter((p) => !viewerSeen.includes(p));
    const pos = (id: string) => (ranked.includes(id) ? ranked.indexOf(id) : ranked.length);
    // AUC: the share of (planted, other) pairs in the right order.
    const others = [...beta, ...random];
    let right = 0;
    for (const a of unseenAlpha) for (const o of others) if (pos(a) < pos(o)) right++;
    expect(right / (unseenAlpha.length * others.length)).toBeGreaterThan(0.9);
    for (const p of viewerSeen) expect(ranked).not.toContain(p);
  });

  it('GET /feed/for-you answers them first, at most 2 per creator in any 10', async () => {
    const res = await forYou(viewer, '?limit=10');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.modelId).toBe(v1);
    const page = ids(res);
    expect(page.slice(0, 6).every((id) => alpha.includes(id))).toBe(true);
    const authorOf = new Map((res.body.items as PostBody[]).map((p) => [p.id, p.author.id]));
    for (let i = 0; i + 10 <= page.length; i++) {
      const counts = new Map<string, number>();
      for (const id of page.slice(i, i + 10)) counts.set(authorOf.get(id)!, (counts.get(authorOf.get(id)!) ?? 0) + 1);
      expect(Math.max(...counts.values())).toBeLessThanOrEqual(2);
    }
  });

  it('pages through one ranking without repeats', async () => {
    await recommendationsFor(env.deps).forget(viewer.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 30; i++) {
      const res = await forYou(viewer, `?limit=4${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      seen.push(...ids(res));
      cursor = res.body.nextCursor as string | null;
      if (!cursor) break;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBeGreaterThan(10);
  });

  it('filters last: blocked creators and deleted posts never show, whatever their score', async () => {
    const blockedCreator = alphaCreators[0]!;
    await env.deps.database.db.insert((await import('../../src/modules/graph/tables.js')).blocks).values({ blockerId: blockedCreator, blockedId: viewer.id });
    await relationsChanged(env.deps, { id: blockedCreator }, viewer);
    const deleted = alpha.find((p) => !viewerSeen.includes(p) && !alpha.slice(0, 5).includes(p))!;
    await env.deps.database.db.update(posts).set({ deletedAt: new Date() }).where(eq(posts.id, deleted));
    await recommendationsFor(env.deps).forget(viewer.id);
    const res = await forYou(viewer, '?limit=50');
    expect(res.status).toBe(200);
    const authors = (res.body.items as PostBody[]).map((p) => p.author.id);
    expect(authors).not.toContain(blockedCreator);
    expect(ids(res)).not.toContain(deleted);
  });
});

describe('serving while training', () => {
  it('keeps serving the previous model while a new one trains, then switches', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let held = false;
    const training = trainRecommender(env.deps, async (step, done) => {
      if (step === 'matrix factorisation' && done === 1) {
        held = true;
        await gate;
      }
    });
    while (!held) await new Promise((r) => setTimeout(r, 20));
    // A second training is refused while this one holds the lock.
    await expect(trainRecommender(env.deps)).rejects.toBeInstanceOf(TrainingBusy);
    await recommendationsFor(env.deps).forget(viewer.id);
    await recommendationsFor(env.deps).models.refresh();
    const during = await forYou(viewer);
    expect(during.status).toBe(200);
    expect(during.body.modelId).toBe(v1);
    const states = (await env.deps.database.db.select().from(recommenderModels)).map((r) => r.state).sort();
    expect(states).toContain('training');
    release();
    const v2 = await training;
    expect(v2.state).toBe('ready');
    expect(await env.deps.storage.stat(v2.storageKey!)).not.toBeNull();
    await recommendationsFor(env.deps).models.refresh();
    await recommendationsFor(env.deps).forget(viewer.id);
    expect((await forYou(viewer)).body.modelId).toBe(v2.id);
  });
});

describe('cold start', () => {
  it('a new user gets posts of the hashtags they picked, and trending', async () => {
    const fresh = await signUp(call, env.dataDir);
    const [creator] = await makeUsers(env.deps, 1, 'garden_creator');
    const garden = await makePosts(env.deps, creator!, 3, 'tomatoes', { tags: ['gardening'] });
    const before = await forYou(fresh, '?limit=50');
    expect(before.status).toBe(200);
    expect(ids(before).filter((id) => garden.includes(id))).toEqual([]);
    const put = await call('PUT', '/api/v1/me/interests', { token: fresh.accessToken, body: { hashtags: ['#Gardening', 'cooking'] } });
    expect(put.status).toBe(200);
    expect(put.body.hashtags).toEqual(['cooking', 'gardening']);
    const after = await forYou(fresh, '?limit=50');
    expect(ids(after).filter((id) => garden.includes(id)).sort()).toEqual([...garden].sort());
  });

  it('a new post reaches people through content similarity before any training', async () => {
    const [creator] = await makeUsers(env.deps, 1, 'tag_creator');
    const [older] = await makePosts(env.deps, creator!, 1, 'older', { tags: ['knitting'] });
    await recordEngagement(env.deps.database.db, [{ userId: other.id, itemType: 'post', itemId: older!, kind: 'like' }]);
    const [brandNew] = await makePosts(env.deps, creator!, 1, 'brand new', { tags: ['knitting'] });
    await recommendationsFor(env.deps).forget(other.id);
    expect(ids(await forYou(other, '?limit=50'))).toContain(brandNew);
  });

  it('followed creators’ recent posts are candidates', async () => {
    const followedUser = await signUp(call, env.dataDir);
    const [p] = await makePosts(env.deps, followedUser.id, 1, 'from someone I follow');
    await graph(env.deps).follow(other, followedUser);
    await recommendationsFor(env.deps).forget(other.id);
    expect(ids(await forYou(other, '?limit=50'))).toContain(p);
  });
});

describe('access and bad input', () => {
  it('anonymous is 401; any signed-in role gets its own feed', async () => {
    expect4xx(await forYou(undefined), 401);
    expect((await forYou(other)).status).toBe(200);
    expect((await forYou(moderator)).status).toBe(200);
    expect4xx(await call('GET', '/api/v1/me/interests'), 401);
    expect4xx(await call('PUT', '/api/v1/me/interests', { body: { hashtags: ['x'] } }), 401);
  });

  it.each([
    ['limit 0', '?limit=0'],
    ['limit 51', '?limit=51'],
    ['garbage cursor', '?cursor=abc'],
    ['extra parameter', '?userId=x'],
  ])('GET /feed/for-you %s is a 400 problem', async (_n, qs) => {
    expect4xx(await forYou(viewer, qs), 400);
  });

  it.each([
    ['not a hashtag', { hashtags: ['no spaces allowed'] }],
    ['21 hashtags', { hashtags: Array.from({ length: 21 }, (_, i) => `t${i}`) }],
    ['empty string', { hashtags: [''] }],
    ['missing field', {}],
    ['extra field', { hashtags: ['a'], userId: 'x' }],
  ])('PUT /me/interests with %s is a 400 and changes nothing', async (_n, body) => {
    const before = await env.deps.database.db.select().from(userInterests).where(eq(userInterests.userId, viewer.id));
    expect4xx(await call('PUT', '/api/v1/me/interests', { token: viewer.accessToken, body }), 400);
    expect(await env.deps.database.db.select().from(userInterests).where(eq(userInterests.userId, viewer.id))).toEqual(before);
  });
});
