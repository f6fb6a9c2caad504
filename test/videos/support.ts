import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Call } from '../support/auth.js';
import type { Config } from '../../src/config.js';
import type { Deps } from '../../src/platform/deps.js';
import { createHash, randomBytes } from 'node:crypto';
import { createLogger } from '../../src/platform/logger.js';
import { createTestDatabase } from '../support/db.js';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { startServer, type RunningServer } from '../../src/server.js';
import { testConfig } from '../support/app.js';
import { pollUntil } from '../support/poll.js';

/** A tiny test clip from ffmpeg's lavfi sources (testsrc2 picture, sine tone), H.264/AAC in MP4. */
export function makeClip(dir: string, name: string, opts: { seconds?: number; width?: number; height?: number; audio?: boolean; video?: boolean } = {}): string {
  const { seconds = 3, width = 320, height = 240, audio = true, video = true } = opts;
  const file = path.join(dir, name);
  const args = ['-hide_banner', '-v', 'error', '-y'];
  if (video) args.push('-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=25:duration=${seconds}`);
  if (audio) args.push('-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=44100:duration=${seconds}`);
  if (video) args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p');
  if (audio) args.push('-c:a', 'aac', '-b:a', '64k');
  args.push('-shortest', file);
  execFileSync('ffmpeg', args);
  return file;
}

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A port free right now, so PUBLIC_URL can name the server's real address before it starts. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.once('error', reject);
  });
}

/** The settings video tests run with: two small rungs, 2 s segments, the fastest preset. */
export async function videoEnv(extra: Record<string, string> = {}): Promise<Record<string, string>> {
  const port = await freePort();
  return {
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    VIDEO_LADDER: '144,240',
    VIDEO_SEGMENT_SECONDS: '2',
    VIDEO_X264_PRESET: 'ultrafast',
    ...extra,
  };
}

export interface TusResult {
  location: string;
  status: number;
}

const tusHeaders = (token: string, extra: Record<string, string> = {}) => ({ 'tus-resumable': '1.0.0', authorization: `Bearer ${token}`, ...extra });

/** tus creation: POST the length (and metadata) to the upload URL; answers the Location to PATCH. */
export async function tusCreate(url: string, token: string, length: number, metadata: Record<string, string> = {}): Promise<Response> {
  const meta = Object.entries(metadata)
    .map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`)
    .join(',');
  return fetch(url, { method: 'POST', headers: tusHeaders(token, { 'upload-length': String(length), ...(meta ? { 'upload-metadata': meta } : {}) }) });
}

export async function tusOffset(location: string, token: string): Promise<number> {
  const res = await fetch(location, { method: 'HEAD', headers: tusHeaders(token) });
  if (res.status !== 200) throw new Error(`HEAD ${res.status}`);
  return Number(res.headers.get('upload-offset'));
}

export async function tusPatch(location: string, token: string, offset: number, chunk: Buffer, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(location, { method: 'PATCH', headers: tusHeaders(token, { 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream', ...headers }), body: chunk });
}

/** The Upload-Checksum header of a chunk (tus checksum extension). */
export const uploadChecksum = (algorithm: string, chunk: Buffer) => ({ 'upload-checksum': `${algorithm} ${createHash(algorithm).update(chunk).digest('base64')}` });

/** A whole tus upload in chunks, resuming from the server's offset before each one. */
export async function tusUpload(uploadUrl: string, token: string, file: string, opts: { chunkSize?: number; metadata?: Record<string, string>; checksum?: string } = {}): Promise<string> {
  const bytes = readFileSync(file);
  const created = await tusCreate(uploadUrl, token, bytes.length, opts.metadata);
  if (created.status !== 201) throw new Error(`tus create answered ${created.status}: ${await created.text()}`);
  const location = new URL(created.headers.get('location')!, uploadUrl).toString();
  const size = opts.chunkSize ?? 256 * 1024;
  let offset = 0;
  while (offset < bytes.length) {
    const chunk = bytes.subarray(offset, offset + size);
    const res = await tusPatch(location, token, offset, chunk, opts.checksum ? uploadChecksum(opts.checksum, chunk) : {});
    if (res.status !== 204) throw new Error(`PATCH answered ${res.status}: ${await res.text()}`);
    offset = Number(res.headers.get('upload-offset'));
  }
  return location;
}

export async function waitFor<T>(fn: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 120_000): Promise<T> {
  return (await pollUntil(fn, what, { timeoutMs, everyMs: 200 })) as T;
}

export type VideoBody = {
  id: string;
  status: string;
  statusReason?: string;
  failureCode?: string;
  hlsUrl?: string;
  thumbnailUrl?: string;
  storyboardUrl?: string;
  duration?: number;
  renditions: { height: number; width: number }[];
  likeCount: number;
  commentCount: number;
  viewCount: number;
  visibility: string;
  title: string;
  viewer: { liked: boolean; saved: boolean; positionSeconds: number } | null;
};

/** Poll GET /videos/:id until its status is one of `statuses`. */
export async function waitForStatus(call: Call, id: string, token: string, statuses: string[], timeoutMs = 240_000): Promise<VideoBody> {
  return waitFor(async () => {
    const r = await call('GET', `/api/v1/videos/${id}`, { token });
    const v = r.body as unknown as VideoBody;
    return statuses.includes(v.status) ? v : undefined;
  }, `video ${id} to be ${statuses.join(' or ')}`, timeoutMs);
}

/** ffprobe over HTTP (asynchronously: the server answering it runs in this process). */
export async function ffprobeUrl(url: string): Promise<{ streams: { codec_type: string; codec_name: string; height?: number }[] }> {
  const { stdout } = await promisify(execFile)('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_streams', url], { encoding: 'utf8' });
  return JSON.parse(stdout) as { streams: { codec_type: string; codec_name: string; height?: number }[] };
}


export interface VideoServer {
  url: string;
  config: Config;
  dataDir: string;
  deps: Deps;
  /** Stop and start again on the same data (database on disk, uploads folder, storage). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** A real server (api + worker) whose database lives on disk, so it can be restarted mid-flow. */
export async function startVideoServer(env: Record<string, string> = {}): Promise<VideoServer> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sf-video-'));
  const tdb = await createTestDatabase();
  const config = testConfig(dataDir, tdb.databaseUrl, await videoEnv(env));
  const cacheKeyPrefix = `sft:${randomBytes(4).toString('hex')}:`;
  const boot = (first: boolean) =>
    startServer(config, createLogger(config.logLevel), ['api', 'worker'], {
      pgliteTemplate: first ? tdb.pgliteTemplate : undefined,
      cacheKeyPrefix,
      migrate: false,
      jobPollingIntervalSeconds: 0.5,
      jobMaintenanceIntervalSeconds: 1,
      onProgress: () => {},
    });
  let server: RunningServer = await boot(true);
  const self: VideoServer = {
    url: server.url!,
    config,
    dataDir,
    deps: server.deps,
    async restart() {
      await server.stop();
      server = await boot(false);
      self.url = server.url!;
      self.deps = server.deps;
    },
    async close() {
      await server.stop();
      await tdb.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return self;
}
