import { job, type JobDefinition } from '../../platform/jobs/index.js';
import type { Deps } from '../../platform/deps.js';
import { videoKeys } from './playback.js';
import { sourceStoreFor } from './source.js';
import { failVideo, ingestUpload } from './ingest.js';
import { transcodeGaveUp, transcodeVideo } from './transcode.js';
import './jobs-types.js';

const TRANSCODE_RETRIES = 3;
export const INGEST_RETRIES = 4;

export function videoJobs(deps: Deps): JobDefinition[] {
  return [
    job({
      name: 'videos.transcode',
      concurrency: deps.config.video.transcodeConcurrency,
      retryLimit: TRANSCODE_RETRIES,
      retryDelaySeconds: 5,
      // A worker that died mid-transcode holds the job until this passes; then another runs it again.
      expireInSeconds: deps.config.video.transcodeTimeoutSeconds,
      handler: async ({ videoId }, ctx) => {
        try {
          await transcodeVideo(deps, videoId, ctx);
        } catch (err) {
          if (ctx.retryCount >= TRANSCODE_RETRIES && !ctx.signal.aborted) await transcodeGaveUp(deps, videoId);
          throw err;
        }
      },
    }),
    job({
      name: 'videos.ingest',
      retryLimit: INGEST_RETRIES,
      retryDelaySeconds: 2,
      handler: async ({ videoId }, ctx) => {
        const source = await sourceStoreFor(deps);
        try {
          await ingestUpload(deps, source, videoId);
        } catch (err) {
          if (ctx.retryCount >= INGEST_RETRIES && !ctx.signal.aborted) {
            // Out of attempts: say so rather than leave the video `uploading` for ever. The source
            // is kept (the bytes are fine as far as anyone knows), so an operator can queue it again.
            await failVideo(deps, videoId, 'ingest_failed', 'The upload arrived but could not be checked; try again later or upload the file again.');
          }
          throw err;
        }
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
