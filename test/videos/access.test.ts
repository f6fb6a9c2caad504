import { readdirSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import sharp from 'sharp';
import { uuidv7 } from 'uuidv7';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blocks, follows } from '../../src/modules/graph/tables.js';
import { videos, type VideoVisibility } from '../../src/modules/videos/tables.js';
import { httpClient, signUp, type Call, type TestUser } from '../support/auth.js';
import { startVideoServer, tusCreate, tusOffset, tusPatch, uploadChecksum, type VideoBody, type VideoServer } from './support.js';
import { relationsChanged } from '../posts/support.js';

let server: VideoServer;
let call: Call;
let owner: TestUser;
let other: TestUser;
let follower: TestUser;
let moderator: TestUser;
let blocked: TestUser;

beforeAll(async () => {
  server = await startVideoServer({ VIDEO_MAX_UPLOAD_BYTES: '1000000', VIDEO_USER_QUOTA_BYTES: '1500000' });
  call = httpClient(server.url);
  owner = await signUp(call, server.dataDir);
  other = await signUp(call, server.dataDir);
  follower = await signUp(call, server.dataDir);
  blocked = await signUp(call, server.dataDir);
  moderator = await signUp(call, server.dataDir, { role: 'moderator', deps: server.deps });
  const db = server.deps.database.db;
  await db.insert(follows).values({ followerId: follower.id, followeeId: owner.id });
  await db.insert(blocks).values({ blockerId: owner.id, blockedId: blocked.id });
  await relationsChanged(server.deps, follower, owner, blocked);
}, 300_000);

afterAll(async () => {
  await server?.close();
});

/** A video that finished processing, written straight to the table: these tests are about rules, not ffmpeg. */
async function readyVideo(visibility: VideoVisibility, extra: Partial<typeof videos.$inferInsert> = {}): Promise<string> {
  const id = uuidv7();
  await server.deps.database.db.insert(videos).values({
    id,
    ownerId: owner.id,
    title: `${visibility} video`,
    visibility,
    status: 'ready',
    durationSeconds: 100,
    width: 320,
    height: 240,
    renditions: [{ height: 144, width: 192, bandwidth: 300_000 }],
    publishedAt: new Date(),
    ...extra,
  });
  return id;
}

const count = async () => Number((await server.deps.database.db.select({ n: sql<number>`count(*)` }).from(videos))[0]!.n);
const tokens = () => ({ anonymous: undefined, other: other.accessToken, follower: follower.accessToken, owner: owner.accessToken, moderator: moderator.accessToken, blocked: blocked.accessToken });
type Who = keyof ReturnType<typeof tokens>;

describe('who sees a video', () => {
  const matrix: { visibility: VideoVisibility; extra?: Partial<typeof videos.$inferInsert>; label: string; sees: Who[] }[] = [
    { visibility: 'public', label: 'public', sees: ['anonymous', 'other', 'follower', 'owner', 'moderator'] },
    { visibility: 'unlisted', label: 'unlisted (by link)', sees: ['anonymous', 'other', 'follower', 'owner', 'moderator'] },
    { visibility: 'followers', label: 'followers-only', sees: ['follower', 'owner'] },
    { visibility: 'private', label: 'private', sees: ['owner'] },
    { visibility: 'public', extra: { moderationState: 'held' }, label: 'public but held by moderation', sees: ['owner', 'moderator'] },
    { visibility: 'public', extra: { status: 'processing', publishedAt: null, renditions: [] }, label: 'public, still processing', sees: ['owner'] },
    { visibility: 'public', extra: { deletedAt: new Date() }, label: 'deleted', sees: [] },
  ];
  for (const m of matrix) {
    it(`${m.label}: GET /videos/:id`, async () => {
      const id = await readyVideo(m.visibility, m.extra);
      for (const [who, token] of Object.entries(tokens()) as [Who, string | undefined][]) {
        const r = await call('GET', `/api/v1/videos/${id}`, { token });
        expect(r.status, who).toBe(m.sees.includes(who) ? 200 : 404);
        if (r.status === 200) expect(r.body.hlsUrl === undefined, who).toBe(m.extra?.status === 'processing');
        else expect(r.body.code).toBe('videos.not_found');
      }
    });
  }

  it('lists: unlisted and private never appear to others; the owner sees everything of theirs', async () => {
    const pub = await readyVideo('public');
    const unl = await readyVideo('unlisted');
    const priv = await readyVideo('private');
    const ids = async (url: string, token?: string) => ((await call('GET', url, { token })).body.items as { id: string }[]).map((i) => i.id);
    for (const url of [`/api/v1/users/${owner.username}/videos?limit=100`, '/api/v1/videos?limit=100']) {
      const seen = await ids(url, other.accessToken);
      expect(seen).toContain(pub);
      expect(seen).not.toContain(unl);
      expect(seen).not.toContain(priv);
      expect(await ids(url, blocked.accessToken)).not.toContain(pub);
    }
    const mine = await ids(`/api/v1/users/${owner.username}/videos?limit=100`, owner.accessToken);
    expect(mine).toEqual(expect.arrayContaining([pub, unl, priv]));
  });

  it('pages with a cursor and refuses a bad one', async () => {
    const first = await call('GET', `/api/v1/users/${owner.username}/videos?limit=1`, { token: owner.accessToken });
    expect(first.status).toBe(200);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await call('GET', `/api/v1/users/${owner.username}/videos?limit=1&cursor=${first.body.nextCursor as string}`, { token: owner.accessToken });
    expect((second.body.items as { id: string }[])[0]!.id < (first.body.items as { id: string }[])[0]!.id).toBe(true);
    expect((await call('GET', `/api/v1/videos?cursor=bm90LWEtdXVpZA`)).status).toBe(400);
    expect((await call('GET', `/api/v1/videos?limit=0`)).status).toBe(400);
    expect((await call('GET', `/api/v1/users/nobody_here_at_all/videos`)).status).toBe(404);
  });
});

describe('POST /videos, PATCH, DELETE', () => {
  it('refuses bad input and anonymous callers, creating nothing', async () => {
    const before = await count();
    for (const body of [{}, { title: '' }, { title: '   ' }, { title: 'x', visibility: 'secret' }, { title: 'x', extra: 1 }, { title: 'x', tags: [''] }, { title: 'x'.repeat(201) }, { title: 'bad\u0000char' }, { title: 'x', language: 'not a language' }]) {
      const r = await call('POST', '/api/v1/videos', { token: owner.accessToken, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.headers['content-type']).toMatch(/application\/problem\+json/);
    }
    expect((await call('POST', '/api/v1/videos', { body: { title: 'x' } })).status).toBe(401);
    expect(await count()).toBe(before);
  });

  it('creates with metadata and an upload URL; only the owner edits; owner or moderator deletes', async () => {
    const r = await call('POST', '/api/v1/videos', { token: owner.accessToken, body: { title: ' My trip ', description: 'd', tags: ['Travel', 'travel', 'sea'], visibility: 'unlisted', category: 'travel', language: 'en' } });
    expect(r.status).toBe(201);
    const id = r.body.id as string;
    expect((r.body.upload as { url: string }).url).toBe(`${server.url}/api/v1/uploads?videoId=${id}`);
    const got = (await call('GET', `/api/v1/videos/${id}`, { token: owner.accessToken })).body as unknown as VideoBody & { tags: string[] };
    expect(got).toMatchObject({ status: 'uploading', title: 'My trip', visibility: 'unlisted', tags: ['travel', 'sea'] });
    // Not uploaded yet: nobody else sees it.
    expect((await call('GET', `/api/v1/videos/${id}`, { token: other.accessToken })).status).toBe(404);

    expect((await call('PATCH', `/api/v1/videos/${id}`, { token: other.accessToken, body: { title: 'mine now' } })).status).toBe(404);
    expect((await call('PATCH', `/api/v1/videos/${id}`, { body: { title: 'mine now' } })).status).toBe(401);
    expect((await call('PATCH', `/api/v1/videos/${id}`, { token: owner.accessToken, body: {} })).status).toBe(400);
    expect((await call('PATCH', `/api/v1/videos/${id}`, { token: owner.accessToken, body: { visibility: 'everyone' } })).status).toBe(400);
    expect((await call('PATCH', `/api/v1/videos/not-a-uuid`, { token: owner.accessToken, body: { title: 'a' } })).status).toBe(400);
    const patched = await call('PATCH', `/api/v1/videos/${id}`, { token: owner.accessToken, body: { title: 'Renamed', visibility: 'private' } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ title: 'Renamed', visibility: 'private' });

    expect((await call('DELETE', `/api/v1/videos/${id}`, { token: other.accessToken })).status).toBe(404);
    expect((await call('DELETE', `/api/v1/videos/${id}`)).status).toBe(401);
    expect((await call('DELETE', `/api/v1/videos/${id}`, { token: owner.accessToken })).status).toBe(204);
    expect((await call('GET', `/api/v1/videos/${id}`, { token: owner.accessToken })).status).toBe(404);
    expect((await call('DELETE', `/api/v1/videos/${id}`, { token: owner.accessToken })).status).toBe(404);

    const other2 = await readyVideo('public');
    expect((await call('DELETE', `/api/v1/videos/${other2}`, { token: moderator.accessToken })).status).toBe(204);
  });

  it('replaces the thumbnail: owner only, images only', async () => {
    const id = await readyVideo('public');
    const png = await sharp({ create: { width: 64, height: 36, channels: 3, background: '#3366ff' } }).png().toBuffer();
    const put = (token: string | undefined, body: Buffer, type: string) =>
      fetch(`${server.url}/api/v1/videos/${id}/thumbnail`, { method: 'PUT', headers: { 'content-type': type, ...(token ? { authorization: `Bearer ${token}` } : {}) }, body });
    expect((await put(undefined, png, 'image/png')).status).toBe(401);
    expect((await put(other.accessToken, png, 'image/png')).status).toBe(404);
    expect((await put(owner.accessToken, Buffer.from('not an image at all, just text'), 'image/png')).status).toBe(415);
    expect((await put(owner.accessToken, Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(100)]), 'image/jpeg')).status).toBe(422);
    expect((await put(owner.accessToken, png, 'text/plain')).status).toBe(415);
    const ok = await put(owner.accessToken, png, 'image/png');
    expect(ok.status).toBe(200);
    const v = (await ok.json()) as VideoBody;
    const img = await fetch(v.thumbnailUrl!);
    expect(img.headers.get('content-type')).toBe('image/jpeg');
    expect((await sharp(Buffer.from(await img.arrayBuffer())).metadata()).width).toBe(64);
  });
});

describe('tus uploads: who, how big, how many', () => {
  const create = async (token: string) => (await call('POST', '/api/v1/videos', { token, body: { title: 'up' } })).body as { id: string; upload: { url: string } };

  it('needs a signed-in owner, a named video and a length within the limits', async () => {
    const { id, upload } = await create(owner.accessToken);
    expect((await fetch(upload.url, { method: 'POST', headers: { 'tus-resumable': '1.0.0', 'upload-length': '10' } })).status).toBe(401);
    expect((await tusCreate(upload.url, other.accessToken, 10)).status).toBe(404);
    expect((await tusCreate(`${server.url}/api/v1/uploads`, owner.accessToken, 10)).status).toBe(400);
    expect((await tusCreate(`${server.url}/api/v1/uploads?videoId=nope`, owner.accessToken, 10)).status).toBe(400);
    const noLength = await fetch(upload.url, { method: 'POST', headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${owner.accessToken}` } });
    expect(noLength.status).toBe(400);
    expect(((await noLength.json()) as { code: string }).code).toBe('videos.upload_length_required');
    const big = await tusCreate(upload.url, owner.accessToken, 1_000_001);
    expect(big.status).toBe(413);
    expect(((await big.json()) as { code: string }).code).toBe('videos.upload_too_large');
    const [row] = await server.deps.database.db.select().from(videos).where(eq(videos.id, id));
    expect(row!.sourceBytes).toBeNull();

    const ok = await tusCreate(upload.url, owner.accessToken, 900_000);
    expect(ok.status).toBe(201);
    const location = new URL(ok.headers.get('location')!, server.url).toString();
    const again = await tusCreate(upload.url, owner.accessToken, 900_000);
    expect(again.status).toBe(409);
    // Someone else cannot read the offset, write or abandon it.
    for (const method of ['HEAD', 'PATCH', 'DELETE']) {
      const r = await fetch(location, { method, headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${other.accessToken}`, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }, body: method === 'PATCH' ? Buffer.alloc(10) : undefined });
      expect(r.status, method).toBe(404);
    }
    const head = await fetch(location, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${owner.accessToken}` } });
    expect(head.headers.get('upload-offset')).toBe('0');

    // 900 kB reserved of a 1.5 MB quota: another 700 kB does not fit.
    const second = await create(owner.accessToken);
    const over = await tusCreate(second.upload.url, owner.accessToken, 700_000);
    expect(over.status).toBe(413);
    expect(((await over.json()) as { code: string }).code).toBe('videos.quota_exceeded');
    // Abandoning the first frees its share.
    const del = await fetch(location, { method: 'DELETE', headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${owner.accessToken}` } });
    expect(del.status).toBe(204);
    expect((await tusCreate(second.upload.url, owner.accessToken, 700_000)).status).toBe(201);
  });

  it('checks chunk checksums (tus checksum extension): a mismatch is 460 and stores nothing; bad headers are 400', async () => {
    const options = await fetch(`${server.url}/api/v1/uploads`, { method: 'OPTIONS' });
    expect(options.status).toBe(204);
    expect(options.headers.get('tus-version')).toBe('1.0.0');
    expect(options.headers.get('tus-extension')!.split(',')).toEqual(expect.arrayContaining(['creation', 'creation-with-upload', 'termination', 'checksum']));
    expect(options.headers.get('tus-extension')).not.toContain('creation-defer-length');
    expect(options.headers.get('tus-checksum-algorithm')!.split(',')).toEqual(expect.arrayContaining(['sha1', 'sha256', 'md5']));
    expect(options.headers.get('tus-max-size')).toBe('1000000');
    // A browser's preflight is still the CORS plugin's.
    const preflight = await fetch(`${server.url}/api/v1/uploads`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'PATCH' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('PATCH');

    const { upload } = await create(owner.accessToken);
    const created = await tusCreate(upload.url, owner.accessToken, 100_000);
    expect(created.status).toBe(201);
    const location = new URL(created.headers.get('location')!, server.url).toString();
    const data = randomBytes(60_000);
    const [one, two] = [data.subarray(0, 30_000), data.subarray(30_000)];
    expect((await tusPatch(location, owner.accessToken, 0, one, uploadChecksum('sha1', one))).status).toBe(204);
    expect(await tusOffset(location, owner.accessToken)).toBe(30_000);

    // The digest of other bytes: refused whole, the offset stays.
    const wrong = await tusPatch(location, owner.accessToken, 30_000, two, uploadChecksum('sha256', one));
    expect(wrong.status).toBe(460);
    expect(wrong.headers.get('content-type')).toContain('application/problem+json');
    expect(((await wrong.json()) as { code: string }).code).toBe('videos.upload_checksum_mismatch');
    expect(await tusOffset(location, owner.accessToken)).toBe(30_000);

    const bad: [Record<string, string>, string][] = [
      [{ 'upload-checksum': 'crc32 AAAAAA==' }, 'videos.upload_checksum_algorithm'],
      [{ 'upload-checksum': 'sha1' }, 'videos.upload_checksum_invalid'],
      [{ 'upload-checksum': 'sha1 not*base64' }, 'videos.upload_checksum_invalid'],
      [{ 'upload-checksum': `sha1 ${Buffer.alloc(8).toString('base64')}` }, 'videos.upload_checksum_invalid'],
      [{ 'upload-checksum': `constructor ${Buffer.alloc(20).toString('base64')}` }, 'videos.upload_checksum_algorithm'],
    ];
    for (const [headers, code] of bad) {
      const r = await tusPatch(location, owner.accessToken, 30_000, two, headers);
      expect(r.status, JSON.stringify(headers)).toBe(400);
      expect(((await r.json()) as { code: string }).code).toBe(code);
    }
    expect(await tusOffset(location, owner.accessToken)).toBe(30_000);
    // Refused chunks leave no spool behind.
    expect(readdirSync(path.join(server.dataDir, 'tmp', 'tus-chunks'))).toEqual([]);
    // Someone else's checksummed chunk is refused before anything is read.
    expect((await tusPatch(location, other.accessToken, 30_000, two, uploadChecksum('sha1', two))).status).toBe(404);

    const right = await tusPatch(location, owner.accessToken, 30_000, two, { ...uploadChecksum('sha256', two), origin: 'https://app.example' });
    expect(right.status).toBe(204);
    expect(right.headers.get('upload-offset')).toBe('60000');
    // More bytes than the upload lacks (40 000): 413, and the upload does not grow past its length.
    const tooLong = await tusPatch(location, owner.accessToken, 60_000, Buffer.alloc(50_000, 1));
    expect(tooLong.status).toBe(413);
    expect(await tusOffset(location, owner.accessToken)).toBeLessThanOrEqual(100_000);
    // A tus client in a browser must be able to read the offset.
    expect(right.headers.get('access-control-expose-headers')?.toLowerCase()).toContain('upload-offset');
    expect(await tusOffset(location, owner.accessToken)).toBe(60_000);
    await fetch(location, { method: 'DELETE', headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${owner.accessToken}` } });

    // creation-with-upload: the first chunk rides on the POST, checked the same way.
    const withBody = async (url: string, chunk: Buffer, checksum: Record<string, string>) =>
      fetch(url, { method: 'POST', headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${owner.accessToken}`, 'upload-length': '100000', 'content-type': 'application/offset+octet-stream', ...checksum }, body: chunk });
    const second = await create(owner.accessToken);
    const refused = await withBody(second.upload.url, one, uploadChecksum('md5', two));
    expect(refused.status).toBe(460);
    // The upload exists, empty: the client resumes it at /uploads/<video id>.
    const secondLocation = `${server.url}/api/v1/uploads/${new URL(second.upload.url).searchParams.get('videoId')}`;
    expect(await tusOffset(secondLocation, owner.accessToken)).toBe(0);
    await fetch(secondLocation, { method: 'DELETE', headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${owner.accessToken}` } });
    const third = await create(owner.accessToken);
    const accepted = await withBody(third.upload.url, one, uploadChecksum('md5', one));
    expect(accepted.status).toBe(201);
    expect(accepted.headers.get('upload-offset')).toBe('30000');
    // That the stored bytes are the chunks themselves: the pipeline test uploads a clip with a sha1 per chunk and checks the whole file's sha256.
  });
});

describe('views, progress, likes, comments', () => {
  it('counts a view once per viewer per window, anonymous viewers by device', async () => {
    const id = await readyVideo('public');
    const view = (token?: string, ua = 'a') => call('POST', `/api/v1/videos/${id}/views`, { token, headers: { 'user-agent': ua } });
    expect((await view(other.accessToken)).body).toEqual({ counted: true, viewCount: 1 });
    expect((await view(other.accessToken)).body).toEqual({ counted: false, viewCount: 1 });
    expect((await view(undefined, 'device-1')).body).toEqual({ counted: true, viewCount: 2 });
    expect((await view(undefined, 'device-1')).body).toEqual({ counted: false, viewCount: 2 });
    expect((await view(undefined, 'device-2')).body).toEqual({ counted: true, viewCount: 3 });
    const priv = await readyVideo('private');
    
    expect((await call('POST', `/api/v1/videos/${priv}/views`, { token: other.accessToken })).status).toBe(404);
    expect((await call('POST', `/api/v1/videos/nope/views`)).status).toBe(400);
    const got = await call('GET', `/api/v1/videos/${id}`);
    expect(got.body.viewCount).toBe(3);
  });

  it('stores the resume position; completion once past 90 %', async () => {
    const id = await readyVideo('public');
    const progress = (body: unknown) => call('POST', `/api/v1/videos/${id}/progress`, { token: other.accessToken, body });
    expect((await call('POST', `/api/v1/videos/${id}/progress`, { body: { positionSeconds: 5 } })).status).toBe(401);
    for (const bad of [{}, { positionSeconds: -1 }, { positionSeconds: 'x' }, { positionSeconds: 5, watchedSeconds: -3 }, { positionSeconds: 5, extra: true }, { positionSeconds: 500 }]) {
      expect((await progress(bad)).status, JSON.stringify(bad)).toBe(400);
    }
    expect((await progress({ positionSeconds: 42.5, watchedSeconds: 10 })).body).toEqual({ positionSeconds: 42.5, watchedSeconds: 10, completed: false });
    expect(((await call('GET', `/api/v1/videos/${id}`, { token: other.accessToken })).body.viewer as { positionSeconds: number }).positionSeconds).toBe(42.5);
    // A heartbeat cannot claim more than 120 s of watching.
    expect((await progress({ positionSeconds: 95, watchedSeconds: 3000 })).body).toEqual({ positionSeconds: 95, watchedSeconds: 130, completed: true });
    const priv = await readyVideo('private');
    expect((await call('POST', `/api/v1/videos/${priv}/progress`, { token: other.accessToken, body: { positionSeconds: 1 } })).status).toBe(404);
  });

  it('likes: counted once, only on videos one may see', async () => {
    const id = await readyVideo('followers');
    expect((await call('POST', `/api/v1/videos/${id}/like`)).status).toBe(401);
    expect((await call('POST', `/api/v1/videos/${id}/like`, { token: other.accessToken })).status).toBe(404);
    expect((await call('POST', `/api/v1/videos/${id}/like`, { token: blocked.accessToken })).status).toBe(404);
    expect((await call('POST', `/api/v1/videos/${id}/like`, { token: follower.accessToken })).body).toEqual({ liked: true, likes: 1 });
    expect((await call('POST', `/api/v1/videos/${id}/like`, { token: follower.accessToken })).body).toEqual({ liked: true, likes: 1 });
    expect((await call('POST', `/api/v1/videos/${id}/like`, { token: owner.accessToken })).body).toEqual({ liked: true, likes: 2 });
    const seen = await call('GET', `/api/v1/videos/${id}`, { token: follower.accessToken });
    expect(seen.body).toMatchObject({ likeCount: 2, viewer: { liked: true } });
    expect((await call('DELETE', `/api/v1/videos/${id}/like`, { token: follower.accessToken })).body).toEqual({ liked: false, likes: 1 });
    expect((await call('DELETE', `/api/v1/videos/${id}/like`, { token: follower.accessToken })).body).toEqual({ liked: false, likes: 1 });
    expect((await call('POST', `/api/v1/videos/bad/like`, { token: follower.accessToken })).status).toBe(400);
  });

  it('watch later: saved once, only videos one may see, listed newest saved first, hidden ones left out', async () => {
    const [a, b, c] = [await readyVideo('public'), await readyVideo('followers'), await readyVideo('unlisted')];
    const save = (id: string, token?: string) => call('POST', `/api/v1/videos/${id}/save`, { token });
    expect((await save(a)).status).toBe(401);
    // Followers-only: not for someone who does not follow, nor for the blocked.
    expect((await save(b, other.accessToken)).body.code).toBe('videos.not_found');
    expect((await save(b, blocked.accessToken)).status).toBe(404);
    for (const id of [a, b, c]) expect((await save(id, follower.accessToken)).body).toEqual({ saved: true });
    expect((await save(a, follower.accessToken)).body).toEqual({ saved: true });
    expect((await call('GET', `/api/v1/videos/${a}`, { token: follower.accessToken })).body).toMatchObject({ viewer: { saved: true, liked: false } });
    expect((await call('GET', `/api/v1/videos/${a}`, { token: other.accessToken })).body).toMatchObject({ viewer: { saved: false } });

    const list = async (token: string, query = '') => {
      const r = await call('GET', `/api/v1/me/saved/videos${query}`, { token });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body as { items: { id: string }[]; nextCursor: string | null };
    };
    // Newest saved first, in pages that meet; the unlisted one saved by link stays listed for its saver.
    const first = await list(follower.accessToken, '?limit=2');
    expect(first.items.map((v) => v.id)).toEqual([c, b]);
    const second = await list(follower.accessToken, `?limit=2&cursor=${first.nextCursor}`);
    expect(second.items.map((v) => v.id)).toEqual([a]);
    expect(second.nextCursor).toBeNull();
    // Private to the saver.
    expect((await list(other.accessToken)).items).toEqual([]);
    // Made private by its owner, deleted: left out.
    await server.deps.database.db.update(videos).set({ visibility: 'private' }).where(eq(videos.id, b));
    await server.deps.database.db.update(videos).set({ deletedAt: new Date() }).where(eq(videos.id, c));
    expect((await list(follower.accessToken)).items.map((v) => v.id)).toEqual([a]);
    // Unsaving needs no visibility and is idempotent.
    for (let i = 0; i < 2; i++) expect((await call('DELETE', `/api/v1/videos/${b}/save`, { token: follower.accessToken })).body).toEqual({ saved: false });
    expect((await call('DELETE', `/api/v1/videos/${a}/save`, { token: follower.accessToken })).body).toEqual({ saved: false });
    expect((await list(follower.accessToken)).items).toEqual([]);
    expect((await call('GET', '/api/v1/me/saved/videos?cursor=%21%21', { token: follower.accessToken })).status).toBe(400);
    expect((await call('GET', '/api/v1/me/saved/videos?limit=0', { token: follower.accessToken })).status).toBe(400);
    expect((await call('GET', '/api/v1/me/saved/videos')).status).toBe(401);
    expect((await call('POST', '/api/v1/videos/bad/save', { token: follower.accessToken })).status).toBe(400);
  });

  it('comments: counted, pinned by the video owner only, hidden with the video', async () => {
    const id = await readyVideo('public');
    expect((await call('POST', `/api/v1/videos/${id}/comments`, { body: { text: 'hi' } })).status).toBe(401);
    expect((await call('POST', `/api/v1/videos/${id}/comments`, { token: other.accessToken, body: { text: '' } })).status).toBe(400);
    expect((await call('POST', `/api/v1/videos/${id}/comments`, { token: other.accessToken, body: { text: 'x', bogus: 1 } })).status).toBe(400);
    expect((await call('POST', `/api/v1/videos/${id}/comments`, { token: blocked.accessToken, body: { text: 'hello' } })).status).toBe(404);
    const c1 = await call('POST', `/api/v1/videos/${id}/comments`, { token: other.accessToken, body: { text: 'first!' } });
    expect(c1.status).toBe(201);
    const reply = await call('POST', `/api/v1/videos/${id}/comments`, { token: follower.accessToken, body: { text: 'a reply', parentId: c1.body.id } });
    expect(reply.status).toBe(201);
    expect((await call('GET', `/api/v1/videos/${id}`)).body.commentCount).toBe(2);

    const list = await call('GET', `/api/v1/videos/${id}/comments`);
    expect((list.body.items as { id: string }[]).map((c) => c.id)).toEqual([c1.body.id]);
    expect((await call('GET', `/api/v1/videos/${id}/comments?sort=sideways`)).status).toBe(400);

    expect((await call('POST', `/api/v1/comments/${c1.body.id as string}/pin`, { token: follower.accessToken })).status).toBe(404);
    const pinned = await call('POST', `/api/v1/comments/${c1.body.id as string}/pin`, { token: owner.accessToken });
    expect(pinned.status).toBe(200);
    expect(pinned.body.pinned).toBe(true);

    // The video owner may remove comments on it; the counter follows.
    expect((await call('DELETE', `/api/v1/comments/${reply.body.id as string}`, { token: owner.accessToken })).status).toBe(204);
    expect((await call('GET', `/api/v1/videos/${id}`)).body.commentCount).toBe(1);

    await call('PATCH', `/api/v1/videos/${id}`, { token: owner.accessToken, body: { visibility: 'private' } });
    expect((await call('GET', `/api/v1/videos/${id}/comments`, { token: other.accessToken })).status).toBe(404);
    expect((await call('GET', `/api/v1/comments/${c1.body.id as string}`, { token: other.accessToken })).status).toBe(404);
  });
});
