/** What the graph module publishes (docs/events.md), in the transaction of the change. */
declare module '../../platform/events/index.js' {
  interface DomainEvents {
    /** A new follow edge: a direct follow, or an approved request (`approved` true). */
    'user.followed': { followerId: string; followeeId: string; approved: boolean };
    'user.unfollowed': { followerId: string; followeeId: string };
    /** A new request to follow a private account (repeating the request publishes nothing). */
    'follow.requested': { requesterId: string; targetId: string };
    'user.blocked': { blockerId: string; blockedId: string };
  }
}

export {};
