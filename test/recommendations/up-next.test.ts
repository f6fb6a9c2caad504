import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordEngagement } from '../../src/modules/recommendations/engagement.js';
import { trendingServiceFor } from '../../src/modules/trending/service.js';
import { videos, type VideoVisibility } from '../../src/modules/videos/tables.js';
import { createTestEnv, type TestEnv } from '../support/app.js';
import { injectClient, signUp, type Call, type TestUser } from '../support/auth.js';
import { expect4xx, graph } from '../posts/support.js';
import { makeUsers, makeVideos } from './support.js';

let env: TestEnv;
let call: Call;
let owner: TestUser;
let follower: TestUser;
let stranger: TestUser;
let blocked: TestUser;
let muter: TestUser;
let moderator: TestUser;
let crowd: string[];

beforeAll(async () => {
  env = await createTestEnv();
  call = injectClient(env.app);
  [owner, follower, stranger, blocked, muter] = (await Promise.all([1, 2, 3, 4, 5].map(() => signUp(call, env.dataDir)))) as [TestUser, TestUser, TestUser, TestUser, TestUser];
  moderator = await signUp(call, env.dataDir, { role: 'moderator', deps: env.deps });
  await graph(env.deps).follow(follower, owner);
  await graph(env.deps).block(owner, blocked);
  await graph(env.deps).mute(muter, owner);
  crowd = await makeUsers(env.deps, 30, 'upnext');
});
afterAll(async () => env?.close());

const video = async (who: TestUser | string, title: string, extra: Partial<typeof videos.$inferInsert> = {}) => (await makeVideos(env.deps, typeof who === 'string' ? who : who.id, 1, title, extra))[0]!;
const upNext = (id: string, u?: TestUser, qs = '?limit=50') => call('GET', `/api/v1/videos/${id}/up-next${qs}`, { token: u?.accessToken });
const ids = (res: Awaited<ReturnType<Call>>) => {
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return (res.body.items as { id: string }[]).map((x) => x.id);
};
/** Each of `users` engaged with every one of `items` (a co-visit). */
const coVisit = (users: string[], items: string[], kind: 'view' | 'like' | 'complete' = 'view') =>
  recordEngagement(
    env.deps.database.db,
    users.flatMap((userId) => items.map((itemId) => ({ userId, itemType: 'video' as const, itemId, kind }))),
  );

type Who = 'anonymous' | 'owner' | 'follower' | 'stranger' | 'blocked' | 'muter' | 'moderator';
const who = (): Record<Who, TestUser | undefined> => ({ anonymous: undefined, owner, follower, stranger, blocked, muter, moderator });

describe('GET /videos/:id/up-next: who may ask (the same 404 as GET /videos/:id)', () => {
  const matrix: { label: string; visibility: VideoVisibility; extra?: Partial<typeof videos.$inferInsert>; sees: Who[] }[] = [
    { label: 'public', visibility: 'public', sees: ['anonymous', 'owner', 'follower', 'stranger', 'muter', 'moderator'] },
    { label: 'unlisted (by link)', visibility: 'unlisted', sees: ['anonymous', 'owner', 'follower', 'stranger', 'muter', 'moderator'] },
    { label: 'followers-only', visibility: 'followers', sees: ['owner', 'follower'] },
    { label: 'private', visibility: 'private', sees: ['owner'] },
    { label: 'held by moderation', visibility: 'public', extra: { moderationState: 'held' }, sees: ['owner', 'moderator'] },
    { label: 'not yet playable', visibility: 'public', extra: { status: 'uploading', publishedAt: null, renditions: [] }, sees: ['owner'] },
    { label: 'deleted', visibility: 'public', extra: { deletedAt: new Date() }, sees: [] },
  ];
  for (const m of matrix) {
    it(m.label, async () => {
      const id = await video(owner, `access ${m.label}`, { visibility: m.visibility, ...m.extra });
      for (const [name, user] of Object.entries(who()) as [Who, TestUser | undefined][]) {
        const direct = await call('GET', `/api/v1/videos/${id}`, { token: user?.accessToken });
        const res = await upNext(id, user);
        expect(res.status, name).toBe(m.sees.includes(name) ? 200 : 404);
        expect(res.status, `${name}: same as GET /videos/:id`).toBe(direct.status);
        if (res.status === 404) {
          expect4xx(res, 404);
          expect(res.body.code).toBe('videos.not_found');
        } else expect(ids(res)).not.toContain(id);
      }
    });
  }

  it('a video that does not exist is a 404', async () => {
    expect4xx(await upNext('01936a3e-0000-7000-8000-000000000000'), 404);
  });
});

describe('GET /videos/:id/up-next: ranking', () => {
  it('co-visitation first, then shared tags, then the same creator, then trending, then the newest', async () => {
    // A creator of their own, so no other video of this file shares the creator.
    const [creator, ...other] = (await makeUsers(env.deps, 3, 'creator')) as [string, string, string];
    const current = await video(creator, 'the current one', { tags: ['surf', 'ocean'] });
    const covisited = await video(other[0], 'watched by the same people');
    const tagged = await video(other[1], 'shares both tags', { tags: ['ocean', 'surf', 'waves'] });
    const oneTag = await video(other[1], 'shares one tag', { tags: ['surf'] });
    const sameCreator = await video(creator, 'same creator, nothing else');
    const trendy = await video(other[0], 'trending elsewhere');
    const newest = await video(other[0], 'just published');
    // Four accounts watched the current video and the co-visited one; a crowd makes another trend.
    await coVisit(crowd.slice(0, 4), [current, covisited]);
    await coVisit(crowd.slice(10, 16), [trendy], 'like');
    await trendingServiceFor(env.deps).refreshAll(['video']);
    const list = ids(await upNext(current, stranger));
    const at = (id: string) => list.indexOf(id);
    for (const id of [covisited, tagged, oneTag, sameCreator, trendy, newest]) expect(at(id), id).toBeGreaterThanOrEqual(0);
    expect(at(covisited)).toBe(0);
    expect(at(tagged)).toBe(1);
    expect(at(oneTag)).toBe(2);
    expect(at(sameCreator)).toBe(3);
    expect(at(trendy)).toBe(4);
    expect(at(newest)).toBeGreaterThan(at(trendy));
    expect(list).not.toContain(current);
    expect(new Set(list).size).toBe(list.length);
  });

  it('co-visitation counts accounts, damped by a video’s own audience', async () => {
    const current = await video(owner, 'current for co-visits');
    const niche = await video(stranger, 'niche');
    const popular = await video(stranger, 'popular with everyone');
    await coVisit(crowd.slice(0, 3), [current, niche, popular]);
    // Everyone else watched the popular one too: sharing 3 of its 30 viewers says less than 3 of 3.
    await coVisit(crowd.slice(3, 30), [popular]);
    const list = ids(await upNext(current));
    expect(list.indexOf(niche)).toBeLessThan(list.indexOf(popular));
  });

  it('never proposes what the viewer may not watch, nor what they finished', async () => {
    const blocker = await signUp(call, env.dataDir);
    await graph(env.deps).block(blocker, stranger);
    const current = await video(stranger, 'current with hidden neighbours', { tags: ['hidden-test'] });
    const hidden = {
      private: await video(owner, 'private neighbour', { visibility: 'private', tags: ['hidden-test'] }),
      unlisted: await video(owner, 'unlisted neighbour', { visibility: 'unlisted', tags: ['hidden-test'] }),
      followers: await video(owner, 'followers neighbour', { visibility: 'followers', tags: ['hidden-test'] }),
      held: await video(owner, 'held neighbour', { moderationState: 'held', tags: ['hidden-test'] }),
      removed: await video(owner, 'removed neighbour', { moderationState: 'removed', tags: ['hidden-test'] }),
      processing: await video(owner, 'processing neighbour', { status: 'processing', tags: ['hidden-test'] }),
      deleted: await video(owner, 'deleted neighbour', { deletedAt: new Date(), tags: ['hidden-test'] }),
      blocker: await video(blocker, 'neighbour by someone who blocked the viewer', { tags: ['hidden-test'] }),
    };
    const visible = await video(owner, 'visible neighbour', { tags: ['hidden-test'] });
    const finished = await video(owner, 'finished neighbour', { tags: ['hidden-test'] });
    await coVisit(crowd.slice(0, 5), [current, ...Object.values(hidden), visible, finished]);
    await coVisit([follower.id], [finished], 'complete');
    const asStranger = ids(await upNext(current, stranger));
    expect(asStranger).toContain(visible);
    expect(asStranger).toContain(finished);
    for (const [label, id] of Object.entries(hidden)) expect(asStranger, label).not.toContain(id);
    // The follower sees followers-only videos, but not the one they finished.
    const asFollower = ids(await upNext(current, follower));
    expect(asFollower).toContain(hidden.followers);
    expect(asFollower).not.toContain(finished);
    expect(asFollower).not.toContain(hidden.private);
    // The owner's own private and unlisted videos are not proposed in a list either.
    const asOwner = ids(await upNext(current, owner));
    expect(asOwner).not.toContain(hidden.private);
    expect(asOwner).not.toContain(hidden.unlisted);
    // Anonymous: public ones only; muted creators drop out for the muter.
    const anon = ids(await upNext(current));
    expect(anon).toContain(visible);
    expect(anon).not.toContain(hidden.followers);
    const asMuter = ids(await upNext(current, muter));
    expect(asMuter).not.toContain(visible);
    // A video deleted after the ranking was cached is left out at once.
    await env.deps.database.db.update(videos).set({ deletedAt: new Date() }).where(eq(videos.id, visible));
    expect(ids(await upNext(current, stranger))).not.toContain(visible);
  });

  it('honours limit', async () => {
    const current = await video(owner, 'limit test', { tags: ['limit-test'] });
    await makeVideos(env.deps, stranger.id, 25, 'limit neighbour', { tags: ['limit-test'] });
    expect(ids(await upNext(current, undefined, '?limit=3'))).toHaveLength(3);
    expect(ids(await upNext(current, undefined, ''))).toHaveLength(20);
  });
});

describe('GET /videos/:id/up-next: bad input', () => {
  let id: string;
  beforeAll(async () => {
    id = await video(owner, 'bad input');
  });
  it.each([
    ['limit 0', '?limit=0'],
    ['limit 51', '?limit=51'],
    ['limit not a number', '?limit=many'],
    ['extra parameter', '?cursor=abc'],
  ])('%s is a 400 problem', async (_n, qs) => {
    expect4xx(await upNext(id, stranger, qs), 400);
  });
  it('an id that is not a uuid is a 400 problem', async () => {
    expect4xx(await call('GET', '/api/v1/videos/not-a-uuid/up-next'), 400);
    expect4xx(await call('GET', `/api/v1/videos/${encodeURIComponent("1' or '1'='1")}/up-next`), 400);
  });
});

describe('OpenAPI', () => {
  it('documents the discovery endpoints for videos with their schemas', async () => {
    const res = await env.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    type Op = { parameters?: { name: string; in: string }[]; responses: Record<string, { content?: Record<string, { schema: { properties?: Record<string, unknown> } }> }> };
    const doc = res.json() as { paths: Record<string, Record<string, Op>> };
    const props = (op: Op | undefined, status = '200') => Object.keys(op?.responses[status]?.content?.['application/json']?.schema.properties ?? {}).sort();
    const params = (op: Op | undefined) => (op?.parameters ?? []).map((p) => `${p.in}:${p.name}`).sort();
    const upNext = doc.paths['/api/v1/videos/{id}/up-next']?.get;
    expect(props(upNext)).toEqual(['items']);
    expect(params(upNext)).toEqual(['path:id', 'query:limit']);
    expect(upNext?.responses['404']).toBeDefined();
    expect(props(doc.paths['/api/v1/trending/videos']?.get)).toEqual(['items', 'nextCursor']);
    expect(props(doc.paths['/api/v1/feed/for-you/videos']?.get)).toEqual(['items', 'modelId', 'nextCursor']);
    const search = doc.paths['/api/v1/search']?.get;
    expect(props(search)).toContain('videos');
    expect(params(search)).toEqual(expect.arrayContaining(['query:minDuration', 'query:maxDuration']));
  });
});
