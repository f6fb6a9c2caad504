import { and, eq, isNull } from 'drizzle-orm';
import type { Deps } from '../../platform/deps.js';
import { probe, ProbeError } from '../../platform/media/index.js';
import type { SourceStore } from './source.js';
import { videos } from './tables.js';
import './events.js';
import './jobs-types.js';

function formatDuration(s: number): string {
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.round(s % 60);
  return h ? `${h} h ${m} min` : m ? `${m} min ${sec} s` : `${sec} s`;
}

/** Processing ends here for a file that is not a usable video: the reason is stored and the upload removed. */
export async function failVideo(deps: Deps, videoId: string, code: string, reason: string): Promise<void> {
  await deps.database.transaction(async (tx) => {
    const [v] = await tx
      .update(videos)
      .set({ status: 'failed', failureCode: code, statusReason: reason, updatedAt: new Date() })
      .where(eq(videos.id, videoId))
      .returning({ ownerId: videos.ownerId });
    if (v) await deps.events.publish('video.failed', { videoId, ownerId: v.ownerId, reason }, { tx });
  });
}

/**
 * A finished upload: ffprobe says what it is; a usable video gets its metadata stored and its
 * transcode queued in one transaction, anything else a `failed` status with the reason and the
 * upload removed.
 */
export async function ingestUpload(deps: Deps, source: SourceStore, videoId: string): Promise<void> {
  const limit = deps.config.video.maxDurationSeconds;
  let info;
  try {
    info = await probe(await source.location(videoId));
  } catch (err) {
    if (!(err instanceof ProbeError)) throw err;
    await failVideo(deps, videoId, err.reason, err.message);
    await source.remove(videoId);
    return;
  }
  if (info.durationSeconds > limit) {
    await failVideo(deps, videoId, 'too_long', `The video is ${formatDuration(info.durationSeconds)} long; the limit is ${formatDuration(limit)}.`);
    await source.remove(videoId);
    return;
  }
  await deps.database.transaction(async (tx) => {
    const [v] = await tx
      .update(videos)
      .set({
        status: 'processing',
        statusReason: null,
        failureCode: null,
        durationSeconds: info.durationSeconds,
        width: info.width,
        height: info.height,
        container: info.container,
        videoCodec: info.videoCodec,
        audioCodec: info.audioCodec,
        frameRate: info.frameRate,
        bitRate: info.bitRate,
        updatedAt: new Date(),
      })
      .where(and(eq(videos.id, videoId), eq(videos.status, 'uploading'), isNull(videos.deletedAt)))
      .returning({ id: videos.id });
    if (v) await deps.jobs.send('videos.transcode', { videoId }, { tx, singletonKey: videoId });
  });
}
