declare module '../../platform/jobs/index.js' {
  interface JobPayloads {
    /** Probe a finished upload again after the inline attempt failed for a reason other than the file (ffprobe missing, database down). */
    'videos.ingest': { videoId: string };
    /** Make the HLS ladder, thumbnail and storyboard of an uploaded video. */
    'videos.transcode': { videoId: string };
    /** Remove every stored object of a deleted video (renditions, images, the source upload). */
    'videos.delete_objects': { videoId: string };
  }
}

export {};
