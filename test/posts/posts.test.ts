import { eq, inArray, sql } from 'drizzle-orm';
import { ORPHAN_MEDIA_AGE_MS, reconcilePostCounts, sweepOrphanMedia } from '../../src/modules/posts/jobs.js';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userStats } from '../../src/modules/graph/tables.js';
import { mediaAttachments, postEdits, postHashtags, postMentions, posts } from '../../src/modules/posts/tables.js';
import { users } from '../../src/modules/users/tables.js';
import { videos } from '../../src/modules/videos/tables.js';
import { uuidv7 } from 'uuidv7';
import { createTestEnv, type TestEnv } from '../support/app.js';
import { injectClient, signUp, type Call, type TestUser } from '../support/auth.js';
import { filePart, formData } from '../users/support.js';
import { expect4xx, post, type PostBody } from './support.js';

let env: TestEnv;
let call: Call;
let ana: TestUser;
let bob: TestUser;

beforeAll(async () => {
  env = await createTestEnv();
  call = injectClient(env.app);
  ana = await signUp(call, env.dataDir);
  bob = await signUp(call, env.dataDir);
});
afterAll(async () => env?.close());

const row = async (id: string) => (await env.deps.database.db.select().from(posts).where(eq(posts.id, id)))[0]!;
const statPosts = async (u: TestUser) => (await env.deps.database.db.select().from(userStats).where(eq(userStats.userId, u.id)))[0]?.posts ?? 0;

async function upload(u: TestUser, image: Buffer) {
  const { payload, headers } = formData([filePart(image)]);
  const res = await env.app.inject({ method: 'POST', url: '/api/v1/media', headers: { ...headers, authorization: `Bearer ${u.accessToken}` }, payload });
  return { status: res.statusCode, body: res.json() as Record<string, unknown> };
}

describe('posts', () => {
  it('creates a post with hashtags and mentions stored, and presents it', async () => {
    const before = await statPosts(ana);
    const p = await post(call, ana, { text: `  Hello #World #café #world #123 @${bob.username} @nobody_here x@${bob.username} <b>hi</b>  ` });
    expect(p.text).toBe(`Hello #World #café #world #123 @${bob.username} @nobody_here x@${bob.username} <b>hi</b>`);
    expect(p).toMatchObject({ visibility: 'public', replyTo: null, rootId: null, quoteOf: null, repostOf: null, editedAt: null });
    expect(p.author.id).toBe(ana.id);
    expect(p.hashtags.sort()).toEqual(['café', 'world']);
    expect(p.mentions).toEqual([{ id: bob.id, username: bob.username }]);
    expect(p.counts).toEqual({ likes: 0, replies: 0, reposts: 0, quotes: 0 });
    expect(p.viewer).toEqual({ liked: false, saved: false, reposted: false });
    const db = env.deps.database.db;
    expect((await db.select().from(postHashtags).where(eq(postHashtags.postId, p.id))).map((r) => r.tag).sort()).toEqual(['café', 'world']);
    expect(await db.select().from(postMentions).where(eq(postMentions.postId, p.id))).toEqual([{ postId: p.id, userId: bob.id }]);
    expect(await statPosts(ana)).toBe(before + 1);
    const anon = await call('GET', `/api/v1/posts/${p.id}`);
    expect(anon.status).toBe(200);
    expect(anon.body.viewer).toBeNull();
  });

  it('replies carry root and parent, bump replyCount, and inherit followers-only', async () => {
    const root = await post(call, ana, { text: 'root', visibility: 'followers' });
    const r1 = await post(call, ana, { text: 'r1', replyTo: root.id });
    expect(r1).toMatchObject({ replyTo: root.id, rootId: root.id, visibility: 'followers' });
    const r2 = await post(call, ana, { text: 'r2', replyTo: r1.id, visibility: 'public' });
    expect(r2).toMatchObject({ replyTo: r1.id, rootId: root.id, visibility: 'followers' });
    expect((await row(root.id)).replyCount).toBe(1);
    expect((await row(r1.id)).replyCount).toBe(1);
    const thread = await call('GET', `/api/v1/posts/${r2.id}/thread`, { token: ana.accessToken });
    expect((thread.body.ancestors as PostBody[]).map((p) => p.id)).toEqual([root.id, r1.id]);
    const t2 = await call('GET', `/api/v1/posts/${root.id}/thread`, { token: ana.accessToken });
    expect((t2.body.replies as { items: PostBody[] }).items.map((p) => p.id)).toEqual([r1.id]);
    // Deleting a reply gives the count back and drops it from the thread.
    expect((await call('DELETE', `/api/v1/posts/${r1.id}`, { token: ana.accessToken })).status).toBe(204);
    expect((await row(root.id)).replyCount).toBe(0);
    const t3 = await call('GET', `/api/v1/posts/${root.id}/thread`, { token: ana.accessToken });
    expect((t3.body.replies as { items: PostBody[] }).items).toEqual([]);
  });

  it('quotes embed the quoted post and count it', async () => {
    const q = await post(call, bob, { text: 'quotable' });
    const p = await post(call, ana, { text: 'look', quoteOf: q.id });
    expect(p.quoteOf?.id).toBe(q.id);
    expect(p.quoteOf?.text).toBe('quotable');
    expect((await row(q.id)).quoteCount).toBe(1);
  });

  it('reposts once per user, idempotently, and can be undone', async () => {
    const q = await post(call, bob, { text: 'repost me' });
    const before = await statPosts(ana);
    const r = await call('POST', `/api/v1/posts/${q.id}/repost`, { token: ana.accessToken });
    expect(r.status).toBe(201);
    expect((r.body.repostOf as PostBody).id).toBe(q.id);
    expect(r.body.text).toBe('');
    const again = await call('POST', `/api/v1/posts/${q.id}/repost`, { token: ana.accessToken });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(r.body.id);
    // Reposting a repost reposts the original.
    expect((await call('POST', `/api/v1/posts/${r.body.id as string}/repost`, { token: bob.accessToken })).status).toBe(201);
    expect((await row(q.id)).repostCount).toBe(2);
    expect(await statPosts(ana)).toBe(before);
    const seen = await call('GET', `/api/v1/posts/${q.id}`, { token: ana.accessToken });
    expect((seen.body.viewer as { reposted: boolean }).reposted).toBe(true);
    expect((await call('DELETE', `/api/v1/posts/${q.id}/repost`, { token: ana.accessToken })).status).toBe(204);
    expect((await row(q.id)).repostCount).toBe(1);
    expect((await call('GET', `/api/v1/posts/${r.body.id as string}`)).status).toBe(404);
    expect((await call('DELETE', `/api/v1/posts/${q.id}/repost`, { token: ana.accessToken })).status).toBe(204);
    expect((await row(q.id)).repostCount).toBe(1);
    const fo = await post(call, bob, { text: 'followers only', visibility: 'followers' });
    expect4xx(await call('POST', `/api/v1/posts/${fo.id}/repost`, { token: bob.accessToken }), 422);
  });

  it('edits keep history and re-parse tags; only the author can edit or delete', async () => {
    const p = await post(call, ana, { text: 'first #one' });
    const e = await call('PATCH', `/api/v1/posts/${p.id}`, { token: ana.accessToken, body: { text: 'second #two' } });
    expect(e.status).toBe(200);
    expect(e.body).toMatchObject({ text: 'second #two', hashtags: ['two'] });
    expect(e.body.editedAt).toEqual(expect.any(String));
    await call('PATCH', `/api/v1/posts/${p.id}`, { token: ana.accessToken, body: { text: 'third' } });
    const h = await call('GET', `/api/v1/posts/${p.id}/history`);
    expect((h.body.items as { text: string }[]).map((i) => i.text)).toEqual(['second #two', 'first #one']);
    expect4xx(await call('PATCH', `/api/v1/posts/${p.id}`, { token: bob.accessToken, body: { text: 'hijack' } }), 404);
    expect4xx(await call('DELETE', `/api/v1/posts/${p.id}`, { token: bob.accessToken }), 404);
    expect((await row(p.id)).text).toBe('third');
    expect((await row(p.id)).deletedAt).toBeNull();
    expect(await env.deps.database.db.select().from(postEdits).where(eq(postEdits.postId, p.id))).toHaveLength(2);
  });

  it('deletes softly: gone from direct reads, history and the profile feed', async () => {
    const before = await statPosts(ana);
    const p = await post(call, ana, { text: 'soon gone #gone' });
    expect((await call('DELETE', `/api/v1/posts/${p.id}`, { token: ana.accessToken })).status).toBe(204);
    expect4xx(await call('DELETE', `/api/v1/posts/${p.id}`, { token: ana.accessToken }), 404);
    expect((await row(p.id)).deletedAt).not.toBeNull();
    expect4xx(await call('GET', `/api/v1/posts/${p.id}`, { token: ana.accessToken }), 404);
    expect4xx(await call('GET', `/api/v1/posts/${p.id}/history`, { token: ana.accessToken }), 404);
    expect4xx(await call('GET', `/api/v1/posts/${p.id}/thread`, { token: ana.accessToken }), 404);
    const feed = await call('GET', `/api/v1/users/${ana.username}/posts?limit=100`, { token: ana.accessToken });
    expect((feed.body.items as PostBody[]).map((i) => i.id)).not.toContain(p.id);
    const tag = await call('GET', '/api/v1/hashtags/gone/posts', { token: ana.accessToken });
    expect(tag.body.items).toEqual([]);
    expect(await statPosts(ana)).toBe(before);
  });

  it('one post per Idempotency-Key', async () => {
    const headers = { 'idempotency-key': 'post-key-0001' };
    const count = async () => (await env.deps.database.db.select({ n: sql<number>`count(*)::int` }).from(posts).where(eq(posts.authorId, bob.id)))[0]!.n;
    const before = await count();
    const a = await call('POST', '/api/v1/posts', { token: bob.accessToken, headers, body: { text: 'only once' } });
    const b = await call('POST', '/api/v1/posts', { token: bob.accessToken, headers, body: { text: 'only once' } });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.headers['idempotent-replayed']).toBe('true');
    expect(b.body.id).toBe(a.body.id);
    expect(await count()).toBe(before + 1);
  });

  it('uploads an image without metadata and attaches it to one post only', async () => {
    const jpeg = await sharp({ create: { width: 2000, height: 1000, channels: 3, background: '#336699' } })
      .jpeg()
      .withMetadata({ orientation: 6, exif: { IFD0: { Artist: 'secret' } } })
      .toBuffer();
    const up = await upload(ana, jpeg);
    expect(up.status).toBe(201);
    expect(up.body).toMatchObject({ kind: 'image', width: 1000, height: 2000 });
    const [m] = await env.deps.database.db.select().from(mediaAttachments).where(eq(mediaAttachments.id, up.body.id as string));
    for (const [w, key] of Object.entries(m!.keys)) {
      const meta = await sharp(await readBuffer(key)).metadata();
      expect(meta.format).toBe('webp');
      expect(meta.exif).toBeUndefined();
      // Turned upright (1000 wide) and never enlarged.
      expect(meta.width).toBe(Math.min(Number(w), 1000));
    }
    const p = await post(call, ana, { text: '', media: [up.body.id] });
    expect(p.media.map((x) => x.id)).toEqual([up.body.id]);
    expect(Object.keys(p.media[0]!.urls).sort()).toEqual(['1280', '320']);
    // Already attached, and not Bob's: both refused, nothing stored.
    expect4xx(await call('POST', '/api/v1/posts', { token: ana.accessToken, body: { text: 'again', media: [up.body.id] } }), 400);
    expect4xx(await call('POST', '/api/v1/posts', { token: bob.accessToken, body: { text: 'steal', media: [up.body.id] } }), 400);
    expect4xx({ ...(await upload(ana, Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"></svg>'))), headers: { 'content-type': 'application/problem+json' } }, 415);
  });

  it("attaches one of the author's own videos by id; each viewer gets links only where the video's own rules allow", async () => {
    const video = async (owner: TestUser, extra: Partial<typeof videos.$inferInsert> = {}) => {
      const id = uuidv7();
      await env.deps.database.db.insert(videos).values({
        id,
        ownerId: owner.id,
        title: 'My clip',
        visibility: 'public',
        status: 'ready',
        durationSeconds: 12.5,
        width: 320,
        height: 240,
        renditions: [{ height: 144, width: 192, bandwidth: 300_000 }],
        publishedAt: new Date(),
        thumbnailKey: `videos/${id}/thumb-auto.jpg`,
        ...extra,
      });
      return id;
    };
    const media = (p: PostBody) => p.media as unknown as { id: string; kind: string; width: number | null; urls: Record<string, string>; video: { title: string; status: string; duration: number | null } | null }[];
    const seen = async (id: string, token?: string) => {
      const r = await call('GET', `/api/v1/posts/${id}`, { token });
      expect(r.status).toBe(200);
      return media(r.body as unknown as PostBody)[0]!;
    };

    const publicVideo = await video(ana);
    const p = await post(call, ana, { text: 'new video!', media: [publicVideo] });
    expect(media(p)).toEqual([
      { id: publicVideo, kind: 'video', width: 320, height: 240, description: null, urls: { hls: expect.stringContaining(`/api/v1/videos/${publicVideo}/hls/master.m3u8?`), thumbnail: expect.stringContaining('thumb-auto.jpg') }, video: { title: 'My clip', status: 'ready', duration: 12.5 } },
    ]);
    for (const token of [bob.accessToken, undefined]) expect((await seen(p.id, token)).urls.hls).toContain('/hls/master.m3u8');
    // The same video may be shared again.
    expect(media(await post(call, ana, { text: 'again', media: [publicVideo] }))[0]!.id).toBe(publicVideo);

    // A private video in a public post: the post is public, the video plays for its owner only.
    const privateVideo = await video(ana, { visibility: 'private' });
    const q = await post(call, ana, { text: 'members only', media: [privateVideo] });
    expect((await seen(q.id, ana.accessToken)).video?.title).toBe('My clip');
    for (const token of [bob.accessToken, undefined]) expect(await seen(q.id, token)).toEqual({ id: privateVideo, kind: 'video', width: null, height: null, description: null, urls: {}, video: null });

    // Still processing: the owner sees the status, others nothing yet.
    const processing = await video(ana, { status: 'processing', publishedAt: null, renditions: [] });
    const r = await post(call, ana, { text: 'soon', media: [processing] });
    expect(media(r)[0]!.video).toEqual({ title: 'My clip', status: 'processing', duration: 12.5 });
    expect(media(r)[0]!.urls.hls).toBeUndefined();
    expect((await seen(r.id, bob.accessToken)).video).toBeNull();

    // Deleted later: the post stays, the video is gone from it for everyone.
    await env.deps.database.db.update(videos).set({ deletedAt: new Date() }).where(eq(videos.id, publicVideo));
    for (const token of [ana.accessToken, bob.accessToken]) expect((await seen(p.id, token)).video).toBeNull();

    // Someone else's video, a deleted one, one that does not exist, a video with an image, two videos: 400, nothing stored.
    const bobs = await video(bob);
    const jpeg = await sharp({ create: { width: 40, height: 40, channels: 3, background: '#000' } }).jpeg().toBuffer();
    const image = (await upload(ana, jpeg)).body.id as string;
    const before = await statPosts(ana);
    for (const ids of [[bobs], [publicVideo], [uuidv7()], [privateVideo, image], [privateVideo, processing]]) {
      expect4xx(await call('POST', '/api/v1/posts', { token: ana.accessToken, body: { text: 'x', media: ids } }), 400);
    }
    expect(await statPosts(ana)).toBe(before);
    const [img] = await env.deps.database.db.select().from(mediaAttachments).where(eq(mediaAttachments.id, image));
    expect(img!.postId).toBeNull();
  });

  it('sweeps uploads no post claimed after a day, and keeps attached ones', async () => {
    const png = await sharp({ create: { width: 30, height: 20, channels: 3, background: '#aa3300' } }).png().toBuffer();
    const orphan = await upload(ana, png);
    const used = await upload(ana, png);
    const fresh = await upload(ana, png);
    await post(call, ana, { text: 'with media', media: [used.body.id] });
    const old = new Date(Date.now() - ORPHAN_MEDIA_AGE_MS - 60_000);
    await env.deps.database.db.update(mediaAttachments).set({ createdAt: old }).where(inArray(mediaAttachments.id, [orphan.body.id as string, used.body.id as string]));
    const keysOf = async (id: string) => Object.values((await env.deps.database.db.select().from(mediaAttachments).where(eq(mediaAttachments.id, id)))[0]!.keys);
    const orphanKeys = await keysOf(orphan.body.id as string);

    expect(await sweepOrphanMedia(env.deps)).toBe(1);
    const left = (await env.deps.database.db.select({ id: mediaAttachments.id }).from(mediaAttachments).where(inArray(mediaAttachments.id, [orphan.body.id as string, used.body.id as string, fresh.body.id as string]))).map((r) => r.id);
    expect(left.sort()).toEqual([used.body.id as string, fresh.body.id as string].sort());
    for (const key of orphanKeys) expect(await env.deps.storage.stat(key)).toBeNull();
    for (const key of await keysOf(used.body.id as string)) expect(await env.deps.storage.stat(key)).not.toBeNull();
    expect(await sweepOrphanMedia(env.deps)).toBe(0);
  });

  it('the reconcile job repairs drifted reply, repost, quote and post counters', async () => {
    const p = await post(call, ana, { text: 'count me' });
    await post(call, bob, { text: 'reply 1', replyTo: p.id });
    const r2 = await post(call, bob, { text: 'reply 2', replyTo: p.id });
    await call('DELETE', `/api/v1/posts/${r2.id}`, { token: bob.accessToken });
    await post(call, bob, { text: 'quoting', quoteOf: p.id });
    expect((await call('POST', `/api/v1/posts/${p.id}/repost`, { token: bob.accessToken })).status).toBeLessThan(300);
    const truth = { replyCount: 1, repostCount: 1, quoteCount: 1 };
    expect(await row(p.id)).toMatchObject(truth);
    const anaPosts = await statPosts(ana);
    await env.deps.database.db.update(posts).set({ replyCount: 9, repostCount: 0, quoteCount: 5 }).where(eq(posts.id, p.id));
    await env.deps.database.db.update(userStats).set({ posts: 77 }).where(eq(userStats.userId, ana.id));

    const fixed = await reconcilePostCounts(env.deps.database.db);
    expect(fixed).toMatchObject({ replies: 1, reposts: 1, quotes: 1 });
    expect(fixed.authors).toBeGreaterThanOrEqual(1);
    expect(await row(p.id)).toMatchObject(truth);
    expect(await statPosts(ana)).toBe(anaPosts);
    expect(await reconcilePostCounts(env.deps.database.db)).toEqual({ replies: 0, reposts: 0, quotes: 0, authors: 0 });
  });

  it('mentions skip deactivated accounts', async () => {
    const gone = await signUp(call, env.dataDir);
    await env.deps.database.db.update(users).set({ state: 'deactivated' }).where(eq(users.id, gone.id));
    const p = await post(call, ana, { text: `hi @${gone.username}` });
    expect(p.mentions).toEqual([]);
  });
});

async function readBuffer(key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await env.deps.storage.get(key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
