import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { videos } from '../../src/modules/videos/tables.js';
import { httpClient, signUp, type Call, type TestUser } from '../support/auth.js';
import { ffprobeUrl, makeClip, sha256, startVideoServer, tusCreate, tusOffset, tusPatch, tusUpload, waitForStatus, type VideoBody, type VideoServer } from './support.js';
import { playbackQuery } from '../../src/modules/videos/playback.js';
import { INGEST_RETRIES, videoJobs } from '../../src/modules/videos/jobs.js';

let server: VideoServer;
let call: Call;
let clips: string;
let owner: TestUser;
let other: TestUser;
let privateVideo: VideoBody | undefined;

beforeAll(async () => {
  clips = mkdtempSync(path.join(os.tmpdir(), 'sf-clips-'));
  server = await startVideoServer();
  call = httpClient(server.url);
  owner = await signUp(call, server.dataDir);
  other = await signUp(call, server.dataDir);
}, 300_000);

afterAll(async () => {
  await server?.close();
  rmSync(clips, { recursive: true, force: true });
});

async function createVideo(token: string, body: Record<string, unknown> = {}) {
  const r = await call('POST', '/api/v1/videos', { token, body: { title: 'A clip', ...body } });
  expect(r.status).toBe(201);
  return r.body as { id: string; upload: { url: string } };
}

describe('upload, restart, resume, process, play', () => {
  it('survives a dropped connection and a server restart; the assembled file is the source, byte for byte', async () => {
    const file = makeClip(clips, 'resume.mp4', { seconds: 4, width: 320, height: 240 });
    const bytes = readFileSync(file);
    const { id, upload } = await createVideo(owner.accessToken, { visibility: 'private' });
    expect(upload.url).toContain(`/api/v1/uploads?videoId=${id}`);

    const created = await tusCreate(upload.url, owner.accessToken, bytes.length);
    expect(created.status).toBe(201);
    const location = new URL(created.headers.get('location')!, server.url).toString();
    expect(location).toContain(`/api/v1/uploads/${id}`);

    // First chunk arrives whole.
    const first = Math.floor(bytes.length / 3);
    expect((await tusPatch(location, owner.accessToken, 0, bytes.subarray(0, first))).status).toBe(204);

    // The second is cut off mid-way: the client aborts while streaming.
    const ac = new AbortController();
    const half = bytes.subarray(first, first + Math.floor(bytes.length / 3));
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue(half.subarray(0, Math.floor(half.length / 2)));
        setTimeout(() => ac.abort(), 300);
      },
    });
    await fetch(location, {
      method: 'PATCH',
      headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${owner.accessToken}`, 'upload-offset': String(first), 'content-type': 'application/offset+octet-stream' },
      body,
      signal: ac.signal,
      duplex: 'half',
    } as RequestInit).catch(() => undefined);

    // A checksummed chunk's spool left by a process killed two hours ago, and one just written: the
    // restarted API removes the old one only (another process may own a fresh one).
    const spools = path.join(server.dataDir, 'tmp', 'tus-chunks');
    const stale = path.join(spools, 'chunk-stale');
    const fresh = path.join(spools, 'chunk-fresh');
    for (const d of [stale, fresh]) mkdirSync(d, { recursive: true });
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(stale, twoHoursAgo, twoHoursAgo);
    await server.restart();
    expect(readdirSync(spools)).toEqual(['chunk-fresh']);
    rmSync(fresh, { recursive: true });
    const resumeLocation = location.replace(/^http:\/\/[^/]+/, server.url);
    const offset = await tusOffset(resumeLocation, owner.accessToken);
    expect(offset).toBeGreaterThanOrEqual(first);
    expect(offset).toBeLessThan(bytes.length);

    let at = offset;
    while (at < bytes.length) {
      const r = await tusPatch(resumeLocation, owner.accessToken, at, bytes.subarray(at, at + 64 * 1024));
      expect(r.status).toBe(204);
      at = Number(r.headers.get('upload-offset'));
    }
    const assembled = readFileSync(path.join(server.dataDir, 'uploads', id));
    expect(sha256(assembled)).toBe(sha256(bytes));

    const call2 = httpClient(server.url);
    const v = await waitForStatus(call2, id, owner.accessToken, ['ready', 'failed']);
    expect(v.status).toBe('ready');
    const [row] = await server.deps.database.db.select().from(videos).where(eq(videos.id, id));
    expect(row!.sourceSha256).toBe(sha256(bytes));
    privateVideo = v;
  }, 300_000);

  it('keeps a private video unreachable to others through every path; signed links expire and reject tampering', async () => {
    const v = privateVideo!;
    const c = httpClient(server.url);
    expect((await c('GET', `/api/v1/videos/${v.id}`)).status).toBe(404);
    expect((await c('GET', `/api/v1/videos/${v.id}`, { token: other.accessToken })).status).toBe(404);
    expect((await c('POST', `/api/v1/videos/${v.id}/views`, { token: other.accessToken })).status).toBe(404);
    expect((await c('POST', `/api/v1/videos/${v.id}/like`, { token: other.accessToken })).status).toBe(404);
    expect((await c('GET', `/api/v1/videos/${v.id}/comments`, { token: other.accessToken })).status).toBe(404);
    const own = await c('GET', `/api/v1/users/${owner.username}/videos`, { token: other.accessToken });
    expect((own.body.items as { id: string }[]).map((i) => i.id)).not.toContain(v.id);

    // The owner's links work ...
    const master = await fetch(v.hlsUrl!);
    expect(master.status).toBe(200);
    const variant = (await master.text()).split('\n').find((l) => l.startsWith('http'))!;
    const playlist = await (await fetch(variant)).text();
    const segment = playlist.split('\n').find((l) => l.startsWith('http'))!;
    expect((await fetch(segment)).status).toBe(200);
    expect((await fetch(v.thumbnailUrl!)).status).toBe(200);

    // ... and nothing else does: no signature, a changed one, a changed expiry, another video's, an expired one.
    const bare = v.hlsUrl!.split('?')[0]!;
    expect((await fetch(bare)).status).toBe(400);
    const sig = new URL(v.hlsUrl!).searchParams.get('sig')!;
    const exp = new URL(v.hlsUrl!).searchParams.get('exp')!;
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    for (const url of [
      `${bare}?exp=${exp}&sig=${flip(sig)}`,
      `${bare}?exp=${Number(exp) + 1000}&sig=${sig}`,
      variant.replace(/sig=[^&]+/, `sig=${flip(sig)}`),
      segment.replace(/sig=[^&]+/, (m) => `sig=${flip(m.slice(4))}`),
      v.thumbnailUrl!.replace(/sig=[^&]+/, (m) => `sig=${flip(m.slice(4))}`),
      segment.replace(/exp=\d+/, (m) => `exp=${Number(m.slice(4)) + 1000}`),
    ]) {
      const r = await fetch(url);
      expect(r.status, url).toBe(403);
    }
    const old = playbackQuery(server.config.secretKey, v.id, 60, Date.now() - 3_600_000);
    const expired = await fetch(`${bare}?${old}`);
    expect(expired.status).toBe(403);
    expect(((await expired.json()) as { code: string }).code).toBe('videos.playback_expired');
    const staleSegment = await fetch(`${server.url}/files/${new URL(segment).pathname.replace(/^\/files\//, '')}?exp=${Math.floor(Date.now() / 1000) - 10}&sig=${new URL(segment).searchParams.get('sig')}`);
    expect(staleSegment.status).toBe(403);
  });

  it('publishes an HLS ladder capped at the source, valid for ffprobe, with thumbnail and storyboard', async () => {
    const call2 = httpClient(server.url);
    const file = makeClip(clips, 'small.mp4', { seconds: 3, width: 320, height: 180 });
    const { id, upload } = await createVideo(owner.accessToken);
    // Every chunk with its sha1 (tus checksum extension), the whole file's sha256 in the metadata.
    await tusUpload(upload.url, owner.accessToken, file, { metadata: { sha256: sha256(readFileSync(file)) }, checksum: 'sha1', chunkSize: 64 * 1024 });
    const v = await waitForStatus(call2, id, owner.accessToken, ['ready', 'failed']);
    expect(v.status).toBe('ready');
    // 240p is above the 180p source: never upscaled.
    expect(v.renditions.map((r) => r.height)).toEqual([144]);
    expect(v.duration).toBeCloseTo(3, 0);
    expect(v.hlsUrl).toMatch(/\/hls\/master\.m3u8\?exp=\d+&sig=/);

    const master = await (await fetch(v.hlsUrl!)).text();
    expect(master.match(/#EXT-X-STREAM-INF/g)).toHaveLength(1);
    const probed = await ffprobeUrl(v.hlsUrl!);
    expect(probed.streams.some((s) => s.codec_type === 'video' && s.codec_name === 'h264')).toBe(true);
    expect(probed.streams.some((s) => s.codec_type === 'audio' && s.codec_name === 'aac')).toBe(true);

    const thumb = await fetch(v.thumbnailUrl!);
    expect(thumb.status).toBe(200);
    expect(thumb.headers.get('content-type')).toBe('image/jpeg');
    const vtt = await (await fetch(v.storyboardUrl!)).text();
    expect(vtt.startsWith('WEBVTT')).toBe(true);
    expect(vtt).toMatch(/#xywh=0,0,160,\d+/);
    const sprite = /^(http\S+)#xywh/m.exec(vtt)![1]!;
    expect((await fetch(sprite)).status).toBe(200);
  }, 300_000);

  it('gives a 2-rung source both rungs, each valid for ffprobe; the lowest was published first', async () => {
    const call2 = httpClient(server.url);
    const file = makeClip(clips, 'two.mp4', { seconds: 3, width: 426, height: 240 });
    const { id, upload } = await createVideo(owner.accessToken);
    await tusUpload(upload.url, owner.accessToken, file);
    const v = await waitForStatus(call2, id, owner.accessToken, ['ready', 'failed']);
    expect(v.status).toBe('ready');
    expect(v.renditions).toEqual([
      { height: 144, width: 256 },
      { height: 240, width: 426 },
    ]);
    const master = await (await fetch(v.hlsUrl!)).text();
    const variants = master.split('\n').filter((l) => l.startsWith('http'));
    expect(variants).toHaveLength(2);
    for (const url of variants) {
      const p = await ffprobeUrl(url);
      expect(p.streams.find((s) => s.codec_type === 'video')?.height).toBe(url.includes('/144p.') ? 144 : 240);
    }
    const [row] = await server.deps.database.db.select().from(videos).where(eq(videos.id, id));
    expect(row!.publishedAt).not.toBeNull();
  }, 300_000);
});

describe('files that are not usable videos', () => {
  const cases: { name: string; make: () => string; code: string; message: RegExp }[] = [
    {
      name: 'a text file',
      make: () => {
        const f = path.join(clips, 'notes.mp4');
        writeFileSync(f, 'this is not a video at all\n'.repeat(50));
        return f;
      },
      code: 'not_a_video',
      message: /not a video/i,
    },
    {
      name: 'an audio-only file',
      make: () => makeClip(clips, 'tone.m4a', { video: false, audio: true }),
      code: 'no_video_stream',
      message: /audio only/i,
    },
    {
      name: 'a truncated video',
      make: () => {
        const full = readFileSync(makeClip(clips, 'full.mp4', { seconds: 3 }));
        const f = path.join(clips, 'cut.mp4');
        writeFileSync(f, full.subarray(0, Math.floor(full.length * 0.6)));
        return f;
      },
      code: 'corrupt',
      message: /damaged or incomplete/i,
    },
  ];
  for (const c of cases) {
    it(`fails ${c.name} with a clear reason and removes the upload`, async () => {
      const call2 = httpClient(server.url);
      const { id, upload } = await createVideo(owner.accessToken);
      await tusUpload(upload.url, owner.accessToken, c.make());
      const v = await waitForStatus(call2, id, owner.accessToken, ['failed', 'ready', 'processing']);
      expect(v.status).toBe('failed');
      expect(v.failureCode).toBe(c.code);
      expect(v.statusReason).toMatch(c.message);
      expect(v.hlsUrl).toBeUndefined();
      expect(existsSync(path.join(server.dataDir, 'uploads', id))).toBe(false);
      // Others never see a failed video.
      expect((await call2('GET', `/api/v1/videos/${id}`, { token: other.accessToken })).status).toBe(404);
    }, 300_000);
  }
});

describe('an upload whose check cannot run (ffprobe missing for a while)', () => {
  /** ffprobe is looked up on PATH when it is spawned: an empty PATH stands for it missing. */
  async function withoutTools<T>(fn: () => Promise<T>): Promise<T> {
    const saved = process.env.PATH;
    process.env.PATH = mkdtempSync(path.join(os.tmpdir(), 'sf-nopath-'));
    try {
      return await fn();
    } finally {
      process.env.PATH = saved;
    }
  }

  it('still completes the upload; a job checks it again and the video goes on to ready', async () => {
    const clip = makeClip(clips, 'later.mp4', { seconds: 2 });
    const { id, upload } = await createVideo(owner.accessToken);
    await withoutTools(() => tusUpload(upload.url, owner.accessToken, clip));
    // The inline check failed and handed over to the job.
    const { rows } = await server.deps.database.query<{ n: number }>(`select count(*)::int as n from pgboss.job where name = 'videos_ingest' and data->>'videoId' = $1`, [id]);
    expect(rows[0]!.n).toBe(1);
    const v = await waitForStatus(call, id, owner.accessToken, ['ready', 'failed']);
    expect(v.status, JSON.stringify(v)).toBe('ready');
  }, 300_000);

  it('ends failed / ingest_failed when the last attempt cannot check it either, keeping the source', async () => {
    const { id, upload } = await createVideo(owner.accessToken);
    // The bytes arrive while ffprobe works (so the video is checked) ... then the row is put back
    // to a finished upload that was never checked, and the job's last attempt runs without ffprobe.
    const clip = makeClip(clips, 'never.mp4', { seconds: 1 });
    await tusUpload(upload.url, owner.accessToken, clip);
    await waitForStatus(call, id, owner.accessToken, ['ready', 'failed']);
    await server.deps.database.db.update(videos).set({ status: 'uploading', publishedAt: null }).where(eq(videos.id, id));
    const ingest = videoJobs(server.deps).find((j) => j.name === 'videos.ingest')!;
    await withoutTools(() =>
      expect(ingest.handler({ videoId: id } as never, { id: 'test', name: 'videos.ingest', retryCount: INGEST_RETRIES, signal: new AbortController().signal })).rejects.toThrow(),
    );
    const [row] = await server.deps.database.db.select().from(videos).where(eq(videos.id, id));
    expect(row).toMatchObject({ status: 'failed', failureCode: 'ingest_failed' });
    expect(row!.statusReason).toMatch(/could not be checked/);
    expect(existsSync(path.join(server.dataDir, 'uploads', id))).toBe(true);
  }, 300_000);
});

describe('deleting a video whose upload is unfinished', () => {
  it('answers 204 and removes the partial upload and its tus metadata from the store', async () => {
    const clip = readFileSync(makeClip(clips, 'half.mp4', { seconds: 2 }));
    const { id, upload } = await createVideo(owner.accessToken);
    const created = await tusCreate(upload.url, owner.accessToken, clip.length);
    expect(created.status).toBe(201);
    const location = new URL(created.headers.get('location')!, server.url).toString();
    expect((await tusPatch(location, owner.accessToken, 0, clip.subarray(0, Math.floor(clip.length / 2)))).status).toBe(204);
    const files = () => readdirSync(path.join(server.dataDir, 'uploads')).filter((f) => f.startsWith(id));
    expect(files().length).toBeGreaterThan(0);
    expect((await call('DELETE', `/api/v1/videos/${id}`, { token: owner.accessToken })).status).toBe(204);
    for (let i = 0; i < 200 && files().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(files()).toEqual([]);
    // The upload is gone for the client too.
    expect((await fetch(location, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${owner.accessToken}` } })).status).toBe(404);
  }, 300_000);
});
