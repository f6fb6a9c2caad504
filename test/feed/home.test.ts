import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeedService, feedServiceFor, useFeedService } from '../../src/modules/feed/service.js';
import { newestFirst, timelineKey } from '../../src/modules/feed/fanout.js';
import { blocks, follows } from '../../src/modules/graph/tables.js';
import { createTestEnv, type TestEnv } from '../support/app.js';
import { injectClient, type Call } from '../support/auth.js';
import { quickUser, type GraphUser } from '../graph/fixtures.js';
import { expect4xx, relationsChanged, type Page } from '../posts/support.js';

let env: TestEnv;
let call: Call;

beforeAll(async () => {
  env = await createTestEnv();
  call = injectClient(env.app);
});
afterAll(async () => env?.close());

const user = () => quickUser(env);

/** Follow, then let the feed's user.followed listener run, so the timeline it drops is not one a test builds next. */
async function follow(a: GraphUser, b: GraphUser) {
  const res = await call('POST', `/api/v1/users/${b.username}/follow`, { token: a.accessToken });
  expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
  await fanoutIdle();
}

async function write(u: GraphUser, body: Record<string, unknown>): Promise<string> {
  const res = await call('POST', '/api/v1/posts', { token: u.accessToken, body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id as string;
}

async function page(u: GraphUser, query = ''): Promise<Page> {
  const res = await call('GET', `/api/v1/feed/home${query}`, { token: u.accessToken });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as unknown as Page;
}

/**
 * A reader (timeline built) following `big`, which has two followers (above a fan-out threshold
 * of 2 in the tests that lower it), and `small`, which has one.
 */
async function bigAndSmallAuthors() {
  const [reader, big, fan2, small] = await Promise.all([user(), user(), user(), user()]);
  await follow(reader, big);
  await follow(fan2, big);
  await follow(reader, small);
  await feed(reader);
  return { reader, big, small };
}

/** Every id of a viewer's home feed, page by page. */
async function feed(u: GraphUser, limit = 50): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 100; i++) {
    const p = await page(u, `?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    out.push(...p.items.map((x) => x.id));
    cursor = p.nextCursor;
    if (!cursor) return out;
  }
  throw new Error('too many pages');
}

/**
 * The fan-out runs in the background: wait until no feed.fanout job is queued or running (nor the
 * feed's user.followed listener, which drops a new follower's built timeline).
 */
async function fanoutIdle(timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const counts = await env.deps.jobs.counts();
    const busy = ['feed.fanout', 'on.user.followed.feed'].some((n) => {
      const c = counts[n]!;
      return c.created + c.retry + c.active > 0;
    });
    if (!busy) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('fan-out did not finish');
}

const cachedIds = (u: GraphUser) => env.deps.cache.cache.listRange(timelineKey(u.id), 0, -1);

describe('newestFirst', () => {
  it('keeps an ordered list as it is (a copy) and sorts and de-duplicates one that is not', () => {
    const ordered = ['c', 'b', 'a'];
    const out = newestFirst(ordered);
    expect(out).toEqual(['c', 'b', 'a']);
    expect(out).not.toBe(ordered);
    expect(newestFirst(['b', 'c', 'a', 'c'])).toEqual(['c', 'b', 'a']);
    expect(newestFirst(['c', 'c', 'a'])).toEqual(['c', 'a']);
    expect(newestFirst(new Set(['a', 'b']))).toEqual(['b', 'a']);
    expect(newestFirst([])).toEqual([]);
  });
});

describe('home feed', () => {
  it('shows the posts of followed accounts (pushed by the fan-out) and the viewer’s own', async () => {
    const [reader, author, other] = await Promise.all([user(), user(), user()]);
    await follow(reader, author);
    const before = await write(author, { text: 'before the timeline was built' });
    // The first read builds the timeline from the database.
    expect((await feed(reader)).includes(before)).toBe(true);
    const after = await write(author, { text: 'pushed by the fan-out' });
    const own = await write(reader, { text: 'my own' });
    const stranger = await write(other, { text: 'not followed' });
    const reply = await write(author, { text: 'a reply', replyTo: before });
    await fanoutIdle();
    expect(await cachedIds(reader)).toEqual(expect.arrayContaining([after, own]));
    expect(await feed(reader)).toEqual([own, after, before]);
    expect(await feed(reader)).not.toContain(stranger);
    expect(await feed(reader)).not.toContain(reply);
  });

  it('shows followers-only posts to followers only; unfollowing removes them at read time', async () => {
    const [author, fan, ex, stranger] = await Promise.all([user(), user(), user(), user()]);
    await follow(fan, author);
    await follow(ex, author);
    await Promise.all([feed(fan), feed(ex), feed(stranger)]);
    const secret = await write(author, { text: 'for followers', visibility: 'followers' });
    await fanoutIdle();
    expect(await feed(fan)).toContain(secret);
    expect(await cachedIds(ex)).toContain(secret);
    await call('DELETE', `/api/v1/users/${author.username}/follow`, { token: ex.accessToken });
    expect(await feed(ex)).not.toContain(secret);
    expect(await feed(stranger)).not.toContain(secret);
  });

  it('drops deleted posts and blocked authors', async () => {
    const [reader, author, blocker] = await Promise.all([user(), user(), user()]);
    await follow(reader, author);
    await follow(reader, blocker);
    await feed(reader);
    const gone = await write(author, { text: 'deleted soon' });
    const kept = await write(author, { text: 'kept' });
    const byBlocker = await write(blocker, { text: 'blocks the reader next' });
    await fanoutIdle();
    expect(await feed(reader)).toEqual([byBlocker, kept, gone]);
    expect((await call('DELETE', `/api/v1/posts/${gone}`, { token: author.accessToken })).status).toBeLessThan(300);
    // A block written straight into the table keeps the follow row: the rules alone must hide the posts.
    await env.deps.database.db.insert(blocks).values({ blockerId: blocker.id, blockedId: reader.id });
    await relationsChanged(env.deps, blocker, reader);
    expect(await feed(reader)).toEqual([kept]);
    await env.deps.database.db.delete(blocks).where(and(eq(blocks.blockerId, blocker.id), eq(blocks.blockedId, reader.id)));
    await relationsChanged(env.deps, blocker, reader);
    expect(await feed(reader)).toEqual([byBlocker, kept]);
  });

  it('pages with inserts between pages without duplicates or gaps', async () => {
    const [reader, a, b] = await Promise.all([user(), user(), user()]);
    await follow(reader, a);
    await follow(reader, b);
    await feed(reader);
    const written: string[] = [];
    for (let i = 0; i < 9; i++) written.push(await write(i % 2 ? a : b, { text: `p${i}` }));
    await fanoutIdle();
    const expected = written.slice().reverse();
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 10; i++) {
      const p = await page(reader, `?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...p.items.map((x) => x.id));
      cursor = p.nextCursor;
      if (!cursor) break;
      // New posts between pages go on top, above the cursor.
      await write(a, { text: `inserted ${i}` });
      await fanoutIdle();
    }
    expect(seen).toEqual(expected);
  });

  it('gives the same feed after the timeline cache is lost', async () => {
    const [reader, a, b] = await Promise.all([user(), user(), user()]);
    await follow(reader, a);
    await follow(reader, b);
    await write(a, { text: 'old' });
    await feed(reader);
    for (let i = 0; i < 5; i++) await write(i % 2 ? a : b, { text: `n${i}` });
    await write(reader, { text: 'mine' });
    await fanoutIdle();
    const warm = await feed(reader, 3);
    expect(warm).toHaveLength(7);
    await feedServiceFor(env.deps).timelines.drop(reader.id);
    expect(await cachedIds(reader)).toEqual([]);
    expect(await feed(reader, 3)).toEqual(warm);
    expect((await cachedIds(reader)).length).toBe(7);
  });

  it('merges authors above the fan-out threshold at read time, with the same result', async () => {
    const { reader, big, small } = await bigAndSmallAuthors();
    const lowered = new FeedService(env.deps, { fanoutMaxFollowers: 2 });
    const normal = feedServiceFor(env.deps);
    useFeedService(env.deps, lowered);
    try {
      const written: string[] = [];
      for (let i = 0; i < 6; i++) written.push(await write(i % 3 ? big : small, { text: `b${i}` }));
      await fanoutIdle();
      const cached = await cachedIds(reader);
      const bigPosts = written.filter((_, i) => i % 3 !== 0);
      for (const id of bigPosts) expect(cached).not.toContain(id);
      const merged = await feed(reader, 2);
      expect(merged).toEqual(written.slice().reverse());
      // Without the threshold, a rebuilt timeline holds everything: the same feed.
      useFeedService(env.deps, normal);
      await normal.timelines.drop(reader.id);
      expect(await feed(reader, 2)).toEqual(merged);
    } finally {
      useFeedService(env.deps, normal);
    }
  });

  it('drops an author the viewer unfollowed, at read time', async () => {
    const [reader, author] = await Promise.all([user(), user()]);
    await follow(reader, author);
    await feed(reader);
    const p = await write(author, { text: 'x' });
    await fanoutIdle();
    expect(await feed(reader)).toEqual([p]);
    await env.deps.database.db.delete(follows).where(and(eq(follows.followerId, reader.id), eq(follows.followeeId, author.id)));
    await relationsChanged(env.deps, reader);
    expect(await feed(reader)).toEqual([]);
  });

  it('following someone brings their earlier posts into an already built home feed', async () => {
    const [viewer, known, newcomer] = [await user(), await user(), await user()];
    await follow(viewer, known);
    const a = await write(known, { text: 'from someone already followed' });
    const b = await write(newcomer, { text: 'written before anyone followed me' });
    await fanoutIdle();
    // Reading builds the timeline: without the newcomer.
    expect(await feed(viewer)).toEqual([a]);
    await follow(viewer, newcomer);
    // The feed listener of user.followed runs on the worker; the next read after it rebuilds.
    const deadline = Date.now() + 20_000;
    let ids = await feed(viewer);
    while (!ids.includes(b) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      ids = await feed(viewer);
    }
    expect(ids).toEqual([b, a]);
  });

  it('checks access and input', async () => {
    const u = await user();
    expect4xx(await call('GET', '/api/v1/feed/home'), 401);
    for (const q of ['?limit=0', '?limit=51', '?limit=abc', '?cursor=%21%21', `?cursor=${Buffer.from('not-a-uuid').toString('base64url')}`, '?other=1']) {
      expect4xx(await call('GET', `/api/v1/feed/home${q}`, { token: u.accessToken }), 400);
    }
    const p = await page(u);
    expect(p).toEqual({ items: [], nextCursor: null });
  });

  it('merges big authors from the kept lists: every post once across pages deeper than the lists, deletions at once, too many big authors from the database', async () => {
    const { reader, big, small } = await bigAndSmallAuthors();
    const normal = feedServiceFor(env.deps);
    for (const opts of [{ keep: 4 }, { keep: 4, max: 0 }]) {
      // keep 4: lists shorter than the feed, so later pages must come from the database; max 0: never kept.
      useFeedService(env.deps, new FeedService(env.deps, { fanoutMaxFollowers: 2, bigAuthors: opts }));
      try {
        const written: string[] = [];
        for (let i = 0; i < 9; i++) written.push(await write(i % 3 ? big : small, { text: `k${i}` }));
        await fanoutIdle();
        const all = await feed(reader, 3);
        expect(new Set(all).size).toBe(all.length);
        for (const id of written) expect(all).toContain(id);
        expect(all.slice(0, 9)).toEqual(written.slice().reverse());
        // A big author's post deleted a moment ago: gone from the next read, before any refresh.
        const gone = written[8]!;
        expect((await call('DELETE', `/api/v1/posts/${gone}`, { token: big.accessToken })).status).toBe(204);
        expect(await feed(reader, 3)).not.toContain(gone);
        // A new post of a big author: its fan-out job marks this process's lists stale, so the next
        // read has it (well within the one-second refresh).
        const late = await write(big, { text: 'late' });
        await fanoutIdle();
        expect((await feed(reader, 3))[0]).toBe(late);
      } finally {
        useFeedService(env.deps, normal);
      }
    }
  });
});
