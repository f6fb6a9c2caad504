import { sql } from 'drizzle-orm';
import { bigint, boolean, doublePrecision, index, integer, jsonb, pgTable, primaryKey, real, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { users } from '../users/tables.js';

export const VIDEO_VISIBILITIES = ['public', 'unlisted', 'followers', 'private'] as const;
export type VideoVisibility = (typeof VIDEO_VISIBILITIES)[number];
export const VIDEO_STATUSES = ['uploading', 'processing', 'ready', 'failed'] as const;
export type VideoStatus = (typeof VIDEO_STATUSES)[number];
export const VIDEO_MODERATION_STATES = ['visible', 'held', 'removed'] as const;

/** A published rendition: listed in the master playlist only once every file of it is stored. */
export interface PublishedRendition {
  height: number;
  width: number;
  bandwidth: number;
}

export interface StoryboardInfo {
  interval: number;
  count: number;
  columns: number;
  rows: number;
  tileWidth: number;
  tileHeight: number;
}

export const videos = pgTable(
  'videos',
  {
    id: uuid('id').primaryKey(),
    ownerId: uuid('owner_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    title: text('title').notNull(),
    description: text('description').notNull().default(''),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    category: text('category'),
    language: text('language'),
    visibility: text('visibility', { enum: VIDEO_VISIBILITIES }).notNull().default('public'),
    status: text('status', { enum: VIDEO_STATUSES }).notNull().default('uploading'),
    /** Why processing failed, in words for the creator. */
    statusReason: text('status_reason'),
    /** Stable code next to statusReason (not_a_video, no_video_stream, corrupt, too_long, ...). */
    failureCode: text('failure_code'),
    moderationState: text('moderation_state', { enum: VIDEO_MODERATION_STATES }).notNull().default('visible'),
    /** The creator's own declaration; the creator may change it. */
    ageRestricted: boolean('age_restricted').notNull().default(false),
    /** Imposed by a moderator (moderation action age_restrict); only a moderator's restore lifts it. */
    moderationAgeRestricted: boolean('moderation_age_restricted').notNull().default(false),
    durationSeconds: doublePrecision('duration_seconds'),
    width: integer('width'),
    height: integer('height'),
    likeCount: integer('like_count').notNull().default(0),
    commentCount: integer('comment_count').notNull().default(0),
    viewCount: bigint('view_count', { mode: 'number' }).notNull().default(0),
    /** Declared by the client when the upload was created (tus Upload-Length); counts against the quota. */
    sourceBytes: bigint('source_bytes', { mode: 'number' }),
    sourceSha256: text('source_sha256'),
    container: text('container'),
    videoCodec: text('video_codec'),
    audioCodec: text('audio_codec'),
    frameRate: real('frame_rate'),
    bitRate: bigint('bit_rate', { mode: 'number' }),
    renditions: jsonb('renditions').$type<PublishedRendition[]>().notNull().default([]),
    /** Storage key of the poster image (generated, or replaced by the owner). */
    thumbnailKey: text('thumbnail_key'),
    storyboard: jsonb('storyboard').$type<StoryboardInfo>(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    /** When it first became playable (first rendition published). */
    publishedAt: timestamp('published_at', { withTimezone: true }),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
  },
  (t) => [
    index('videos_owner_idx').on(t.ownerId, t.id),
    index('videos_recent_idx').on(t.publishedAt, t.id).where(sql`${t.deletedAt} is null and ${t.visibility} = 'public'`),
  ],
);

export type VideoRow = typeof videos.$inferSelect;

/** Resume position and watch time per signed-in viewer. */
export const videoProgress = pgTable(
  'video_progress',
  {
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    videoId: uuid('video_id')
      .notNull()
      .references(() => videos.id, { onDelete: 'cascade' }),
    positionSeconds: doublePrecision('position_seconds').notNull().default(0),
    watchedSeconds: doublePrecision('watched_seconds').notNull().default(0),
    completedAt: timestamp('completed_at', { withTimezone: true }),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.videoId] }), index('video_progress_video_idx').on(t.videoId)],
);
