import { createHmac, timingSafeEqual } from 'node:crypto';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import type { Deps } from '../../platform/deps.js';
import { AppError, badRequest } from '../../platform/errors.js';
import { job, type JobDefinition } from '../../platform/jobs/index.js';
import type { UsersService } from '../users/service.js';
import type { PresentedNotification } from './present.js';
import { renderEmail } from './render.js';
import type { NotificationsService } from './service.js';
import { emailUnsubscribes, notifications } from './tables.js';
import { LOCKED, NOTIFICATION_TYPES, TYPE_RULES, type NotificationType } from './types.js';

declare module '../../platform/jobs/index.js' {
  interface JobPayloads {
    /** One notification emailed on its own (types that are not low priority). */
    'notifications.email': { id: string };
    /** Every minute: hand users whose oldest waiting low-priority notification is due to a digest job. */
    'notifications.digest-scan': Record<string, never>;
    'notifications.digest': { userId: string; ids: string[] };
  }
}

/** The digest's scope: every low-priority type at once. */
export const DIGEST_SCOPE = 'digest';
const LOW_PRIORITY = NOTIFICATION_TYPES.filter((t) => TYPE_RULES[t].lowPriority);
const SCAN_USERS = 500;

const sign = (secret: string, id: string) => createHmac('sha256', secret).update(`email-unsubscribe:${id}`).digest('base64url');

/** The link's token: the unsubscribe row's id and an HMAC of it under SECRET_KEY. */
export function unsubscribeToken(secret: string, id: string): string {
  return `${id}.${sign(secret, id)}`;
}

const forged = () => badRequest('notifications.unsubscribe_invalid', 'this unsubscribe link is not valid', { errors: [{ field: 'token', message: 'is not valid' }] });

/**
 * Emails: one per notification for the types that matter, a digest for the rest. Each carries a
 * List-Unsubscribe header with a signed one-click link (RFC 8058) that works once.
 */
export class NotificationEmails {
  constructor(
    private readonly deps: Deps,
    private readonly users: UsersService,
    private readonly notifications: NotificationsService,
  ) {}

  private get db() {
    return this.deps.database.db;
  }

  private async unsubscribeUrl(userId: string, scope: string): Promise<string> {
    const id = uuidv7();
    await this.db.insert(emailUnsubscribes).values({ id, userId, scope });
    return `${this.deps.config.publicUrl}/api/v1/notifications/unsubscribe?token=${unsubscribeToken(this.deps.config.secretKey, id)}`;
  }

  private async send(userId: string, subject: string, heading: string, items: PresentedNotification[], scope: string, what: string): Promise<boolean> {
    const [user] = await this.users.byIds([userId]);
    // Only confirmed addresses get notification email: an unconfirmed one may be someone else's.
    if (!user?.email || !user.emailVerifiedAt || user.state !== 'active') return false;
    const app = this.deps.config.appUrl;
    const unsubscribeUrl = await this.unsubscribeUrl(userId, scope);
    const body = renderEmail({ heading, items: items.map((n) => ({ text: n.text, url: app + n.url })), unsubscribeUrl, unsubscribeWhat: what, settingsUrl: `${app}/settings/notifications` });
    const sent = await this.deps.mailer.send({
      to: user.email,
      subject,
      text: body.text,
      html: body.html,
      headers: { 'List-Unsubscribe': `<${unsubscribeUrl}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
    });
    this.deps.logger.info({ messageId: sent.messageId, scope }, 'notification email sent');
    return true;
  }

  /** One notification's email; preferences and rules are checked again at sending time. */
  async sendOne(id: string): Promise<void> {
    const [row] = await this.db.select().from(notifications).where(eq(notifications.id, id));
    if (!row || row.emailState === 'sent') return;
    const prefs = await this.notifications.preferences(row.recipientId);
    if (!prefs[row.type].email) return;
    const [shown] = await this.notifications.presentRows(row.recipientId, [row]);
    if (!shown) return;
    await this.send(row.recipientId, shown.text, shown.text, [shown], row.type, `${row.type.replace(/_/g, ' ')} notifications`);
    await this.db.update(notifications).set({ emailState: 'sent' }).where(eq(notifications.id, id));
  }

  /** Claim the waiting rows of users whose oldest one is due, one digest job per user. */
  async scan(now = new Date()): Promise<number> {
    const cutoff = new Date(now.getTime() - this.deps.config.notifications.digestMinutes * 60_000);
    const due = await this.db
      .select({ userId: notifications.recipientId })
      .from(notifications)
      .where(eq(notifications.emailState, 'digest'))
      .groupBy(notifications.recipientId)
      .having(sql`min(${notifications.createdAt}) <= ${cutoff}`)
      .limit(SCAN_USERS);
    for (const { userId } of due) {
      await this.deps.database.transaction(async (tx) => {
        const claimed = await tx
          .update(notifications)
          .set({ emailState: 'queued' })
          .where(and(eq(notifications.recipientId, userId), eq(notifications.emailState, 'digest')))
          .returning({ id: notifications.id });
        if (claimed.length) await this.deps.jobs.send('notifications.digest', { userId, ids: claimed.map((c) => c.id) }, { tx });
      });
    }
    return due.length;
  }

  async sendDigest(userId: string, ids: string[]): Promise<void> {
    const rows = await this.db
      .select()
      .from(notifications)
      .where(and(inArray(notifications.id, ids), eq(notifications.recipientId, userId), eq(notifications.emailState, 'queued')));
    if (rows.length === 0) return;
    const prefs = await this.notifications.preferences(userId);
    const wanted = rows.filter((r) => prefs[r.type].email).sort((a, b) => b.updatedAt.getTime() - a.updatedAt.getTime());
    const shown = await this.notifications.presentRows(userId, wanted);
    if (shown.length) {
      const subject = shown.length === 1 ? shown[0]!.text : `${shown.length} new notifications: ${shown[0]!.text}`;
      await this.send(userId, subject, 'What you missed', shown, DIGEST_SCOPE, 'notification digests');
    }
    await this.db.update(notifications).set({ emailState: 'sent' }).where(inArray(notifications.id, rows.map((r) => r.id)));
  }

  /**
   * Use an unsubscribe link: once only, and only with a signature made with SECRET_KEY. Turns the
   * email channel off for the link's type (or every digest type); locked channels stay on.
   */
  async unsubscribe(token: string): Promise<{ types: NotificationType[] }> {
    const m = /^([0-9a-f-]{36})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!m) throw forged();
    const [, id, mac] = m as unknown as [string, string, string];
    const expected = Buffer.from(sign(this.deps.config.secretKey, id));
    if (!timingSafeEqual(expected, Buffer.from(mac))) throw forged();
    const row = await this.deps.database.transaction(async (tx) => {
      const [r] = await tx.select().from(emailUnsubscribes).where(eq(emailUnsubscribes.id, id)).for('update');
      if (!r) throw forged();
      if (r.usedAt) throw new AppError(410, 'notifications.unsubscribe_used', 'this unsubscribe link was already used; change email settings in the app');
      await tx.update(emailUnsubscribes).set({ usedAt: new Date() }).where(eq(emailUnsubscribes.id, id));
      return r;
    });
    const types = (row.scope === DIGEST_SCOPE ? LOW_PRIORITY : NOTIFICATION_TYPES.filter((t) => t === row.scope)).filter((t) => !LOCKED[t]?.includes('email'));
    await this.notifications.updatePreferences(row.userId, Object.fromEntries(types.map((t) => [t, { email: false }])));
    return { types };
  }
}

export function emailJobs(emails: NotificationEmails): JobDefinition[] {
  return [
    job({ name: 'notifications.email', retryLimit: 8, retryDelaySeconds: 10, handler: async (data) => emails.sendOne(data.id) }),
    job({
      name: 'notifications.digest-scan',
      cron: '* * * * *',
      scheduleData: {},
      retryLimit: 0,
      handler: async () => {
        await emails.scan();
      },
    }),
    job({ name: 'notifications.digest', retryLimit: 8, retryDelaySeconds: 10, handler: async (data) => emails.sendDigest(data.userId, data.ids) }),
  ];
}
