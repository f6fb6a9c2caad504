import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcileFollowCounts } from '../../src/modules/graph/counters.js';
import { follows, userStats } from '../../src/modules/graph/tables.js';
import { createTestEnv, type TestEnv } from '../support/app.js';
import { injectClient, type Call } from '../support/auth.js';
import { quickUser, type GraphUser } from './fixtures.js';

let env: TestEnv;
let call: Call;

beforeAll(async () => {
  env = await createTestEnv();
  call = injectClient(env.app);
});
afterAll(async () => env?.close());

const api = '/api/v1';

/** Stored counters next to the counts the follows table implies, for every account that has either. */
async function drift() {
  const { rows } = (await env.deps.database.db.execute(sql`
    select s.user_id,
      s.followers, (select count(*)::int from ${follows} f where f.followee_id = s.user_id) as true_followers,
      s.following, (select count(*)::int from ${follows} f where f.follower_id = s.user_id) as true_following
    from ${userStats} s`)) as unknown as { rows: { user_id: string; followers: number; true_followers: number; following: number; true_following: number }[] };
  return rows.filter((r) => r.followers !== r.true_followers || r.following !== r.true_following);
}

describe('counters', () => {
  let people: GraphUser[];
  let stars: GraphUser[];

  it('equal the true counts after concurrent follows and unfollows from many users', async () => {
    people = await Promise.all(Array.from({ length: 10 }, () => quickUser(env)));
    stars = await Promise.all(Array.from({ length: 3 }, () => quickUser(env)));
    const everyone = [...people, ...stars];
    // 40+ calls at once: follows, repeated follows, unfollows and cross-follows between the same pairs.
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 48; i++) {
      const who = everyone[i % everyone.length]!;
      const target = stars[i % stars.length]!;
      if (who.id === target.id) continue;
      const method = i % 4 === 3 ? 'DELETE' : 'POST';
      calls.push(call(method, `${api}/users/${target.username}/follow`, { token: who.accessToken }));
      // The reverse edge in the same burst exercises lock ordering between the two rows.
      if (i % 5 === 0) calls.push(call('POST', `${api}/users/${who.username}/follow`, { token: target.accessToken }));
    }
    const results = (await Promise.all(calls)) as { status: number }[];
    expect(results.length).toBeGreaterThanOrEqual(40);
    for (const r of results) expect([200, 204, 400]).toContain(r.status);
    expect(await drift()).toEqual([]);
    for (const s of stars) {
      const body = (await call('GET', `${api}/users/${s.username}/stats`)).body as { followers: number };
      const [row] = await env.deps.database.db.select({ n: sql<number>`count(*)::int` }).from(follows).where(sql`${follows.followeeId} = ${s.id}`);
      expect(body.followers).toBe(row!.n);
    }
  });

  it('reconcile fixes deliberately corrupted counts and leaves right ones alone', async () => {
    const db = env.deps.database.db;
    await db.execute(sql`update ${userStats} set followers = followers + 7, following = 99 where user_id in (select user_id from ${userStats} limit 3)`);
    // A lost stats row for an account that does follow someone.
    await db.execute(sql`delete from ${userStats} where user_id = ${people[0]!.id}`);
    expect((await drift()).length).toBeGreaterThan(0);

    const r = await reconcileFollowCounts(env.deps.database, 4);
    expect(r.fixed).toBeGreaterThanOrEqual(3);
    expect(await drift()).toEqual([]);
    const [row] = await db.select().from(userStats).where(sql`${userStats.userId} = ${people[0]!.id}`);
    const [truth] = await db.select({ n: sql<number>`count(*)::int` }).from(follows).where(sql`${follows.followerId} = ${people[0]!.id}`);
    expect(row?.following).toBe(truth!.n);

    expect((await reconcileFollowCounts(env.deps.database)).fixed).toBe(0);
  });

  it('never go below zero, even from a drifted-low value', async () => {
    const a = await quickUser(env);
    const b = await quickUser(env);
    await call('POST', `${api}/users/${b.username}/follow`, { token: a.accessToken });
    await env.deps.database.db.execute(sql`update ${userStats} set followers = 0 where user_id = ${b.id}`);
    await call('DELETE', `${api}/users/${b.username}/follow`, { token: a.accessToken });
    expect((await call('GET', `${api}/users/${b.username}/stats`)).body).toMatchObject({ followers: 0 });
  });

  it('the reconcile job is defined with a daily schedule', async () => {
    const { graphJobs } = await import('../../src/modules/graph/jobs.js');
    const [def] = graphJobs(env.deps);
    expect(def?.name).toBe('graph.reconcile_counts');
    expect(def?.cron).toMatch(/^\d+ \d+ \* \* \*$/);
    // The queue was created at start: enqueueing it works.
    expect(await env.deps.jobs.send('graph.reconcile_counts', {})).toEqual(expect.any(String));
  });
});
