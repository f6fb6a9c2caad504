import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { users } from '../users/tables.js';

export const POST_VISIBILITIES = ['public', 'followers', 'unlisted'] as const;
export type PostVisibility = (typeof POST_VISIBILITIES)[number];
export const MODERATION_STATES = ['visible', 'held', 'removed'] as const;
export type ModerationState = (typeof MODERATION_STATES)[number];

export interface PostMediaRef {
  kind: 'image' | 'video';
  id: string;
}

export const posts = pgTable(
  'posts',
  {
    id: uuid('id').primaryKey(),
    authorId: uuid('author_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** Empty for a plain repost. */
    text: text('text').notNull().default(''),
    visibility: text('visibility', { enum: POST_VISIBILITIES }).notNull().default('public'),
    replyToId: uuid('reply_to_id'),
    /** The first post of the thread (itself for a thread's root). */
    rootId: uuid('root_id'),
    quoteOfId: uuid('quote_of_id'),
    repostOfId: uuid('repost_of_id'),
    media: jsonb('media').$type<PostMediaRef[]>().notNull().default([]),
    moderationState: text('moderation_state', { enum: MODERATION_STATES }).notNull().default('visible'),
    likeCount: integer('like_count').notNull().default(0),
    replyCount: integer('reply_count').notNull().default(0),
    repostCount: integer('repost_count').notNull().default(0),
    quoteCount: integer('quote_count').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    editedAt: timestamp('edited_at', { withTimezone: true }),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
  },
  (t) => [
    index('posts_author_idx').on(t.authorId, t.id),
    index('posts_root_idx').on(t.rootId, t.id),
    index('posts_reply_to_idx').on(t.replyToId),
    index('posts_quote_of_idx').on(t.quoteOfId),
    uniqueIndex('posts_one_repost_idx').on(t.authorId, t.repostOfId).where(sql`${t.repostOfId} is not null and ${t.deletedAt} is null`),
  ],
);

/** Every earlier version of an edited post. */
export const postEdits = pgTable(
  'post_edits',
  {
    id: uuid('id').primaryKey(),
    postId: uuid('post_id')
      .notNull()
      .references(() => posts.id, { onDelete: 'cascade' }),
    text: text('text').notNull(),
    media: jsonb('media').$type<PostMediaRef[]>().notNull().default([]),
    /** When this version was replaced. */
    replacedAt: timestamp('replaced_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('post_edits_post_idx').on(t.postId, t.replacedAt)],
);

export const postHashtags = pgTable(
  'post_hashtags',
  {
    /** Lower-case, without '#'. */
    tag: text('tag').notNull(),
    postId: uuid('post_id')
      .notNull()
      .references(() => posts.id, { onDelete: 'cascade' }),
  },
  (t) => [
    primaryKey({ columns: [t.tag, t.postId] }),
    index('post_hashtags_post_idx').on(t.postId),
    // Hashtag search and suggestions (similar and prefix matches).
    index('post_hashtags_tag_trgm_idx').using('gin', sql`${t.tag} gin_trgm_ops`),
  ],
);

export const postMentions = pgTable(
  'post_mentions',
  {
    postId: uuid('post_id')
      .notNull()
      .references(() => posts.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
  },
  (t) => [primaryKey({ columns: [t.postId, t.userId] }), index('post_mentions_user_idx').on(t.userId)],
);

/** Uploaded images (and later videos) waiting to be attached to a post, or attached to one. */
export const mediaAttachments = pgTable(
  'media_attachments',
  {
    id: uuid('id').primaryKey(),
    ownerId: uuid('owner_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: ['image', 'video'] }).notNull(),
    /** Storage keys of the renditions. */
    keys: jsonb('keys').$type<Record<string, string>>().notNull(),
    width: integer('width'),
    height: integer('height'),
    description: text('description'),
    postId: uuid('post_id').references(() => posts.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('media_attachments_owner_idx').on(t.ownerId, t.createdAt), index('media_attachments_post_idx').on(t.postId)],
);
