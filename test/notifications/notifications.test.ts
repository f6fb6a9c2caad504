import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { follows } from '../../src/modules/graph/tables.js';
import { notificationServicesFor } from '../../src/modules/notifications/services.js';
import { notifications } from '../../src/modules/notifications/tables.js';
import { users } from '../../src/modules/users/tables.js';
import { videos, type VideoRow } from '../../src/modules/videos/tables.js';
import { createTestEnv, type TestEnv } from '../support/app.js';
import { injectClient, signUp, type Call, type TestUser } from '../support/auth.js';
import { expect4xx, graph, post } from '../posts/support.js';
import { listAll, settle, waitFor, waitForNotification, type NotificationBody } from './support.js';

let env: TestEnv;
let call: Call;
let owner: TestUser;
let other: TestUser;
let third: TestUser;
let crowd: TestUser[];

const UNKNOWN = '01936a3e-0000-7000-8000-000000000000';

beforeAll(async () => {
  env = await createTestEnv({ env: { NOTIFICATION_FANOUT_BATCH: '10', ARGON2_MEMORY_KIB: '1024', ARGON2_ITERATIONS: '1' } });
  call = injectClient(env.app);
  // A few at a time: sixteen registrations at once can outrun the mail worker on a loaded machine.
  const all: TestUser[] = [];
  for (let i = 0; i < 16; i += 4) all.push(...(await Promise.all(Array.from({ length: 4 }, () => signUp(call, env.dataDir)))));
  [owner, other, third] = [all[0]!, all[1]!, all[2]!];
  crowd = all.slice(3);
});
afterAll(async () => env?.close());

/** A published video row (the fan-out checks the video itself before announcing it). */
async function publishedVideo(id: string, ownerId: string, over: Partial<VideoRow> = {}): Promise<string> {
  await env.deps.database.db.insert(videos).values({ id, ownerId, title: 'a new video', status: 'ready', publishedAt: new Date(), ...over });
  return id;
}

const rowsOf = (u: TestUser) => env.deps.database.db.select().from(notifications).where(eq(notifications.recipientId, u.id));
const like = (u: TestUser, postId: string) => call('POST', `/api/v1/posts/${postId}/like`, { token: u.accessToken });

describe('notifications from the social modules', () => {
  it('tells the followee about a follow, and a private account about a request, then the requester about the approval', async () => {
    expect((await call('POST', `/api/v1/users/${owner.username}/follow`, { token: other.accessToken })).status).toBeLessThan(300);
    const n = await waitForNotification(call, owner, 'follow', (x) => x.actors.some((a) => a.id === other.id));
    expect(n).toMatchObject({ read: false, actorCount: 1, text: expect.stringMatching(/followed you$/) });

    const priv = crowd[12]!;
    expect((await call('PATCH', '/api/v1/me', { token: priv.accessToken, body: { isPrivate: true } })).status).toBe(200);
    expect((await call('POST', `/api/v1/users/${priv.username}/follow`, { token: third.accessToken })).status).toBeLessThan(300);
    const req = await waitForNotification(call, priv, 'follow_request');
    expect(req.actors.map((a) => a.id)).toEqual([third.id]);
    expect(req.text).toMatch(/asked to follow you/);
    expect((await call('POST', `/api/v1/me/follow-requests/${third.username}/approve`, { token: priv.accessToken })).status).toBe(204);
    const accepted = await waitForNotification(call, third, 'follow_accepted');
    expect(accepted.actors.map((a) => a.id)).toEqual([priv.id]);
  });

  it('groups likes on one post into one notification: "X and 12 others liked your post"', async () => {
    const p = await post(call, owner, { text: 'like me' });
    const likers = [other, ...crowd.slice(0, 12)];
    for (const u of likers) expect((await like(u, p.id)).status).toBeLessThan(300);
    const n = await waitFor(async () => (await listAll(call, owner)).find((x) => x.type === 'like' && x.subject?.id === p.id && x.actorCount === 13), 'thirteen likes in one row');
    expect(n.text).toMatch(/ and 12 others liked your post$/);
    expect(n.actors).toHaveLength(3);
    // Newest actor first: the last liker leads.
    expect(n.actors[0]!.id).toBe(likers[likers.length - 1]!.id);
    const rows = (await rowsOf(owner)).filter((r) => r.type === 'like' && r.subjectId === p.id);
    expect(rows).toHaveLength(1);
    // Unlike and like again counts the same person once.
    await call('DELETE', `/api/v1/posts/${p.id}/like`, { token: other.accessToken });
    await like(other, p.id);
    await settle(env.deps);
    const [again] = (await rowsOf(owner)).filter((r) => r.type === 'like' && r.subjectId === p.id);
    expect(again!.actorCount).toBe(13);
  });

  it('notifies replies, quotes, mentions, reposts, comments and comment replies', async () => {
    const p = await post(call, owner, { text: 'root' });
    const reply = await post(call, other, { text: 'a reply', replyTo: p.id });
    const quote = await post(call, other, { text: 'a quote', quoteOf: p.id });
    const mention = await post(call, third, { text: `hello @${owner.username}` });
    expect((await call('POST', `/api/v1/posts/${p.id}/repost`, { token: third.accessToken })).status).toBeLessThan(300);
    const c = await call('POST', `/api/v1/posts/${p.id}/comments`, { token: other.accessToken, body: { text: 'nice' } });
    expect(c.status).toBe(201);
    const r = await call('POST', `/api/v1/posts/${p.id}/comments`, { token: third.accessToken, body: { text: 'agreed', parentId: c.body.id } });
    expect(r.status).toBe(201);

    expect((await waitForNotification(call, owner, 'reply', (n) => n.subject?.id === reply.id)).text).toMatch(/replied to your post/);
    expect((await waitForNotification(call, owner, 'quote', (n) => n.subject?.id === quote.id)).text).toMatch(/quoted your post/);
    expect((await waitForNotification(call, owner, 'mention', (n) => n.subject?.id === mention.id)).actors[0]!.id).toBe(third.id);
    expect((await waitForNotification(call, owner, 'repost', (n) => n.subject?.id === p.id)).actors[0]!.id).toBe(third.id);
    // Two commenters on the owner's post: one grouped comment notification.
    const grouped = await waitForNotification(call, owner, 'comment', (n) => n.subject?.id === p.id && n.actorCount === 2);
    expect(grouped.text).toMatch(/ and .+ commented on your post$/);
    const cr = await waitForNotification(call, other, 'comment_reply', (n) => n.subject?.id === r.body.id);
    expect(cr.url).toBe(`/posts/${p.id}?comment=${String(r.body.id)}`);
  });

  it('never notifies about oneself', async () => {
    const p = await post(call, owner, { text: `me @${owner.username}` });
    await env.deps.events.publish('content.liked', { targetType: 'post', targetId: p.id, userId: owner.id, ownerId: owner.id });
    await env.deps.events.publish('user.followed', { followerId: owner.id, followeeId: owner.id, approved: false });
    await settle(env.deps);
    const mine = await listAll(call, owner);
    expect(mine.filter((n) => n.subject?.id === p.id)).toEqual([]);
    expect(mine.filter((n) => n.actors.some((a) => a.id === owner.id))).toEqual([]);
  });

  it('drops actions of blocked and muted accounts, both ways, checked at delivery time', async () => {
    const [blocker, blocked, muter, muted, blockedBy] = crowd.slice(0, 5) as [TestUser, TestUser, TestUser, TestUser, TestUser];
    const g = graph(env.deps);
    const p1 = await post(call, blocker, { text: 'p1' });
    const p2 = await post(call, muter, { text: 'p2' });
    const p3 = await post(call, blockedBy, { text: 'p3' });
    await g.block(blocker, blocked);
    await g.mute(muter, muted);
    await g.block(blocked, blockedBy);
    // The events arrive after the block, as when a block lands between an action and its delivery.
    await env.deps.events.publish('content.liked', { targetType: 'post', targetId: p1.id, userId: blocked.id, ownerId: blocker.id });
    await env.deps.events.publish('user.followed', { followerId: blocked.id, followeeId: blocker.id, approved: false });
    await env.deps.events.publish('content.liked', { targetType: 'post', targetId: p2.id, userId: muted.id, ownerId: muter.id });
    await env.deps.events.publish('user.mentioned', { postId: p2.id, authorId: muted.id, userId: muter.id });
    await env.deps.events.publish('content.liked', { targetType: 'post', targetId: p3.id, userId: blocked.id, ownerId: blockedBy.id });
    // A control that must arrive, so the queue did run these listeners.
    await env.deps.events.publish('content.liked', { targetType: 'post', targetId: p1.id, userId: third.id, ownerId: blocker.id });
    await waitForNotification(call, blocker, 'like', (n) => n.actors.some((a) => a.id === third.id));
    await settle(env.deps);
    const actorsOf = async (u: TestUser) => (await rowsOf(u)).flatMap((r) => r.actorIds);
    expect(await actorsOf(blocker)).not.toContain(blocked.id);
    expect(await actorsOf(muter)).not.toContain(muted.id);
    expect(await actorsOf(blockedBy)).not.toContain(blocked.id);
  });

  it('a new block removes what the blocked account caused', async () => {
    const [a, b] = [crowd[5]!, crowd[6]!];
    const p = await post(call, a, { text: 'soon blocked' });
    await like(b, p.id);
    await waitForNotification(call, a, 'like', (n) => n.subject?.id === p.id);
    expect((await call('POST', `/api/v1/users/${b.username}/block`, { token: a.accessToken })).status).toBeLessThan(300);
    await waitFor(async () => (await rowsOf(a)).every((r) => !r.actorIds.includes(b.id)), 'the notification to go');
    expect((await listAll(call, a)).filter((n) => n.subject?.id === p.id)).toEqual([]);
  });

  it('never notifies about content the recipient may not see', async () => {
    const author = crowd[7]!;
    const p = await post(call, author, { text: `psst @${crowd[8]!.username}`, visibility: 'followers' });
    await env.deps.events.publish('user.mentioned', { postId: p.id, authorId: author.id, userId: crowd[8]!.id });
    const control = await post(call, author, { text: `hey @${crowd[8]!.username}` });
    await waitForNotification(call, crowd[8]!, 'mention', (n) => n.subject?.id === control.id);
    await settle(env.deps);
    expect((await rowsOf(crowd[8]!)).filter((r) => r.subjectId === p.id)).toEqual([]);
  });

  it('deleting a post removes its notifications', async () => {
    const p = await post(call, owner, { text: 'short-lived' });
    await like(crowd[9]!, p.id);
    await waitForNotification(call, owner, 'like', (n) => n.subject?.id === p.id);
    expect((await call('DELETE', `/api/v1/posts/${p.id}`, { token: owner.accessToken })).status).toBe(204);
    await waitFor(async () => (await rowsOf(owner)).every((r) => r.subjectId !== p.id), 'the notification to go');
  });
});

describe('events of the video and moderation modules (published here as those modules will)', () => {
  it('tells the owner a video is ready or failed, and an author about a moderation decision', async () => {
    const videoId = '01936a3e-1111-7000-8000-000000000001';
    await env.deps.events.publish('video.ready', { videoId, ownerId: third.id });
    await env.deps.events.publish('video.failed', { videoId: '01936a3e-1111-7000-8000-000000000002', ownerId: third.id, reason: 'no video stream' });
    const p = await post(call, third, { text: 'to be removed' });
    await env.deps.events.publish('moderation.actioned', {
      actionId: '01936a3e-2222-7000-8000-000000000001',
      targetType: 'post',
      targetId: p.id,
      authorId: third.id,
      action: 'remove',
      reason: 'spam',
      automatic: false,
    });
    expect((await waitForNotification(call, third, 'video_ready')).subject).toEqual({ type: 'video', id: videoId });
    expect((await waitForNotification(call, third, 'video_failed')).text).toBe('Your video could not be processed: no video stream');
    const m = await waitForNotification(call, third, 'moderation');
    expect(m).toMatchObject({ text: 'Your post was removed (spam)', actors: [], data: { action: 'remove' } });
  });

  it('fans a new video out to every follower in batches, once each, except those who blocked or muted the creator', async () => {
    const creator = crowd[10]!;
    const g = graph(env.deps);
    const db = env.deps.database.db;
    // 25 followers (3 pages of 10): the test users plus extra accounts made directly.
    const extra = Array.from({ length: 20 }, (_, i) => ({ id: `01936a3e-3333-7000-8000-${String(i).padStart(12, '0')}`, username: `fan_${process.pid}_${i}`, email: `fan${i}.${process.pid}@example.test` }));
    await db.insert(users).values(extra);
    const fans = [owner, other, third, crowd[0]!, crowd[1]!];
    for (const f of fans) await g.follow(f, creator);
    for (const e of extra) await g.follow(e as unknown as TestUser, creator);
    await g.mute(crowd[0]!, creator);
    await g.block(creator, crowd[1]!);
    const videoId = await publishedVideo('01936a3e-4444-7000-8000-000000000001', creator.id);
    await env.deps.events.publish('video.published', { videoId, ownerId: creator.id, visibility: 'public' });
    const expected = [owner.id, other.id, third.id, ...extra.map((e) => e.id)].sort();
    const got = async () =>
      (await db.select({ r: notifications.recipientId }).from(notifications).where(and(eq(notifications.type, 'video_published'), eq(notifications.subjectId, videoId)))).map((x) => x.r).sort();
    await waitFor(async () => (await got()).length >= expected.length, 'the fan-out');
    await settle(env.deps);
    expect(await got()).toEqual(expected);
    // The same event again (a retried publisher) stores nothing twice.
    await env.deps.events.publish('video.published', { videoId, ownerId: creator.id, visibility: 'public' });
    await settle(env.deps);
    expect(await got()).toEqual(expected);
    const n = await waitForNotification(call, owner, 'video_published', (x) => x.subject?.id === videoId);
    expect(n.text).toMatch(/published a new video$/);
    // Private and unlisted videos are not announced.
    await publishedVideo('01936a3e-4444-7000-8000-000000000002', creator.id, { visibility: 'unlisted' });
    await env.deps.events.publish('video.published', { videoId: '01936a3e-4444-7000-8000-000000000002', ownerId: creator.id, visibility: 'unlisted' });
    await settle(env.deps);
    const [{ n: unlisted }] = (await db.select({ n: sql<number>`count(*)::int` }).from(notifications).where(eq(notifications.subjectId, '01936a3e-4444-7000-8000-000000000002'))) as [{ n: number }];
    expect(unlisted).toBe(0);
  });
});

describe('fan-out planning', () => {
  it('queues one page per batch of followers, none for a creator nobody follows', async () => {
    const { fanout } = notificationServicesFor(env.deps);
    const db = env.deps.database.db;
    const creator = crowd[11]!;
    const fans = Array.from({ length: 21 }, (_, i) => ({ id: `01936a3e-5555-7000-8000-${String(i).padStart(12, '0')}`, username: `plan_${process.pid}_${i}`, email: `plan${i}.${process.pid}@example.test` }));
    await db.insert(users).values(fans);
    const videoId = await publishedVideo('01936a3e-4444-7000-8000-000000000009', creator.id);
    // Batch 10: 0 followers -> no page; exactly 10 -> one; 20 -> two (no empty third); 21 -> three.
    expect(await fanout.plan(videoId, creator.id)).toBe(0);
    await db.insert(follows).values(fans.slice(0, 10).map((f) => ({ followerId: f.id, followeeId: creator.id })));
    expect(await fanout.plan(videoId, creator.id)).toBe(1);
    await db.insert(follows).values(fans.slice(10, 20).map((f) => ({ followerId: f.id, followeeId: creator.id })));
    expect(await fanout.plan(videoId, creator.id)).toBe(2);
    await db.insert(follows).values([{ followerId: fans[20]!.id, followeeId: creator.id }]);
    expect(await fanout.plan(videoId, creator.id)).toBe(3);
    // The pages queued by the four plans above, run by the workers: every follower once.
    const got = async () => (await db.select({ r: notifications.recipientId }).from(notifications).where(eq(notifications.subjectId, videoId))).map((x) => x.r).sort();
    await waitFor(async () => (await got()).length >= fans.length, 'the planned pages');
    await settle(env.deps);
    expect(await got()).toEqual(fans.map((f) => f.id).sort());
  });
});

describe('fan-out of videos that are not (yet) visible', () => {
  it('announces nothing for a held, deleted or private video; announces once when a moderator restores it or its owner opens it up', async () => {
    const creator = await signUp(call, env.dataDir);
    const fans = [owner, other];
    const g = graph(env.deps);
    for (const f of fans) await g.follow(f, creator);
    const db = env.deps.database.db;
    const countFor = async (videoId: string) =>
      ((await db.select({ n: sql<number>`count(*)::int` }).from(notifications).where(and(eq(notifications.subjectId, videoId), eq(notifications.type, 'video_published')))) as [{ n: number }])[0].n;
    const held = await publishedVideo('01936a3e-4444-7000-8000-000000000021', creator.id, { moderationState: 'held' });
    const deleted = await publishedVideo('01936a3e-4444-7000-8000-000000000022', creator.id, { deletedAt: new Date() });
    const privateOne = await publishedVideo('01936a3e-4444-7000-8000-000000000023', creator.id, { visibility: 'private' });
    // The event says public (it was when the transcode published it): the video's state now decides.
    for (const id of [held, deleted, privateOne]) await env.deps.events.publish('video.published', { videoId: id, ownerId: creator.id, visibility: 'public' });
    await settle(env.deps);
    expect([await countFor(held), await countFor(deleted), await countFor(privateOne)]).toEqual([0, 0, 0]);

    const mod = await signUp(call, env.dataDir, { role: 'moderator', deps: env.deps });
    const restored = await call('POST', '/api/v1/moderation/actions', { token: mod.accessToken, body: { targetType: 'video', targetId: held, action: 'restore', reason: 'fine after review' } });
    expect(restored.status, JSON.stringify(restored.body)).toBe(201);
    const opened = await call('PATCH', `/api/v1/videos/${privateOne}`, { token: creator.accessToken, body: { visibility: 'public' } });
    expect(opened.status, JSON.stringify(opened.body)).toBeLessThan(300);
    await waitFor(async () => (await countFor(held)) === fans.length && (await countFor(privateOne)) === fans.length, 'the late announcements');
    // Touching the video again (a second restore, a title edit) announces nothing twice.
    await call('PATCH', `/api/v1/videos/${privateOne}`, { token: creator.accessToken, body: { title: 'renamed' } });
    await settle(env.deps);
    expect([await countFor(held), await countFor(privateOne), await countFor(deleted)]).toEqual([2, 2, 0]);
  });
});

describe('GET /notifications, unread count, read marks', () => {
  it('pages with a cursor, newest activity first, without gaps or repeats', async () => {
    const all = await listAll(call, owner);
    expect(all.length).toBeGreaterThan(5);
    const seen: NotificationBody[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 50; i++) {
      const res = await call('GET', `/api/v1/notifications?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: owner.accessToken });
      expect(res.status).toBe(200);
      const page = res.body as unknown as { items: NotificationBody[]; nextCursor: string | null };
      seen.push(...page.items);
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    expect(seen.map((n) => n.id)).toEqual(all.map((n) => n.id));
    const times = all.map((n) => n.updatedAt);
    expect([...times].sort().reverse()).toEqual(times);
  });

  it('counts unread, marks one and then all read', async () => {
    const count = async () => (await call('GET', '/api/v1/notifications/unread-count', { token: owner.accessToken })).body.count as number;
    const before = await count();
    expect(before).toBeGreaterThan(1);
    const [first] = await listAll(call, owner, '&unread=true');
    expect((await call('POST', `/api/v1/notifications/${first!.id}/read`, { token: owner.accessToken })).status).toBe(204);
    expect(await count()).toBe(before - 1);
    expect((await listAll(call, owner)).find((n) => n.id === first!.id)!.read).toBe(true);
    expect((await listAll(call, owner, '&unread=true')).map((n) => n.id)).not.toContain(first!.id);
    // Again: still 204, nothing changes.
    expect((await call('POST', `/api/v1/notifications/${first!.id}/read`, { token: owner.accessToken })).status).toBe(204);
    const all = await call('POST', '/api/v1/notifications/read-all', { token: owner.accessToken });
    expect(all.status).toBe(200);
    expect(all.body.updated).toBe(before - 1);
    expect(await count()).toBe(0);
  });

  it("counts only what the list shows: a blocked actor's unread notification leaves the count too", async () => {
    const [viewer, liker] = [await signUp(call, env.dataDir), await signUp(call, env.dataDir)];
    const unread = async () => (await call('GET', '/api/v1/notifications/unread-count', { token: viewer.accessToken })).body as { count: number; more: boolean };
    const p = await post(call, viewer, { text: 'count me' });
    const q = await post(call, viewer, { text: 'and me' });
    expect((await like(liker, p.id)).status).toBeLessThan(300);
    expect((await like(crowd[12]!, q.id)).status).toBeLessThan(300);
    await waitForNotification(call, viewer, 'like', (n) => n.subject?.id === p.id);
    await waitForNotification(call, viewer, 'like', (n) => n.subject?.id === q.id);
    const before = await unread();
    expect(before.more).toBe(false);
    expect(before.count).toBe((await listAll(call, viewer, '&unread=true')).length);
    expect((await call('POST', `/api/v1/users/${liker.username}/block`, { token: viewer.accessToken })).status).toBeLessThan(300);
    const after = await unread();
    expect(after).toEqual({ count: before.count - 1, more: false });
    expect((await listAll(call, viewer, '&unread=true')).length).toBe(after.count);
  });

  it('refuses bad input and other people, changing nothing', async () => {
    const [n] = await listAll(call, owner);
    expect4xx(await call('GET', '/api/v1/notifications'), 401);
    expect4xx(await call('GET', '/api/v1/notifications/unread-count'), 401);
    expect4xx(await call('POST', `/api/v1/notifications/${n!.id}/read`), 401);
    expect4xx(await call('POST', '/api/v1/notifications/read-all'), 401);
    expect4xx(await call('GET', '/api/v1/notifications?limit=0', { token: owner.accessToken }), 400);
    expect4xx(await call('GET', '/api/v1/notifications?limit=101', { token: owner.accessToken }), 400);
    expect4xx(await call('GET', '/api/v1/notifications?cursor=bm9wZQ', { token: owner.accessToken }), 400);
    expect4xx(await call('GET', '/api/v1/notifications?unread=maybe', { token: owner.accessToken }), 400);
    expect4xx(await call('POST', '/api/v1/notifications/not-a-uuid/read', { token: owner.accessToken }), 400);
    expect4xx(await call('POST', `/api/v1/notifications/${UNKNOWN}/read`, { token: owner.accessToken }), 404);
    // Someone else's notification is not found, and stays as it was.
    await env.deps.database.db.update(notifications).set({ readAt: null }).where(eq(notifications.id, n!.id));
    expect4xx(await call('POST', `/api/v1/notifications/${n!.id}/read`, { token: other.accessToken }), 404);
    const [row] = await env.deps.database.db.select().from(notifications).where(eq(notifications.id, n!.id));
    expect(row!.readAt).toBeNull();
    expect((await listAll(call, other)).map((x) => x.id)).not.toContain(n!.id);
  });
});

describe('preferences', () => {
  it('starts from defaults and changes per type and channel', async () => {
    const res = await call('GET', '/api/v1/notifications/preferences', { token: other.accessToken });
    expect(res.status).toBe(200);
    expect(res.body.like).toEqual({ inApp: true, email: false, push: false });
    expect(res.body.mention).toEqual({ inApp: true, email: true, push: true });
    const patched = await call('PATCH', '/api/v1/notifications/preferences', { token: other.accessToken, body: { like: { email: true }, mention: { inApp: false } } });
    expect(patched.status).toBe(200);
    expect(patched.body.like).toEqual({ inApp: true, email: true, push: false });
    expect(patched.body.mention).toEqual({ inApp: false, email: true, push: true });
    expect((await call('GET', '/api/v1/notifications/preferences', { token: other.accessToken })).body.mention).toEqual({ inApp: false, email: true, push: true });
    // Another user's preferences are untouched.
    expect((await call('GET', '/api/v1/notifications/preferences', { token: third.accessToken })).body.mention).toEqual({ inApp: true, email: true, push: true });
  });

  it('obeys the in-app channel: a type turned off is not listed', async () => {
    await call('PATCH', '/api/v1/notifications/preferences', { token: crowd[11]!.accessToken, body: { follow: { inApp: false, push: false } } });
    await call('POST', `/api/v1/users/${crowd[11]!.username}/follow`, { token: crowd[2]!.accessToken });
    const p = await post(call, crowd[11]!, { text: 'control' });
    await like(crowd[2]!, p.id);
    await waitForNotification(call, crowd[11]!, 'like');
    await settle(env.deps);
    expect((await listAll(call, crowd[11]!)).filter((n) => n.type === 'follow')).toEqual([]);
    expect((await rowsOf(crowd[11]!)).filter((r) => r.type === 'follow')).toEqual([]);
  });

  it('refuses bad input and locked channels, changing nothing', async () => {
    const before = (await call('GET', '/api/v1/notifications/preferences', { token: third.accessToken })).body;
    expect4xx(await call('GET', '/api/v1/notifications/preferences'), 401);
    expect4xx(await call('PATCH', '/api/v1/notifications/preferences', { body: { like: { email: true } } }), 401);
    expect4xx(await call('PATCH', '/api/v1/notifications/preferences', { token: third.accessToken, body: { nope: { email: true } } }), 400);
    expect4xx(await call('PATCH', '/api/v1/notifications/preferences', { token: third.accessToken, body: { like: { sms: true } } }), 400);
    expect4xx(await call('PATCH', '/api/v1/notifications/preferences', { token: third.accessToken, body: { like: { email: 'yes' } } }), 400);
    expect4xx(await call('PATCH', '/api/v1/notifications/preferences', { token: third.accessToken, body: {} }), 400);
    expect4xx(await call('PATCH', '/api/v1/notifications/preferences', { token: third.accessToken, body: { like: {} } }), 400);
    const locked = await call('PATCH', '/api/v1/notifications/preferences', { token: third.accessToken, body: { like: { email: true }, moderation: { email: false } } });
    expect4xx(locked, 422);
    expect(locked.body.code).toBe('notifications.channel_locked');
    expect((await call('GET', '/api/v1/notifications/preferences', { token: third.accessToken })).body).toEqual(before);
  });
});
