import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userStats } from '../../src/modules/graph/tables.js';
import { mediaAttachments, postEdits, postHashtags, postMentions, posts } from '../../src/modules/posts/tables.js';
import { likes, saves } from '../../src/modules/reactions/tables.js';
import { createTestEnv, type TestEnv } from '../support/app.js';
import { injectClient, signUp, type Call, type TestUser } from '../support/auth.js';
import { filePart, formData, solid } from '../users/support.js';
import { expect4xx, post, type PostBody } from './support.js';

/** PeerTube-style checks for posts and reactions: bad input is a 4xx problem+json and stores nothing. */
let env: TestEnv;
let call: Call;
let owner: TestUser;
let other: TestUser;
let mine: PostBody;
let otherMedia: string;

const UNKNOWN = '01936a3e-0000-7000-8000-000000000000';

beforeAll(async () => {
  env = await createTestEnv();
  call = injectClient(env.app);
  [owner, other] = await Promise.all([signUp(call, env.dataDir), signUp(call, env.dataDir)]);
  mine = await post(call, owner, { text: 'mine' });
  const { payload, headers } = formData([filePart(await solid(40, 40).png().toBuffer(), 'a.png', 'image/png')]);
  const up = await env.app.inject({ method: 'POST', url: '/api/v1/media', headers: { ...headers, authorization: `Bearer ${other.accessToken}` }, payload });
  otherMedia = (up.json() as { id: string }).id;
});
afterAll(async () => env?.close());

async function snapshot() {
  const db = env.deps.database.db;
  const count = async (t: typeof posts | typeof postEdits | typeof postHashtags | typeof postMentions | typeof likes | typeof saves) =>
    (await db.select({ n: sql<number>`count(*)::int` }).from(t))[0]!.n;
  const [p] = await db.select({ changed: sql<string>`coalesce(max(${posts.editedAt})::text, '') || coalesce(max(${posts.deletedAt})::text, '') || sum(${posts.likeCount} + ${posts.replyCount} + ${posts.quoteCount} + ${posts.repostCount})::text` }).from(posts);
  const [m] = await db.select({ attached: sql<number>`count(${mediaAttachments.postId})::int` }).from(mediaAttachments);
  const [s] = await db.select({ posts: sql<number>`coalesce(sum(${userStats.posts}), 0)::int` }).from(userStats);
  return {
    posts: await count(posts),
    edits: await count(postEdits),
    tags: await count(postHashtags),
    mentions: await count(postMentions),
    likes: await count(likes),
    saves: await count(saves),
    p,
    m,
    s,
  };
}

const long = (n: number) => 'a'.repeat(n);
const tags = (n: number) => Array.from({ length: n }, (_, i) => `#tag${i}x`).join(' ');
const mentions = (n: number) => Array.from({ length: n }, (_, i) => `@someone${i}`).join(' ');

describe('bad input changes nothing', () => {
  const createCases: [string, unknown][] = [
    ['nothing', {}],
    ['overlong text', { text: long(501) }],
    ['overlong after NFC is still long', { text: `${'é'.repeat(501)}` }],
    ['empty text without media', { text: '   ' }],
    ['control characters', { text: 'bell \u0007' }],
    ['bidi override', { text: 'abc \u202e cba' }],
    ['11 hashtags', { text: tags(11) }],
    ['11 mentions', { text: mentions(11) }],
    ['unknown visibility', { text: 'x', visibility: 'secret' }],
    ['invalid replyTo uuid', { text: 'x', replyTo: 'not-a-uuid' }],
    ['unknown replyTo', { text: 'x', replyTo: UNKNOWN }],
    ['unknown quoteOf', { text: 'x', quoteOf: UNKNOWN }],
    ["someone else's media", { text: 'x', media: [otherMedia] }],
    ['unknown media', { text: 'x', media: [UNKNOWN] }],
    ['duplicate media', { text: 'x', media: [UNKNOWN, UNKNOWN] }],
    ['5 media', { text: 'x', media: Array.from({ length: 5 }, () => UNKNOWN) }],
    ['invalid media uuid', { text: 'x', media: ['nope'] }],
    ['extra field', { text: 'x', authorId: UNKNOWN }],
    // The app coerces scalars (42 -> "42"), as for query strings; objects cannot be coerced.
    ['wrong types', { text: { a: 1 }, media: 'x' }],
  ];
  it.each(createCases)('POST /posts: %s', async (_name, body) => {
    const before = await snapshot();
    expect4xx(await call('POST', '/api/v1/posts', { token: owner.accessToken, body }));
    expect(await snapshot()).toEqual(before);
  });

  it('markup is text, not an error', async () => {
    const p = await post(call, owner, { text: '<script>alert(1)</script> a<b' });
    expect(p.text).toBe('<script>alert(1)</script> a<b');
  });

  it('every other endpoint refuses bad ids, bodies and queries', async () => {
    const before = await snapshot();
    const t = owner.accessToken;
    const cases: [string, string, unknown?][] = [
      ['GET', '/api/v1/posts/not-a-uuid'],
      ['GET', `/api/v1/posts/${UNKNOWN}`],
      ['GET', '/api/v1/posts/not-a-uuid/history'],
      ['GET', '/api/v1/posts/not-a-uuid/thread'],
      ['GET', `/api/v1/posts/${mine.id}/thread?limit=0`],
      ['GET', `/api/v1/posts/${mine.id}/thread?cursor=${encodeURIComponent('!!')}`],
      ['GET', `/api/v1/posts/${mine.id}/thread?cursor=bm90LWEtdXVpZA`],
      ['GET', `/api/v1/users/${owner.username}/posts?limit=101`],
      ['GET', `/api/v1/users/${owner.username}/posts?includeReplies=maybe`],
      ['GET', `/api/v1/users/${owner.username}/posts?what=1`],
      ['GET', '/api/v1/users/nobody_at_all_here/posts'],
      ['GET', `/api/v1/hashtags/${encodeURIComponent('no spaces')}/posts`],
      ['GET', `/api/v1/hashtags/${long(66)}/posts`],
      ['PATCH', `/api/v1/posts/${mine.id}`, { text: long(501) }],
      ['PATCH', `/api/v1/posts/${mine.id}`, { text: '' }],
      ['PATCH', `/api/v1/posts/${mine.id}`, { text: tags(11) }],
      ['PATCH', `/api/v1/posts/${mine.id}`, {}],
      ['PATCH', '/api/v1/posts/not-a-uuid', { text: 'x' }],
      ['PATCH', `/api/v1/posts/${UNKNOWN}`, { text: 'x' }],
      ['DELETE', '/api/v1/posts/not-a-uuid'],
      ['DELETE', `/api/v1/posts/${UNKNOWN}`],
      ['POST', '/api/v1/posts/not-a-uuid/repost'],
      ['POST', `/api/v1/posts/${UNKNOWN}/repost`],
      ['DELETE', '/api/v1/posts/not-a-uuid/repost'],
      ['POST', '/api/v1/posts/not-a-uuid/like'],
      ['POST', `/api/v1/posts/${UNKNOWN}/like`],
      ['DELETE', '/api/v1/posts/not-a-uuid/like'],
      ['POST', '/api/v1/posts/not-a-uuid/save'],
      ['POST', `/api/v1/posts/${UNKNOWN}/save`],
      ['DELETE', '/api/v1/posts/not-a-uuid/save'],
      ['GET', '/api/v1/me/saved?limit=-1'],
      ['GET', '/api/v1/me/saved?cursor=bm90LWEtdXVpZA'],
    ];
    for (const [method, url, body] of cases) {
      const res = await call(method, url, { token: t, body });
      expect4xx(res);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('POST /media refuses what is not an image, and JSON', async () => {
    const up = async (parts: Parameters<typeof formData>[0]) => {
      const { payload, headers } = formData(parts);
      const res = await env.app.inject({ method: 'POST', url: '/api/v1/media', headers: { ...headers, authorization: `Bearer ${owner.accessToken}` }, payload });
      return { status: res.statusCode, body: res.json() as Record<string, unknown>, headers: res.headers as Record<string, unknown> };
    };
    const before = await env.deps.database.db.select({ n: sql<number>`count(*)::int` }).from(mediaAttachments);
    expect4xx(await up([filePart('GIF89a but not really an image at all', 'x.gif', 'image/gif')]));
    expect4xx(await up([{ name: 'other', data: 'x' }]));
    expect4xx(await call('POST', '/api/v1/media', { token: owner.accessToken, body: { file: 'x' } }));
    expect(await env.deps.database.db.select({ n: sql<number>`count(*)::int` }).from(mediaAttachments)).toEqual(before);
  });
});

describe('access matrix', () => {
  const writes: [string, string, unknown?][] = [
    ['POST', '/api/v1/posts', { text: 'x' }],
    ['PATCH', `/api/v1/posts/${UNKNOWN}`, { text: 'x' }],
    ['DELETE', `/api/v1/posts/${UNKNOWN}`],
    ['POST', `/api/v1/posts/${UNKNOWN}/repost`],
    ['DELETE', `/api/v1/posts/${UNKNOWN}/repost`],
    ['POST', `/api/v1/posts/${UNKNOWN}/like`],
    ['DELETE', `/api/v1/posts/${UNKNOWN}/like`],
    ['POST', `/api/v1/posts/${UNKNOWN}/save`],
    ['DELETE', `/api/v1/posts/${UNKNOWN}/save`],
    ['GET', '/api/v1/me/saved'],
    ['POST', '/api/v1/media'],
  ];
  it.each(writes)('anonymous: %s %s is 401', async (method, url, body) => {
    const before = await snapshot();
    const res = await call(method, url, { body });
    expect4xx(res, 401);
    expect(res.body.code).toBe('auth.required');
    expect(await snapshot()).toEqual(before);
  });

  it('reads are open to anonymous callers', async () => {
    for (const url of [`/api/v1/posts/${mine.id}`, `/api/v1/posts/${mine.id}/thread`, `/api/v1/posts/${mine.id}/history`, `/api/v1/users/${owner.username}/posts`, '/api/v1/hashtags/anything/posts']) {
      expect((await call('GET', url)).status).toBe(200);
    }
  });

  it("another account cannot edit or delete a post it can see (404: only one's own posts are addressable)", async () => {
    const before = await snapshot();
    expect4xx(await call('PATCH', `/api/v1/posts/${mine.id}`, { token: other.accessToken, body: { text: 'mine now' } }), 404);
    expect4xx(await call('DELETE', `/api/v1/posts/${mine.id}`, { token: other.accessToken }), 404);
    expect(await snapshot()).toEqual(before);
    expect((await call('PATCH', `/api/v1/posts/${mine.id}`, { token: owner.accessToken, body: { text: 'still mine' } })).status).toBe(200);
  });

  it('an invalid token is 401 even on open reads', async () => {
    expect4xx(await call('GET', `/api/v1/posts/${mine.id}`, { headers: { authorization: 'Bearer nope' } }), 401);
  });
});
