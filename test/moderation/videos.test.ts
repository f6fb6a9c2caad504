import { and, eq } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commentSentiments, moderationActions, moderationCases, moderationReports, moderationScores } from '../../src/modules/moderation/tables.js';
import { videoKeys } from '../../src/modules/videos/playback.js';
import { videos, type VideoVisibility } from '../../src/modules/videos/tables.js';
import { createTestEnv, type TestEnv } from '../support/app.js';
import { injectClient, signUp, type Call, type TestUser } from '../support/auth.js';
import { expect4xx } from '../posts/support.js';
import { settle } from '../notifications/support.js';
import { act, eventually } from './support.js';

let env: TestEnv;
let call: Call;
let owner: TestUser;
let other: TestUser;
let fan: TestUser;
let mod: TestUser;
let admin: TestUser;

const UNKNOWN = '01936a3e-0000-7000-8000-000000000000';

beforeAll(async () => {
  env = await createTestEnv();
  call = injectClient(env.app);
  [owner, other, fan] = (await Promise.all([0, 1, 2].map(() => signUp(call, env.dataDir)))) as [TestUser, TestUser, TestUser];
  mod = await signUp(call, env.dataDir, { role: 'moderator', deps: env.deps });
  admin = await signUp(call, env.dataDir, { role: 'admin', deps: env.deps });
});
afterAll(async () => env?.close());

const db = () => env.deps.database.db;

/** A playable video written straight to the table (with one stored rendition): these tests are about moderation, not ffmpeg. */
async function readyVideo(opts: { visibility?: VideoVisibility; title?: string; owner?: TestUser } = {}): Promise<string> {
  const id = uuidv7();
  await db()
    .insert(videos)
    .values({
      id,
      ownerId: (opts.owner ?? owner).id,
      title: opts.title ?? 'a calm video about boats',
      visibility: opts.visibility ?? 'public',
      status: 'ready',
      durationSeconds: 4,
      width: 192,
      height: 144,
      renditions: [{ height: 144, width: 192, bandwidth: 300_000 }],
      publishedAt: new Date(),
    });
  await env.deps.storage.put(videoKeys.playlist(id, 144), Buffer.from('#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg_00000.ts\n#EXT-X-ENDLIST\n'), { contentType: 'application/vnd.apple.mpegurl' });
  await env.deps.storage.put(`${videoKeys.rendition(id, 144)}seg_00000.ts`, Buffer.from('not really a segment'), { contentType: 'video/mp2t' });
  return id;
}

/** A video created over the API (title and description are what moderation scores), then marked playable. */
async function createVideo(title: string, description = ''): Promise<string> {
  const r = await call('POST', '/api/v1/videos', { token: owner.accessToken, body: { title, description } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  const id = r.body.id as string;
  await db().update(videos).set({ status: 'ready', publishedAt: new Date(), renditions: [{ height: 144, width: 192, bandwidth: 300_000 }] }).where(eq(videos.id, id));
  return id;
}

const scoreOf = (id: string) =>
  eventually(async () => (await db().select().from(moderationScores).where(and(eq(moderationScores.targetType, 'video'), eq(moderationScores.targetId, id))))[0], `the score of video ${id}`);

const local = (url: string) => url.replace(/^https?:\/\/[^/]+/, '');
/** Playback URLs answer playlists and bytes, not JSON. */
async function get(url: string) {
  const res = await env.app.inject({ method: 'GET', url: local(url) });
  const json = String(res.headers['content-type']).includes('json');
  return { status: res.statusCode, body: (json ? JSON.parse(res.body) : {}) as Record<string, unknown>, text: res.body, headers: res.headers as Record<string, unknown> };
}
type Who = 'anonymous' | 'other' | 'owner' | 'moderator' | 'admin';
const people = (): [Who, string | undefined][] => [
  ['anonymous', undefined],
  ['other', other.accessToken],
  ['owner', owner.accessToken],
  ['moderator', mod.accessToken],
  ['admin', admin.accessToken],
];
const listed = async (url: string, token?: string) => ((await call('GET', url, { token })).body.items as { id: string }[]).map((v) => v.id);

describe('titles and descriptions are scored as they are written', () => {
  it('holds abusive text at once (pre-check) and records the decision from the job', async () => {
    const id = await createVideo('f u c k you, you sh1t');
    const own = await call('GET', `/api/v1/videos/${id}`, { token: owner.accessToken });
    expect(own.body.moderationState).toBe('held');
    expect((await call('GET', `/api/v1/videos/${id}`, { token: other.accessToken })).status).toBe(404);
    expect(await scoreOf(id)).toMatchObject({ decision: 'hold', offensiveModel: 'lexicon' });
    const actions = await eventually(async () => {
      const rows = await db().select().from(moderationActions).where(eq(moderationActions.targetId, id));
      return rows.length ? rows : undefined;
    }, 'the automatic decision');
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({ targetType: 'video', action: 'hold', automatic: true, authorId: owner.id });
    // Reversible by a moderator.
    await act(call, mod, { targetType: 'video', targetId: id, action: 'restore', reason: 'a song title' });
    expect((await call('GET', `/api/v1/videos/${id}`, { token: other.accessToken })).status).toBe(200);
  });

  it('holds spam by the job, reviews borderline text without hiding it, passes clean text', async () => {
    const spam = await createVideo('check out my channel and subscribe', 'free money at www.example.com');
    const borderline = await createVideo('this is shiiiit honestly');
    const clean = await createVideo('sunrise over the harbour', 'filmed on a calm morning');
    expect(await scoreOf(spam)).toMatchObject({ decision: 'hold' });
    expect((await scoreOf(borderline)).decision).toBe('review');
    expect((await scoreOf(clean)).decision).toBe('pass');
    await eventually(async () => (await call('GET', `/api/v1/videos/${spam}`, { token: other.accessToken })).status === 404, 'the spam to be held');
    expect((await call('GET', `/api/v1/videos/${borderline}`, { token: other.accessToken })).status).toBe(200);
    const q = await call('GET', '/api/v1/moderation/queue?targetType=video', { token: mod.accessToken });
    const targets = (q.body as { items: { targetId: string }[] }).items.map((c) => c.targetId);
    expect(targets).toEqual(expect.arrayContaining([spam, borderline]));
    expect(targets).not.toContain(clean);
  });

  it('re-scores an edited title or description', async () => {
    const id = await createVideo('harbour timelapse');
    expect((await scoreOf(id)).decision).toBe('pass');
    const r = await call('PATCH', `/api/v1/videos/${id}`, { token: owner.accessToken, body: { description: 'check out my channel, subscribe for free gift cards at www.example.com' } });
    expect(r.status).toBe(200);
    await eventually(async () => (await scoreOf(id)).decision === 'hold', 'the edit to be held');
    expect((await call('GET', `/api/v1/videos/${id}`, { token: other.accessToken })).status).toBe(404);
    // An abusive edit is held inline, before the job.
    const id2 = await createVideo('harbour at night');
    expect((await call('PATCH', `/api/v1/videos/${id2}`, { token: owner.accessToken, body: { title: 'f.u.c.k this sh1t' } })).body.moderationState).toBe('held');
  });
});

describe('reports on videos', () => {
  const report = (u: TestUser | null, body: Record<string, unknown>) => call('POST', '/api/v1/reports', { token: u?.accessToken, body });
  const counts = async () => ({ reports: (await db().select().from(moderationReports)).length, cases: (await db().select().from(moderationCases)).length });

  it('files a report on a video the reporter can see, once', async () => {
    const id = await readyVideo();
    const r = await report(other, { targetType: 'video', targetId: id, reason: 'violence', details: 'at 0:03' });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect4xx(await report(other, { targetType: 'video', targetId: id, reason: 'spam' }), 409);
    expect((await report(fan, { targetType: 'video', targetId: id, reason: 'spam' })).status).toBe(201);
    const detail = await call('GET', `/api/v1/moderation/cases/${r.body.caseId as string}`, { token: mod.accessToken });
    expect(detail.body).toMatchObject({ case: { targetType: 'video', targetId: id, reportCount: 2 }, subject: { authorId: owner.id, text: 'a calm video about boats', state: 'visible' } });
  });

  it('refuses bad reports and what the reporter may not see, changing nothing', async () => {
    const id = await readyVideo();
    const priv = await readyVideo({ visibility: 'private' });
    const followers = await readyVideo({ visibility: 'followers' });
    const held = await readyVideo();
    await db().update(videos).set({ moderationState: 'held' }).where(eq(videos.id, held));
    // Earlier tests' scoring jobs may still be opening cases.
    await settle(env.deps);
    const before = await counts();
    expect4xx(await report(null, { targetType: 'video', targetId: id, reason: 'spam' }), 401);
    expect4xx(await report(other, { targetType: 'video', targetId: 'nope', reason: 'spam' }), 400);
    expect4xx(await report(other, { targetType: 'video', targetId: id, reason: 'boring' }), 400);
    expect4xx(await report(other, { targetType: 'video', targetId: id, reason: 'spam', extra: true }), 400);
    expect4xx(await report(other, { targetType: 'video', targetId: id, reason: 'other', details: 'x'.repeat(2001) }), 400);
    expect4xx(await report(other, { targetType: 'video', targetId: UNKNOWN, reason: 'spam' }), 404);
    for (const hidden of [priv, followers, held]) expect4xx(await report(other, { targetType: 'video', targetId: hidden, reason: 'spam' }), 404);
    const own = await report(owner, { targetType: 'video', targetId: id, reason: 'spam' });
    expect4xx(own, 422);
    expect(own.body.code).toBe('moderation.own_content');
    expect(await counts()).toEqual(before);
  });
});

describe('moderators act on videos', () => {
  const action = (token: string | undefined, body: Record<string, unknown>) => call('POST', '/api/v1/moderation/actions', { token, body });

  it('only moderators and admins act; bad input is refused and changes nothing', async () => {
    const id = await readyVideo();
    const before = (await db().select().from(moderationActions)).length;
    for (const a of ['hold', 'remove', 'restore', 'age_restrict']) {
      expect4xx(await action(undefined, { targetType: 'video', targetId: id, action: a, reason: 'x' }), 401);
      expect4xx(await action(other.accessToken, { targetType: 'video', targetId: id, action: a, reason: 'x' }), 403);
      expect4xx(await action(owner.accessToken, { targetType: 'video', targetId: id, action: a, reason: 'x' }), 403);
    }
    expect4xx(await action(mod.accessToken, { targetType: 'video', targetId: UNKNOWN, action: 'hold', reason: 'x' }), 404);
    expect4xx(await action(mod.accessToken, { targetType: 'video', targetId: 'nope', action: 'hold', reason: 'x' }), 400);
    expect4xx(await action(mod.accessToken, { targetType: 'video', targetId: id, action: 'burn', reason: 'x' }), 400);
    expect4xx(await action(mod.accessToken, { targetType: 'video', targetId: id, action: 'hold', reason: '   ' }), 400);
    expect4xx(await action(mod.accessToken, { targetType: 'video', targetId: id, action: 'hold', reason: 'x', until: new Date(Date.now() + 86_400_000).toISOString() }), 400);
    // A moderator does not decide on their own video.
    const mine = await readyVideo({ owner: mod });
    expect4xx(await action(mod.accessToken, { targetType: 'video', targetId: mine, action: 'remove', reason: 'x' }), 403);
    expect((await db().select().from(moderationActions)).length).toBe(before);
    const [row] = await db().select().from(videos).where(eq(videos.id, id));
    expect(row).toMatchObject({ moderationState: 'visible', moderationAgeRestricted: false });
  });

  for (const state of ['held', 'removed'] as const) {
    it(`a ${state} video is seen by its owner and moderators only, on every path`, async () => {
      const id = await readyVideo({ title: `to be ${state}` });
      const keep = await readyVideo({ title: 'stays up' });
      const c = await call('POST', `/api/v1/videos/${id}/comments`, { token: fan.accessToken, body: { text: 'nice boats' } });
      expect(c.status).toBe(201);
      const before = await call('GET', `/api/v1/videos/${id}`, { token: other.accessToken });
      const oldLink = before.body.hlsUrl as string;
      expect((await get(oldLink)).status).toBe(200);

      const decided = await act(call, admin, { targetType: 'video', targetId: id, action: state === 'held' ? 'hold' : 'remove', reason: 'rule 4', category: 'other' });
      expect(decided).toMatchObject({ action: state === 'held' ? 'hold' : 'remove', automatic: false });

      for (const [who, token] of people()) {
        const r = await call('GET', `/api/v1/videos/${id}`, { token });
        const sees = who === 'owner' || who === 'moderator' || who === 'admin';
        expect(r.status, who).toBe(sees ? 200 : 404);
        if (sees) {
          expect(r.body.moderationState, who).toBe(state);
          // A link handed out now works for them (segments: the next test).
          expect((await get(r.body.hlsUrl as string)).status, who).toBe(200);
        }
        const creator = await listed(`/api/v1/users/${owner.username}/videos?limit=100`, token);
        expect(creator.includes(id), who).toBe(sees);
        expect(creator, who).toContain(keep);
        const recent = await listed('/api/v1/videos?limit=100', token);
        expect(recent, who).not.toContain(id);
        expect(recent, who).toContain(keep);
      }
      // The link handed out before the decision no longer plays.
      expect4xx(await get(oldLink), 403);
      // Nothing else reaches it either: comments, likes, views, progress.
      expect4xx(await call('GET', `/api/v1/videos/${id}/comments`, { token: other.accessToken }), 404);
      expect4xx(await call('POST', `/api/v1/videos/${id}/comments`, { token: other.accessToken, body: { text: 'hello' } }), 404);
      expect4xx(await call('POST', `/api/v1/videos/${id}/like`, { token: other.accessToken }), 404);
      expect4xx(await call('POST', `/api/v1/videos/${id}/views`, {}), 404);
      expect4xx(await call('POST', `/api/v1/videos/${id}/progress`, { token: fan.accessToken, body: { positionSeconds: 1 } }), 404);
      expect((await call('GET', `/api/v1/videos/${id}/comments`, { token: owner.accessToken })).status).toBe(200);

      // Restored: back for everyone.
      await act(call, mod, { targetType: 'video', targetId: id, action: 'restore', reason: 'fine after all' });
      const back = await call('GET', `/api/v1/videos/${id}`, { token: other.accessToken });
      expect(back.status).toBe(200);
      expect(back.body.moderationState).toBe('visible');
      expect(await listed('/api/v1/videos?limit=100')).toContain(id);
      expect((await get(back.body.hlsUrl as string)).status).toBe(200);
    });
  }

  it('plays a held video to its owner: master, rendition playlist and segments', async () => {
    const id = await readyVideo();
    await act(call, mod, { targetType: 'video', targetId: id, action: 'hold', reason: 'look closer' });
    const v = await call('GET', `/api/v1/videos/${id}`, { token: owner.accessToken });
    const master = (await get(v.body.hlsUrl as string)).text;
    const renditionUrl = master.split('\n').find((l) => l.includes('144p.m3u8'))!;
    const rendition = await get(renditionUrl);
    expect(rendition.status).toBe(200);
    const segment = rendition.text.split('\n').find((l) => l.includes('seg_00000.ts'))!;
    const bytes = await get(segment);
    expect(bytes.status).toBe(200);
    expect(bytes.text).toBe('not really a segment');
    // Someone else's old link to the rendition does not open it.
    expect4xx(await get(renditionUrl.replace(/sig=[^&]+/, 'sig=' + 'A'.repeat(43))), 403);
    // The owner's link is bound to the held state: once restored, it must be fetched anew.
    await act(call, mod, { targetType: 'video', targetId: id, action: 'restore', reason: 'ok' });
    expect4xx(await get(v.body.hlsUrl as string), 403);
  });

  it('age-restricts: signed-in viewers only; the creator cannot lift it, a restore does', async () => {
    const id = await readyVideo({ title: 'a graphic documentary' });
    const anonLink = (await call('GET', `/api/v1/videos/${id}`)).body.hlsUrl as string;
    await act(call, mod, { targetType: 'video', targetId: id, action: 'age_restrict', reason: 'graphic scenes' });
    for (const [who, token] of people()) {
      const r = await call('GET', `/api/v1/videos/${id}`, { token });
      expect(r.status, who).toBe(who === 'anonymous' ? 404 : 200);
      if (r.status === 200) {
        expect(r.body).toMatchObject({ ageRestricted: true, moderationState: 'visible' });
        expect((await get(r.body.hlsUrl as string)).status, who).toBe(200);
      }
      expect((await listed('/api/v1/videos?limit=100', token)).includes(id), who).toBe(who !== 'anonymous');
      expect((await listed(`/api/v1/users/${owner.username}/videos?limit=100`, token)).includes(id), who).toBe(who !== 'anonymous');
    }
    expect4xx(await get(anonLink), 403);
    expect4xx(await call('POST', `/api/v1/videos/${id}/views`, {}), 404);
    expect4xx(await call('GET', `/api/v1/videos/${id}/comments`), 404);

    const lift = await call('PATCH', `/api/v1/videos/${id}`, { token: owner.accessToken, body: { ageRestricted: false } });
    expect4xx(lift, 409);
    expect(lift.body.code).toBe('videos.age_restricted_by_moderation');
    expect((await call('GET', `/api/v1/videos/${id}`)).status).toBe(404);
    // age_restrict still answers 422 for content without an age gate.
    const p = await call('POST', '/api/v1/posts', { token: owner.accessToken, body: { text: 'a post' } });
    expect4xx(await call('POST', '/api/v1/moderation/actions', { token: mod.accessToken, body: { targetType: 'post', targetId: p.body.id, action: 'age_restrict', reason: 'x' } }), 422);

    await act(call, mod, { targetType: 'video', targetId: id, action: 'restore', reason: 'appeal upheld' });
    const open = await call('GET', `/api/v1/videos/${id}`);
    expect(open.status).toBe(200);
    expect(open.body.ageRestricted).toBe(false);
  });

  it("a creator's own age restriction also keeps anonymous viewers out, and is theirs to lift", async () => {
    const r = await call('POST', '/api/v1/videos', { token: owner.accessToken, body: { title: 'late night comedy', ageRestricted: true } });
    const id = r.body.id as string;
    await db().update(videos).set({ status: 'ready', publishedAt: new Date(), renditions: [{ height: 144, width: 192, bandwidth: 300_000 }] }).where(eq(videos.id, id));
    expect((await call('GET', `/api/v1/videos/${id}`)).status).toBe(404);
    expect((await call('GET', `/api/v1/videos/${id}`, { token: other.accessToken })).body.ageRestricted).toBe(true);
    expect((await call('PATCH', `/api/v1/videos/${id}`, { token: owner.accessToken, body: { ageRestricted: false } })).status).toBe(200);
    expect((await call('GET', `/api/v1/videos/${id}`)).status).toBe(200);
  });
});

describe('GET /sentiment/videos/:id', () => {
  it('aggregates the sentiment of the visible comments for the owner and staff only', async () => {
    const id = await readyVideo();
    const texts = ['I love this, it is wonderful!', 'Amazing, great job :)', 'This is terrible, I hate it'];
    const ids: string[] = [];
    for (const text of texts) {
      const c = await call('POST', `/api/v1/videos/${id}/comments`, { token: fan.accessToken, body: { text } });
      expect(c.status).toBe(201);
      ids.push(c.body.id as string);
    }
    await eventually(async () => (await db().select().from(commentSentiments).where(eq(commentSentiments.targetId, id))).length === texts.length, 'sentiment of every comment');
    const url = `/api/v1/sentiment/videos/${id}`;
    for (const token of [owner.accessToken, mod.accessToken, admin.accessToken]) {
      const r = await call('GET', url, { token });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ targetType: 'video', targetId: id, comments: 3, positive: 2, negative: 1, neutral: 0, models: ['vader'] });
    }
    expect4xx(await call('GET', url), 401);
    expect4xx(await call('GET', url, { token: other.accessToken }), 404);
    expect4xx(await call('GET', url, { token: fan.accessToken }), 404);
    expect4xx(await call('GET', `/api/v1/sentiment/videos/${UNKNOWN}`, { token: owner.accessToken }), 404);
    expect4xx(await call('GET', '/api/v1/sentiment/videos/nope', { token: owner.accessToken }), 400);
    expect4xx(await call('GET', `/api/v1/sentiment/videos/${id}?extra=1`, { token: owner.accessToken }), 400);
    // A removed comment leaves the aggregate; a held video still shows its owner the figures.
    await act(call, mod, { targetType: 'comment', targetId: ids[2]!, action: 'remove', reason: 'rude' });
    await act(call, mod, { targetType: 'video', targetId: id, action: 'hold', reason: 'check' });
    expect((await call('GET', url, { token: owner.accessToken })).body).toMatchObject({ comments: 2, negative: 0 });
    const empty = await readyVideo();
    expect((await call('GET', `/api/v1/sentiment/videos/${empty}`, { token: owner.accessToken })).body).toMatchObject({ comments: 0, meanScore: null });
  });
});
