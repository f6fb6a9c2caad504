import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import type { Deps } from '../../platform/deps.js';
import type { JobContext } from '../../platform/jobs/index.js';
import { bandwidthOf, hlsArgs, MediaToolError, runTool, rungsFor, storyboardLayout, widthFor, type Rung, type Storyboard } from '../../platform/media/index.js';
import { failVideo } from './ingest.js';
import { videoKeys } from './playback.js';
import { sourceStoreFor, type SourceStore } from './source.js';
import { videos, type PublishedRendition, type VideoRow } from './tables.js';
import './events.js';

const CONTENT_TYPES: Record<string, string> = { '.m3u8': 'application/vnd.apple.mpegurl', '.ts': 'video/mp2t', '.jpg': 'image/jpeg' };
const UPLOAD_PARALLEL = 6;

/** One ffmpeg run: some rungs, and the poster and storyboard when they are still missing. */
interface Pass {
  name: 'first' | 'rest';
  rungs: Rung[];
  images: boolean;
}

interface StoredImages {
  thumbnailKey: string;
  storyboard: Storyboard;
}

class ChecksumMismatch extends Error {}
/** The video was deleted while it was being transcoded: what was stored goes, nothing is retried. */
class VideoDeleted extends Error {}

/**
 * Stores every file of finished renditions, a few at a time; a rendition is listed only after this
 * resolves. Segments go first and playlists last, so a reader of a playlist finds every segment it names.
 */
async function storeRenditions(deps: Deps, videoId: string, dirs: { height: number; dir: string }[]): Promise<void> {
  const files: { key: string; file: string; playlist: boolean }[] = [];
  for (const { height, dir } of dirs) {
    for (const f of await readdir(dir)) files.push({ key: videoKeys.rendition(videoId, height) + f, file: path.join(dir, f), playlist: f.endsWith('.m3u8') });
  }
  const put = (f: (typeof files)[number]) => deps.storage.put(f.key, createReadStream(f.file), { contentType: CONTENT_TYPES[path.extname(f.file)] });
  const segments = files.filter((f) => !f.playlist);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(UPLOAD_PARALLEL, segments.length) }, async () => {
      while (next < segments.length) await put(segments[next++]!);
    }),
  );
  await Promise.all(files.filter((f) => f.playlist).map(put));
}

async function sha256Of(stream: NodeJS.ReadableStream): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of stream) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** SHA-256 of the source, stored; a mismatch with the client's `sha256` metadata rejects with ChecksumMismatch. */
async function checkSource(deps: Deps, source: SourceStore, videoId: string): Promise<void> {
  const digest = await sha256Of(await source.read(videoId));
  const upload = await source.datastore.getUpload(videoId).catch(() => undefined);
  const claimed = upload?.metadata?.sha256?.toLowerCase();
  if (claimed && claimed !== digest) throw new ChecksumMismatch();
  await deps.database.db.update(videos).set({ sourceSha256: digest }).where(eq(videos.id, videoId));
}

/**
 * Adds renditions (and the poster and storyboard) to the row in one statement and, the first time,
 * marks the video published. The master playlist is made from this column, so what it lists was
 * stored completely first. Answers false when the video was deleted meanwhile.
 */
async function publish(deps: Deps, v: VideoRow, change: { added: PublishedRendition[]; images?: StoredImages; ready?: boolean }): Promise<boolean> {
  return deps.database.transaction(async (tx) => {
    const [cur] = await tx.select().from(videos).where(eq(videos.id, v.id)).for('update');
    if (!cur || cur.deletedAt) return false;
    const byHeight = new Map(cur.renditions.map((r) => [r.height, r]));
    for (const r of change.added) byHeight.set(r.height, r);
    const firstTime = cur.publishedAt === null && byHeight.size > 0;
    const now = new Date();
    await tx
      .update(videos)
      .set({
        renditions: [...byHeight.values()].sort((a, b) => a.height - b.height),
        ...(firstTime ? { publishedAt: now } : {}),
        // A thumbnail the owner chose meanwhile is kept.
        ...(change.images ? { thumbnailKey: cur.thumbnailKey ?? change.images.thumbnailKey, storyboard: change.images.storyboard } : {}),
        ...(change.ready ? { status: 'ready' as const } : {}),
        updatedAt: now,
      })
      .where(eq(videos.id, v.id));
    if (firstTime) await deps.events.publish('video.published', { videoId: v.id, ownerId: v.ownerId, visibility: cur.visibility }, { tx });
    if (change.ready) await deps.events.publish('video.ready', { videoId: v.id, ownerId: v.ownerId }, { tx });
    return true;
  });
}

/**
 * The transcode job. Two ffmpeg runs start together: the lowest rung with the poster and the
 * storyboard (light: it finishes long before the other and is published at once, so the video
 * plays within seconds of the upload), and every other rung in one run that decodes the source
 * once and splits it. The raw ladder in one command decodes once; this pays one extra decode for
 * the early first rung and nothing else, and the two runs share the cores.
 *
 * Work happens in a private temporary folder; a rung is published only after all of its files are
 * stored, the lowest always first, and a retried job redoes only what was not published, so a
 * worker killed at any point leaves nothing half-written in any master playlist.
 */
export async function transcodeVideo(deps: Deps, videoId: string, ctx: Pick<JobContext, 'signal' | 'retryCount'>): Promise<void> {
  const [v] = await deps.database.db.select().from(videos).where(eq(videos.id, videoId));
  if (v?.deletedAt) {
    // A run cut short by the delete may have stored files after the delete job listed them.
    await deps.storage.deletePrefix(videoKeys.prefix(videoId));
    return;
  }
  if (!v || v.status === 'failed' || v.status === 'ready' || v.width === null || v.height === null || v.durationSeconds === null) return;
  const source = await sourceStoreFor(deps);
  const cfg = deps.config.video;
  const input = await source.location(videoId);
  const log = deps.logger.child({ videoId, attempt: ctx.retryCount + 1 });

  const work = path.join(os.tmpdir(), 'social-flow-transcode', videoId);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const size = { width: v.width, height: v.height };
  const duration = v.durationSeconds;
  const hasAudio = v.audioCodec !== null;
  const rungs = rungsFor(cfg.ladder, v.height);
  const done = new Set(v.renditions.map((r) => r.height));
  const needImages = !v.thumbnailKey || !v.storyboard;
  const [first, ...rest] = rungs;
  const passes: Pass[] = [];
  if (first && !done.has(first.height)) passes.push({ name: 'first', rungs: [first], images: needImages });
  const todo = rest.filter((r) => !done.has(r.height));
  const imagesLeft = needImages && passes.length === 0;
  if (todo.length || imagesLeft) passes.push({ name: 'rest', rungs: todo, images: imagesLeft });

  // Any failure stops the other ffmpeg too, so nothing keeps running once the attempt has failed.
  const stop = new AbortController();
  const signal = AbortSignal.any([ctx.signal, stop.signal]);
  let firstError: unknown;
  const guard = <T>(p: Promise<T>): Promise<T> =>
    p.catch((err: unknown) => {
      firstError ??= err;
      stop.abort(err);
      throw err;
    });

  // Read alongside the encoding; nothing is published before it is known to match.
  const verified = guard(v.sourceSha256 ? Promise.resolve() : checkSource(deps, source, videoId));
  const outDir = (r: Rung) => path.join(work, `${r.height}p`);
  const published = (r: Rung): PublishedRendition => ({ height: r.height, width: widthFor(r.height, size), bandwidth: bandwidthOf(r, hasAudio) });

  const run = async (pass: Pass, after: Promise<unknown>): Promise<void> => {
    const t0 = performance.now();
    const dir = path.join(work, pass.name);
    await mkdir(dir, { recursive: true });
    for (const r of pass.rungs) await mkdir(outDir(r), { recursive: true });
    const layout = storyboardLayout(duration, size);
    const thumbFile = path.join(dir, 'thumb.jpg');
    const spriteFile = path.join(dir, 'storyboard.jpg');
    const images = pass.images ? { thumbnail: { out: thumbFile, durationSeconds: duration }, storyboard: { out: spriteFile, layout } } : undefined;
    await runTool('ffmpeg', hlsArgs({ input, rungs: pass.rungs, outDir, source: { ...size, hasAudio }, segmentSeconds: cfg.segmentSeconds, preset: cfg.x264Preset, images }), { signal });
    const encodedMs = performance.now() - t0;
    await verified;
    await storeRenditions(deps, videoId, pass.rungs.map((r) => ({ height: r.height, dir: outDir(r) })));
    let stored: StoredImages | undefined;
    if (pass.images) {
      const thumbnailKey = videoKeys.thumbnail(videoId, 'auto');
      await Promise.all([
        deps.storage.put(thumbnailKey, createReadStream(thumbFile), { contentType: 'image/jpeg' }),
        deps.storage.put(videoKeys.storyboard(videoId), createReadStream(spriteFile), { contentType: 'image/jpeg' }),
      ]);
      stored = { thumbnailKey, storyboard: layout };
    }
    // The lowest rung is always published first, whichever run ends first; never after it failed.
    await after;
    signal.throwIfAborted();
    const last = pass === passes[passes.length - 1];
    if (!(await publish(deps, v, { added: pass.rungs.map(published), images: stored, ready: last }))) throw new VideoDeleted();
    log.info({ pass: pass.name, rungs: pass.rungs.map((r) => r.height), images: pass.images, encodedMs: Math.round(encodedMs), storedMs: Math.round(performance.now() - t0 - encodedMs) }, last ? 'video ready' : 'first rendition published');
  };

  try {
    let previous: Promise<unknown> = Promise.resolve();
    const runs: Promise<void>[] = [];
    for (const pass of passes) {
      const p = guard(run(pass, previous));
      runs.push(p);
      // The next run waits for this one's publish only, never for its failure: that stops both anyway.
      previous = p.catch(() => {});
    }
    if (!passes.length) {
      await guard(verified.then(async () => {
        if (!(await publish(deps, v, { added: [], ready: true }))) throw new VideoDeleted();
      }));
    }
    await Promise.allSettled([verified, ...runs]);
    if (firstError !== undefined) throw firstError;
  } catch (err) {
    if (err instanceof VideoDeleted) {
      await deps.storage.deletePrefix(videoKeys.prefix(videoId));
      return;
    }
    if (err instanceof ChecksumMismatch) {
      await failVideo(deps, videoId, 'checksum_mismatch', 'The uploaded file does not match the checksum sent with it; upload it again.');
      await source.remove(videoId);
      return;
    }
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
