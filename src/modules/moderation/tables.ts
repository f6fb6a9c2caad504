import { sql } from 'drizzle-orm';
import { boolean, doublePrecision, index, integer, jsonb, pgTable, real, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { users } from '../users/tables.js';

/** What can be reported and acted on. Videos and chat messages slot in when their modules provide a target adapter (targets.ts). */
export const MODERATION_TARGETS = ['post', 'comment', 'video', 'user', 'chat_message'] as const;
export type ModerationTargetType = (typeof MODERATION_TARGETS)[number];

export const REPORT_REASONS = ['spam', 'harassment', 'hate', 'violence', 'sexual', 'self_harm', 'misinformation', 'illegal', 'other'] as const;
export type ReportReason = (typeof REPORT_REASONS)[number];

export const MODERATION_ACTIONS = ['hold', 'remove', 'restore', 'warn', 'age_restrict', 'suspend'] as const;
export type ModerationAction = (typeof MODERATION_ACTIONS)[number];

export const CASE_SOURCES = ['automatic', 'report', 'appeal'] as const;
export type CaseSource = (typeof CASE_SOURCES)[number];

/**
 * The classifiers' latest verdict on a piece of content: the queue orders by it, and moderators see
 * it (with the model versions) next to every automatic decision.
 */
export const moderationScores = pgTable(
  'moderation_scores',
  {
    targetType: text('target_type', { enum: MODERATION_TARGETS }).notNull(),
    targetId: uuid('target_id').notNull(),
    offensive: real('offensive').notNull(),
    spam: real('spam').notNull(),
    profanityTerms: integer('profanity_terms').notNull(),
    decision: text('decision', { enum: ['pass', 'review', 'hold'] }).notNull(),
    /** `lexicon` when no trained model was available. */
    offensiveModel: text('offensive_model').notNull(),
    spamModel: text('spam_model').notNull(),
    scoredAt: timestamp('scored_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('moderation_scores_target_idx').on(t.targetType, t.targetId)],
);

/**
 * One queue item per target while open: reports, automatic reviews and appeals about the same
 * content all land in the same case. `priority` (model score plus report volume) orders the queue.
 */
export const moderationCases = pgTable(
  'moderation_cases',
  {
    id: uuid('id').primaryKey(),
    targetType: text('target_type', { enum: MODERATION_TARGETS }).notNull(),
    targetId: uuid('target_id').notNull(),
    /** The author of the content, or the account itself. */
    authorId: uuid('author_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    status: text('status', { enum: ['open', 'resolved'] }).notNull().default('open'),
    source: text('source', { enum: CASE_SOURCES }).notNull(),
    score: doublePrecision('score').notNull().default(0),
    reportCount: integer('report_count').notNull().default(0),
    priority: doublePrecision('priority').notNull().default(0),
    assigneeId: uuid('assignee_id').references(() => users.id, { onDelete: 'set null' }),
    claimedAt: timestamp('claimed_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    resolvedAt: timestamp('resolved_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('moderation_cases_open_target_idx').on(t.targetType, t.targetId).where(sql`${t.status} = 'open'`),
    index('moderation_cases_queue_idx').on(t.status, t.priority, t.id),
    index('moderation_cases_assignee_idx').on(t.assigneeId),
  ],
);

export const moderationReports = pgTable(
  'moderation_reports',
  {
    id: uuid('id').primaryKey(),
    caseId: uuid('case_id')
      .notNull()
      .references(() => moderationCases.id, { onDelete: 'cascade' }),
    reporterId: uuid('reporter_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    targetType: text('target_type', { enum: MODERATION_TARGETS }).notNull(),
    targetId: uuid('target_id').notNull(),
    reason: text('reason', { enum: REPORT_REASONS }).notNull(),
    details: text('details'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // One report per person per open case: reporting twice does not push content up the queue.
    uniqueIndex('moderation_reports_once_idx').on(t.caseId, t.reporterId),
    index('moderation_reports_target_idx').on(t.targetType, t.targetId),
  ],
);

/** Every decision, automatic or by a moderator; the audit log holds the same with the actor. */
export const moderationActions = pgTable(
  'moderation_actions',
  {
    id: uuid('id').primaryKey(),
    caseId: uuid('case_id').references(() => moderationCases.id, { onDelete: 'set null' }),
    targetType: text('target_type', { enum: MODERATION_TARGETS }).notNull(),
    targetId: uuid('target_id').notNull(),
    authorId: uuid('author_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    action: text('action', { enum: MODERATION_ACTIONS }).notNull(),
    reason: text('reason').notNull(),
    /** What the decision says the content was, for the training labels. */
    category: text('category', { enum: ['offensive', 'spam', 'other'] }),
    automatic: boolean('automatic').notNull(),
    moderatorId: uuid('moderator_id').references(() => users.id, { onDelete: 'set null' }),
    /** The content's moderation state before the action, so it can be reversed. */
    previousState: text('previous_state'),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('moderation_actions_target_idx').on(t.targetType, t.targetId, t.id), index('moderation_actions_author_idx').on(t.authorId, t.id)],
);

export const moderationAppeals = pgTable(
  'moderation_appeals',
  {
    id: uuid('id').primaryKey(),
    /** One appeal per action. */
    actionId: uuid('action_id')
      .notNull()
      .references(() => moderationActions.id, { onDelete: 'cascade' }),
    caseId: uuid('case_id').references(() => moderationCases.id, { onDelete: 'set null' }),
    authorId: uuid('author_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    text: text('text').notNull(),
    status: text('status', { enum: ['open', 'upheld', 'overturned'] }).notNull().default('open'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    decidedAt: timestamp('decided_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('moderation_appeals_action_idx').on(t.actionId)],
);

/** Training labels from moderators' decisions: the text as it was decided on, and what it was. */
export const moderationLabels = pgTable(
  'moderation_labels',
  {
    id: uuid('id').primaryKey(),
    task: text('task', { enum: ['offensive', 'spam'] }).notNull(),
    text: text('text').notNull(),
    label: integer('label').notNull(),
    actionId: uuid('action_id').references(() => moderationActions.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('moderation_labels_task_idx').on(t.task, t.id)],
);

/** Trained model artefacts (JSON in storage) and which one is in use per task. */
export const mlModels = pgTable(
  'ml_models',
  {
    id: uuid('id').primaryKey(),
    task: text('task', { enum: ['offensive', 'spam', 'sentiment'] }).notNull(),
    version: text('version').notNull(),
    storageKey: text('storage_key').notNull(),
    /** The task's headline cross-validated figure (macro-F1, accuracy, macro-recall). */
    score: real('score').notNull(),
    rows: integer('rows').notNull(),
    active: boolean('active').notNull().default(false),
    /** Why it is or is not in use: `trained`, `kept-previous`, `replaced`. */
    note: text('note').notNull(),
    evaluation: jsonb('evaluation').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('ml_models_one_active_idx').on(t.task).where(sql`${t.active}`), uniqueIndex('ml_models_version_idx').on(t.task, t.version)],
);

/** Sentiment of each comment, for the per-target aggregate its owner sees. */
export const commentSentiments = pgTable(
  'comment_sentiments',
  {
    commentId: uuid('comment_id').primaryKey(),
    targetType: text('target_type').notNull(),
    targetId: uuid('target_id').notNull(),
    label: text('label', { enum: ['negative', 'neutral', 'positive'] }).notNull(),
    /** Positive minus negative probability (model), or VADER's compound (lexicon), -1..1. */
    score: real('score').notNull(),
    model: text('model').notNull(),
    scoredAt: timestamp('scored_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('comment_sentiments_target_idx').on(t.targetType, t.targetId)],
);
