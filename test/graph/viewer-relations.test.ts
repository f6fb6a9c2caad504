import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { follows, mutes } from '../../src/modules/graph/tables.js';
import { RELATION_SET_CAP, ViewerRelations } from '../../src/modules/graph/viewer-relations.js';
import { users } from '../../src/modules/users/tables.js';
import { createTestEnv, type TestEnv } from '../support/app.js';
import { injectClient, type Call } from '../support/auth.js';
import { quickUser } from './fixtures.js';

let env: TestEnv;
let call: Call;
let rel: ViewerRelations;

beforeAll(async () => {
  env = await createTestEnv();
  call = injectClient(env.app);
  rel = new ViewerRelations(env.deps.database.db, env.deps.cache.cache);
});
afterAll(async () => env?.close());

const api = '/api/v1';
const summary = async (viewerId: string, otherId: string) => (await rel.relations(viewerId, [otherId])).get(otherId);

describe('cached relation sets of a viewer', () => {
  it('follow, unfollow, block, unblock, mute and unmute through the API show at once, for both sides of a block', async () => {
    const [a, b] = [await quickUser(env), await quickUser(env)];
    expect(await summary(a.id, b.id)).toEqual({ following: false, blocked: false, muted: false });
    expect((await call('POST', `${api}/users/${b.username}/follow`, { token: a.accessToken })).status).toBeLessThan(300);
    expect(await summary(a.id, b.id)).toEqual({ following: true, blocked: false, muted: false });
    expect((await call('POST', `${api}/users/${b.username}/mute`, { token: a.accessToken, body: {} })).status).toBeLessThan(300);
    expect(await summary(a.id, b.id)).toEqual({ following: true, blocked: false, muted: true });
    expect((await call('DELETE', `${api}/users/${b.username}/mute`, { token: a.accessToken })).status).toBeLessThan(300);
    expect((await call('DELETE', `${api}/users/${b.username}/follow`, { token: a.accessToken })).status).toBeLessThan(300);
    expect(await summary(a.id, b.id)).toEqual({ following: false, blocked: false, muted: false });
    // Both sides had their sets cached before the block: both see it.
    expect(await summary(b.id, a.id)).toEqual({ following: false, blocked: false, muted: false });
    expect((await call('POST', `${api}/users/${b.username}/block`, { token: a.accessToken })).status).toBe(204);
    expect(await summary(a.id, b.id)).toMatchObject({ blocked: true });
    expect(await summary(b.id, a.id)).toMatchObject({ blocked: true });
    expect((await call('DELETE', `${api}/users/${b.username}/block`, { token: a.accessToken })).status).toBeLessThan(300);
    expect(await summary(a.id, b.id)).toMatchObject({ blocked: false });
    expect(await summary(b.id, a.id)).toMatchObject({ blocked: false });
  });

  it('is a cache: a table write nobody marked is not seen until the change is marked', async () => {
    const [a, b] = [await quickUser(env), await quickUser(env)];
    expect(await summary(a.id, b.id)).toMatchObject({ following: false });
    await env.deps.database.db.insert(follows).values({ followerId: a.id, followeeId: b.id });
    expect(await summary(a.id, b.id)).toMatchObject({ following: false });
    await rel.changed([a.id]);
    expect(await summary(a.id, b.id)).toMatchObject({ following: true });
    expect((await rel.sets(a.id))?.following).toEqual(new Set([b.id]));
  });

  it('a set read before a change is never used after it', async () => {
    const [a, b] = [await quickUser(env), await quickUser(env)];
    // A read that saw the old version and the old rows stores its set only after the change was
    // written and marked (held at the cache write): the next read must still see the new state.
    const cache = env.deps.cache.cache;
    let reachedStore!: () => void;
    const reached = new Promise<void>((r) => (reachedStore = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slowCache = Object.assign(Object.create(cache) as typeof cache, {
      set: async (key: string, value: string, ttlMs?: number) => {
        reachedStore();
        await gate;
        return cache.set(key, value, ttlMs);
      },
    });
    const racing = new ViewerRelations(env.deps.database.db, slowCache).sets(a.id);
    await reached;
    await env.deps.database.db.insert(follows).values({ followerId: a.id, followeeId: b.id });
    await rel.changed([a.id]);
    release();
    expect((await racing)?.following.has(b.id)).toBe(false);
    expect(await summary(a.id, b.id)).toMatchObject({ following: true });
  });

  it('a timed mute ends without any change being marked', async () => {
    const [a, b] = [await quickUser(env), await quickUser(env)];
    await env.deps.database.db.insert(mutes).values({ muterId: a.id, mutedId: b.id, expiresAt: new Date(Date.now() + 1200) });
    await rel.changed([a.id]);
    expect(await summary(a.id, b.id)).toMatchObject({ muted: true });
    await new Promise((r) => setTimeout(r, 1500));
    expect(await summary(a.id, b.id)).toMatchObject({ muted: false });
  });

  it(`a viewer relating to more than ${RELATION_SET_CAP} accounts is answered from the database`, async () => {
    const a = await quickUser(env);
    const others = Array.from({ length: RELATION_SET_CAP + 1 }, () => uuidv7());
    for (let i = 0; i < others.length; i += 1000) {
      const chunk = others.slice(i, i + 1000);
      await env.deps.database.db.insert(users).values(chunk.map((id) => ({ id, username: `vr_${id.replaceAll('-', '').slice(-20)}`, email: `${id}@example.test` })));
      await env.deps.database.db.insert(follows).values(chunk.map((id) => ({ followerId: a.id, followeeId: id })));
    }
    await rel.changed([a.id]);
    expect(await rel.sets(a.id)).toBeNull();
    const stranger = await quickUser(env);
    const answer = await rel.relations(a.id, [others[0]!, others.at(-1)!, stranger.id]);
    expect([...answer.values()].map((r) => r.following)).toEqual([true, true, false]);
  });
});
