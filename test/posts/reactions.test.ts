import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { posts } from '../../src/modules/posts/tables.js';
import { reactionAdapters } from '../../src/modules/reactions/adapters.js';
import { reconcileLikeCounts } from '../../src/modules/reactions/service.js';
import { likes, saves } from '../../src/modules/reactions/tables.js';
import { createTestEnv, type TestEnv } from '../support/app.js';
import { injectClient, signUp, type Call, type TestUser } from '../support/auth.js';
import { allPages, expect4xx, post } from './support.js';

let env: TestEnv;
let call: Call;
let crowd: TestUser[];

beforeAll(async () => {
  env = await createTestEnv();
  call = injectClient(env.app);
  crowd = await Promise.all(Array.from({ length: 10 }, () => signUp(call, env.dataDir)));
});
afterAll(async () => env?.close());

const likeCount = async (id: string) => (await env.deps.database.db.select({ n: posts.likeCount }).from(posts).where(eq(posts.id, id)))[0]!.n;
const trueCount = async (id: string) =>
  (await env.deps.database.db.select({ n: sql<number>`count(*)::int` }).from(likes).where(and(eq(likes.targetType, 'post'), eq(likes.targetId, id))))[0]!.n;

describe('likes', () => {
  it('like and unlike are idempotent and move the counter once', async () => {
    const [a, b] = crowd;
    const p = await post(call, a!, { text: 'like me' });
    expect((await call('POST', `/api/v1/posts/${p.id}/like`, { token: b!.accessToken })).body).toEqual({ liked: true, likes: 1 });
    expect((await call('POST', `/api/v1/posts/${p.id}/like`, { token: b!.accessToken })).body).toEqual({ liked: true, likes: 1 });
    const seen = await call('GET', `/api/v1/posts/${p.id}`, { token: b!.accessToken });
    expect(seen.body.viewer).toEqual({ liked: true, saved: false, reposted: false });
    expect((seen.body.counts as { likes: number }).likes).toBe(1);
    expect((await call('DELETE', `/api/v1/posts/${p.id}/like`, { token: b!.accessToken })).body).toEqual({ liked: false, likes: 0 });
    expect((await call('DELETE', `/api/v1/posts/${p.id}/like`, { token: b!.accessToken })).body).toEqual({ liked: false, likes: 0 });
    expect4xx(await call('DELETE', '/api/v1/posts/01936a3e-0000-7000-8000-000000000000/like', { token: b!.accessToken }), 404);
    expect4xx(await call('POST', '/api/v1/posts/01936a3e-0000-7000-8000-000000000000/like', { token: b!.accessToken }), 404);
  });

  it('the counter equals the true count after 50 concurrent likes and unlikes from many users', async () => {
    const p = await post(call, crowd[0]!, { text: 'popular' });
    const calls = Array.from({ length: 50 }, (_, i) => {
      const u = crowd[i % crowd.length]!;
      const method = (i * 7) % 3 === 0 ? 'DELETE' : 'POST';
      return call(method, `/api/v1/posts/${p.id}/like`, { token: u.accessToken });
    });
    const results = await Promise.all(calls);
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(await likeCount(p.id)).toBe(await trueCount(p.id));
    expect(await trueCount(p.id)).toBeGreaterThan(0);
  });

  it('the reconcile job repairs a drifted counter', async () => {
    const p = await post(call, crowd[0]!, { text: 'drift' });
    await call('POST', `/api/v1/posts/${p.id}/like`, { token: crowd[1]!.accessToken });
    await env.deps.database.db.update(posts).set({ likeCount: 42 }).where(eq(posts.id, p.id));
    const fixed = await reconcileLikeCounts(env.deps.database.db, reactionAdapters(env.deps));
    expect(fixed.post).toBeGreaterThanOrEqual(1);
    expect(await likeCount(p.id)).toBe(1);
    expect((await reconcileLikeCounts(env.deps.database.db, reactionAdapters(env.deps))).post).toBe(0);
  });

  it('a repost is not a like target: the reposted post is', async () => {
    const p = await post(call, crowd[0]!, { text: 'orig' });
    const r = await call('POST', `/api/v1/posts/${p.id}/repost`, { token: crowd[1]!.accessToken });
    expect4xx(await call('POST', `/api/v1/posts/${r.body.id as string}/like`, { token: crowd[2]!.accessToken }), 422);
  });
});

describe('saves', () => {
  it('lists saved posts newest-saved first in cursor pages, without deleted ones', async () => {
    const [a, b] = crowd;
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push((await post(call, a!, { text: `s${i}` })).id);
    for (const id of made) expect((await call('POST', `/api/v1/posts/${id}/save`, { token: b!.accessToken })).body).toEqual({ saved: true });
    await call('POST', `/api/v1/posts/${made[0]!}/save`, { token: b!.accessToken });
    await call('DELETE', `/api/v1/posts/${made[2]!}`, { token: a!.accessToken });
    expect(await allPages(call, '/api/v1/me/saved', b!.accessToken, 2)).toEqual([made[4], made[3], made[1], made[0]]);
    expect((await call('DELETE', `/api/v1/posts/${made[4]!}/save`, { token: b!.accessToken })).body).toEqual({ saved: false });
    expect(await allPages(call, '/api/v1/me/saved', b!.accessToken, 2)).toEqual([made[3], made[1], made[0]]);
    // Saves are private: another account's list does not include them.
    expect(await allPages(call, '/api/v1/me/saved', a!.accessToken)).toEqual([]);
    const [n] = await env.deps.database.db.select({ n: sql<number>`count(*)::int` }).from(saves).where(eq(saves.userId, b!.id));
    expect(n!.n).toBe(4);
  });
});
