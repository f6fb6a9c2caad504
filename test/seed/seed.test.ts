import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeedRefused, seedDatabase, type SeedResult } from '../../src/modules/seed/seed.js';
import { createTestEnv, type TestEnv } from '../support/app.js';

let env: TestEnv;
let result: SeedResult;
const progress: string[] = [];

beforeAll(async () => {
  env = await createTestEnv();
  result = await seedDatabase(env.deps.database, { users: 200, posts: 1000, seed: 7, passwordHash: 'not-a-real-hash', onProgress: (p) => progress.push(p.phase) });
});
afterAll(async () => env?.close());

const one = async (text: string, values: unknown[] = []) => Number(Object.values((await env.deps.database.query<Record<string, unknown>>(text, values)).rows[0] ?? {})[0]);

describe('seedDatabase', () => {
  it('leaves post search\'s RUM index in place where the server has RUM (dropped for the load, built at the end)', async () => {
    const available = await one(`select count(*) from pg_available_extensions where name = 'rum'`);
    expect(await one(`select count(*) from pg_index where indexrelid = to_regclass('posts_search_rum') and indisvalid`)).toBe(available > 0 ? 1 : 0);
    if (available > 0) {
      // The index answers for the seeded rows: every post with a word, newest first through it.
      const { rows } = await env.deps.database.query<{ id: string }>(
        `select id from posts where search_vector @@ to_tsquery('simple', 'video') order by search_order <=| 9223372036854775807::int8 limit 5`,
      );
      const newest = await env.deps.database.query<{ id: string }>(`select id from posts where search_vector @@ to_tsquery('simple', 'video') order by id desc limit 5`);
      expect(rows.map((r) => r.id)).toEqual(newest.rows.map((r) => r.id));
      expect(rows.length).toBeGreaterThan(0);
    }
  });

  it('creates the rows it reports', async () => {
    expect(await one('select count(*) from users')).toBe(200);
    expect(await one('select count(*) from posts')).toBe(1000);
    expect(await one('select count(*) from follows')).toBe(result.follows);
    expect(await one("select count(*) from likes where target_type = 'post'")).toBe(result.likes);
    expect(await one('select count(*) from post_hashtags')).toBe(result.hashtags);
    expect(await one('select count(*) from posts where reply_to_id is not null')).toBe(result.replies);
    expect(result.replies).toBeGreaterThan(200);
    expect(result.replies).toBeLessThan(400);
    expect(await one("select count(*) from users where email_verified_at is not null and password_hash = 'not-a-real-hash' and username like 'user\\_%'")).toBe(200);
    expect(await one('select count(*) from follows where follower_id = followee_id')).toBe(0);
    expect(progress).toContain('counters');
  });

  it('keeps ids in time order and replies after their parents', async () => {
    expect(await one('select count(*) from (select id, created_at, lag(created_at) over (order by id) as prev from posts) x where prev > created_at')).toBe(0);
    expect(await one('select count(*) from posts c join posts p on p.id = c.reply_to_id where p.id >= c.id')).toBe(0);
    // A reply's root is the root of its thread (a top-level post).
    expect(await one('select count(*) from posts c join posts r on r.id = c.root_id where r.reply_to_id is not null')).toBe(0);
  });

  it('leaves the posts table in id order, as a live instance appends it (the counter updates scattered it)', async () => {
    // Physical position (ctid) against id order: no post stored before one with a smaller id.
    expect(await one('select count(*) from (select ctid, lag(ctid) over (order by id) as prev from posts) x where prev > ctid')).toBe(0);
  });

  it('stores counters equal to the true counts', async () => {
    expect(await one('select count(*) from user_stats')).toBe(200);
    expect(
      await one(`select count(*) from user_stats s where
        followers <> (select count(*) from follows where followee_id = s.user_id) or
        following <> (select count(*) from follows where follower_id = s.user_id) or
        posts <> (select count(*) from posts where author_id = s.user_id)`),
    ).toBe(0);
    expect(await one("select count(*) from posts p where like_count <> (select count(*) from likes where target_type = 'post' and target_id = p.id)")).toBe(0);
    expect(await one('select count(*) from posts p where reply_count <> (select count(*) from posts c where c.reply_to_id = p.id)')).toBe(0);
  });

  it('gives follower counts a power law', async () => {
    const max = await one('select max(followers) from user_stats');
    const med = await one('select percentile_cont(0.5) within group (order by followers) from user_stats');
    expect(max).toBeGreaterThan(100);
    expect(max).toBeGreaterThan(10 * Math.max(1, med));
    expect(await one('select min(following) from user_stats')).toBeGreaterThanOrEqual(10);
    expect(await one('select max(following) from user_stats')).toBeLessThanOrEqual(199);
  });

  it('uses hashtags with a Zipf-like spread', async () => {
    const top = await one('select count(*) from post_hashtags group by tag order by count(*) desc limit 1');
    const distinct = await one('select count(distinct tag) from post_hashtags');
    expect(distinct).toBeGreaterThan(10);
    expect(top).toBeGreaterThan(result.hashtags / distinct);
  });

  it('refuses a database that already has users unless forced', async () => {
    await expect(seedDatabase(env.deps.database, { users: 10, posts: 10, passwordHash: 'x' })).rejects.toBeInstanceOf(SeedRefused);
    const more = await seedDatabase(env.deps.database, { users: 10, posts: 10, passwordHash: 'x', force: true });
    expect(more.users).toBe(10);
    expect(await one('select count(*) from users')).toBe(210);
    expect(await one("select count(*) from users where username = 'user_209'")).toBe(1);
  });
});
