import type { PostVisibility } from './tables.js';

/** What the posts module publishes (docs/events.md): in the transaction of the write that caused it. */
declare module '../../platform/events/index.js' {
  interface DomainEvents {
    /** Any new post or reply (not a repost). Text is included so listeners (moderation, search) need no read-back. */
    'post.created': { postId: string; authorId: string; visibility: PostVisibility; replyToId: string | null; rootId: string | null; quoteOfId: string | null; hashtags: string[]; text: string };
    'post.replied': { postId: string; authorId: string; parentId: string; parentAuthorId: string };
    'post.quoted': { postId: string; authorId: string; quotedId: string; quotedAuthorId: string };
    /** A new repost only (repeating a repost publishes nothing). */
    'post.reposted': { repostId: string; userId: string; postId: string; postAuthorId: string };
    'post.unreposted': { userId: string; postId: string };
    'post.edited': { postId: string; authorId: string; editedAt: string; text: string };
    'post.deleted': { postId: string; authorId: string };
    /** Newly stored mentions only: an edit that keeps a mention does not mention again. */
    'user.mentioned': { postId: string; authorId: string; userId: string };
  }
}

export {};
