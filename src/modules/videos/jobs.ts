import { job, type JobDefinition } from '../../platform/jobs/index.js';
import type { Deps } from '../../platform/deps.js';
import { videoKeys } from './playback.js';
import { sourceStoreFor } from './source.js';
import { transcodeGaveUp, transcodeVideo } from './transcode.js';
import './jobs-types.js';

const TRANSCODE_RETRIES = 3;

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
      name: 'videos.delete_objects',
      retryLimit: 10,
      handler: async ({ videoId }) => {
        await deps.storage.deletePrefix(videoKeys.prefix(videoId));
        await (await sourceStoreFor(deps)).remove(videoId);
      },
    }),
  ];
}
