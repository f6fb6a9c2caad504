import { index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { users } from '../users/tables.js';

export const COMMENT_TARGETS = ['post', 'video'] as const;
export type CommentTarget = (typeof COMMENT_TARGETS)[number];

/** As posts: held waits for a moderator (author and moderators see it), removed is gone from every read. */
export const COMMENT_MODERATION_STATES = ['visible', 'held', 'removed'] as const;
export type CommentModerationState = (typeof COMMENT_MODERATION_STATES)[number];

export const comments = pgTable(
  'comments',
  {
    id: uuid('id').primaryKey(),
    targetType: text('target_type', { enum: COMMENT_TARGETS }).notNull(),
    targetId: uuid('target_id').notNull(),
    authorId: uuid('author_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    parentId: uuid('parent_id'),
    /** 0 for a top-level comment; replies deeper than the limit attach to the deepest allowed parent. */
    depth: integer('depth').notNull().default(0),
    text: text('text').notNull(),
    moderationState: text('moderation_state', { enum: COMMENT_MODERATION_STATES }).notNull().default('visible'),
    likeCount: integer('like_count').notNull().default(0),
    replyCount: integer('reply_count').notNull().default(0),
    pinnedAt: timestamp('pinned_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    editedAt: timestamp('edited_at', { withTimezone: true }),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
  },
  (t) => [
    index('comments_target_idx').on(t.targetType, t.targetId, t.id),
    index('comments_target_top_idx').on(t.targetType, t.targetId, t.likeCount),
    index('comments_parent_idx').on(t.parentId, t.id),
    index('comments_author_idx').on(t.authorId),
  ],
);
