/**
 * What the videos module publishes (docs/events.md), in the transaction of the change. Declared
 * ahead of the videos module itself so listeners (notifications, discovery) can be written against it.
 */
declare module '../../platform/events/index.js' {
  interface DomainEvents {
    /** Once, when a video first becomes playable. */
    'video.published': { videoId: string; ownerId: string; visibility: 'public' | 'unlisted' | 'followers' | 'private' };
    /** Processing finished: every rendition is published. */
    'video.ready': { videoId: string; ownerId: string };
    'video.failed': { videoId: string; ownerId: string; reason: string };
    /** Metadata or visibility changed. */
    'video.updated': { videoId: string; ownerId: string };
    'video.deleted': { videoId: string; ownerId: string };
    /** A counted view (once per viewer or anonymous fingerprint per window). */
    'video.viewed': { videoId: string; viewerId: string | null; at: string };
    /** The first time a signed-in viewer's progress passes 90 %. */
    'video.completed': { videoId: string; userId: string; durationSeconds: number };
  }
}

export {};
