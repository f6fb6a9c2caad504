import { index, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { users } from '../users/tables.js';

/** What was engaged with; a text column so videos (and later live streams) slot in without a migration. */
export const ITEM_TYPES = ['post', 'video'] as const;
export type ItemType = (typeof ITEM_TYPES)[number];
export const ENGAGEMENT_KINDS = ['view', 'complete', 'like', 'save', 'comment', 'share', 'create'] as const;
export type EngagementKind = (typeof ENGAGEMENT_KINDS)[number];

/**
 * The engagement log: one row per signal, append-only. Trending aggregates it in time buckets and
 * the recommender trains on it. `create` (an author publishing) counts towards hashtag trends only.
 */
export const engagementEvents = pgTable(
  'engagement_events',
  {
    id: uuid('id').primaryKey(),
    /** Null for anonymous views: they count nowhere that needs unique users. */
    userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
    itemType: text('item_type', { enum: ITEM_TYPES }).notNull(),
    itemId: uuid('item_id').notNull(),
    /** The item's author or owner: followed-creator candidates and the per-creator cap. */
    creatorId: uuid('creator_id'),
    kind: text('kind', { enum: ENGAGEMENT_KINDS }).notNull(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('engagement_events_type_at_idx').on(t.itemType, t.at), index('engagement_events_user_idx').on(t.userId, t.at), index('engagement_events_item_idx').on(t.itemType, t.itemId, t.at)],
);

/** Hashtags a user picked at onboarding: the cold-start signal before they engage with anything. */
export const userInterests = pgTable(
  'user_interests',
  {
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    tag: text('tag').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.tag] })],
);

export const MODEL_STATES = ['training', 'ready', 'failed', 'retired'] as const;

/**
 * Versions of the trained recommender. The artefact itself lives in storage (`storageKey`); the API
 * serves the newest `ready` one and keeps serving it while the next trains.
 */
export const recommenderModels = pgTable(
  'recommender_models',
  {
    id: uuid('id').primaryKey(),
    state: text('state', { enum: MODEL_STATES }).notNull().default('training'),
    storageKey: text('storage_key'),
    users: integer('users').notNull().default(0),
    items: integer('items').notNull().default(0),
    interactions: integer('interactions').notNull().default(0),
    /** Training options and timings, for the operator. */
    info: jsonb('info').$type<Record<string, unknown>>().notNull().default({}),
    error: text('error'),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [index('recommender_models_state_idx').on(t.state, t.startedAt)],
);
export type RecommenderModelRow = typeof recommenderModels.$inferSelect;
