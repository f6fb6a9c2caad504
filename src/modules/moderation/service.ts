import { and, desc, eq, inArray, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import type { Deps } from '../../platform/deps.js';
import type { Tx } from '../../platform/db/index.js';
import { AppError, badRequest, conflict, forbidden, notFound } from '../../platform/errors.js';
import { decodeCursor, encodeCursor } from '../admin/cursor.js';
import { AdminService, type Actor } from '../admin/service.js';
import { commentModerationTarget } from '../comments/moderation-target.js';
import { postModerationTarget } from '../posts/moderation-target.js';
import { isStaff } from '../posts/rules.js';
import { users } from '../users/tables.js';
import { videoModerationTarget } from '../videos/moderation-target.js';
import { recordAction } from './actions.js';
import { lockCase, openCase, resolveCase, type CaseRow } from './cases.js';
import {
  moderationActions,
  moderationAppeals,
  moderationCases,
  moderationLabels,
  moderationReports,
  moderationScores,
  type CaseSource,
  type ModerationAction,
  type ModerationTargetType,
  type ReportReason,
} from './tables.js';
import type { ContentState, ModerationSubject, ModerationTargets } from './targets.js';
import { userModerationTarget } from './user-target.js';

export type ActionRow = typeof moderationActions.$inferSelect;
export type AppealRow = typeof moderationAppeals.$inferSelect;
export type ReportRow = typeof moderationReports.$inferSelect;
export type ScoreRow = typeof moderationScores.$inferSelect;

export const REASON_MAX = 500;
export const DETAILS_MAX = 2000;

const unsupported = (type: string) => new AppError(422, 'moderation.unsupported_target', `${type}s cannot be reported or moderated on this server yet`);
const targetNotFound = () => notFound('moderation.target_not_found', 'no such content or account');
const caseNotFound = () => notFound('moderation.case_not_found', 'no such case');

function checkText(value: string, field: string, max: number, required: boolean): string | null {
  const v = value.trim();
  if (v === '') {
    if (required) throw badRequest('moderation.reason_required', `${field} must say why`, { errors: [{ field, message: 'must not be blank' }] });
    return null;
  }
  if (v.length > max) throw badRequest('moderation.text_too_long', `${field} must be at most ${max} characters`, { errors: [{ field, message: `must be at most ${max} characters` }] });
  return v;
}

export interface QueueQuery {
  status: 'open' | 'resolved';
  targetType?: ModerationTargetType;
  source?: CaseSource;
  /** `me`, `none` or a moderator's id. */
  assignee?: string;
  minScore?: number;
  limit: number;
  cursor?: string;
}

export interface ActInput {
  targetType: ModerationTargetType;
  targetId: string;
  action: ModerationAction;
  reason: string;
  category?: 'offensive' | 'spam' | 'other';
  /** suspend only: ISO date-time the suspension ends (default: until restored). */
  until?: string;
}

/** Which content states each action moves to; null: the action does not change the content. */
const STATE_OF: Partial<Record<ModerationAction, ContentState>> = { hold: 'held', remove: 'removed', restore: 'visible' };

export class ModerationService {
  readonly targets: ModerationTargets;

  constructor(private readonly deps: Deps) {
    // Live chat adds its adapter here when its module lands (see docs/moderation.md).
    this.targets = { post: postModerationTarget(), comment: commentModerationTarget(), video: videoModerationTarget(deps), user: userModerationTarget() };
  }

  private get db() {
    return this.deps.database.db;
  }

  private adapter(type: ModerationTargetType) {
    const a = this.targets[type];
    if (!a) throw unsupported(type);
    return a;
  }

  async report(reporterId: string, input: { targetType: ModerationTargetType; targetId: string; reason: ReportReason; details?: string }): Promise<{ id: string; caseId: string }> {
    const details = input.details === undefined ? null : checkText(input.details, 'details', DETAILS_MAX, false);
    const adapter = this.adapter(input.targetType);
    return this.deps.database.transaction(async (tx) => {
      const subject = await adapter.load(tx, input.targetId);
      // Held or removed content by others is not shown to the reporter, so it cannot be reported either.
      if (!subject || (subject.state !== 'visible' && subject.authorId !== reporterId)) throw targetNotFound();
      if (subject.authorId === reporterId) throw new AppError(422, 'moderation.own_content', 'you cannot report your own content or account');
      if (adapter.visibleTo && !(await adapter.visibleTo(tx, reporterId, input.targetId))) throw targetNotFound();
      const [score] = await tx
        .select()
        .from(moderationScores)
        .where(and(eq(moderationScores.targetType, input.targetType), eq(moderationScores.targetId, input.targetId)));
      const c = await openCase(tx, { targetType: input.targetType, targetId: input.targetId, authorId: subject.authorId, source: 'report', score: score ? Math.max(score.offensive, score.spam) : 0 });
      const id = uuidv7();
      const inserted = await tx
        .insert(moderationReports)
        .values({ id, caseId: c.id, reporterId, targetType: input.targetType, targetId: input.targetId, reason: input.reason, details })
        .onConflictDoNothing()
        .returning({ id: moderationReports.id });
      if (inserted.length === 0) throw conflict('moderation.already_reported', 'you have already reported this; moderators will look at it');
      await openCase(tx, { targetType: input.targetType, targetId: input.targetId, authorId: subject.authorId, source: 'report', addReport: true });
      return { id, caseId: c.id };
    });
  }

  async queue(viewerId: string, q: QueueQuery): Promise<{ items: CaseRow[]; nextCursor: string | null }> {
    const where: (SQL | undefined)[] = [eq(moderationCases.status, q.status)];
    if (q.targetType) where.push(eq(moderationCases.targetType, q.targetType));
    if (q.source) where.push(eq(moderationCases.source, q.source));
    if (q.assignee === 'none') where.push(isNull(moderationCases.assigneeId));
    else if (q.assignee === 'me') where.push(eq(moderationCases.assigneeId, viewerId));
    else if (q.assignee) where.push(eq(moderationCases.assigneeId, q.assignee));
    if (q.minScore !== undefined) where.push(sql`${moderationCases.score} >= ${q.minScore}`);
    if (q.cursor) {
      const k = decodeQueueCursor(q.cursor);
      where.push(or(lt(moderationCases.priority, k.priority), and(eq(moderationCases.priority, k.priority), lt(moderationCases.id, k.id))));
    }
    const rows = await this.db
      .select()
      .from(moderationCases)
      .where(and(...where))
      .orderBy(desc(moderationCases.priority), desc(moderationCases.id))
      .limit(q.limit + 1);
    const items = rows.slice(0, q.limit);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > q.limit && last ? encodeQueueCursor(last.priority, last.id) : null };
  }

  /** A case with what a moderator needs to decide: the content, its scores, reports, decisions and appeals. */
  async caseDetail(id: string): Promise<{ case: CaseRow; subject: ModerationSubject | null; scores: ScoreRow | null; reports: ReportRow[]; actions: ActionRow[]; appeals: AppealRow[] }> {
    const [c] = await this.db.select().from(moderationCases).where(eq(moderationCases.id, id));
    if (!c) throw caseNotFound();
    const adapter = this.targets[c.targetType];
    const [subject, [scores], reports, actions] = await Promise.all([
      adapter ? adapter.load(this.db, c.targetId) : Promise.resolve(undefined),
      this.db.select().from(moderationScores).where(and(eq(moderationScores.targetType, c.targetType), eq(moderationScores.targetId, c.targetId))),
      this.db.select().from(moderationReports).where(eq(moderationReports.caseId, id)).orderBy(desc(moderationReports.id)).limit(100),
      this.db
        .select()
        .from(moderationActions)
        .where(and(eq(moderationActions.targetType, c.targetType), eq(moderationActions.targetId, c.targetId)))
        .orderBy(desc(moderationActions.id))
        .limit(100),
    ]);
    const appeals = actions.length ? await this.db.select().from(moderationAppeals).where(inArray(moderationAppeals.actionId, actions.map((a) => a.id))) : [];
    return { case: c, subject: subject ?? null, scores: scores ?? null, reports, actions, appeals };
  }

  /** Take an open case; someone else's claim is kept unless `force` (an admin or a lead re-assigning). */
  async claim(moderatorId: string, id: string, force = false): Promise<CaseRow> {
    return this.deps.database.transaction(async (tx) => {
      const c = await lockCase(tx, id);
      if (!c) throw caseNotFound();
      if (c.status !== 'open') throw conflict('moderation.case_resolved', 'this case is already resolved');
      if (c.assigneeId && c.assigneeId !== moderatorId && !force) throw conflict('moderation.case_claimed', 'another moderator has claimed this case');
      const [u] = await tx.update(moderationCases).set({ assigneeId: moderatorId, claimedAt: new Date(), updatedAt: new Date() }).where(eq(moderationCases.id, id)).returning();
      return u!;
    });
  }

  /** Assign to a moderator or admin, or unassign (null). */
  async assign(id: string, assigneeId: string | null): Promise<CaseRow> {
    return this.deps.database.transaction(async (tx) => {
      const c = await lockCase(tx, id);
      if (!c) throw caseNotFound();
      if (c.status !== 'open') throw conflict('moderation.case_resolved', 'this case is already resolved');
      if (assigneeId) {
        const [u] = await tx.select({ role: users.role, state: users.state }).from(users).where(eq(users.id, assigneeId));
        if (!u || !isStaff(u.role) || u.state !== 'active') throw new AppError(422, 'moderation.invalid_assignee', 'assigneeId must be an active moderator or admin', { errors: [{ field: 'assigneeId', message: 'is not a moderator or admin' }] });
      }
      const [u] = await tx
        .update(moderationCases)
        .set({ assigneeId, claimedAt: assigneeId ? new Date() : null, updatedAt: new Date() })
        .where(eq(moderationCases.id, id))
        .returning();
      return u!;
    });
  }

  /**
   * A moderator's decision on a target: applied, recorded (decision, audit, event) in one
   * transaction, the target's open case resolved, an open appeal decided, and the decision stored
   * as training labels for the classifiers.
   */
  async act(actor: Actor, input: ActInput): Promise<ActionRow> {
    const reason = checkText(input.reason, 'reason', REASON_MAX, true)!;
    const adapter = this.adapter(input.targetType);
    let until: Date | null = null;
    if (input.until !== undefined) {
      if (input.action !== 'suspend') throw badRequest('moderation.until_not_applicable', 'until only applies to suspend', { errors: [{ field: 'until', message: 'only for suspend' }] });
      until = new Date(input.until);
      if (Number.isNaN(until.getTime()) || until.getTime() <= Date.now()) throw badRequest('moderation.invalid_until', 'until must be a future ISO 8601 date-time', { errors: [{ field: 'until', message: 'must be a future date-time' }] });
    }
    const admin = new AdminService(this.deps);
    let suspended: string | null = null;
    const row = await this.deps.database.transaction(async (tx) => {
      const subject = await adapter.load(tx, input.targetId);
      if (!subject) throw targetNotFound();
      if (subject.authorId === actor.userId) throw forbidden('moderation.own_content', 'you cannot act on your own content or account');
      const isAccount = input.targetType === 'user';
      let previousState: string | null = subject.state;
      switch (input.action) {
        case 'hold':
        case 'remove':
          if (isAccount) throw notApplicable(input.action, 'an account (suspend it instead)');
          await adapter.setState!(tx, input.targetId, STATE_OF[input.action]!);
          break;
        case 'restore':
          if (isAccount) {
            await admin.restoreIn(tx, actor, subject.authorId, reason);
            suspended = subject.authorId;
          } else {
            await adapter.setState!(tx, input.targetId, 'visible');
            // Restore undoes moderation's decisions on the content, a moderator's age restriction included.
            await adapter.setAgeRestricted?.(tx, input.targetId, false);
          }
          break;
        case 'age_restrict':
          if (!adapter.setAgeRestricted) throw notApplicable(input.action, `a ${input.targetType}`);
          await adapter.setAgeRestricted(tx, input.targetId, true);
          previousState = null;
          break;
        case 'suspend':
          await admin.suspendIn(tx, actor, subject.authorId, reason, until);
          suspended = subject.authorId;
          break;
        case 'warn':
          break;
      }
      const [open] = await tx
        .select()
        .from(moderationCases)
        .where(and(eq(moderationCases.targetType, input.targetType), eq(moderationCases.targetId, input.targetId), eq(moderationCases.status, 'open')))
        .for('update');
      const id = await recordAction(this.deps, tx, {
        caseId: open?.id ?? null,
        targetType: input.targetType,
        targetId: input.targetId,
        authorId: subject.authorId,
        action: input.action,
        reason,
        category: input.category ?? null,
        moderatorId: actor.userId,
        previousState,
        details: until ? { until: until.toISOString() } : {},
      });
      if (open) {
        await resolveCase(tx, open.id);
        // The appeal this case was opened for is decided by this action: restore overturns, the rest upholds.
        await tx
          .update(moderationAppeals)
          .set({ status: input.action === 'restore' ? 'overturned' : 'upheld', decidedAt: new Date() })
          .where(and(eq(moderationAppeals.caseId, open.id), eq(moderationAppeals.status, 'open')));
      }
      if (!isAccount) await this.storeLabels(tx, id, subject.text, input.action, input.category);
      const [r] = await tx.select().from(moderationActions).where(eq(moderationActions.id, id));
      return r!;
    });
    if (suspended) await admin.forgetSuspendedAccount(suspended);
    return row;
  }

  /**
   * Moderators' decisions become training labels: removing or holding something as offensive or spam
   * is a positive for that task; restoring is a negative for both (the classifiers or a reporter
   * were wrong). Warnings and decisions without a category teach nothing.
   */
  private async storeLabels(tx: Tx, actionId: string, text: string, action: ModerationAction, category: ActInput['category']): Promise<void> {
    if (text.trim() === '') return;
    const rows: { task: 'offensive' | 'spam'; label: number }[] = [];
    if ((action === 'remove' || action === 'hold' || action === 'suspend') && (category === 'offensive' || category === 'spam')) rows.push({ task: category, label: 1 });
    if (action === 'restore') rows.push({ task: 'offensive', label: 0 }, { task: 'spam', label: 0 });
    if (rows.length) await tx.insert(moderationLabels).values(rows.map((r) => ({ id: uuidv7(), task: r.task, label: r.label, text, actionId })));
  }

  /** Decisions in a target's history, or all automatic ones (so moderators can review and reverse them). */
  async actions(q: { targetType?: ModerationTargetType; targetId?: string; automatic?: boolean; limit: number; cursor?: string }): Promise<{ items: ActionRow[]; nextCursor: string | null }> {
    const where: (SQL | undefined)[] = [];
    if (q.targetType) where.push(eq(moderationActions.targetType, q.targetType));
    if (q.targetId) where.push(eq(moderationActions.targetId, q.targetId));
    if (q.automatic !== undefined) where.push(eq(moderationActions.automatic, q.automatic));
    if (q.cursor) where.push(lt(moderationActions.id, decodeCursor(q.cursor)));
    return this.page(where, q.limit);
  }

  /** The decisions about one's own content and account (what can be appealed). */
  async myActions(userId: string, q: { limit: number; cursor?: string }): Promise<{ items: ActionRow[]; nextCursor: string | null }> {
    const where: (SQL | undefined)[] = [eq(moderationActions.authorId, userId)];
    if (q.cursor) where.push(lt(moderationActions.id, decodeCursor(q.cursor)));
    return this.page(where, q.limit);
  }

  private async page(where: (SQL | undefined)[], limit: number) {
    const rows = await this.db
      .select()
      .from(moderationActions)
      .where(and(...where))
      .orderBy(desc(moderationActions.id))
      .limit(limit + 1);
    const items = rows.slice(0, limit);
    return { items, nextCursor: rows.length > limit ? encodeCursor(items[items.length - 1]!.id) : null };
  }

  async appealOf(actionId: string): Promise<AppealRow | undefined> {
    const [a] = await this.db.select().from(moderationAppeals).where(eq(moderationAppeals.actionId, actionId));
    return a;
  }

  /** The author appeals a decision, once; the target goes back to the queue as an appeal. */
  async appeal(userId: string, actionId: string, rawText: string): Promise<AppealRow> {
    const text = checkText(rawText, 'text', DETAILS_MAX, true)!;
    return this.deps.database.transaction(async (tx) => {
      const [a] = await tx.select().from(moderationActions).where(eq(moderationActions.id, actionId)).for('update');
      if (!a || a.authorId !== userId) throw notFound('moderation.action_not_found', 'no such decision about your content');
      if (a.action === 'restore') throw new AppError(422, 'moderation.not_appealable', 'a restore is in your favour; there is nothing to appeal');
      const [existing] = await tx.select({ id: moderationAppeals.id }).from(moderationAppeals).where(eq(moderationAppeals.actionId, actionId));
      if (existing) throw conflict('moderation.already_appealed', 'this decision has already been appealed (one appeal per decision)');
      const c = await openCase(tx, { targetType: a.targetType, targetId: a.targetId, authorId: a.authorId, source: 'appeal' });
      const [row] = await tx.insert(moderationAppeals).values({ id: uuidv7(), actionId, caseId: c.id, authorId: userId, text }).onConflictDoNothing().returning();
      if (!row) throw conflict('moderation.already_appealed', 'this decision has already been appealed (one appeal per decision)');
      return row;
    });
  }
}

function notApplicable(action: string, what: string): AppError {
  return new AppError(422, 'moderation.action_not_applicable', `${action} does not apply to ${what}`);
}

function encodeQueueCursor(priority: number, id: string): string {
  return Buffer.from(`${priority}~${id}`, 'utf8').toString('base64url');
}

function decodeQueueCursor(cursor: string): { priority: number; id: string } {
  const [p, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('~');
  const priority = Number(p);
  if (!p || !Number.isFinite(priority) || !id || !/^[0-9a-f-]{36}$/i.test(id)) {
    throw badRequest('request.invalid_cursor', 'cursor is not valid; pass back the nextCursor of a previous page', { errors: [{ field: 'cursor', message: 'is not valid' }] });
  }
  return { priority, id: id.toLowerCase() };
}

const built = new WeakMap<Deps, ModerationService>();
export function moderationServiceFor(deps: Deps): ModerationService {
  let s = built.get(deps);
  if (!s) built.set(deps, (s = new ModerationService(deps)));
  return s;
}
