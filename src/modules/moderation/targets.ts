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
 * pattern as reactions' and comments' target adapters): posts, comments, videos
 * (`videos/moderation-target.ts`: state = videos.moderation_state, setAgeRestricted =
 * videos.moderation_age_restricted) and accounts.
 */
export interface ModerationTargetAdapter {
  /** Undefined when there is no such (live) target. */
  load(ex: Executor, id: string): Promise<ModerationSubject | undefined>;
  /**
   * Whether this account may see the target by its module's own rules (followers-only, private,
   * blocks, age restriction). Reports on what the reporter cannot see answer 404 like a missing
   * target, so reporting never reveals that something exists. Without it, visible state is enough.
   */
  visibleTo?(ex: Executor, viewerId: string, id: string): Promise<boolean>;
  /** Content only: hold, remove, restore. Accounts are suspended through the admin service instead. */
  setState?(tx: Tx, id: string, state: ContentState): Promise<void>;
  /** Only targets with an age gate (videos). */
  setAgeRestricted?(tx: Tx, id: string, restricted: boolean): Promise<void>;
}

export type ModerationTargets = Partial<Record<ModerationTargetType, ModerationTargetAdapter>>;
