import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../support/app.js';
import { injectClient, signUp, type Call, type TestUser } from '../support/auth.js';
import { graph, ids, post, type PostBody } from '../posts/support.js';
import { act, eventually } from './support.js';

let env: TestEnv;
let call: Call;
let author: TestUser;
let follower: TestUser;
let other: TestUser;
let mod: TestUser;
let admin: TestUser;

beforeAll(async () => {
  env = await createTestEnv();
  call = injectClient(env.app);
  [author, follower, other] = await Promise.all([signUp(call, env.dataDir), signUp(call, env.dataDir), signUp(call, env.dataDir)]);
  mod = await signUp(call, env.dataDir, { role: 'moderator', deps: env.deps });
  admin = await signUp(call, env.dataDir, { role: 'admin', deps: env.deps });
  await graph(env.deps).follow(follower, author);
});
afterAll(async () => env?.close());

describe('held content', () => {
  it('is seen by its author and moderators (marked held) and by nobody else, in every read path', async () => {
    const p = await post(call, author, { text: 'a perfectly calm post #heldtag' });
    const keep = await post(call, author, { text: 'another calm post #heldtag' });
    // Reactions, a quote and a reply exist before the hold.
    expect((await call('POST', `/api/v1/posts/${p.id}/save`, { token: follower.accessToken })).status).toBeLessThan(300);
    const quote = await post(call, other, { text: 'look at this', quoteOf: p.id });
    const reply = await post(call, other, { text: 'a reply', replyTo: p.id });
    const c = await call('POST', `/api/v1/posts/${p.id}/comments`, { token: other.accessToken, body: { text: 'nice' } });
    expect(c.status).toBe(201);
    await eventually(async () => ids(await call('GET', '/api/v1/feed/home', { token: follower.accessToken })).includes(p.id), 'fan-out to the follower');

    await act(call, mod, { targetType: 'post', targetId: p.id, action: 'hold', reason: 'checking it', category: 'offensive' });

    // Direct GET
    for (const u of [author, mod, admin]) {
      const r = await call('GET', `/api/v1/posts/${p.id}`, { token: u.accessToken });
      expect(r.status).toBe(200);
      expect((r.body as unknown as PostBody & { moderationState: string }).moderationState).toBe('held');
    }
    for (const token of [follower.accessToken, other.accessToken, undefined]) expect((await call('GET', `/api/v1/posts/${p.id}`, { token })).status).toBe(404);
    // Thread of the held post, and the held post as an ancestor of a reply
    expect((await call('GET', `/api/v1/posts/${p.id}/thread`, { token: follower.accessToken })).status).toBe(404);
    expect((await call('GET', `/api/v1/posts/${p.id}/thread`, { token: author.accessToken })).status).toBe(200);
    const thread = await call('GET', `/api/v1/posts/${reply.id}/thread`, { token: follower.accessToken });
    expect((thread.body as { ancestors: unknown[] }).ancestors).toEqual([]);
    const threadA = await call('GET', `/api/v1/posts/${reply.id}/thread`, { token: author.accessToken });
    expect((threadA.body as { ancestors: { id: string }[] }).ancestors.map((a) => a.id)).toEqual([p.id]);
    // Profile, hashtag, home feed
    const profile = `/api/v1/users/${author.username}/posts`;
    expect(ids(await call('GET', profile, { token: follower.accessToken }))).toEqual([keep.id]);
    expect(ids(await call('GET', profile))).toEqual([keep.id]);
    expect(ids(await call('GET', profile, { token: author.accessToken }))).toEqual([keep.id, p.id]);
    expect(ids(await call('GET', profile, { token: mod.accessToken }))).toEqual([keep.id, p.id]);
    expect(ids(await call('GET', '/api/v1/hashtags/heldtag/posts', { token: follower.accessToken }))).toEqual([keep.id]);
    expect(ids(await call('GET', '/api/v1/hashtags/heldtag/posts', { token: author.accessToken }))).toEqual([keep.id, p.id]);
    expect(ids(await call('GET', '/api/v1/feed/home', { token: follower.accessToken }))).not.toContain(p.id);
    // Embeds: the quote stays, without the held post
    const q = await call('GET', `/api/v1/posts/${quote.id}`, { token: follower.accessToken });
    expect((q.body as unknown as PostBody).quoteOf).toBeNull();
    const qa = await call('GET', `/api/v1/posts/${quote.id}`, { token: author.accessToken });
    expect((qa.body as unknown as PostBody).quoteOf?.id).toBe(p.id);
    // Saved list, reactions, comments on it
    expect(ids(await call('GET', '/api/v1/me/saved', { token: follower.accessToken }))).not.toContain(p.id);
    expect((await call('POST', `/api/v1/posts/${p.id}/like`, { token: follower.accessToken })).status).toBe(404);
    expect((await call('GET', `/api/v1/posts/${p.id}/comments`, { token: follower.accessToken })).status).toBe(404);
    expect((await call('GET', `/api/v1/posts/${p.id}/comments`, { token: author.accessToken })).status).toBe(200);
    expect((await call('POST', `/api/v1/posts/${p.id}/comments`, { token: follower.accessToken, body: { text: 'hi' } })).status).toBe(404);

    // Restored: visible to all again.
    await act(call, mod, { targetType: 'post', targetId: p.id, action: 'restore', reason: 'fine after all' });
    const back = await call('GET', `/api/v1/posts/${p.id}`, { token: follower.accessToken });
    expect(back.status).toBe(200);
    expect((back.body as { moderationState: string }).moderationState).toBe('visible');
  });

  it('removed content is gone for everyone, author included', async () => {
    const p = await post(call, author, { text: 'to be removed' });
    await act(call, mod, { targetType: 'post', targetId: p.id, action: 'remove', reason: 'rule 3', category: 'other' });
    for (const token of [author.accessToken, follower.accessToken, undefined]) expect((await call('GET', `/api/v1/posts/${p.id}`, { token })).status).toBe(404);
  });

  it('held comments are seen by their author and moderators only', async () => {
    const p = await post(call, author, { text: 'comment here' });
    const res = await call('POST', `/api/v1/posts/${p.id}/comments`, { token: other.accessToken, body: { text: 'borderline words' } });
    const cid = (res.body as { id: string }).id;
    const visibleTo = async (token?: string) => ((await call('GET', `/api/v1/posts/${p.id}/comments`, { token })).body as unknown as { items: { id: string; moderationState: string }[] }).items.find((c) => c.id === cid);
    expect((await visibleTo(undefined))?.moderationState).toBe('visible');
    await act(call, mod, { targetType: 'comment', targetId: cid, action: 'hold', reason: 'look closer' });
    expect(await visibleTo(undefined)).toBeUndefined();
    expect(await visibleTo(author.accessToken)).toBeUndefined();
    expect(await visibleTo(follower.accessToken)).toBeUndefined();
    expect((await visibleTo(other.accessToken))?.moderationState).toBe('held');
    expect((await visibleTo(mod.accessToken))?.moderationState).toBe('held');
    expect((await call('GET', `/api/v1/comments/${cid}`, { token: follower.accessToken })).status).toBe(404);
    expect((await call('GET', `/api/v1/comments/${cid}`, { token: other.accessToken })).status).toBe(200);
    expect((await call('POST', `/api/v1/comments/${cid}/like`, { token: follower.accessToken })).status).toBe(404);
  });
});
