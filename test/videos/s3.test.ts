import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { videos } from '../../src/modules/videos/tables.js';
import type { S3Storage } from '../../src/platform/storage/s3.js';
import { httpClient, signUp, type Call, type TestUser } from '../support/auth.js';
import { startS3rver, type S3rver } from '../support/s3rver.js';
import { ffprobeUrl, makeClip, sha256, startVideoServer, tusCreate, tusOffset, tusPatch, uploadChecksum, waitFor, waitForStatus, type VideoServer } from './support.js';

/**
 * The video path on the production column's storage: tus through @tus/s3-store, ffprobe and ffmpeg
 * reading the source from S3, renditions written to S3 and played through presigned URLs (s3rver on
 * loopback stands in for S3), next to whichever database and cache this run uses.
 */
let dir: string;
let clips: string;
let s3: S3rver;
let server: VideoServer;
let call: Call;
let owner: TestUser;
let other: TestUser;
let bucket: S3Storage;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sf-video-s3-'));
  clips = mkdtempSync(path.join(os.tmpdir(), 'sf-clips-s3-'));
  s3 = await startS3rver(dir);
  const made = await s3.bucket('social-flow-videos');
  bucket = made.storage;
  server = await startVideoServer(made.env);
  call = httpClient(server.url);
  owner = await signUp(call, server.dataDir);
  other = await signUp(call, server.dataDir);
}, 300_000);

afterAll(async () => {
  await server?.close();
  await bucket?.close();
  await s3?.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(clips, { recursive: true, force: true });
});

async function readAll(key: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of await bucket.get(key)) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe('videos on S3', () => {
  it('uploads in checksummed chunks (a bad one refused, nothing stored), processes from S3 and plays through presigned links', async () => {
    const file = makeClip(clips, 's3.mp4', { seconds: 3, width: 320, height: 240 });
    const bytes = readFileSync(file);
    const created = await call('POST', '/api/v1/videos', { token: owner.accessToken, body: { title: 'On S3', visibility: 'private' } });
    expect(created.status).toBe(201);
    const { id, upload } = created.body as { id: string; upload: { url: string } };
    const start = await tusCreate(upload.url, owner.accessToken, bytes.length, { sha256: sha256(bytes) });
    expect(start.status).toBe(201);
    const location = new URL(start.headers.get('location')!, server.url).toString();
    // Chunks far below S3's 5 MiB part minimum: @tus/s3-store keeps them as incomplete parts.
    const size = 48 * 1024;
    let offset = 0;
    let refused = false;
    while (offset < bytes.length) {
      const chunk = bytes.subarray(offset, offset + size);
      if (!refused && offset > 0) {
        // The digest of other bytes: 460, and the S3 upload does not move.
        const bad = await tusPatch(location, owner.accessToken, offset, chunk, uploadChecksum('sha1', Buffer.from('other bytes')));
        expect(bad.status).toBe(460);
        expect(await tusOffset(location, owner.accessToken)).toBe(offset);
        refused = true;
      }
      const res = await tusPatch(location, owner.accessToken, offset, chunk, uploadChecksum('sha1', chunk));
      expect(res.status, await res.clone().text()).toBe(204);
      offset = Number(res.headers.get('upload-offset'));
    }
    expect(refused).toBe(true);

    const v = await waitForStatus(call, id, owner.accessToken, ['ready', 'failed']);
    expect(v.status, JSON.stringify(v)).toBe('ready');
    // The source in the bucket is the file, byte for byte (and its sha256 matched the metadata).
    expect(sha256(await readAll(id))).toBe(sha256(bytes));
    const [row] = await server.deps.database.db.select().from(videos).where(eq(videos.id, id));
    expect(row!.sourceSha256).toBe(sha256(bytes));

    // Played through presigned S3 links: the master playlist and its renditions are valid for ffprobe.
    const probe = await ffprobeUrl(v.hlsUrl!);
    expect(probe.streams.some((s) => s.codec_type === 'video' && s.codec_name === 'h264')).toBe(true);
    expect(probe.streams.some((s) => s.codec_type === 'audio' && s.codec_name === 'aac')).toBe(true);
    expect((await fetch(v.thumbnailUrl!)).status).toBe(200);
    // Private: nobody else reaches it through the API.
    expect((await call('GET', `/api/v1/videos/${id}`, { token: other.accessToken })).status).toBe(404);

    // Deleted: a job removes the source, its tus metadata and every rendition from the bucket.
    expect((await bucket.list('')).filter((o) => o.key.includes(id)).length).toBeGreaterThan(3);
    expect((await call('DELETE', `/api/v1/videos/${id}`, { token: owner.accessToken })).status).toBe(204);
    await waitFor(async () => (await bucket.list('')).every((o) => !o.key.includes(id)), `the objects of ${id} to be removed`, 30_000);
  });

  it('abandons an unfinished S3 upload (tus termination): its parts are gone and it cannot be resumed', async () => {
    const created = await call('POST', '/api/v1/videos', { token: owner.accessToken, body: { title: 'Abandoned' } });
    const { id, upload } = created.body as { id: string; upload: { url: string } };
    const start = await tusCreate(upload.url, owner.accessToken, 200_000);
    const location = new URL(start.headers.get('location')!, server.url).toString();
    const chunk = Buffer.alloc(70_000, 7);
    let patched = await tusPatch(location, owner.accessToken, 0, chunk, uploadChecksum('sha256', chunk));
    if (patched.status >= 500) {
      // Setup, not the subject: as tus clients do, resume once from the server's offset after a 5xx
      // (seen once on a CPU-starved machine, cause not caught; the answer is printed to find it).
      console.warn(`tus PATCH to S3 answered ${patched.status}: ${await patched.text()}; resuming`);
      const offset = await tusOffset(location, owner.accessToken);
      patched = await tusPatch(location, owner.accessToken, offset, chunk.subarray(offset), uploadChecksum('sha256', chunk.subarray(offset)));
    }
    expect(patched.status, await patched.clone().text()).toBe(204);
    expect(await tusOffset(location, owner.accessToken)).toBe(70_000);
    const del = await fetch(location, { method: 'DELETE', headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${owner.accessToken}` } });
    expect(del.status).toBe(204);
    const head = await fetch(location, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${owner.accessToken}` } });
    expect(head.status).toBe(404);
    expect(await bucket.list(id)).toEqual([]);
  });
});
