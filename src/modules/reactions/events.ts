import type { ReactionTarget } from './tables.js';

/** What the reactions module publishes (docs/events.md), in the transaction of the change. */
declare module '../../platform/events/index.js' {
  interface DomainEvents {
    /** A new like only (liking again publishes nothing). `ownerId` is the target's author. */
    'content.liked': { targetType: ReactionTarget; targetId: string; userId: string; ownerId: string };
    'content.unliked': { targetType: ReactionTarget; targetId: string; userId: string };
    /** A new save (read later): a private act, for ranking signals, never for notifications. */
    'content.saved': { targetType: ReactionTarget; targetId: string; userId: string; ownerId: string };
  }
}

export {};
