import { and, desc, eq, isNull, lt, or, sql } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import type { Executor, Tx } from '../../platform/db/index.js';
import type { Deps } from '../../platform/deps.js';
import { AppError, badRequest, notFound } from '../../platform/errors.js';
import { effectiveState } from '../auth/session-state.js';
import type { CommentsService } from '../comments/service.js';
import { relationsOf } from '../graph/relations.js';
import type { PostsHydrator } from '../posts/hydrate.js';
import { publishRealtime, userChannel } from '../realtime/publish.js';
import { presentPublic, type PublicUser } from '../users/present.js';
import type { UsersService } from '../users/service.js';
import { presentNotification, type PresentedNotification } from './present.js';
import { notificationActors, notificationPreferences, notifications, type NotificationRow } from './tables.js';
import { CHANNELS, LOCKED, mergePreferences, NOTIFICATION_TYPES, TYPE_RULES, type ChannelPrefs, type NotificationType, type Preferences, type SubjectType } from './types.js';

/** Latest actors kept on a grouped row (the list shows "Ana, Ben and 12 others"). */
export const LATEST_ACTORS = 3;

export interface NotifyInput {
  recipientId: string;
  type: NotificationType;
  /** Whose action it is; null for the system (a finished transcode, a moderation decision). */
  actorId: string | null;
  subject?: { type: SubjectType; id: string } | null;
  /** False for notices about content the recipient can no longer see (a removed post). */
  checkSubject?: boolean;
  data?: Record<string, string>;
  /** One-off notifications: a retried job stores nothing twice. */
  dedupeKey?: string;
  /** Grouped types: actions on the same thing within the type's window share one row. */
  groupKey?: string;
}

export interface StoredNotification {
  row: NotificationRow;
  /** A new row (false: an actor joined an existing group). */
  created: boolean;
  prefs: ChannelPrefs;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const badCursor = () => badRequest('request.invalid_cursor', 'cursor is not valid; pass back the nextCursor of a previous page', { errors: [{ field: 'cursor', message: 'is not valid' }] });
export const notificationNotFound = () => notFound('notifications.not_found', 'no such notification');

/** Pages are ordered by last activity (a group moves up when someone joins it), then id. */
export function encodeCursor(row: { updatedAt: Date; id: string }): string {
  return Buffer.from(`${row.updatedAt.getTime()}.${row.id}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): { at: Date; id: string } {
  const [ms, id, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split('.');
  if (rest.length || !ms || !/^\d{1,15}$/.test(ms) || !id || !UUID.test(id)) throw badCursor();
  return { at: new Date(Number(ms)), id: id.toLowerCase() };
}

/** The unread badge counts exactly up to this many, then says "more" (a "99+" badge). */
const UNREAD_COUNT_CAP = 99;
/** Rows read per step, and at most this many in all, to find the visible unread ones. */
const UNREAD_SCAN_PAGE = 100;
const UNREAD_SCAN_MAX = 500;

/**
 * Notifications: stored for the in-app list, pushed over WebSocket, emailed and sent as web push
 * according to the recipient's preferences. Everything here runs in listener jobs, never in the
 * request of the action, and applies the read-path rules at delivery time: no notification
 * about oneself, from someone either side blocked or the recipient muted, or about content the
 * recipient may not see.
 */
export class NotificationsService {
  constructor(
    private readonly deps: Deps,
    private readonly users: UsersService,
    private readonly hydrator: PostsHydrator,
    private readonly comments: CommentsService,
  ) {}

  private get db() {
    return this.deps.database.db;
  }

  // ---- preferences ----

  async preferences(userId: string, ex: Executor = this.db): Promise<Preferences> {
    const [row] = await ex.select().from(notificationPreferences).where(eq(notificationPreferences.userId, userId));
    return mergePreferences(row?.prefs);
  }

  async preferencesOf(userIds: string[]): Promise<Map<string, Preferences>> {
    const out = new Map<string, Preferences>();
    if (userIds.length === 0) return out;
    const rows = await this.db
      .select()
      .from(notificationPreferences)
      .where(sql`${notificationPreferences.userId} = any(${sql.param(userIds)}::uuid[])`);
    const stored = new Map(rows.map((r) => [r.userId, r.prefs]));
    for (const id of userIds) out.set(id, mergePreferences(stored.get(id)));
    return out;
  }

  /** Merge a partial change into the stored overrides; channels that cannot be turned off answer 422. */
  async updatePreferences(userId: string, patch: Partial<Record<NotificationType, Partial<ChannelPrefs>>>): Promise<Preferences> {
    for (const [type, channels] of Object.entries(patch) as [NotificationType, Partial<ChannelPrefs>][]) {
      for (const c of CHANNELS) {
        if (channels?.[c] === false && LOCKED[type]?.includes(c)) {
          throw new AppError(422, 'notifications.channel_locked', `${type} notifications cannot be turned off for ${c}`, { errors: [{ field: `${type}.${c}`, message: 'cannot be turned off' }] });
        }
      }
    }
    return this.deps.database.transaction(async (tx) => {
      const [row] = await tx.select().from(notificationPreferences).where(eq(notificationPreferences.userId, userId)).for('update');
      const stored = { ...(row?.prefs ?? {}) };
      for (const [type, channels] of Object.entries(patch)) stored[type] = { ...(stored[type] ?? {}), ...channels };
      await tx
        .insert(notificationPreferences)
        .values({ userId, prefs: stored, updatedAt: new Date() })
        .onConflictDoUpdate({ target: notificationPreferences.userId, set: { prefs: stored, updatedAt: new Date() } });
      return mergePreferences(stored);
    });
  }

  // ---- delivery ----

  /** Apply the rules, store (or group) the notification and queue its other channels. Null when nothing is due. */
  async deliver(input: NotifyInput): Promise<StoredNotification | null> {
    if (input.actorId !== null && input.actorId === input.recipientId) return null;
    const people = await this.users.byIds(input.actorId ? [input.recipientId, input.actorId] : [input.recipientId]);
    const active = (id: string) => {
      const u = people.find((p) => p.id === id);
      return u !== undefined && effectiveState(u.state, u.suspendedUntil) === 'active';
    };
    if (!active(input.recipientId)) return null;
    if (input.actorId) {
      if (!active(input.actorId)) return null;
      const rel = (await relationsOf(this.db, input.recipientId, [input.actorId])).get(input.actorId);
      if (rel?.blocked || rel?.muted) return null;
    }
    if (input.subject && input.checkSubject !== false && !(await this.subjectVisible(input.recipientId, input.subject))) return null;
    const prefs = (await this.preferences(input.recipientId))[input.type];
    if (!prefs.inApp && !prefs.email && !prefs.push) return null;
    const stored = await this.deps.database.transaction((tx) => this.store(tx, input, prefs));
    if (!stored) return null;
    if (prefs.inApp) await this.publish(stored.row);
    return stored;
  }

  private async subjectVisible(viewerId: string, subject: { type: SubjectType; id: string }): Promise<boolean> {
    if (subject.type === 'post') return (await this.hydrator.visibleRow(this.db, viewerId, subject.id, 'direct')) !== undefined;
    if (subject.type === 'comment') return (await this.comments.visibleRow(this.db, viewerId, subject.id)) !== undefined;
    // Videos are the videos module's: its events reach only their owner or followers it chose.
    return true;
  }

  private async store(tx: Tx, input: NotifyInput, prefs: ChannelPrefs): Promise<StoredNotification | null> {
    const rule = TYPE_RULES[input.type];
    const now = new Date();
    const emailState = prefs.email && rule.lowPriority ? ('digest' as const) : null;
    if (input.groupKey && rule.groupWindowMs && input.actorId) {
      // Serialise deliveries into one group, so two likes at once end as one row with two actors.
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`notif:${input.recipientId}:${input.groupKey}`}, 0))`);
      const [open] = await tx
        .select()
        .from(notifications)
        .where(
          and(
            eq(notifications.recipientId, input.recipientId),
            eq(notifications.groupKey, input.groupKey),
            sql`${notifications.createdAt} > ${new Date(now.getTime() - rule.groupWindowMs)}`,
            isNull(notifications.readAt),
          ),
        )
        .orderBy(desc(notifications.createdAt))
        .limit(1);
      if (open) {
        const added = await tx.insert(notificationActors).values({ notificationId: open.id, actorId: input.actorId }).onConflictDoNothing().returning({ a: notificationActors.actorId });
        if (!added.length) return null;
        const actorIds = [input.actorId, ...open.actorIds.filter((a) => a !== input.actorId)].slice(0, LATEST_ACTORS);
        const [row] = await tx
          .update(notifications)
          .set({
            actorIds,
            actorCount: sql`${notifications.actorCount} + 1`,
            updatedAt: now,
            listed: open.listed || prefs.inApp,
            data: { ...open.data, ...(input.data ?? {}) },
            ...(emailState && open.emailState !== 'digest' ? { emailState } : {}),
          })
          .where(eq(notifications.id, open.id))
          .returning();
        return { row: row!, created: false, prefs };
      }
    }
    const id = uuidv7();
    const [row] = await tx
      .insert(notifications)
      .values({
        id,
        recipientId: input.recipientId,
        type: input.type,
        groupKey: input.groupKey && rule.groupWindowMs ? input.groupKey : null,
        dedupeKey: input.dedupeKey ?? null,
        subjectType: input.subject?.type ?? null,
        subjectId: input.subject?.id ?? null,
        actorIds: input.actorId ? [input.actorId] : [],
        actorCount: input.actorId ? 1 : 0,
        data: input.data ?? {},
        listed: prefs.inApp,
        emailState,
        createdAt: now,
        updatedAt: now,
      })
      .onConflictDoNothing()
      .returning();
    if (!row) return null;
    if (input.actorId) await tx.insert(notificationActors).values({ notificationId: id, actorId: input.actorId });
    if (prefs.push && this.deps.push.configured) await this.deps.jobs.send('notifications.push', { ids: [id] }, { tx });
    if (prefs.email && !rule.lowPriority) await this.deps.jobs.send('notifications.email', { id }, { tx });
    return { row, created: true, prefs };
  }

  /** The fast path: the recipient's open sockets, on whichever process they are. */
  async publish(row: NotificationRow): Promise<void> {
    const [shown] = await this.presentRows(row.recipientId, [row]);
    if (shown) await publishRealtime(this.deps, userChannel(row.recipientId), { type: 'notification', data: shown });
  }

  // ---- reading ----

  async list(viewerId: string, q: { limit: number; cursor?: string | undefined; unread?: boolean | undefined }): Promise<{ items: PresentedNotification[]; nextCursor: string | null }> {
    const after = q.cursor ? decodeCursor(q.cursor) : undefined;
    const rows = await this.db
      .select()
      .from(notifications)
      .where(
        and(
          eq(notifications.recipientId, viewerId),
          eq(notifications.listed, true),
          q.unread ? isNull(notifications.readAt) : undefined,
          after ? or(lt(notifications.updatedAt, after.at), and(eq(notifications.updatedAt, after.at), lt(notifications.id, after.id))) : undefined,
        ),
      )
      .orderBy(desc(notifications.updatedAt), desc(notifications.id))
      .limit(q.limit + 1);
    const page = rows.slice(0, q.limit);
    const items = await this.presentRows(viewerId, page);
    return { items, nextCursor: rows.length > q.limit ? encodeCursor(page[page.length - 1]!) : null };
  }

  /**
   * Hydrate and filter rows for their recipient, as every read path does: actors the viewer
   * blocked, was blocked by or muted are dropped (a row with no actor left is dropped), and so is
   * a row whose subject the viewer can no longer see.
   */
  async presentRows(viewerId: string, rows: NotificationRow[]): Promise<PresentedNotification[]> {
    if (rows.length === 0) return [];
    const actorIds = [...new Set(rows.flatMap((r) => r.actorIds))];
    const [actorRows, relations] = await Promise.all([this.users.byIds(actorIds), relationsOf(this.db, viewerId, actorIds)]);
    const ttl = this.deps.config.signedUrlTtlSeconds;
    const shown = new Map<string, PublicUser>();
    await Promise.all(
      actorRows.map(async (u) => {
        const rel = relations.get(u.id);
        if (effectiveState(u.state, u.suspendedUntil) !== 'active' || rel?.blocked || rel?.muted) return;
        shown.set(u.id, await presentPublic(u, this.deps.storage, ttl));
      }),
    );
    const checked = rows.filter((r) => r.type !== 'moderation' && r.subjectId);
    const postIds = checked.filter((r) => r.subjectType === 'post').map((r) => r.subjectId!);
    const visiblePosts = postIds.length ? new Set((await this.hydrator.present(viewerId, postIds, 'direct')).keys()) : new Set<string>();
    const visibleComments = new Set<string>();
    for (const r of checked) {
      if (r.subjectType === 'comment' && !visibleComments.has(r.subjectId!) && (await this.comments.visibleRow(this.db, viewerId, r.subjectId!))) visibleComments.add(r.subjectId!);
    }
    const out: PresentedNotification[] = [];
    for (const r of rows) {
      const actors = r.actorIds.map((id) => shown.get(id)).filter((a): a is PublicUser => a !== undefined);
      if (r.actorIds.length > 0 && actors.length === 0) continue;
      if (r.type !== 'moderation' && r.subjectType === 'post' && r.subjectId && !visiblePosts.has(r.subjectId)) continue;
      if (r.type !== 'moderation' && r.subjectType === 'comment' && r.subjectId && !visibleComments.has(r.subjectId)) continue;
      out.push(presentNotification(r, actors));
    }
    return out;
  }

  /**
   * Unread notifications as the list shows them: the same read-time rules (blocked, muted or
   * inactive actors, subjects the viewer can no longer see) drop rows from the count too, so the
   * badge never promises a row the list then hides. Exact up to UNREAD_COUNT_CAP; past that (or
   * past UNREAD_SCAN_MAX stored rows) `more` is true and the count is a lower bound ("99+").
   */
  async unreadCount(userId: string): Promise<{ count: number; more: boolean }> {
    let count = 0;
    let after: NotificationRow | undefined;
    for (let scanned = 0; scanned < UNREAD_SCAN_MAX; ) {
      const rows = await this.db
        .select()
        .from(notifications)
        .where(
          and(
            eq(notifications.recipientId, userId),
            eq(notifications.listed, true),
            isNull(notifications.readAt),
            after ? or(lt(notifications.updatedAt, after.updatedAt), and(eq(notifications.updatedAt, after.updatedAt), lt(notifications.id, after.id))) : undefined,
          ),
        )
        .orderBy(desc(notifications.updatedAt), desc(notifications.id))
        .limit(UNREAD_SCAN_PAGE);
      count += (await this.presentRows(userId, rows)).length;
      if (count > UNREAD_COUNT_CAP) return { count: UNREAD_COUNT_CAP, more: true };
      if (rows.length < UNREAD_SCAN_PAGE) return { count, more: false };
      scanned += rows.length;
      after = rows[rows.length - 1];
    }
    return { count, more: true };
  }

  /** Someone else's notification answers 404, as if it did not exist. */
  async markRead(userId: string, id: string): Promise<void> {
    const [row] = await this.db
      .select({ id: notifications.id, readAt: notifications.readAt })
      .from(notifications)
      .where(and(eq(notifications.id, id), eq(notifications.recipientId, userId), eq(notifications.listed, true)));
    if (!row) throw notificationNotFound();
    if (row.readAt === null) await this.db.update(notifications).set({ readAt: new Date() }).where(eq(notifications.id, id));
  }

  async markAllRead(userId: string): Promise<number> {
    const done = await this.db
      .update(notifications)
      .set({ readAt: new Date() })
      .where(and(eq(notifications.recipientId, userId), isNull(notifications.readAt)))
      .returning({ id: notifications.id });
    return done.length;
  }

  // ---- clean-up ----

  /** Deleted content takes its notifications with it. */
  async removeBySubject(type: SubjectType, id: string): Promise<void> {
    await this.db.delete(notifications).where(and(eq(notifications.subjectType, type), eq(notifications.subjectId, id)));
  }

  /**
   * After a block, each side's notifications lose the other as an actor: grouped rows shrink,
   * rows with no other actor go.
   */
  async forgetBetween(a: string, b: string): Promise<void> {
    await this.deps.database.transaction(async (tx) => {
      for (const [recipient, actor] of [
        [a, b],
        [b, a],
      ] as const) {
        const rows = await tx
          .select()
          .from(notifications)
          .where(and(eq(notifications.recipientId, recipient), sql`${notifications.actorIds} @> ${JSON.stringify([actor])}::jsonb`));
        for (const r of rows) {
          if (r.actorCount <= 1) {
            await tx.delete(notifications).where(eq(notifications.id, r.id));
            continue;
          }
          await tx.delete(notificationActors).where(and(eq(notificationActors.notificationId, r.id), eq(notificationActors.actorId, actor)));
          const latest = await tx
            .select({ a: notificationActors.actorId })
            .from(notificationActors)
            .where(eq(notificationActors.notificationId, r.id))
            .orderBy(desc(notificationActors.createdAt))
            .limit(LATEST_ACTORS);
          await tx
            .update(notifications)
            .set({ actorIds: latest.map((l) => l.a), actorCount: sql`greatest(0, ${notifications.actorCount} - 1)` })
            .where(eq(notifications.id, r.id));
        }
      }
    });
  }
}

export const isNotificationType = (t: string): t is NotificationType => (NOTIFICATION_TYPES as readonly string[]).includes(t);
