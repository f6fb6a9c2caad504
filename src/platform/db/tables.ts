import { index, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Platform-level tables. Domain modules keep their own `tables.ts`; drizzle.config.ts lists them all.
 *
 * idempotency_keys: a client that retries a write with the same Idempotency-Key gets the first
 * answer again instead of a second effect (DESIGN §3).
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    /** Who sent it: a user id, or 'anon:<ip>' for anonymous calls. */
    scope: text('scope').notNull(),
    key: text('key').notNull(),
    method: text('method').notNull(),
    path: text('path').notNull(),
    /** SHA-256 of the request body: the same key with another body is a client bug (422). */
    requestHash: text('request_hash').notNull(),
    statusCode: integer('status_code'),
    responseBody: jsonb('response_body'),
    responseHeaders: jsonb('response_headers').$type<Record<string, string>>(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    completedAt: timestamp('completed_at', { withTimezone: true }),
  },
  (t) => [primaryKey({ columns: [t.scope, t.key] }), index('idempotency_keys_created_at_idx').on(t.createdAt)],
);

/** A small key/value table for instance-wide settings that must survive restarts (e.g. install id). */
export const instanceSettings = pgTable('instance_settings', {
  key: text('key').primaryKey(),
  value: jsonb('value').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

