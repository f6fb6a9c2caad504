import { and, desc, eq, lt, or, sql, type SQL } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import type { Deps } from '../../platform/deps.js';
import type { Tx } from '../../platform/db/index.js';
import { badRequest, conflict, forbidden, notFound } from '../../platform/errors.js';
import { hashPassword } from '../auth/crypto.js';
import { assertStrongPassword } from '../auth/password-strength.js';
import { ROLE_RANK } from '../auth/permissions.js';
import { normaliseEmail, USERNAME_PATTERN } from '../auth/service.js';
import { effectiveState } from '../auth/session-state.js';
import { servicesFor } from '../services.js';
import { users, type AccountState, type Role, type UserRow } from '../users/tables.js';
import { readAudit, recordAudit, type AuditQuery } from './audit.js';
import { decodeCursor, encodeCursor } from './cursor.js';

/** Who is acting: the signed-in staff member (role as the guard saw it on this request). */
export interface Actor {
  userId: string;
  role: Role;
}

export interface ListUsersQuery {
  /** Username, email or display-name prefix; names also match with typos (trigram similarity). */
  q?: string;
  role?: Role;
  state?: AccountState;
  limit: number;
  cursor?: string;
}

export const REASON_MAX_LENGTH = 500;

/**
 * word_similarity of the query against the best-matching stretch of a name: 0.5 finds one-letter
 * slips in a name of 8+ characters ("margerita" -> "margarita_ruiz" scores 0.54) without letting
 * unrelated three-letter queries match half the table.
 */
const NAME_SIMILARITY = 0.5;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

const escapeLike = (s: string) => s.replace(/[\\%_]/g, '\\$&');
const uniqueViolation = (err: unknown, index: string) => new RegExp(index).test(String((err as Error).message) + String((err as { cause?: Error }).cause?.message));

/**
 * The reason is shown to the account owner (a suspended login answers with it) and kept in the
 * audit log, so it must say something and fit on one line.
 */
function checkReason(reason: string): string {
  const r = reason.trim();
  if (!r) throw badRequest('admin.reason_required', 'reason must say why (it is kept in the audit log)', { errors: [{ field: 'reason', message: 'must not be blank' }] });
  if (r.length > REASON_MAX_LENGTH) throw badRequest('admin.reason_too_long', `reason must be at most ${REASON_MAX_LENGTH} characters`, { errors: [{ field: 'reason', message: `must be at most ${REASON_MAX_LENGTH} characters` }] });
  if (CONTROL.test(r)) throw badRequest('admin.invalid_reason', 'reason must be one line of text without control characters', { errors: [{ field: 'reason', message: 'contains line breaks or control characters' }] });
  return r;
}

/** States as people mean them: a suspension whose end has passed counts as active. */
function stateCondition(state: AccountState, now: Date): SQL | undefined {
  if (state === 'suspended') return and(eq(users.state, 'suspended'), or(sql`${users.suspendedUntil} is null`, sql`${users.suspendedUntil} > ${now}`));
  if (state === 'active') return or(eq(users.state, 'active'), and(eq(users.state, 'suspended'), sql`${users.suspendedUntil} <= ${now}`));
  return eq(users.state, state);
}

function searchCondition(q: string): SQL | undefined {
  const term = q.trim().toLowerCase();
  if (!term) return undefined;
  const prefix = `${escapeLike(term)}%`;
  const parts: SQL[] = [
    sql`lower(${users.username}) like ${prefix}`,
    sql`lower(${users.email}) like ${prefix}`,
    sql`lower(${users.displayName}) like ${prefix}`,
    sql`word_similarity(${term}, lower(${users.username})) >= ${NAME_SIMILARITY}`,
    sql`word_similarity(${term}, lower(coalesce(${users.displayName}, ''))) >= ${NAME_SIMILARITY}`,
  ];
  // Staff paste ids from logs and reports.
  if (UUID.test(term)) parts.push(eq(users.id, term));
  return or(...parts);
}

/**
 * Staff actions on accounts. Each change and its audit row share one transaction; caches that
 * the auth guard reads are dropped after the commit, so the change applies to the next request.
 */
export class AdminService {
  constructor(private readonly deps: Deps) {}

  private get db() {
    return this.deps.database.db;
  }

  private get services() {
    return servicesFor(this.deps);
  }

  /**
   * Newest accounts first, keyset-paginated on the id (UUIDv7, so creation order). Search results
   * keep that order rather than a relevance order: a relevance score is not a stable key, and
   * pages must neither repeat nor skip an account.
   */
  async listUsers(query: ListUsersQuery): Promise<{ items: UserRow[]; nextCursor: string | null }> {
    const where: (SQL | undefined)[] = [];
    if (query.q !== undefined) where.push(searchCondition(query.q));
    if (query.role) where.push(eq(users.role, query.role));
    if (query.state) where.push(stateCondition(query.state, new Date()));
    if (query.cursor) where.push(lt(users.id, decodeCursor(query.cursor)));
    const rows = await this.db
      .select()
      .from(users)
      .where(and(...where))
      .orderBy(desc(users.id))
      .limit(query.limit + 1);
    const items = rows.slice(0, query.limit);
    return { items, nextCursor: rows.length > query.limit ? encodeCursor(items[items.length - 1]!.id) : null };
  }

  async getUser(id: string): Promise<UserRow> {
    const [u] = await this.db.select().from(users).where(eq(users.id, id));
    if (!u) throw notFound('users.not_found', 'no such user');
    return u;
  }

  /** The row, locked until the transaction ends, so two staff acting at once take turns. */
  private async lockTarget(tx: Tx, id: string): Promise<UserRow> {
    const [u] = await tx.select().from(users).where(eq(users.id, id)).for('update');
    if (!u) throw notFound('users.not_found', 'no such user');
    if (u.state === 'deleted') throw conflict('admin.account_deleted', 'this account is deleted; there is nothing to change');
    return u;
  }

  /** Staff act only on accounts ranked below them: a moderator cannot silence a moderator or an admin. */
  private assertOutranks(actor: Actor, target: UserRow, verb: string): void {
    if (actor.userId === target.id) throw forbidden('admin.cannot_act_on_self', `you cannot ${verb} your own account`);
    if (ROLE_RANK[actor.role] <= ROLE_RANK[target.role]) {
      throw forbidden('admin.insufficient_rank', `a ${actor.role} cannot ${verb} a ${target.role}`);
    }
  }

  async setRole(actor: Actor, targetId: string, role: Role, reasonInput: string): Promise<UserRow> {
    const reason = checkReason(reasonInput);
    const result = await this.deps.database.transaction(async (tx) => {
      // Every admin row is locked first, in id order: two admins demoting each other at once queue
      // up instead of deadlocking, and the count below cannot change before this commits.
      const admins = await tx
        .select({ id: users.id, state: users.state, suspendedUntil: users.suspendedUntil })
        .from(users)
        .where(eq(users.role, 'admin'))
        .orderBy(users.id)
        .for('update');
      const target = await this.lockTarget(tx, targetId);
      if (target.role === role) return { user: target, changed: false };
      if (target.role === 'admin') {
        // Deactivated admins count (signing in reactivates them); suspended and deleted ones cannot act.
        const others = admins.filter((a) => a.id !== target.id && ['active', 'deactivated'].includes(effectiveState(a.state, a.suspendedUntil)));
        if (others.length === 0) {
          throw conflict('admin.last_admin', 'this is the only admin who can sign in; make another account admin first, or nobody could administer the server');
        }
      }
      const [user] = await tx.update(users).set({ role, updatedAt: new Date() }).where(eq(users.id, target.id)).returning();
      await recordAudit(tx, { actorId: actor.userId, action: 'user.set_role', targetType: 'user', targetId: target.id, reason, details: { from: target.role, to: role } });
      return { user: user!, changed: true };
    });
    // The guard caches each account's role: drop it so the new role applies to the next request.
    if (result.changed) await this.services.sessionState.forgetAccount(targetId);
    return result.user;
  }

  async suspend(actor: Actor, targetId: string, input: { reason: string; until?: string }): Promise<UserRow> {
    const reason = checkReason(input.reason);
    let until: Date | null = null;
    if (input.until !== undefined) {
      until = new Date(input.until);
      if (Number.isNaN(until.getTime())) throw badRequest('admin.invalid_until', 'until must be an ISO 8601 date-time', { errors: [{ field: 'until', message: 'is not a date-time' }] });
      if (until.getTime() <= Date.now()) {
        throw badRequest('admin.until_in_past', 'until must be in the future (leave it out to suspend until restored)', { errors: [{ field: 'until', message: 'must be in the future' }] });
      }
    }
    const user = await this.deps.database.transaction((tx) => this.suspendIn(tx, actor, targetId, reason, until));
    // After the commit: a request reading the account before it would cache the old state again.
    await this.services.sessionState.forgetAccount(targetId);
    return user;
  }

  /**
   * The suspension inside the caller's transaction (moderation acts and records its decision in
   * the same one). The caller must call `forgetSuspendedAccount` after the commit.
   */
  async suspendIn(tx: Tx, actor: Actor, targetId: string, reasonInput: string, until: Date | null = null): Promise<UserRow> {
    const reason = checkReason(reasonInput);
    const target = await this.lockTarget(tx, targetId);
    this.assertOutranks(actor, target, 'suspend');
    const [updated] = await tx
      .update(users)
      .set({ state: 'suspended', suspendedReason: reason, suspendedUntil: until, updatedAt: new Date() })
      .where(eq(users.id, target.id))
      .returning();
    // Refresh tokens die with their sessions, so the account cannot mint new access tokens either.
    const revokedSessions = await this.services.auth.revokeAllSessions(target.id, 'suspended', undefined, tx);
    await recordAudit(tx, {
      actorId: actor.userId,
      action: 'user.suspend',
      targetType: 'user',
      targetId: target.id,
      reason,
      details: { until: until?.toISOString() ?? null, previousState: target.state, revokedSessions },
    });
    return updated!;
  }

  /** Drop the guard's cached account state after a suspension or restore committed elsewhere. */
  async forgetSuspendedAccount(targetId: string): Promise<void> {
    await this.services.sessionState.forgetAccount(targetId);
  }

  async restore(actor: Actor, targetId: string, reasonInput: string): Promise<UserRow> {
    const reason = checkReason(reasonInput);
    const user = await this.deps.database.transaction((tx) => this.restoreIn(tx, actor, targetId, reason));
    await this.services.sessionState.forgetAccount(targetId);
    return user;
  }

  /** The restore inside the caller's transaction; the caller calls `forgetSuspendedAccount` after the commit. */
  async restoreIn(tx: Tx, actor: Actor, targetId: string, reasonInput: string): Promise<UserRow> {
    const reason = checkReason(reasonInput);
    const target = await this.lockTarget(tx, targetId);
    this.assertOutranks(actor, target, 'restore');
    if (target.state !== 'suspended') throw conflict('admin.not_suspended', `this account is ${target.state}, not suspended`);
    const [updated] = await tx
      .update(users)
      .set({ state: 'active', suspendedReason: null, suspendedUntil: null, updatedAt: new Date() })
      .where(eq(users.id, target.id))
      .returning();
    await recordAudit(tx, {
      actorId: actor.userId,
      action: 'user.restore',
      targetType: 'user',
      targetId: target.id,
      reason,
      details: { suspendedReason: target.suspendedReason, suspendedUntil: target.suspendedUntil?.toISOString() ?? null },
    });
    return updated!;
  }

  /** A new token signing key; tokens signed by the old one keep working until they expire. */
  async rotateSigningKeys(actor: Actor | null, reason?: string): Promise<string> {
    const why = reason === undefined ? undefined : checkReason(reason);
    // SigningKeys.rotate commits its own transaction (it is also run by the scheduled rotation),
    // so the record follows it: a failed rotation leaves no record, a crash in between leaves a
    // new key without one, which the key table itself still shows.
    const kid = await this.services.keys.rotate();
    await recordAudit(this.db, { actorId: actor?.userId ?? null, action: 'keys.rotate', targetType: 'signing_key', targetId: kid, reason: why });
    return kid;
  }

  readAudit(query: AuditQuery) {
    return readAudit(this.db, query);
  }

  /**
   * The first admin, from the server's shell (`social-flow admin create`). An existing account
   * named by both its username and its email is promoted instead, so the command is also how an
   * operator recovers when no admin can sign in.
   */
  async createAdmin(input: { email: string; username: string; password: string }): Promise<{ user: UserRow; outcome: 'created' | 'promoted' | 'unchanged' }> {
    const email = normaliseEmail(input.email);
    const username = input.username.trim();
    if (!new RegExp(USERNAME_PATTERN).test(username)) throw badRequest('auth.invalid_username', 'username must be 3-30 letters, digits or _');
    if (email.length > 254 || !EMAIL.test(email)) throw badRequest('auth.invalid_email', `"${email}" is not an email address`);

    const [byName] = await this.db.select().from(users).where(sql`lower(${users.username}) = ${username.toLowerCase()}`);
    const [byEmail] = await this.db.select().from(users).where(sql`lower(${users.email}) = ${email}`);
    if (byName || byEmail) {
      // Both must point at the same account: a typo in one of them must not promote a stranger.
      if (!byName || !byEmail || byName.id !== byEmail.id) {
        const why = byName && byEmail ? `username ${username} and email ${email} belong to two different accounts` : byName ? `username ${username} is taken by an account with another email; pass that account's email to promote it` : `email ${email} belongs to an account with another username; pass that account's username to promote it`;
        throw conflict('admin.identity_mismatch', why);
      }
      if (byName.state === 'deleted') throw conflict('admin.account_deleted', `the account ${username} is deleted`);
      if (byName.role === 'admin') return { user: byName, outcome: 'unchanged' };
      const user = await this.deps.database.transaction(async (tx) => {
        const target = await this.lockTarget(tx, byName.id);
        const [updated] = await tx.update(users).set({ role: 'admin', updatedAt: new Date() }).where(eq(users.id, target.id)).returning();
        await recordAudit(tx, { actorId: null, action: 'admin.create', targetType: 'user', targetId: target.id, reason: 'social-flow admin create', details: { promoted: true, from: target.role } });
        return updated!;
      });
      await this.services.sessionState.forgetAccount(user.id);
      return { user, outcome: 'promoted' };
    }

    await assertStrongPassword(input.password, [username, email, email.split('@')[0] ?? '']);
    const passwordHash = await hashPassword(input.password, this.deps.config.auth.argon2);
    try {
      const user = await this.deps.database.transaction(async (tx) => {
        const id = uuidv7();
        // The operator vouches for the address: there is nobody to click a link before the first sign-in.
        const [created] = await tx.insert(users).values({ id, username, email, passwordHash, role: 'admin', emailVerifiedAt: new Date() }).returning();
        await recordAudit(tx, { actorId: null, action: 'admin.create', targetType: 'user', targetId: id, reason: 'social-flow admin create', details: { promoted: false } });
        return created!;
      });
      return { user, outcome: 'created' };
    } catch (err) {
      // Someone registered the name or address between the check and the insert.
      if (uniqueViolation(err, 'users_username_lower_idx')) throw conflict('auth.username_taken', `username ${username} was just taken; run the command again`);
      if (uniqueViolation(err, 'users_email_lower_idx')) throw conflict('auth.email_taken', `email ${email} was just registered; run the command again`);
      throw err;
    }
  }
}
