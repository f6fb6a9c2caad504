import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { comments } from '../../src/modules/comments/tables.js';
import { likes } from '../../src/modules/reactions/tables.js';
import { createTestEnv, type TestEnv } from '../support/app.js';
import { injectClient, signUp, type Call, type TestUser } from '../support/auth.js';
import { expect4xx, graph, post } from '../posts/support.js';

interface CommentBody {
  id: string;
  parentId: string | null;
  depth: number;
  text: string;
  deleted: boolean;
  pinned: boolean;
  author: { id: string } | null;
  counts: { likes: number; replies: number };
  editedAt: string | null;
}
interface CommentPage {
  items: CommentBody[];
  nextCursor: string | null;
}

let env: TestEnv;
let call: Call;
let owner: TestUser;
let other: TestUser;
let third: TestUser;
let crowd: TestUser[];

const UNKNOWN = '01936a3e-0000-7000-8000-000000000000';

beforeAll(async () => {
  env = await createTestEnv();
  call = injectClient(env.app);
  const users = await Promise.all(Array.from({ length: 11 }, () => signUp(call, env.dataDir)));
  [owner, other, third] = [users[0]!, users[1]!, users[2]!];
  crowd = users.slice(3);
});
afterAll(async () => env?.close());

async function comment(u: TestUser, postId: string, text: string, parentId?: string): Promise<CommentBody> {
  const res = await call('POST', `/api/v1/posts/${postId}/comments`, { token: u.accessToken, body: parentId ? { text, parentId } : { text } });
  if (res.status !== 201) throw new Error(`comment failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as unknown as CommentBody;
}

async function pages(url: string, token?: string, limit = 2): Promise<CommentBody[]> {
  const out: CommentBody[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 100; i++) {
    const sep = url.includes('?') ? '&' : '?';
    const res = await call('GET', `${url}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, { token });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const page = res.body as unknown as CommentPage;
    out.push(...page.items);
    cursor = page.nextCursor;
    if (!cursor) return out;
  }
  throw new Error('too many pages');
}
const idsOf = (cs: CommentBody[]) => cs.map((c) => c.id);

async function countRows() {
  const db = env.deps.database.db;
  const [c] = await db.select({ n: sql<number>`count(*)::int`, r: sql<number>`coalesce(sum(${comments.replyCount}), 0)::int` }).from(comments);
  return c;
}

describe('comments', () => {
  it('creates comments and threaded replies, capping the depth at 3', async () => {
    const p = await post(call, owner, { text: 'discuss' });
    const c0 = await comment(other, p.id, '  top  ');
    expect(c0).toMatchObject({ depth: 0, parentId: null, text: 'top', deleted: false, pinned: false, counts: { likes: 0, replies: 0 } });
    const c1 = await comment(owner, p.id, 'r1', c0.id);
    const c2 = await comment(other, p.id, 'r2', c1.id);
    const c3 = await comment(owner, p.id, 'r3', c2.id);
    expect([c1.depth, c2.depth, c3.depth]).toEqual([1, 2, 3]);
    // A reply to a depth-3 comment is attached next to it: same parent, depth 3.
    const c4 = await comment(other, p.id, 'r4', c3.id);
    expect(c4).toMatchObject({ depth: 3, parentId: c2.id });
    const replies = await pages(`/api/v1/posts/${p.id}/comments?parentId=${c2.id}`, other.accessToken);
    expect(idsOf(replies)).toEqual([c4.id, c3.id]);
    expect((await call('GET', `/api/v1/comments/${c2.id}`)).body.counts).toEqual({ likes: 0, replies: 2 });
    expect((await call('GET', `/api/v1/comments/${c0.id}`)).body.counts).toEqual({ likes: 0, replies: 1 });
    expect(idsOf(await pages(`/api/v1/posts/${p.id}/comments`))).toEqual([c0.id]);
  });

  it('sorts newest and top in cursor pages without duplicates', async () => {
    const p = await post(call, owner, { text: 'sorting' });
    const made: CommentBody[] = [];
    for (let i = 0; i < 7; i++) made.push(await comment(crowd[i]!, p.id, `c${i}`));
    // Likes: c3 gets 3, c5 gets 2, c1 gets 1, the rest 0.
    for (const [i, n] of [[3, 3], [5, 2], [1, 1]] as const) for (let k = 0; k < n; k++) expect((await call('POST', `/api/v1/comments/${made[i]!.id}/like`, { token: crowd[k]!.accessToken })).status).toBe(200);
    const newest = idsOf(await pages(`/api/v1/posts/${p.id}/comments?sort=newest`));
    expect(newest).toEqual(idsOf(made).reverse());
    const top = idsOf(await pages(`/api/v1/posts/${p.id}/comments?sort=top`, undefined, 3));
    expect(new Set(top).size).toBe(7);
    const zeros = [6, 4, 2, 0].map((i) => made[i]!.id);
    expect(top).toEqual([made[3]!.id, made[5]!.id, made[1]!.id, ...zeros]);
    // A cursor of one sort is not a cursor of the other.
    const first = (await call('GET', `/api/v1/posts/${p.id}/comments?sort=newest&limit=2`)).body as unknown as CommentPage;
    expect4xx(await call('GET', `/api/v1/posts/${p.id}/comments?sort=top&cursor=${first.nextCursor!}`), 400);
  });

  it('the post author alone pins; pinning another unpins the old; the pinned comment leads the first page', async () => {
    const p = await post(call, owner, { text: 'pins' });
    const a = await comment(other, p.id, 'a');
    const b = await comment(third, p.id, 'b');
    const c = await comment(other, p.id, 'c');
    expect4xx(await call('POST', `/api/v1/comments/${a.id}/pin`, { token: other.accessToken }), 404);
    expect4xx(await call('POST', `/api/v1/comments/${a.id}/pin`), 401);
    expect((await call('POST', `/api/v1/comments/${a.id}/pin`, { token: owner.accessToken })).body.pinned).toBe(true);
    expect((await call('POST', `/api/v1/comments/${b.id}/pin`, { token: owner.accessToken })).body.pinned).toBe(true);
    expect((await call('GET', `/api/v1/comments/${a.id}`)).body.pinned).toBe(false);
    const all = await pages(`/api/v1/posts/${p.id}/comments`, undefined, 1);
    expect(idsOf(all)).toEqual([b.id, c.id, a.id]);
    expect(all[0]!.pinned).toBe(true);
    const reply = await comment(owner, p.id, 'r', a.id);
    expect4xx(await call('POST', `/api/v1/comments/${reply.id}/pin`, { token: owner.accessToken }), 422);
    expect((await call('DELETE', `/api/v1/comments/${b.id}/pin`, { token: owner.accessToken })).body.pinned).toBe(false);
    const [n] = await env.deps.database.db.select({ n: sql<number>`count(*)::int` }).from(comments).where(and(eq(comments.targetId, p.id), sql`${comments.pinnedAt} is not null`));
    expect(n!.n).toBe(0);
  });

  it('edit by the author only; delete by the author or the post author; others get 404', async () => {
    const p = await post(call, owner, { text: 'edits' });
    const c = await comment(other, p.id, 'first');
    expect4xx(await call('PATCH', `/api/v1/comments/${c.id}`, { token: owner.accessToken, body: { text: 'hijack' } }), 404);
    expect4xx(await call('PATCH', `/api/v1/comments/${c.id}`, { token: third.accessToken, body: { text: 'hijack' } }), 404);
    const edited = await call('PATCH', `/api/v1/comments/${c.id}`, { token: other.accessToken, body: { text: 'second' } });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ text: 'second', editedAt: expect.any(String) });
    expect4xx(await call('DELETE', `/api/v1/comments/${c.id}`, { token: third.accessToken }), 404);
    const reply = await comment(third, p.id, 'reply', c.id);
    expect((await call('DELETE', `/api/v1/comments/${reply.id}`, { token: third.accessToken })).status).toBe(204);
    expect((await call('GET', `/api/v1/comments/${c.id}`)).body.counts).toEqual({ likes: 0, replies: 0 });
    const d = await comment(third, p.id, 'to be removed by the post author');
    expect((await call('DELETE', `/api/v1/comments/${d.id}`, { token: owner.accessToken })).status).toBe(204);
    expect4xx(await call('DELETE', `/api/v1/comments/${d.id}`, { token: owner.accessToken }), 404);
    expect(idsOf(await pages(`/api/v1/posts/${p.id}/comments`))).toEqual([c.id]);
  });

  it('a deleted comment with replies stays as a placeholder without its text', async () => {
    const p = await post(call, owner, { text: 'placeholder' });
    const c = await comment(other, p.id, 'secret words');
    const r = await comment(third, p.id, 'answer', c.id);
    expect((await call('DELETE', `/api/v1/comments/${c.id}`, { token: other.accessToken })).status).toBe(204);
    const list = await pages(`/api/v1/posts/${p.id}/comments`);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ id: c.id, deleted: true, text: '', author: null });
    expect(JSON.stringify(list)).not.toContain('secret words');
    expect(idsOf(await pages(`/api/v1/posts/${p.id}/comments?parentId=${c.id}`))).toEqual([r.id]);
  });

  it('comments on a followers-only post are invisible to non-followers', async () => {
    const fan = crowd[0]!;
    await graph(env.deps).follow(fan, owner);
    const p = await post(call, owner, { text: 'followers only', visibility: 'followers' });
    const c = await comment(fan, p.id, 'hi');
    expect(idsOf(await pages(`/api/v1/posts/${p.id}/comments`, fan.accessToken))).toEqual([c.id]);
    expect4xx(await call('GET', `/api/v1/posts/${p.id}/comments`, { token: third.accessToken }), 404);
    expect4xx(await call('GET', `/api/v1/posts/${p.id}/comments`), 404);
    expect4xx(await call('GET', `/api/v1/comments/${c.id}`, { token: third.accessToken }), 404);
    expect4xx(await call('POST', `/api/v1/posts/${p.id}/comments`, { token: third.accessToken, body: { text: 'x' } }), 404);
    expect4xx(await call('POST', `/api/v1/comments/${c.id}/like`, { token: third.accessToken }), 404);
  });

  it('a block hides comments both ways, and a mute hides them from the muter', async () => {
    const [a, b, m] = await Promise.all([signUp(call, env.dataDir), signUp(call, env.dataDir), signUp(call, env.dataDir)]);
    const p = await post(call, owner, { text: 'blocks' });
    const ca = await comment(a, p.id, 'from a');
    const cb = await comment(b, p.id, 'from b');
    const cm = await comment(m, p.id, 'from m');
    await graph(env.deps).block(a, b);
    await graph(env.deps).mute(m, a);
    expect(idsOf(await pages(`/api/v1/posts/${p.id}/comments`, a.accessToken))).toEqual([cm.id, ca.id]);
    expect(idsOf(await pages(`/api/v1/posts/${p.id}/comments`, b.accessToken))).toEqual([cm.id, cb.id]);
    expect(idsOf(await pages(`/api/v1/posts/${p.id}/comments`, m.accessToken))).toEqual([cm.id, cb.id]);
    expect(idsOf(await pages(`/api/v1/posts/${p.id}/comments`))).toEqual([cm.id, cb.id, ca.id]);
    expect4xx(await call('POST', `/api/v1/posts/${p.id}/comments`, { token: b.accessToken, body: { text: 'x', parentId: ca.id } }), 400);
    expect4xx(await call('POST', `/api/v1/comments/${ca.id}/like`, { token: b.accessToken }), 404);
    // Blocked with the post author: the post and its comments are gone like the post itself.
    await graph(env.deps).block(owner, m);
    expect4xx(await call('GET', `/api/v1/posts/${p.id}/comments`, { token: m.accessToken }), 404);
    expect4xx(await call('POST', `/api/v1/posts/${p.id}/comments`, { token: m.accessToken, body: { text: 'x' } }), 404);
  });

  it('like counters are exact after concurrent likes and unlikes', async () => {
    const p = await post(call, owner, { text: 'likes' });
    const c = await comment(other, p.id, 'like me');
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => call((i * 7) % 3 === 0 ? 'DELETE' : 'POST', `/api/v1/comments/${c.id}/like`, { token: crowd[i % crowd.length]!.accessToken })),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    const db = env.deps.database.db;
    const [stored] = await db.select({ n: comments.likeCount }).from(comments).where(eq(comments.id, c.id));
    const [truth] = await db.select({ n: sql<number>`count(*)::int` }).from(likes).where(and(eq(likes.targetType, 'comment'), eq(likes.targetId, c.id)));
    expect(stored!.n).toBe(truth!.n);
    expect(truth!.n).toBeGreaterThan(0);
    const seen = await call('GET', `/api/v1/comments/${c.id}`, { token: crowd[1]!.accessToken });
    expect((seen.body.counts as { likes: number }).likes).toBe(truth!.n);
  });

  it('anonymous writes answer 401', async () => {
    const p = await post(call, owner, { text: 'anon' });
    const c = await comment(other, p.id, 'c');
    expect4xx(await call('POST', `/api/v1/posts/${p.id}/comments`, { body: { text: 'x' } }), 401);
    expect4xx(await call('PATCH', `/api/v1/comments/${c.id}`, { body: { text: 'x' } }), 401);
    expect4xx(await call('DELETE', `/api/v1/comments/${c.id}`), 401);
    expect4xx(await call('POST', `/api/v1/comments/${c.id}/like`), 401);
    expect4xx(await call('DELETE', `/api/v1/comments/${c.id}/like`), 401);
    expect4xx(await call('DELETE', `/api/v1/comments/${c.id}/pin`), 401);
  });

  it('bad input is a 4xx problem and stores nothing', async () => {
    const p = await post(call, owner, { text: 'bad input' });
    const elsewhere = await post(call, owner, { text: 'another' });
    const foreign = await comment(other, elsewhere.id, 'foreign');
    const c = await comment(other, p.id, 'ok');
    const before = await countRows();
    const cases: [string, unknown, number][] = [
      [`/api/v1/posts/${p.id}/comments`, { text: '' }, 400],
      [`/api/v1/posts/${p.id}/comments`, { text: '   ' }, 400],
      [`/api/v1/posts/${p.id}/comments`, { text: 'a'.repeat(2001) }, 400],
      [`/api/v1/posts/${p.id}/comments`, { text: 'bell\u0007' }, 400],
      [`/api/v1/posts/${p.id}/comments`, {}, 400],
      [`/api/v1/posts/${p.id}/comments`, { text: 'x', extra: 1 }, 400],
      [`/api/v1/posts/${UNKNOWN}/comments`, { text: 'x' }, 404],
      [`/api/v1/posts/${p.id}/comments`, { text: 'x', parentId: foreign.id }, 400],
      [`/api/v1/posts/${p.id}/comments`, { text: 'x', parentId: UNKNOWN }, 400],
      [`/api/v1/posts/${p.id}/comments`, { text: 'x', parentId: 'nope' }, 400],
      ['/api/v1/posts/not-a-uuid/comments', { text: 'x' }, 400],
    ];
    for (const [url, body, status] of cases) expect4xx(await call('POST', url, { token: other.accessToken, body }), status);
    expect4xx(await call('PATCH', `/api/v1/comments/${c.id}`, { token: other.accessToken, body: { text: '' } }), 400);
    expect4xx(await call('PATCH', `/api/v1/comments/${UNKNOWN}`, { token: other.accessToken, body: { text: 'x' } }), 404);
    expect4xx(await call('POST', `/api/v1/comments/${UNKNOWN}/like`, { token: other.accessToken }), 404);
    expect4xx(await call('DELETE', `/api/v1/comments/${UNKNOWN}/like`, { token: other.accessToken }), 404);
    expect4xx(await call('POST', '/api/v1/comments/not-a-uuid/pin', { token: owner.accessToken }), 400);
    for (const q of ['cursor=!!', 'cursor=abc', `cursor=${Buffer.from('n.xyz').toString('base64url')}`, 'sort=old', 'limit=0', 'limit=101', 'parentId=nope'])
      expect4xx(await call('GET', `/api/v1/posts/${p.id}/comments?${q}`), 400);
    expect4xx(await call('GET', `/api/v1/posts/${p.id}/comments?parentId=${foreign.id}`), 404);
    expect(await countRows()).toEqual(before);
    expect((await call('GET', `/api/v1/comments/${c.id}`)).body.text).toBe('ok');
  });

  it('an Idempotency-Key makes a retried create answer the same comment', async () => {
    const p = await post(call, owner, { text: 'idem' });
    const headers = { 'idempotency-key': `k-${Math.random().toString(36).slice(2)}` };
    const one = await call('POST', `/api/v1/posts/${p.id}/comments`, { token: other.accessToken, body: { text: 'once' }, headers });
    const two = await call('POST', `/api/v1/posts/${p.id}/comments`, { token: other.accessToken, body: { text: 'once' }, headers });
    expect(one.status).toBe(201);
    expect(two.body.id).toBe(one.body.id);
    expect(idsOf(await pages(`/api/v1/posts/${p.id}/comments`))).toEqual([one.body.id]);
  });
});
