import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import type { Deps } from '../../platform/deps.js';
import type { Executor, Tx } from '../../platform/db/index.js';
import { AppError, badRequest, conflict, unauthorized } from '../../platform/errors.js';
import { queueMail } from '../mail/jobs.js';
import { users, type UserRow } from '../users/tables.js';
import { burnPasswordCheck, hashPassword, hashToken, randomToken, verifyPassword } from './crypto.js';
import { alreadyRegisteredMessage, passwordChangedMessage, resetPasswordMessage, verifyEmailMessage } from './emails.js';
import type { SigningKeys } from './keys.js';
import { assertStrongPassword } from './password-strength.js';
import { effectiveState, type SessionState } from './session-state.js';
import { emailTokens, oidcIdentities, recoveryCodes, refreshTokens, sessions } from './tables.js';
import { RULES, Throttle, type ThrottleKey } from './throttle.js';

export interface ClientContext {
  ip: string;
  userAgent: string | undefined;
}

export interface IssuedTokens {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  user: UserRow;
}

export const USERNAME_PATTERN = '^[A-Za-z0-9_]{3,30}$';
/** Names that would confuse people or collide with routes and roles. */
export const RESERVED_USERNAMES = new Set(['admin', 'administrator', 'root', 'support', 'moderator', 'mod', 'staff', 'system', 'api', 'me', 'settings', 'help', 'security', 'socialflow', 'social_flow', 'null', 'undefined', 'anonymous']);

export const normaliseEmail = (email: string) => email.trim().toLowerCase();

/**
 * Accounts and sign-in: registration and email verification, password login with optional
 * second factor, refresh-token rotation with reuse detection, sessions, password change and reset.
 */
export class AuthService {
  readonly throttle: Throttle;

  constructor(
    private readonly deps: Deps,
    readonly keys: SigningKeys,
    readonly state: SessionState,
  ) {
    this.throttle = new Throttle(deps.cache.cache);
  }

  private get db() {
    return this.deps.database.db;
  }

  private get cfg() {
    return this.deps.config.auth;
  }

  async findByLogin(login: string): Promise<UserRow | undefined> {
    const l = login.trim().toLowerCase();
    const [u] = await this.db
      .select()
      .from(users)
      .where(l.includes('@') ? sql`lower(${users.email}) = ${l}` : sql`lower(${users.username}) = ${l}`);
    return u;
  }

  async findById(id: string): Promise<UserRow | undefined> {
    const [u] = await this.db.select().from(users).where(eq(users.id, id));
    return u;
  }

  // ---- registration and email verification ------------------------------------------------------

  async register(input: { email: string; username: string; password: string }, ctx: ClientContext): Promise<void> {
    const email = normaliseEmail(input.email);
    const username = input.username.trim();
    if (RESERVED_USERNAMES.has(username.toLowerCase())) throw conflict('auth.username_taken', 'that username is taken');
    await this.throttle.consume([{ rule: RULES.emailIp, key: `reg-ip:${ctx.ip}` }]);
    await assertStrongPassword(input.password, [username, email, email.split('@')[0] ?? '']);

    const [byName] = await this.db.select({ id: users.id }).from(users).where(sql`lower(${users.username}) = ${username.toLowerCase()}`);
    if (byName) throw conflict('auth.username_taken', 'that username is taken');
    const [byEmail] = await this.db.select().from(users).where(sql`lower(${users.email}) = ${email}`);
    if (byEmail) {
      // Same answer as a new registration, so the response does not reveal the address is known;
      // the owner of the address learns about the attempt instead.
      await queueMail(this.deps, alreadyRegisteredMessage(email, `${this.deps.config.appUrl}/login`, `${this.deps.config.appUrl}/forgot-password`));
      return;
    }
    const passwordHash = await hashPassword(input.password, this.cfg.argon2);
    try {
      await this.deps.database.transaction(async (tx) => {
        const id = uuidv7();
        await tx.insert(users).values({ id, username, email, passwordHash, emailVerifiedAt: this.cfg.requireEmailVerification ? null : new Date() });
        if (this.cfg.requireEmailVerification) await this.sendVerification(tx, { id, username, email });
      });
    } catch (err) {
      // Two registrations racing for one name: the unique index decides.
      if (/users_username_lower_idx/.test(String((err as Error).message) + String((err as { cause?: Error }).cause?.message))) {
        throw conflict('auth.username_taken', 'that username is taken');
      }
      if (/users_email_lower_idx/.test(String((err as Error).message) + String((err as { cause?: Error }).cause?.message))) return;
      throw err;
    }
  }

  private async sendVerification(tx: Tx, user: { id: string; username: string; email: string }): Promise<void> {
    const token = randomToken();
    await tx.insert(emailTokens).values({
      id: uuidv7(),
      userId: user.id,
      purpose: 'verify_email',
      tokenHash: hashToken(token),
      email: user.email,
      expiresAt: new Date(Date.now() + this.cfg.emailTokenTtlMinutes * 60_000),
    });
    const link = `${this.deps.config.appUrl}/verify-email?token=${encodeURIComponent(token)}`;
    await queueMail(this.deps, verifyEmailMessage(user.email, user.username, link, token, this.cfg.emailTokenTtlMinutes), { tx });
  }

  async resendVerification(emailInput: string, ctx: ClientContext): Promise<void> {
    const email = normaliseEmail(emailInput);
    await this.throttle.consume([
      { rule: RULES.emailAddress, key: `verify:${email}` },
      { rule: RULES.emailIp, key: `verify-ip:${ctx.ip}` },
    ]);
    const [u] = await this.db.select().from(users).where(sql`lower(${users.email}) = ${email}`);
    if (!u || u.emailVerifiedAt || u.state === 'deleted' || !u.email) return;
    await this.deps.database.transaction(async (tx) => {
      // Only the newest link works.
      await tx.update(emailTokens).set({ usedAt: new Date() }).where(and(eq(emailTokens.userId, u.id), eq(emailTokens.purpose, 'verify_email'), isNull(emailTokens.usedAt)));
      await this.sendVerification(tx, { id: u.id, username: u.username, email: u.email! });
    });
  }

  /** Spend a single-use email token; the row is locked so two concurrent uses cannot both win. */
  private async consumeEmailToken(tx: Executor, purpose: 'verify_email' | 'reset_password', token: string) {
    const rows = await tx
      .update(emailTokens)
      .set({ usedAt: new Date() })
      .where(and(eq(emailTokens.tokenHash, hashToken(token)), eq(emailTokens.purpose, purpose), isNull(emailTokens.usedAt), gt(emailTokens.expiresAt, new Date())))
      .returning();
    return rows[0];
  }

  async verifyEmail(token: string, ctx: ClientContext): Promise<void> {
    const ipKey: ThrottleKey[] = [{ rule: RULES.tokenIp, key: `token-ip:${ctx.ip}` }];
    await this.throttle.check(ipKey);
    const ok = await this.deps.database.transaction(async (tx) => {
      const t = await this.consumeEmailToken(tx, 'verify_email', token);
      if (!t) return false;
      // The address must still be the account's: a token for an old address confirms nothing.
      const updated = await tx
        .update(users)
        .set({ emailVerifiedAt: new Date(), updatedAt: new Date() })
        .where(and(eq(users.id, t.userId), sql`lower(${users.email}) = ${t.email.toLowerCase()}`))
        .returning({ id: users.id });
      return updated.length === 1;
    });
    if (!ok) {
      await this.throttle.fail(ipKey);
      throw badRequest('auth.invalid_token', 'this link is invalid, expired or already used; ask for a new one');
    }
  }

  // ---- sign-in ----------------------------------------------------------------------------------

  /**
   * Check a password login. Unknown account, wrong password and deleted account give the same
   * answer (and take the same time). Returns the user when the password is right.
   */
  async checkPassword(login: string, password: string, ctx: ClientContext): Promise<UserRow> {
    const keys: ThrottleKey[] = [
      { rule: RULES.loginAccount, key: `login:${login.trim().toLowerCase()}` },
      { rule: RULES.loginIp, key: `login-ip:${ctx.ip}` },
    ];
    await this.throttle.check(keys);
    const u = await this.findByLogin(login);
    let ok = false;
    if (u?.passwordHash && u.state !== 'deleted') ok = await verifyPassword(u.passwordHash, password);
    else await burnPasswordCheck(password, this.cfg.argon2);
    if (!ok || !u) {
      await this.throttle.fail(keys);
      throw unauthorized('auth.invalid_credentials', 'wrong username, email or password');
    }
    await this.throttle.reset(keys.slice(0, 1));
    this.assertMaySignIn(u);
    return u;
  }

  /** Account-state rules for any way of signing in (password, 2FA, OIDC). */
  assertMaySignIn(u: UserRow): void {
    const state = effectiveState(u.state, u.suspendedUntil);
    if (state === 'deleted') throw unauthorized('auth.invalid_credentials', 'wrong username, email or password');
    if (state === 'suspended') {
      throw new AppError(403, 'auth.account_suspended', `this account is suspended${u.suspendedUntil ? ` until ${u.suspendedUntil.toISOString()}` : ''}${u.suspendedReason ? `: ${u.suspendedReason}` : ''}`, {
        suspendedUntil: u.suspendedUntil?.toISOString() ?? null,
      });
    }
    if (this.cfg.requireEmailVerification && !u.emailVerifiedAt) {
      throw new AppError(403, 'auth.email_unverified', 'confirm your email address first; we can send the link again (POST /api/v1/auth/resend-verification)');
    }
  }

  /** Open a session and issue its first token pair. Signing in again reactivates a deactivated account. */
  async startSession(u: UserRow, method: string, ctx: ClientContext): Promise<IssuedTokens> {
    const sessionId = uuidv7();
    const refreshToken = randomToken();
    let user = u;
    await this.deps.database.transaction(async (tx) => {
      if (u.state === 'deactivated' || (u.state === 'suspended' && effectiveState(u.state, u.suspendedUntil) === 'active')) {
        [user] = (await tx
          .update(users)
          .set({ state: 'active', deactivatedAt: null, suspendedReason: null, suspendedUntil: null, updatedAt: new Date() })
          .where(eq(users.id, u.id))
          .returning()) as [UserRow];
      }
      await tx.insert(sessions).values({
        id: sessionId,
        userId: u.id,
        userAgent: ctx.userAgent?.slice(0, 512) ?? null,
        ip: ctx.ip,
        method,
        expiresAt: new Date(Date.now() + this.cfg.refreshTokenTtlDays * 86_400_000),
      });
      await tx.insert(refreshTokens).values({ id: uuidv7(), sessionId, tokenHash: hashToken(refreshToken) });
    });
    if (user !== u) await this.state.forgetAccount(u.id);
    const accessToken = await this.keys.sign({ sub: u.id, sid: sessionId });
    return { accessToken, refreshToken, expiresIn: this.cfg.accessTokenTtlSeconds, user };
  }

  /**
   * Exchange a refresh token for a new pair. Each token works once; presenting a rotated token
   * again means it was copied, so the whole session (the token family) is revoked.
   */
  async refresh(refreshToken: string, ctx: ClientContext): Promise<IssuedTokens> {
    const hash = hashToken(refreshToken);
    const result = await this.deps.database.transaction(async (tx) => {
      const [row] = await tx
        .select({ token: refreshTokens, session: sessions, user: users })
        .from(refreshTokens)
        .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
        .innerJoin(users, eq(users.id, sessions.userId))
        .where(eq(refreshTokens.tokenHash, hash))
        .for('update', { of: refreshTokens });
      if (!row) return { kind: 'unknown' as const };
      if (row.session.revokedAt || row.session.expiresAt.getTime() <= Date.now()) return { kind: 'ended' as const };
      if (row.token.rotatedAt) {
        await tx.update(sessions).set({ revokedAt: new Date(), revokedReason: 'refresh_token_reuse' }).where(eq(sessions.id, row.session.id));
        return { kind: 'reused' as const, sessionId: row.session.id, userId: row.user.id };
      }
      const state = effectiveState(row.user.state, row.user.suspendedUntil);
      if (state !== 'active' && state !== 'deactivated') return { kind: 'inactive' as const };
      const next = randomToken();
      await tx.update(refreshTokens).set({ rotatedAt: new Date() }).where(eq(refreshTokens.id, row.token.id));
      await tx.insert(refreshTokens).values({ id: uuidv7(), sessionId: row.session.id, tokenHash: hashToken(next) });
      await tx.update(sessions).set({ lastUsedAt: new Date(), ip: ctx.ip, userAgent: ctx.userAgent?.slice(0, 512) ?? row.session.userAgent }).where(eq(sessions.id, row.session.id));
      return { kind: 'ok' as const, next, sessionId: row.session.id, user: row.user };
    });
    switch (result.kind) {
      case 'ok': {
        const accessToken = await this.keys.sign({ sub: result.user.id, sid: result.sessionId });
        return { accessToken, refreshToken: result.next, expiresIn: this.cfg.accessTokenTtlSeconds, user: result.user };
      }
      case 'reused':
        await this.state.forgetSession(result.sessionId);
        this.deps.logger.warn({ userId: result.userId, sessionId: result.sessionId }, 'refresh token reused: session revoked');
        throw unauthorized('auth.refresh_token_reused', 'this refresh token was already used; the session has been ended for safety, sign in again');
      case 'ended':
        throw unauthorized('auth.session_revoked', 'this session has ended; sign in again');
      case 'inactive':
        throw unauthorized('auth.account_inactive', 'this account is suspended or deleted');
      default:
        throw unauthorized('auth.invalid_refresh_token', 'the refresh token is not valid');
    }
  }

  // ---- sessions ---------------------------------------------------------------------------------

  async logout(refreshToken: string): Promise<void> {
    const [row] = await this.db.select({ sessionId: refreshTokens.sessionId }).from(refreshTokens).where(eq(refreshTokens.tokenHash, hashToken(refreshToken)));
    if (!row) throw unauthorized('auth.invalid_refresh_token', 'the refresh token is not valid');
    await this.revokeSession(row.sessionId, 'logout');
  }

  async revokeSession(sessionId: string, reason: string): Promise<void> {
    await this.db.update(sessions).set({ revokedAt: new Date(), revokedReason: reason }).where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)));
    await this.state.forgetSession(sessionId);
  }

  /**
   * Erase everything the auth module holds about an account (the purge of a deleted account):
   * sessions (refresh tokens cascade), email tokens, recovery codes and linked OIDC identities.
   */
  async forgetUser(userId: string, tx: Tx): Promise<void> {
    await tx.delete(sessions).where(eq(sessions.userId, userId));
    await tx.delete(emailTokens).where(eq(emailTokens.userId, userId));
    await tx.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId));
    await tx.delete(oidcIdentities).where(eq(oidcIdentities.userId, userId));
  }

  /** End every session of a user (optionally keeping one): password change, reset, logout-all, suspension, deletion. */
  async revokeAllSessions(userId: string, reason: string, exceptSessionId?: string, ex: Executor = this.db): Promise<number> {
    const rows = await ex
      .update(sessions)
      .set({ revokedAt: new Date(), revokedReason: reason })
      .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), exceptSessionId ? sql`${sessions.id} <> ${exceptSessionId}` : undefined))
      .returning({ id: sessions.id });
    for (const r of rows) await this.state.forgetSession(r.id);
    return rows.length;
  }

  async listSessions(userId: string) {
    return this.db
      .select({ id: sessions.id, userAgent: sessions.userAgent, ip: sessions.ip, method: sessions.method, createdAt: sessions.createdAt, lastUsedAt: sessions.lastUsedAt, expiresAt: sessions.expiresAt })
      .from(sessions)
      .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), gt(sessions.expiresAt, new Date())))
      .orderBy(sql`${sessions.lastUsedAt} desc`);
  }

  /** End one of the caller's own sessions; another user's session id is "not found", never revealed. */
  async revokeOwnSession(userId: string, sessionId: string): Promise<boolean> {
    const rows = await this.db
      .update(sessions)
      .set({ revokedAt: new Date(), revokedReason: 'revoked_by_user' })
      .where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId), isNull(sessions.revokedAt)))
      .returning({ id: sessions.id });
    await this.state.forgetSession(sessionId);
    return rows.length === 1;
  }

  // ---- passwords --------------------------------------------------------------------------------

  async changePassword(userId: string, sessionId: string, current: string, next: string): Promise<void> {
    const u = await this.findById(userId);
    if (!u) throw unauthorized('auth.required', 'sign in again');
    if (u.passwordHash && !(await verifyPassword(u.passwordHash, current))) {
      throw new AppError(403, 'auth.wrong_password', 'the current password is wrong');
    }
    await assertStrongPassword(next, [u.username, u.email ?? ''], 'newPassword');
    const passwordHash = await hashPassword(next, this.cfg.argon2);
    await this.db.update(users).set({ passwordHash, updatedAt: new Date() }).where(eq(users.id, userId));
    await this.revokeAllSessions(userId, 'password_changed', sessionId);
    if (u.email) await queueMail(this.deps, passwordChangedMessage(u.email, u.username));
  }

  async forgotPassword(emailInput: string, ctx: ClientContext): Promise<void> {
    const email = normaliseEmail(emailInput);
    await this.throttle.consume([
      { rule: RULES.emailAddress, key: `reset:${email}` },
      { rule: RULES.emailIp, key: `reset-ip:${ctx.ip}` },
    ]);
    const [u] = await this.db.select().from(users).where(sql`lower(${users.email}) = ${email}`);
    if (!u || u.state === 'deleted' || !u.email) return;
    const token = randomToken();
    await this.deps.database.transaction(async (tx) => {
      await tx.update(emailTokens).set({ usedAt: new Date() }).where(and(eq(emailTokens.userId, u.id), eq(emailTokens.purpose, 'reset_password'), isNull(emailTokens.usedAt)));
      await tx.insert(emailTokens).values({
        id: uuidv7(),
        userId: u.id,
        purpose: 'reset_password',
        tokenHash: hashToken(token),
        email: u.email!,
        expiresAt: new Date(Date.now() + this.cfg.emailTokenTtlMinutes * 60_000),
      });
      const link = `${this.deps.config.appUrl}/reset-password?token=${encodeURIComponent(token)}`;
      await queueMail(this.deps, resetPasswordMessage(u.email!, u.username, link, token, this.cfg.emailTokenTtlMinutes), { tx });
    });
  }

  /** Set a new password from an emailed token; every session ends (whoever had the old password is out). */
  async resetPassword(token: string, password: string, ctx: ClientContext): Promise<void> {
    const ipKey: ThrottleKey[] = [{ rule: RULES.tokenIp, key: `token-ip:${ctx.ip}` }];
    await this.throttle.check(ipKey);
    const [pending] = await this.db
      .select({ userId: emailTokens.userId })
      .from(emailTokens)
      .where(and(eq(emailTokens.tokenHash, hashToken(token)), eq(emailTokens.purpose, 'reset_password'), isNull(emailTokens.usedAt), gt(emailTokens.expiresAt, new Date())));
    const u = pending ? await this.findById(pending.userId) : undefined;
    if (!u) {
      await this.throttle.fail(ipKey);
      throw badRequest('auth.invalid_token', 'this link is invalid, expired or already used; ask for a new one');
    }
    // Checked before the token is spent, so a weak choice can be corrected with the same link.
    await assertStrongPassword(password, [u.username, u.email ?? '']);
    const passwordHash = await hashPassword(password, this.cfg.argon2);
    const ok = await this.deps.database.transaction(async (tx) => {
      const t = await this.consumeEmailToken(tx, 'reset_password', token);
      if (!t) return false;
      // Proving control of the address also confirms it.
      await tx.update(users).set({ passwordHash, emailVerifiedAt: u.emailVerifiedAt ?? new Date(), updatedAt: new Date() }).where(eq(users.id, u.id));
      await this.revokeAllSessions(u.id, 'password_reset', undefined, tx);
      return true;
    });
    if (!ok) throw badRequest('auth.invalid_token', 'this link is invalid, expired or already used; ask for a new one');
    await this.throttle.reset([{ rule: RULES.loginAccount, key: `login:${u.username.toLowerCase()}` }, { rule: RULES.loginAccount, key: `login:${(u.email ?? '').toLowerCase()}` }]);
  }
}

