import { sql } from 'drizzle-orm';
import { boolean, index, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

export const ROLES = ['user', 'creator', 'moderator', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export const ACCOUNT_STATES = ['active', 'suspended', 'deactivated', 'deleted'] as const;
export type AccountState = (typeof ACCOUNT_STATES)[number];

/** Keys of the stored image renditions (small, medium, large) of an avatar or banner. */
export type ImageSet = Record<'small' | 'medium' | 'large', string>;

export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey(),
    username: text('username').notNull(),
    /** Null once the account is purged. */
    email: text('email'),
    emailVerifiedAt: timestamp('email_verified_at', { withTimezone: true }),
    /** Null for accounts that only sign in through OpenID Connect. */
    passwordHash: text('password_hash'),
    role: text('role', { enum: ROLES }).notNull().default('user'),
    state: text('state', { enum: ACCOUNT_STATES }).notNull().default('active'),
    suspendedReason: text('suspended_reason'),
    suspendedUntil: timestamp('suspended_until', { withTimezone: true }),
    deactivatedAt: timestamp('deactivated_at', { withTimezone: true }),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
    /** When the purge job erases personal data of a deleted account. */
    purgeAfter: timestamp('purge_after', { withTimezone: true }),
    displayName: text('display_name'),
    bio: text('bio'),
    links: jsonb('links').$type<{ label: string; url: string }[]>().notNull().default([]),
    avatar: jsonb('avatar').$type<ImageSet | null>(),
    banner: jsonb('banner').$type<ImageSet | null>(),
    isPrivate: boolean('is_private').notNull().default(false),
    /** TOTP secret, encrypted with a key derived from SECRET_KEY (AES-256-GCM). */
    totpSecret: text('totp_secret'),
    totpEnabledAt: timestamp('totp_enabled_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('users_username_lower_idx').on(sql`lower(${t.username})`),
    uniqueIndex('users_email_lower_idx').on(sql`lower(${t.email})`),
    index('users_state_idx').on(t.state),
    index('users_purge_after_idx').on(t.purgeAfter),
    // People search and suggestions (src/modules/search): trigram similarity and prefix on names.
    index('users_username_trgm_idx').using('gin', sql`lower(${t.username}) gin_trgm_ops`),
    index('users_display_name_trgm_idx').using('gin', sql`lower(${t.displayName}) gin_trgm_ops`),
    // Username prefix matches (people search's first tier), shortest first: for each length one
    // ordered range scan, however many names share the prefix. In the C collation, so a LIKE
    // prefix is a range of it whatever the database's collation, and names are in byte order.
    index('users_username_length_prefix_idx').using('btree', sql`length(lower(${t.username}))`, sql`(lower(${t.username}) collate "C")`),
  ],
);
export type UserRow = typeof users.$inferSelect;
