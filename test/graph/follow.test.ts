import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphService } from '../../src/modules/graph/service.js';
import { follows } from '../../src/modules/graph/tables.js';
import { users } from '../../src/modules/users/tables.js';
import { createTestEnv, type TestEnv } from '../support/app.js';
import { injectClient, signUp, type Call } from '../support/auth.js';
import { expect4xx, quickUser, statsRow, usernames, type GraphUser } from './fixtures.js';

let env: TestEnv;
let call: Call;

beforeAll(async () => {
  env = await createTestEnv();
  call = injectClient(env.app);
});
afterAll(async () => env?.close());

const api = '/api/v1';

describe('follow and unfollow', () => {
  it('follows a public account, idempotently, with counters in step', async () => {
    // One account made through the real sign-up flow, so the graph works with accounts as the API makes them.
    const real = await signUp(call, env.dataDir);
    const a: GraphUser = { id: real.id, username: real.username, accessToken: real.accessToken };
    const b = await quickUser(env);
    for (let i = 0; i < 2; i++) {
      const res = await call('POST', `${api}/users/${b.username}/follow`, { token: a.accessToken });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ state: 'following' });
    }
    expect((await call('GET', `${api}/users/${b.username}/stats`)).body).toEqual({ followers: 1, following: 0, posts: 0 });
    expect((await call('GET', `${api}/users/${a.username}/stats`)).body).toEqual({ followers: 0, following: 1, posts: 0 });
    expect(usernames((await call('GET', `${api}/users/${b.username}/followers`)).body)).toEqual([a.username]);
    expect(usernames((await call('GET', `${api}/users/${a.username}/following`)).body)).toEqual([b.username]);

    const rel = await call('GET', `${api}/users/${b.username}/relationship`, { token: a.accessToken });
    expect(rel.body).toMatchObject({ following: true, followedBy: false, requested: false, blocking: false, unavailable: false, muting: false });
    expect((await call('GET', `${api}/users/${a.username}/relationship`, { token: b.accessToken })).body).toMatchObject({ following: false, followedBy: true });

    for (let i = 0; i < 2; i++) expect((await call('DELETE', `${api}/users/${b.username}/follow`, { token: a.accessToken })).status).toBe(204);
    expect(await statsRow(env, b.id)).toEqual({ followers: 0, following: 0 });
    expect(await statsRow(env, a.id)).toEqual({ followers: 0, following: 0 });
    expect(usernames((await call('GET', `${api}/users/${b.username}/followers`)).body)).toEqual([]);
  });

  it('usernames are case-insensitive and unknown ones are 404', async () => {
    const a = await quickUser(env);
    const b = await quickUser(env);
    expect((await call('POST', `${api}/users/${b.username.toUpperCase()}/follow`, { token: a.accessToken })).body).toEqual({ state: 'following' });
    expect4xx(await call('POST', `${api}/users/nobody_by_that_name/follow`, { token: a.accessToken }), 404, 'users.not_found');
  });

  it('cannot follow yourself', async () => {
    const a = await quickUser(env);
    expect4xx(await call('POST', `${api}/users/${a.username}/follow`, { token: a.accessToken }), 400, 'graph.self');
    expect(await statsRow(env, a.id)).toEqual({ followers: 0, following: 0 });
  });

  it('deactivated and deleted accounts cannot be followed and vanish from lists', async () => {
    const target = await quickUser(env);
    const gone = await quickUser(env);
    const stays = await quickUser(env);
    for (const u of [gone, stays]) await call('POST', `${api}/users/${target.username}/follow`, { token: u.accessToken });
    await env.deps.database.db.update(users).set({ state: 'deactivated', deactivatedAt: new Date() }).where(eq(users.id, gone.id));
    expect(usernames((await call('GET', `${api}/users/${target.username}/followers`)).body)).toEqual([stays.username]);
    expect4xx(await call('POST', `${api}/users/${gone.username}/follow`, { token: stays.accessToken }), 404);
    expect4xx(await call('GET', `${api}/users/${gone.username}/followers`), 404);
    await env.deps.database.db.update(users).set({ state: 'deleted', deletedAt: new Date() }).where(eq(users.id, stays.id));
    expect(usernames((await call('GET', `${api}/users/${target.username}/followers`)).body)).toEqual([]);
  });
});

describe('private accounts', () => {
  it('request, approve, then the follower sees the lists', async () => {
    const owner = await quickUser(env);
    const fan = await quickUser(env);
    const stranger = await quickUser(env);
    // Going private through the profile endpoint, as a user would.
    expect((await call('PATCH', `${api}/me`, { token: owner.accessToken, body: { isPrivate: true } })).status).toBe(200);

    for (let i = 0; i < 2; i++) expect((await call('POST', `${api}/users/${owner.username}/follow`, { token: fan.accessToken })).body).toEqual({ state: 'requested' });
    expect(await statsRow(env, owner.id)).toEqual({ followers: 0, following: 0 });
    expect((await call('GET', `${api}/users/${owner.username}/relationship`, { token: fan.accessToken })).body).toMatchObject({ requested: true, following: false });
    expect((await call('GET', `${api}/users/${fan.username}/relationship`, { token: owner.accessToken })).body).toMatchObject({ requestedBy: true });

    const reqs = await call('GET', `${api}/me/follow-requests`, { token: owner.accessToken });
    expect(usernames(reqs.body)).toEqual([fan.username]);

    // Before approval nobody but the owner sees the lists.
    for (const token of [undefined, fan.accessToken, stranger.accessToken]) {
      expect4xx(await call('GET', `${api}/users/${owner.username}/followers`, { token }), 403, 'graph.private');
      expect4xx(await call('GET', `${api}/users/${owner.username}/following`, { token }), 403, 'graph.private');
    }
    expect((await call('GET', `${api}/users/${owner.username}/followers`, { token: owner.accessToken })).status).toBe(200);

    expect((await call('POST', `${api}/me/follow-requests/${fan.username}/approve`, { token: owner.accessToken })).status).toBe(204);
    expect(await statsRow(env, owner.id)).toEqual({ followers: 1, following: 0 });
    expect(await statsRow(env, fan.id)).toEqual({ followers: 0, following: 1 });
    expect(usernames((await call('GET', `${api}/me/follow-requests`, { token: owner.accessToken })).body)).toEqual([]);
    expect(usernames((await call('GET', `${api}/users/${owner.username}/followers`, { token: fan.accessToken })).body)).toEqual([fan.username]);
    expect4xx(await call('GET', `${api}/users/${owner.username}/followers`, { token: stranger.accessToken }), 403);
    // Following again after approval is a plain "following".
    expect((await call('POST', `${api}/users/${owner.username}/follow`, { token: fan.accessToken })).body).toEqual({ state: 'following' });
    // A second approval has nothing to approve.
    expect4xx(await call('POST', `${api}/me/follow-requests/${fan.username}/approve`, { token: owner.accessToken }), 404, 'graph.request_not_found');
  });

  it('deny removes the request and makes no follow', async () => {
    const owner = await quickUser(env, { isPrivate: true });
    const fan = await quickUser(env);
    await call('POST', `${api}/users/${owner.username}/follow`, { token: fan.accessToken });
    expect((await call('POST', `${api}/me/follow-requests/${fan.username}/deny`, { token: owner.accessToken })).status).toBe(204);
    expect4xx(await call('POST', `${api}/me/follow-requests/${fan.username}/deny`, { token: owner.accessToken }), 404);
    expect((await call('GET', `${api}/users/${owner.username}/relationship`, { token: fan.accessToken })).body).toMatchObject({ requested: false, following: false });
    expect(await statsRow(env, owner.id)).toEqual({ followers: 0, following: 0 });
  });

  it('unfollow withdraws a pending request', async () => {
    const owner = await quickUser(env, { isPrivate: true });
    const fan = await quickUser(env);
    await call('POST', `${api}/users/${owner.username}/follow`, { token: fan.accessToken });
    expect((await call('DELETE', `${api}/users/${owner.username}/follow`, { token: fan.accessToken })).status).toBe(204);
    expect(usernames((await call('GET', `${api}/me/follow-requests`, { token: owner.accessToken })).body)).toEqual([]);
  });

  it('an account that goes public has its pending requests approved', async () => {
    const owner = await quickUser(env, { isPrivate: true });
    const fans = [await quickUser(env), await quickUser(env), await quickUser(env)];
    for (const fan of fans) expect((await call('POST', `${api}/users/${owner.username}/follow`, { token: fan.accessToken })).body).toEqual({ state: 'requested' });
    // A request to another private account stays pending.
    const other = await quickUser(env, { isPrivate: true });
    expect((await call('POST', `${api}/users/${other.username}/follow`, { token: fans[0]!.accessToken })).body).toEqual({ state: 'requested' });

    expect((await call('PATCH', `${api}/me`, { token: owner.accessToken, body: { isPrivate: false } })).status).toBe(200);
    const deadline = Date.now() + 60_000;
    while ((await statsRow(env, owner.id)).followers < fans.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await statsRow(env, owner.id)).toEqual({ followers: 3, following: 0 });
    for (const fan of fans) expect((await call('GET', `${api}/users/${owner.username}/relationship`, { token: fan.accessToken })).body).toMatchObject({ following: true, requested: false });
    expect(usernames((await call('GET', `${api}/me/follow-requests`, { token: owner.accessToken })).body)).toEqual([]);
    expect(usernames((await call('GET', `${api}/me/follow-requests`, { token: other.accessToken })).body)).toEqual([fans[0]!.username]);
  });

  it('nobody else can approve or deny your requests', async () => {
    const owner = await quickUser(env, { isPrivate: true });
    const fan = await quickUser(env);
    const other = await quickUser(env);
    await call('POST', `${api}/users/${owner.username}/follow`, { token: fan.accessToken });
    // The request is to owner; other's own request queue is empty, and the requester cannot approve itself.
    for (const u of [other, fan]) {
      expect4xx(await call('POST', `${api}/me/follow-requests/${fan.username}/approve`, { token: u.accessToken }), 404);
      expect4xx(await call('POST', `${api}/me/follow-requests/${fan.username}/deny`, { token: u.accessToken }), 404);
    }
    expect4xx(await call('POST', `${api}/me/follow-requests/${fan.username}/approve`), 401);
    expect(usernames((await call('GET', `${api}/me/follow-requests`, { token: owner.accessToken })).body)).toEqual([fan.username]);
    expect(await statsRow(env, owner.id)).toEqual({ followers: 0, following: 0 });
  });
});

describe('pagination', () => {
  it('newest first; inserts between pages cause no duplicates or gaps', async () => {
    const target = await quickUser(env);
    const first = [];
    for (let i = 0; i < 7; i++) {
      const u = await quickUser(env);
      await call('POST', `${api}/users/${target.username}/follow`, { token: u.accessToken });
      first.push(u.username);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor ? `?limit=3&cursor=${cursor}` : '?limit=3';
      const res = await call('GET', `${api}/users/${target.username}/followers${q}`);
      expect(res.status).toBe(200);
      seen.push(...usernames(res.body));
      cursor = res.body.nextCursor as string | null;
      pages += 1;
      // New followers arrive while the client pages: they are newer than the cursor, so they belong before page one.
      const late = await quickUser(env);
      await call('POST', `${api}/users/${target.username}/follow`, { token: late.accessToken });
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...first].reverse());
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('rows created in the same transaction instant still page apart', async () => {
    const target = await quickUser(env);
    const fans = await Promise.all(Array.from({ length: 5 }, () => quickUser(env)));
    // One statement: every row gets the same created_at, so only the id tie-break orders them.
    await env.deps.database.db.insert(follows).values(fans.map((f) => ({ followerId: f.id, followeeId: target.id })));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await call('GET', `${api}/users/${target.username}/followers?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...usernames(res.body));
      cursor = res.body.nextCursor as string | null;
    } while (cursor);
    expect(seen.sort()).toEqual(fans.map((f) => f.username).sort());
  });
});

describe('service API for other modules', () => {
  it('followerIds pages by id; followeeIds, followerCount, relations, isBlockedEitherWay', async () => {
    const graph = new GraphService(env.deps);
    const author = await quickUser(env);
    const fans = await Promise.all(Array.from({ length: 5 }, () => quickUser(env)));
    for (const f of fans) await call('POST', `${api}/users/${author.username}/follow`, { token: f.accessToken });
    const batch1 = await graph.followerIds(author.id, undefined, 3);
    const batch2 = await graph.followerIds(author.id, batch1[batch1.length - 1], 3);
    expect([...batch1, ...batch2]).toEqual(fans.map((f) => f.id).sort());
    expect(await graph.followeeIds(fans[0]!.id)).toEqual([author.id]);
    expect(await graph.followerCount(author.id)).toBe(5);
    const rel = await graph.relations(fans[0]!.id, [author.id]);
    expect(rel.get(author.id)).toEqual({ following: true, blocked: false, muted: false });
    await call('POST', `${api}/users/${fans[1]!.username}/block`, { token: author.accessToken });
    expect(await graph.isBlockedEitherWay(fans[1]!.id, author.id)).toBe(true);
    expect(await graph.followerCount(author.id)).toBe(4);
  });
});
