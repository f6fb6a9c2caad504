import type { CommentTarget } from './tables.js';

/** What the comments module publishes (docs/events.md), in the transaction of the change. */
declare module '../../platform/events/index.js' {
  interface DomainEvents {
    /** `targetOwnerId` owns the post or video; `parentAuthorId` wrote the comment answered (replies only). */
    'comment.created': { commentId: string; authorId: string; targetType: CommentTarget; targetId: string; targetOwnerId: string; parentId: string | null; parentAuthorId: string | null; text: string };
    'comment.edited': { commentId: string; authorId: string; targetType: CommentTarget; targetId: string; text: string };
    'comment.deleted': { commentId: string; authorId: string; targetType: CommentTarget; targetId: string };
  }
}

export {};
