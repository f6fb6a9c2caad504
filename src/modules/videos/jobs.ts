import { job, type JobContext, type JobDefinition } from '../../platform/jobs/index.js';
import type { Deps } from '../../platform/deps.js';
import { videoKeys } from './playback.js';
import { sourceStoreFor } from './source.js';
import { failVideo, ingestUpload } from './ingest.js';
import { transcodeGaveUp, transcodeVideo } from './transcode.js';
import './jobs-types.js';

const TRANSCODE_RETRIES = 3;
export const INGEST_RETRIES = 4;

/**
 * Runs a job's work; when the last of its `retries` attempts fails (not because the worker is
 * shutting down), `gaveUp` records the failure on the video before the error goes back to the queue.
 */
async function failingLast(ctx: JobContext, retries: number, work: () => Promise<void>, gaveUp: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    if (ctx.retryCount >= retries && !ctx.signal.aborted) await gaveUp();
    throw err;
  }
}

export function videoJobs(deps: Deps): JobDefinition[] {
  return [
    job({
      name: 'videos.transcode',
      concurrency: deps.config.video.transcodeConcurrency,
      retryLimit: TRANSCODE_RETRIES,
      retryDelaySeconds: 5,
      // A worker that died mid-transcode holds the job until this passes; then another runs it again.
      expireInSeconds: deps.config.video.transcodeTimeoutSeconds,
      handler: ({ videoId }, ctx) =>
        failingLast(ctx, TRANSCODE_RETRIES, () => transcodeVideo(deps, videoId, ctx), () => transcodeGaveUp(deps, videoId)),
    }),
    job({
      name: 'videos.ingest',
      retryLimit: INGEST_RETRIES,
      retryDelaySeconds: 2,
      handler: async ({ videoId }, ctx) => {
        const source = await sourceStoreFor(deps);
        // Out of attempts: say so rather than leave the video `uploading` for ever. The source is
        // kept (the bytes are fine as far as anyone knows), so an operator can queue it again.
        await failingLast(ctx, INGEST_RETRIES, () => ingestUpload(deps, source, videoId), () =>
          failVideo(deps, videoId, 'ingest_failed', 'The upload arrived but could not be checked; try again later or upload the file again.'),
        );
      },
    }),
    job({
      name: 'videos.delete_objects',
      retryLimit: 10,
      handler: async ({ videoId }) => {
        await deps.storage.deletePrefix(videoKeys.prefix(videoId));
        await (await sourceStoreFor(deps)).remove(videoId);
      },
    }),
  ];
}
