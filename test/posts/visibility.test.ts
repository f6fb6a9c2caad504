import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { posts } from '../../src/modules/posts/tables.js';
import { users } from '../../src/modules/users/tables.js';
import { createTestEnv, type TestEnv } from '../support/app.js';
import { injectClient, signUp, type Call, type TestUser } from '../support/auth.js';
import { allPages, expect4xx, graph, ids, post, type PostBody } from './support.js';

let env: TestEnv;
let call: Call;
let author: TestUser;
let follower: TestUser;
let stranger: TestUser;

beforeAll(async () => {
  env = await createTestEnv();
  call = injectClient(env.app);
  [author, follower, stranger] = await Promise.all([signUp(call, env.dataDir), signUp(call, env.dataDir), signUp(call, env.dataDir)]);
  await graph(env.deps).follow(follower, author);
});
afterAll(async () => env?.close());

/** Every endpoint that can show the post `id` to `viewer` (undefined: anonymous), by name. */
async function sightings(viewer: TestUser | undefined, p: { id: string; tag: string; quoteId: string; replyId: string; authorName: string }) {
  const token = viewer?.accessToken;
  const seen: string[] = [];
  if ((await call('GET', `/api/v1/posts/${p.id}`, { token })).status === 200) seen.push('direct');
  if ((await call('GET', `/api/v1/posts/${p.id}/thread`, { token })).status === 200) seen.push('thread');
  if ((await call('GET', `/api/v1/posts/${p.id}/history`, { token })).status === 200) seen.push('history');
  const reply = await call('GET', `/api/v1/posts/${p.replyId}/thread`, { token });
  if (reply.status === 200 && (reply.body.ancestors as PostBody[]).some((a) => a.id === p.id)) seen.push('thread-ancestor');
  if ((await allPages(call, `/api/v1/users/${p.authorName}/posts?includeReplies=true`, token)).includes(p.id)) seen.push('profile');
  if ((await allPages(call, `/api/v1/hashtags/${p.tag}/posts`, token)).includes(p.id)) seen.push('hashtag');
  const quote = await call('GET', `/api/v1/posts/${p.quoteId}`, { token });
  if (quote.status === 200 && (quote.body.quoteOf as PostBody | null)?.id === p.id) seen.push('quote-embed');
  if (viewer) {
    if ((await call('POST', `/api/v1/posts/${p.id}/like`, { token })).status === 200) seen.push('like');
    if ((await call('POST', `/api/v1/posts/${p.id}/save`, { token })).status === 200) seen.push('save');
    if ((await allPages(call, '/api/v1/me/saved', token)).includes(p.id)) seen.push('saved');
    if ((await call('POST', '/api/v1/posts', { token, body: { text: 'r', replyTo: p.id } })).status === 201) seen.push('reply');
  }
  return seen;
}

async function scenario(visibility: string) {
  const tag = `t${Math.random().toString(36).slice(2, 10)}`;
  const p = await post(call, author, { text: `secret #${tag}`, visibility });
  const quote = await post(call, author, { text: 'quoting', quoteOf: p.id, visibility: 'public' });
  const reply = await post(call, author, { text: 'reply', replyTo: p.id });
  return { id: p.id, tag, quoteId: quote.id, replyId: reply.id, authorName: author.username };
}

const EVERYWHERE = ['direct', 'thread', 'history', 'thread-ancestor', 'profile', 'hashtag', 'quote-embed', 'like', 'save', 'saved', 'reply'];

describe('visibility rules', () => {
  it('a followers-only post reaches the author and followers only, through every endpoint', async () => {
    const s = await scenario('followers');
    expect(await sightings(stranger, s)).toEqual([]);
    expect(await sightings(undefined, s)).toEqual([]);
    expect(await sightings(follower, s)).toEqual(EVERYWHERE);
    expect(await sightings(author, s)).toEqual(EVERYWHERE);
  });

  it('an unlisted post is reachable by link, thread and profile, never in hashtag feeds', async () => {
    const s = await scenario('unlisted');
    expect(await sightings(stranger, s)).toEqual(EVERYWHERE.filter((e) => e !== 'hashtag'));
    expect(await sightings(undefined, s)).toEqual(['direct', 'thread', 'history', 'thread-ancestor', 'profile', 'quote-embed']);
  });

  it('a private account shows its posts to approved followers only', async () => {
    const priv = await signUp(call, env.dataDir);
    await call('PATCH', '/api/v1/me', { token: priv.accessToken, body: { isPrivate: true } });
    await graph(env.deps).follow(follower, priv);
    const p = await post(call, priv, { text: 'public but private account' });
    expect4xx(await call('GET', `/api/v1/posts/${p.id}`, { token: stranger.accessToken }), 404);
    expect((await call('GET', `/api/v1/posts/${p.id}`, { token: follower.accessToken })).status).toBe(200);
  });

  it('a block hides both ways, everywhere', async () => {
    const [a, b] = await Promise.all([signUp(call, env.dataDir), signUp(call, env.dataDir)]);
    const tag = `b${Math.random().toString(36).slice(2, 10)}`;
    const pa = await post(call, a, { text: `from a #${tag}` });
    const qa = await post(call, a, { text: 'quote', quoteOf: pa.id });
    const ra = await post(call, a, { text: 'reply', replyTo: pa.id });
    const pb = await post(call, b, { text: `from b #${tag}` });
    const qb = await post(call, b, { text: 'quote', quoteOf: pb.id });
    const rb = await post(call, b, { text: 'reply', replyTo: pb.id });
    await graph(env.deps).block(a, b);
    expect(await sightings(b, { id: pa.id, tag, quoteId: qa.id, replyId: ra.id, authorName: a.username })).toEqual([]);
    expect(await sightings(a, { id: pb.id, tag, quoteId: qb.id, replyId: rb.id, authorName: b.username })).toEqual([]);
    // Posts quoting across the block lose the embed; mentions across it are not stored.
    const c = await signUp(call, env.dataDir);
    const cq = await post(call, c, { text: 'quote b', quoteOf: pb.id });
    const seenByA = await call('GET', `/api/v1/posts/${cq.id}`, { token: a.accessToken });
    expect(seenByA.status).toBe(200);
    expect(seenByA.body.quoteOf).toBeNull();
    const m = await post(call, a, { text: `hey @${b.username}` });
    expect(m.mentions).toEqual([]);
  });

  it('a mute hides from the muter\'s lists but not from a direct link', async () => {
    const [m, muted] = await Promise.all([signUp(call, env.dataDir), signUp(call, env.dataDir)]);
    const tag = `m${Math.random().toString(36).slice(2, 10)}`;
    const p = await post(call, muted, { text: `muted #${tag}` });
    await graph(env.deps).mute(m, muted);
    expect((await call('GET', `/api/v1/posts/${p.id}`, { token: m.accessToken })).status).toBe(200);
    expect(await allPages(call, `/api/v1/hashtags/${tag}/posts`, m.accessToken)).toEqual([]);
    expect(await allPages(call, `/api/v1/users/${muted.username}/posts`, m.accessToken)).toEqual([]);
    expect(await allPages(call, `/api/v1/hashtags/${tag}/posts`, stranger.accessToken)).toEqual([p.id]);
  });

  it('posts of suspended or deactivated authors and held posts are hidden', async () => {
    const u = await signUp(call, env.dataDir);
    const p = await post(call, u, { text: 'soon hidden' });
    const db = env.deps.database.db;
    await db.update(users).set({ state: 'suspended' }).where(eq(users.id, u.id));
    expect4xx(await call('GET', `/api/v1/posts/${p.id}`), 404);
    await db.update(users).set({ state: 'active' }).where(eq(users.id, u.id));
    expect((await call('GET', `/api/v1/posts/${p.id}`)).status).toBe(200);
    await db.update(posts).set({ moderationState: 'held' }).where(eq(posts.id, p.id));
    expect4xx(await call('GET', `/api/v1/posts/${p.id}`), 404);
  });
});

describe('cursor pages', () => {
  it('a profile feed receiving inserts between pages has no duplicates and no gaps', async () => {
    const u = await signUp(call, env.dataDir);
    const first: string[] = [];
    for (let i = 0; i < 12; i++) first.push((await post(call, u, { text: `p${i}`, visibility: i % 4 === 0 ? 'followers' : 'public' })).id);
    const deleted = first[5]!;
    await call('DELETE', `/api/v1/posts/${deleted}`, { token: u.accessToken });
    const expected = first.filter((id, i) => id !== deleted && i % 4 !== 0).reverse();

    const seen: string[] = [];
    let cursor: string | null = null;
    let page = 0;
    do {
      const res = await call('GET', `/api/v1/users/${u.username}/posts?limit=3${cursor ? `&cursor=${cursor}` : ''}`, { token: stranger.accessToken });
      expect(res.status).toBe(200);
      seen.push(...ids(res));
      cursor = res.body.nextCursor as string | null;
      // New posts arrive while the reader pages: they belong before the first page, not in later ones.
      await post(call, u, { text: `new ${page++}` });
    } while (cursor);
    expect(seen).toEqual(expected);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('hashtag and thread pages cover every visible item once', async () => {
    const tag = `c${Math.random().toString(36).slice(2, 10)}`;
    const root = await post(call, author, { text: 'root' });
    const made: string[] = [];
    const replies: string[] = [];
    for (let i = 0; i < 7; i++) {
      made.push((await post(call, author, { text: `#${tag} ${i}` })).id);
      replies.push((await post(call, follower, { text: `reply ${i}`, replyTo: root.id })).id);
    }
    expect(await allPages(call, `/api/v1/hashtags/${tag}/posts`, undefined, 2)).toEqual([...made].reverse());
    const threadIds: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await call('GET', `/api/v1/posts/${root.id}/thread?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      const r = res.body.replies as { items: PostBody[]; nextCursor: string | null };
      threadIds.push(...r.items.map((p) => p.id));
      cursor = r.nextCursor;
    } while (cursor);
    expect(threadIds).toEqual(replies);
  });
});
