import { index, integer, pgTable, primaryKey, real, text, timestamp } from 'drizzle-orm/pg-core';

export const TRENDING_KINDS = ['post', 'video', 'hashtag'] as const;
export type TrendingKind = (typeof TRENDING_KINDS)[number];
export const TRENDING_WINDOWS = ['hour', 'day', 'week'] as const;
export type TrendingWindow = (typeof TRENDING_WINDOWS)[number];

/**
 * The last computed trending lists (the job's output). Requests read them from the cache; this
 * table is what the cache is refilled from after a restart or an eviction.
 */
export const trendingScores = pgTable(
  'trending_scores',
  {
    kind: text('kind', { enum: TRENDING_KINDS }).notNull(),
    window: text('window', { enum: TRENDING_WINDOWS }).notNull(),
    /** A post or video id, or a hashtag. */
    itemId: text('item_id').notNull(),
    rank: integer('rank').notNull(),
    score: real('score').notNull(),
    users: integer('users').notNull(),
    computedAt: timestamp('computed_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.kind, t.window, t.itemId] }), index('trending_scores_rank_idx').on(t.kind, t.window, t.rank)],
);
