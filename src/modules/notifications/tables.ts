import { sql } from 'drizzle-orm';
import { boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { users } from '../users/tables.js';
import { NOTIFICATION_TYPES, type ChannelPrefs, type SubjectType } from './types.js';

const userRef = (name: string) =>
  uuid(name)
    .notNull()
    .references(() => users.id, { onDelete: 'cascade' });

/**
 * One row per notification as the recipient sees it. Grouped types keep one row per
 * (recipient, group key) while the window is open: the actor count and the latest actors are
 * updated in place and the row moves back to the top (updated_at).
 */
export const notifications = pgTable(
  'notifications',
  {
    id: uuid('id').primaryKey(),
    recipientId: userRef('recipient_id'),
    type: text('type', { enum: NOTIFICATION_TYPES }).notNull(),
    /** Set for grouped types, e.g. `like:post:<id>`; null for one-off notifications. */
    groupKey: text('group_key'),
    /** One-off notifications: makes a retried listener job insert nothing the second time. */
    dedupeKey: text('dedupe_key'),
    subjectType: text('subject_type').$type<SubjectType>(),
    subjectId: uuid('subject_id'),
    /** Newest first, at most LATEST_ACTORS (the full list is notification_actors). */
    actorIds: jsonb('actor_ids').$type<string[]>().notNull().default([]),
    actorCount: integer('actor_count').notNull().default(0),
    /** What the type needs to be shown without reading back other modules' rows (reason, postId of a comment). */
    data: jsonb('data').$type<Record<string, string>>().notNull().default({}),
    /** False when the recipient turned the in-app channel off: kept for the email digest only. */
    listed: boolean('listed').notNull().default(true),
    /** null: no email wanted (or sent on its own); 'digest': waiting for the next digest; 'queued': taken by a digest job; 'sent'. */
    emailState: text('email_state', { enum: ['digest', 'queued', 'sent'] }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    readAt: timestamp('read_at', { withTimezone: true }),
  },
  (t) => [
    // Read backwards for the newest-first list (a plain index serves ORDER BY ... DESC by scanning in reverse).
    index('notifications_recipient_idx').on(t.recipientId, t.updatedAt, t.id),
    index('notifications_unread_idx').on(t.recipientId).where(sql`${t.readAt} is null and ${t.listed}`),
    index('notifications_group_idx').on(t.recipientId, t.groupKey, t.createdAt).where(sql`${t.groupKey} is not null`),
    uniqueIndex('notifications_dedupe_idx').on(t.recipientId, t.dedupeKey),
    index('notifications_subject_idx').on(t.subjectId),
    index('notifications_digest_idx').on(t.recipientId).where(sql`${t.emailState} = 'digest'`),
  ],
);
export type NotificationRow = typeof notifications.$inferSelect;

/** Everyone counted in a grouped notification, once each (like, unlike, like again counts one). */
export const notificationActors = pgTable(
  'notification_actors',
  {
    notificationId: uuid('notification_id')
      .notNull()
      .references(() => notifications.id, { onDelete: 'cascade' }),
    actorId: userRef('actor_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.notificationId, t.actorId] }), index('notification_actors_actor_idx').on(t.actorId)],
);

/** A user's choices per type and channel, stored as overrides of the defaults in types.ts. */
export const notificationPreferences = pgTable('notification_preferences', {
  userId: userRef('user_id').primaryKey(),
  prefs: jsonb('prefs').$type<Partial<Record<string, Partial<ChannelPrefs>>>>().notNull().default({}),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Browser push subscriptions (the PushSubscription a service worker hands over). */
export const pushSubscriptions = pgTable(
  'push_subscriptions',
  {
    id: uuid('id').primaryKey(),
    userId: userRef('user_id'),
    endpoint: text('endpoint').notNull(),
    p256dh: text('p256dh').notNull(),
    auth: text('auth').notNull(),
    userAgent: text('user_agent'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    lastSuccessAt: timestamp('last_success_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('push_subscriptions_endpoint_idx').on(t.endpoint), index('push_subscriptions_user_idx').on(t.userId)],
);
export type PushSubscriptionRow = typeof pushSubscriptions.$inferSelect;

/**
 * One row per unsubscribe link sent: the link carries the row id signed with SECRET_KEY, and
 * `used_at` makes it work once.
 */
export const emailUnsubscribes = pgTable(
  'email_unsubscribes',
  {
  id: uuid('id').primaryKey(),
  userId: userRef('user_id'),
  /** A notification type, or 'all' (digest emails). */
  scope: text('scope').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  usedAt: timestamp('used_at', { withTimezone: true }),
  },
  (t) => [index('email_unsubscribes_user_idx').on(t.userId)],
);
