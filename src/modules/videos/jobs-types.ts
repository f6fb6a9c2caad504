declare module '../../platform/jobs/index.js' {
  interface JobPayloads {
    /** Make the HLS ladder, thumbnail and storyboard of an uploaded video. */
    'videos.transcode': { videoId: string };
    /** Remove every stored object of a deleted video (renditions, images, the source upload). */
    'videos.delete_objects': { videoId: string };
  }
}

export {};
