import { and, asc, eq, inArray } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import type { Deps } from '../../platform/deps.js';
import { badRequest, notFound } from '../../platform/errors.js';
import { job, type JobDefinition } from '../../platform/jobs/index.js';
import { PushError } from '../../platform/push/index.js';
import type { NotificationsService } from './service.js';
import { notifications, pushSubscriptions, type PushSubscriptionRow } from './tables.js';

declare module '../../platform/jobs/index.js' {
  interface JobPayloads {
    /** Web push for these notifications, to every subscription of their recipients. */
    'notifications.push': { ids: string[] };
  }
}

/** Browsers of one account kept at most; a new one pushes out the oldest. */
export const MAX_SUBSCRIPTIONS = 10;

export interface PresentedSubscription {
  id: string;
  endpoint: string;
  createdAt: string;
  lastSuccessAt: string | null;
}

const present = (s: PushSubscriptionRow): PresentedSubscription => ({
  id: s.id,
  endpoint: s.endpoint,
  createdAt: s.createdAt.toISOString(),
  lastSuccessAt: s.lastSuccessAt?.toISOString() ?? null,
});

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
const invalid = (field: string, message: string) => badRequest('notifications.invalid_subscription', `${field} ${message}`, { errors: [{ field, message }] });

/**
 * Web push subscriptions and delivery. The server POSTs to whatever endpoint a client registers,
 * so endpoints must be https (plain http only to loopback outside production, for local push
 * services in development and tests).
 */
export class PushService {
  constructor(
    private readonly deps: Deps,
    private readonly notifications: NotificationsService,
  ) {}

  private get db() {
    return this.deps.database.db;
  }

  validate(input: { endpoint: string; keys: { p256dh: string; auth: string } }): void {
    let u: URL;
    try {
      u = new URL(input.endpoint);
    } catch {
      throw invalid('endpoint', 'is not a URL');
    }
    const localHttp = u.protocol === 'http:' && LOOPBACK.has(u.hostname) && this.deps.config.env !== 'production';
    if (u.protocol !== 'https:' && !localHttp) throw invalid('endpoint', 'must be an https URL of a push service');
    const key = Buffer.from(input.keys.p256dh, 'base64url');
    if (key.length !== 65 || key[0] !== 4) throw invalid('keys.p256dh', 'is not an uncompressed P-256 public key (65 bytes, base64url)');
    if (Buffer.from(input.keys.auth, 'base64url').length !== 16) throw invalid('keys.auth', 'is not a 16-byte secret (base64url)');
  }

  /** Register (or move to this account) a browser's subscription; the endpoint identifies it. */
  async register(userId: string, input: { endpoint: string; keys: { p256dh: string; auth: string } }, userAgent: string | undefined): Promise<PresentedSubscription> {
    this.validate(input);
    return this.deps.database.transaction(async (tx) => {
      const values = { userId, p256dh: input.keys.p256dh, auth: input.keys.auth, userAgent: userAgent?.slice(0, 300) ?? null };
      const [row] = await tx
        .insert(pushSubscriptions)
        .values({ id: uuidv7(), endpoint: input.endpoint, ...values })
        .onConflictDoUpdate({ target: pushSubscriptions.endpoint, set: values })
        .returning();
      const all = await tx.select({ id: pushSubscriptions.id }).from(pushSubscriptions).where(eq(pushSubscriptions.userId, userId)).orderBy(asc(pushSubscriptions.createdAt));
      const extra = all.slice(0, Math.max(0, all.length - MAX_SUBSCRIPTIONS)).map((s) => s.id);
      if (extra.length) await tx.delete(pushSubscriptions).where(inArray(pushSubscriptions.id, extra));
      return present(row!);
    });
  }

  async list(userId: string): Promise<PresentedSubscription[]> {
    const rows = await this.db.select().from(pushSubscriptions).where(eq(pushSubscriptions.userId, userId)).orderBy(asc(pushSubscriptions.createdAt));
    return rows.map(present);
  }

  async remove(userId: string, id: string): Promise<void> {
    const gone = await this.db
      .delete(pushSubscriptions)
      .where(and(eq(pushSubscriptions.id, id), eq(pushSubscriptions.userId, userId)))
      .returning({ id: pushSubscriptions.id });
    if (!gone.length) throw notFound('notifications.subscription_not_found', 'no such push subscription');
  }

  /**
   * Send each notification to its recipient's browsers. A 404/410 from the push service means
   * the browser dropped the subscription: it is deleted. Other failures are thrown after every
   * subscription was tried, so the job queue retries.
   */
  async deliver(ids: string[]): Promise<{ sent: number; removed: number }> {
    if (!this.deps.push.configured || ids.length === 0) return { sent: 0, removed: 0 };
    const rows = await this.db.select().from(notifications).where(inArray(notifications.id, ids));
    const byRecipient = new Map<string, typeof rows>();
    for (const r of rows) byRecipient.set(r.recipientId, [...(byRecipient.get(r.recipientId) ?? []), r]);
    const subs = byRecipient.size
      ? await this.db.select().from(pushSubscriptions).where(inArray(pushSubscriptions.userId, [...byRecipient.keys()]))
      : [];
    let sent = 0;
    let removed = 0;
    const failures: Error[] = [];
    for (const [recipientId, list] of byRecipient) {
      const mine = subs.filter((s) => s.userId === recipientId);
      if (!mine.length) continue;
      const prefs = await this.notifications.preferences(recipientId);
      const shown = await this.notifications.presentRows(
        recipientId,
        list.filter((r) => prefs[r.type].push),
      );
      for (const n of shown) {
        const payload = JSON.stringify({ type: 'notification', data: { id: n.id, type: n.type, text: n.text, url: n.url, createdAt: n.createdAt } });
        for (const s of [...mine]) {
          try {
            const res = await this.deps.push.send({ endpoint: s.endpoint, keys: { p256dh: s.p256dh, auth: s.auth } }, payload, { topic: n.id.replace(/-/g, '').slice(0, 32), urgency: 'normal' });
            if (res.ok) {
              sent += 1;
              await this.db.update(pushSubscriptions).set({ lastSuccessAt: new Date() }).where(eq(pushSubscriptions.id, s.id));
            } else {
              removed += 1;
              await this.db.delete(pushSubscriptions).where(eq(pushSubscriptions.id, s.id));
              mine.splice(mine.indexOf(s), 1);
            }
          } catch (err) {
            failures.push(err instanceof Error ? err : new PushError(0, String(err)));
          }
        }
      }
    }
    if (failures.length) throw failures[0]!;
    return { sent, removed };
  }
}

export function pushJobs(push: PushService): JobDefinition[] {
  return [
    job({
      name: 'notifications.push',
      retryLimit: 5,
      retryDelaySeconds: 15,
      handler: async (data) => {
        await push.deliver(data.ids);
      },
    }),
  ];
}
