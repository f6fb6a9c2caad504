import type { Executor, Tx } from '../../platform/db/index.js';
import type { ModerationTargetType } from './tables.js';

export type ContentState = 'visible' | 'held' | 'removed';

/** What moderation needs to know about one target. */
export interface ModerationSubject {
  /** The author of the content, or the account itself for a user. */
  authorId: string;
  /** The text the classifiers score (post text, comment text, video title + description, bio). */
  text: string;
  state: ContentState;
  /** Where the content is (a comment's post), so moderators can open it. */
  context?: { targetType: string; targetId: string };
}

/**
 * What the module owning a kind of content provides so it can be reported and acted on (the same
 * pattern as reactions' and comments' target adapters). A videos module adds a `video` adapter
 * (state = videos.moderation_state, setAgeRestricted = videos.age_restricted) and nothing else
 * in moderation changes.
 */
export interface ModerationTargetAdapter {
  /** Undefined when there is no such (live) target. */
  load(ex: Executor, id: string): Promise<ModerationSubject | undefined>;
  /** Content only: hold, remove, restore. Accounts are suspended through the admin service instead. */
  setState?(tx: Tx, id: string, state: ContentState): Promise<void>;
  /** Only targets with an age gate (videos). */
  setAgeRestricted?(tx: Tx, id: string, restricted: boolean): Promise<void>;
}

export type ModerationTargets = Partial<Record<ModerationTargetType, ModerationTargetAdapter>>;
