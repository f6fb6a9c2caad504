import type { VideoVisibility } from './tables.js';

declare module '../../platform/events/index.js' {
  interface DomainEvents {
    /** Once, when a video first becomes playable (its first rendition is published). */
    'video.published': { videoId: string; ownerId: string; visibility: VideoVisibility };
    /** Processing finished: every rendition, thumbnail and storyboard is stored. */
    'video.ready': { videoId: string; ownerId: string };
    'video.failed': { videoId: string; ownerId: string; reason: string };
    /** A video row was created (before any upload): its title and description, for moderation. */
    'video.created': { videoId: string; ownerId: string; text: string };
    /** Metadata or visibility changed; `textChanged` when the title or description did (moderation re-scores them). */
    'video.updated': { videoId: string; ownerId: string; textChanged?: boolean };
    'video.deleted': { videoId: string; ownerId: string };
    /** A counted view (once per viewer or anonymous fingerprint per window). */
    'video.viewed': { videoId: string; viewerId: string | null; at: string };
    /** The first time a signed-in viewer's progress passes 90 %. */
    'video.completed': { videoId: string; userId: string; durationSeconds: number };
  }
}

export {};
