import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import type { Deps } from '../../platform/deps.js';
import type { JobContext } from '../../platform/jobs/index.js';
import { bandwidthOf, extractStoryboard, extractThumbnail, hlsArgs, MediaToolError, runTool, rungsFor, storyboardLayout, widthFor, type Rung } from '../../platform/media/index.js';
import { failVideo } from './ingest.js';
import { videoKeys } from './playback.js';
import { sourceStoreFor } from './source.js';
import { videos, type PublishedRendition, type VideoRow } from './tables.js';
import './events.js';

const CONTENT_TYPES: Record<string, string> = { '.m3u8': 'application/vnd.apple.mpegurl', '.ts': 'video/mp2t', '.jpg': 'image/jpeg' };
const UPLOAD_PARALLEL = 4;

/** Stores every file of a finished rendition; the rendition is listed only after this resolves. */
async function storeDir(deps: Deps, dir: string, prefix: string): Promise<void> {
  // Segments first and the playlist last: a reader of the playlist finds every segment it names.
  const files = (await readdir(dir)).sort((a, b) => Number(a.endsWith('.m3u8')) - Number(b.endsWith('.m3u8')));
  const segments = files.filter((f) => !f.endsWith('.m3u8'));
  for (let i = 0; i < segments.length; i += UPLOAD_PARALLEL) {
    await Promise.all(segments.slice(i, i + UPLOAD_PARALLEL).map((f) => deps.storage.put(prefix + f, createReadStream(path.join(dir, f)), { contentType: CONTENT_TYPES[path.extname(f)] })));
  }
  for (const f of files.filter((x) => x.endsWith('.m3u8'))) await deps.storage.put(prefix + f, createReadStream(path.join(dir, f)), { contentType: CONTENT_TYPES['.m3u8'] });
}

async function sha256Of(stream: NodeJS.ReadableStream): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of stream) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * Adds renditions to the row in one statement and, the first time, marks the video published.
 * The master playlist is made from this column, so what it lists was stored completely first.
 */
async function publish(deps: Deps, v: VideoRow, added: PublishedRendition[], final: Partial<typeof videos.$inferInsert> | null): Promise<void> {
  await deps.database.transaction(async (tx) => {
    const [cur] = await tx.select().from(videos).where(eq(videos.id, v.id)).for('update');
    if (!cur || cur.deletedAt) return;
    const byHeight = new Map(cur.renditions.map((r) => [r.height, r]));
    for (const r of added) byHeight.set(r.height, r);
    const firstTime = cur.publishedAt === null && byHeight.size > 0;
    const now = new Date();
    await tx
      .update(videos)
      .set({ renditions: [...byHeight.values()].sort((a, b) => a.height - b.height), ...(firstTime ? { publishedAt: now } : {}), ...(final ?? {}), updatedAt: now })
      .where(eq(videos.id, v.id));
    if (firstTime) await deps.events.publish('video.published', { videoId: v.id, ownerId: v.ownerId, visibility: cur.visibility }, { tx });
    if (final?.status === 'ready') await deps.events.publish('video.ready', { videoId: v.id, ownerId: v.ownerId }, { tx });
  });
}

/**
 * The transcode job: lowest rung first (published alone, so the video plays within seconds of the
 * upload), then thumbnail and storyboard, then every other rung in one ffmpeg run that decodes the
 * source once. Work happens in a private temporary folder; a rung is published only after all of
 * its files are stored, and a retried job redoes only what was not published, so a worker killed
 * at any point leaves nothing half-written in any master playlist.
 */
export async function transcodeVideo(deps: Deps, videoId: string, ctx: Pick<JobContext, 'signal' | 'retryCount'>): Promise<void> {
  const [v] = await deps.database.db.select().from(videos).where(eq(videos.id, videoId));
  if (!v || v.deletedAt || v.status === 'failed' || v.status === 'ready' || v.width === null || v.height === null || v.durationSeconds === null) return;
  const source = await sourceStoreFor(deps);
  const cfg = deps.config.video;
  const input = await source.location(videoId);
  const log = deps.logger.child({ videoId, attempt: ctx.retryCount + 1 });

  if (!v.sourceSha256) {
    const digest = await sha256Of(await source.read(videoId));
    const upload = await source.datastore.getUpload(videoId).catch(() => undefined);
    const claimed = upload?.metadata?.sha256?.toLowerCase();
    if (claimed && claimed !== digest) {
      await failVideo(deps, videoId, 'checksum_mismatch', 'The uploaded file does not match the checksum sent with it; upload it again.');
      await source.remove(videoId);
      return;
    }
    await deps.database.db.update(videos).set({ sourceSha256: digest }).where(eq(videos.id, videoId));
  }

  const work = path.join(os.tmpdir(), 'social-flow-transcode', videoId);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const size = { width: v.width, height: v.height };
  const hasAudio = v.audioCodec !== null;
  const rungs = rungsFor(cfg.ladder, v.height);
  const done = new Set(v.renditions.map((r) => r.height));
  const outDir = (r: Rung) => path.join(work, `${r.height}p`);
  const published = (r: Rung): PublishedRendition => ({ height: r.height, width: widthFor(r.height, size), bandwidth: bandwidthOf(r, hasAudio) });
  const encode = async (set: Rung[]) => {
    for (const r of set) await mkdir(outDir(r), { recursive: true });
    await runTool('ffmpeg', hlsArgs({ input, rungs: set, outDir, source: { ...size, hasAudio }, segmentSeconds: cfg.segmentSeconds, preset: cfg.x264Preset }), { signal: ctx.signal });
    for (const r of set) await storeDir(deps, outDir(r), videoKeys.rendition(videoId, r.height));
  };

  try {
    const [first, ...rest] = rungs;
    if (first && !done.has(first.height)) {
      await encode([first]);
      await publish(deps, v, [published(first)], null);
      log.info({ rung: first.height }, 'first rendition published');
    }

    if (!v.thumbnailKey || !v.storyboard) {
      const thumb = path.join(work, 'thumb.jpg');
      await extractThumbnail(input, v.durationSeconds, thumb, { signal: ctx.signal });
      const thumbKey = videoKeys.thumbnail(videoId, 'auto');
      await deps.storage.put(thumbKey, createReadStream(thumb), { contentType: 'image/jpeg' });
      const layout = storyboardLayout(v.durationSeconds, size);
      const sprite = path.join(work, 'storyboard.jpg');
      await extractStoryboard(input, layout, sprite, { signal: ctx.signal });
      await deps.storage.put(videoKeys.storyboard(videoId), createReadStream(sprite), { contentType: 'image/jpeg' });
      // A thumbnail the owner chose meanwhile is kept.
      await deps.database.db
        .update(videos)
        .set({ thumbnailKey: sql`coalesce(${videos.thumbnailKey}, ${thumbKey})`, storyboard: layout })
        .where(eq(videos.id, videoId));
    }

    const todo = rest.filter((r) => !done.has(r.height));
    if (todo.length) await encode(todo);
    await publish(deps, v, todo.map(published), { status: 'ready' });
    log.info({ rungs: rungs.map((r) => r.height) }, 'video ready');
  } catch (err) {
    // A source ffmpeg cannot decode fails the video on the last attempt; anything else is retried.
    if (err instanceof MediaToolError && !ctx.signal.aborted) log.warn({ err }, 'ffmpeg failed');
    throw err;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** After the last attempt: the creator sees why, instead of a video stuck in processing. */
export async function transcodeGaveUp(deps: Deps, videoId: string): Promise<void> {
  await failVideo(deps, videoId, 'transcode_failed', 'The video could not be converted; the file may be damaged. Try exporting it again and re-uploading.');
}
