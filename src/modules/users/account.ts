import { and, asc, eq, gt, isNotNull, lte } from 'drizzle-orm';
import type { Deps } from '../../platform/deps.js';
import { AppError, badRequest, unauthorized } from '../../platform/errors.js';
import { verifyPassword } from '../auth/crypto.js';
import { RULES, type ThrottleKey } from '../auth/throttle.js';
import { servicesFor } from '../services.js';
import { users, type UserRow } from './tables.js';

const DAY_MS = 86_400_000;
const PURGE_BATCH = 100;

/**
 * The name a purged account keeps. The whole id, not a prefix: UUIDv7 ids begin with a
 * timestamp, so the first characters of accounts made close together are the same. Longer than
 * any name registration accepts (30), so nobody can take it first and make the purge fail.
 */
export const tombstoneUsername = (id: string) => `deleted_${id.replace(/-/g, '')}`;

/** Deactivation and deletion by the account's owner. */
export class AccountLifecycle {
  constructor(private readonly deps: Deps) {}

  private async load(userId: string): Promise<UserRow> {
    const [u] = await this.deps.database.db.select().from(users).where(eq(users.id, userId));
    if (!u) throw unauthorized('auth.required', 'sign in again');
    return u;
  }

  /**
   * A stolen access token alone must not be enough to end an account: the password is asked again
   * when there is one. Wrong guesses count against the same limits as sign-in, or this would be a
   * way around them.
   */
  private async confirmPassword(u: UserRow, password: string | undefined, ip: string): Promise<void> {
    if (!u.passwordHash) return;
    if (password === undefined || password === '') {
      throw badRequest('account.password_required', 'enter your password to confirm', { errors: [{ field: 'password', message: 'is required' }] });
    }
    const { throttle } = servicesFor(this.deps).auth;
    const keys: ThrottleKey[] = [
      { rule: RULES.loginAccount, key: `login:${u.username.toLowerCase()}` },
      { rule: RULES.loginIp, key: `login-ip:${ip}` },
    ];
    await throttle.check(keys);
    if (!(await verifyPassword(u.passwordHash, password))) {
      await throttle.fail(keys);
      throw new AppError(403, 'auth.wrong_password', 'the password is wrong');
    }
  }

  /** Change the account's state and end every session in one transaction, so neither happens alone. */
  private async endAccess(userId: string, set: Partial<typeof users.$inferInsert>, reason: string): Promise<void> {
    const s = servicesFor(this.deps);
    await this.deps.database.transaction(async (tx) => {
      await tx.update(users).set(set).where(eq(users.id, userId));
      await s.auth.revokeAllSessions(userId, reason, undefined, tx);
    });
    // After the commit: a request between the cache drop and the commit could have cached the old state.
    await s.sessionState.forgetAccount(userId);
  }

  /** Hide the profile and sign out everywhere; signing in again brings the account back. */
  async deactivate(userId: string, password: string | undefined, ip: string): Promise<void> {
    const u = await this.load(userId);
    await this.confirmPassword(u, password, ip);
    const now = new Date();
    await this.endAccess(userId, { state: 'deactivated', deactivatedAt: now, updatedAt: now }, 'account_deactivated');
  }

  /**
   * Close the account now and erase its personal data after the grace period (the purge job).
   * Until then the row, name and address stay reserved, so an operator can still restore it.
   */
  async delete(userId: string, input: { password?: string | undefined; confirm: string }, ip: string): Promise<{ purgeAfter: Date }> {
    const u = await this.load(userId);
    // Checked first and exactly: a typed name is a deliberate act, a mistaken one changes nothing.
    if (input.confirm.trim().toLowerCase() !== u.username.toLowerCase()) {
      throw badRequest('account.confirm_mismatch', 'type your username in `confirm` to delete the account', { errors: [{ field: 'confirm', message: 'must be your username' }] });
    }
    await this.confirmPassword(u, input.password, ip);
    const now = new Date();
    const purgeAfter = new Date(now.getTime() + this.deps.config.auth.accountPurgeGraceDays * DAY_MS);
    await this.endAccess(userId, { state: 'deleted', deletedAt: now, purgeAfter, deactivatedAt: null, updatedAt: now }, 'account_deleted');
    this.deps.logger.info({ userId, purgeAfter }, 'account deleted by its owner');
    return { purgeAfter };
  }
}

/**
 * Erase the personal data of one deleted account. The row stays (a tombstone) so everything that
 * refers to it keeps working; what identifies or reaches the person goes. Returns false when the
 * account is not (or no longer) due.
 */
async function purgeOne(deps: Deps, userId: string, now: Date): Promise<boolean> {
  const due = await deps.database.transaction(async (tx) => {
    const [u] = await tx
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.id, userId), eq(users.state, 'deleted'), lte(users.purgeAfter, now)))
      .for('update');
    if (!u) return false;
    await tx
      .update(users)
      .set({
        username: tombstoneUsername(userId),
        email: null,
        emailVerifiedAt: null,
        passwordHash: null,
        displayName: null,
        bio: null,
        links: [],
        avatar: null,
        banner: null,
        totpSecret: null,
        totpEnabledAt: null,
        updatedAt: now,
      })
      .where(eq(users.id, userId));
    await servicesFor(deps).auth.forgetUser(userId, tx);
    return true;
  });
  if (!due) return false;
  // Files last, and the account only leaves the queue once they are gone: if the store fails, the
  // next run erases again (a no-op for the row) and retries the files.
  await deps.storage.deletePrefix(`users/${userId}/`);
  await deps.database.db.update(users).set({ purgeAfter: null }).where(eq(users.id, userId));
  await servicesFor(deps).sessionState.forgetAccount(userId);
  return true;
}

/**
 * Erase every deleted account whose grace period is over. Safe to run again or concurrently: an
 * account is locked while erased and leaves the queue once done. Returns how many were purged.
 */
export async function purgeDeletedAccounts(deps: Deps, now: Date = new Date()): Promise<number> {
  const db = deps.database.db;
  let purged = 0;
  let failed = 0;
  // Keyset over ids, so an account that keeps failing is tried once per run, not forever.
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const batch = await db
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.state, 'deleted'), isNotNull(users.purgeAfter), lte(users.purgeAfter, now), gt(users.id, after)))
      .orderBy(asc(users.id))
      .limit(PURGE_BATCH);
    for (const { id } of batch) {
      try {
        if (await purgeOne(deps, id, now)) purged++;
      } catch (err) {
        failed++;
        deps.logger.error({ err, userId: id }, 'could not purge a deleted account');
      }
    }
    if (batch.length < PURGE_BATCH) break;
    after = batch[batch.length - 1]!.id;
  }
  if (purged) deps.logger.info({ purged }, 'purged deleted accounts');
  // Failing the job makes pg-boss retry it; the accounts already done are not touched again.
  if (failed) throw new Error(`${failed} deleted account(s) could not be purged`);
  return purged;
}
