import { and, eq, isNull } from 'drizzle-orm';
import { generate, generateSecret, generateURI, verify } from 'otplib';
import QRCode from 'qrcode';
import { uuidv7 } from 'uuidv7';
import type { Deps } from '../../platform/deps.js';
import { AppError, badRequest, unauthorized } from '../../platform/errors.js';
import { users, type UserRow } from '../users/tables.js';
import { hashToken, randomToken, Sealer, verifyPassword } from './crypto.js';
import { recoveryCodes } from './tables.js';
import { RULES, type Throttle, type ThrottleKey } from './throttle.js';

export const RECOVERY_CODE_COUNT = 10;
const CHALLENGE_TTL_MS = 5 * 60_000;

/** Recovery codes as people type them: 10 characters in two groups, no look-alike letters. */
function newRecoveryCode(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
  const bytes = Buffer.from(randomToken(16), 'base64url');
  let s = '';
  for (let i = 0; i < 10; i++) s += alphabet[bytes[i]! % alphabet.length];
  return `${s.slice(0, 5)}-${s.slice(5)}`;
}

const normaliseCode = (code: string) => code.trim().toLowerCase().replace(/[\s-]/g, '');

export interface ChallengeData {
  userId: string;
  ip: string;
}

/**
 * TOTP second factor (otplib) with single-use recovery codes. Secrets are sealed at rest; a code
 * is accepted once per time step (a code read over someone's shoulder cannot be replayed).
 */
export class TwoFactorService {
  private readonly sealer: Sealer;

  constructor(
    private readonly deps: Deps,
    private readonly throttle: Throttle,
  ) {
    this.sealer = new Sealer(deps.config.secretKey, 'totp');
  }

  private get db() {
    return this.deps.database.db;
  }

  private get cache() {
    return this.deps.cache.cache;
  }

  /** Start enrolment: a fresh secret, kept pending until a code from the app confirms it. */
  async setup(u: UserRow): Promise<{ secret: string; otpauthUri: string; qrCodeDataUrl: string }> {
    if (u.totpEnabledAt) throw new AppError(409, 'auth.2fa_already_enabled', 'two-factor authentication is already on; disable it first to enrol a new device');
    const secret = generateSecret();
    await this.db.update(users).set({ totpSecret: this.sealer.seal(secret), updatedAt: new Date() }).where(eq(users.id, u.id));
    const issuer = new URL(this.deps.config.publicUrl).host;
    const otpauthUri = generateURI({ issuer: `Social Flow (${issuer})`, label: u.username, secret });
    const qrCodeDataUrl = await QRCode.toDataURL(otpauthUri, { errorCorrectionLevel: 'M', margin: 1, width: 240 });
    return { secret, otpauthUri, qrCodeDataUrl };
  }

  private async totpMatches(u: UserRow, code: string): Promise<boolean> {
    if (!u.totpSecret || !/^\d{6}$/.test(code.trim())) return false;
    const secret = this.sealer.open(u.totpSecret);
    const result = await verify({ secret, token: code.trim(), epochTolerance: 30 });
    if (!result.valid) return false;
    // Refuse a code from a time step already used by this account.
    const step = (result as { timeStep?: number }).timeStep ?? Math.floor(Date.now() / 30_000);
    // One claim per account and time step: atomic, so two requests racing with one code cannot both pass.
    return this.cache.setIfAbsent(`2fa:used:${u.id}:${step}`, '1', 5 * 60_000);
  }

  /** Confirm enrolment with a code; returns the recovery codes, shown once. */
  async enable(u: UserRow, code: string): Promise<string[]> {
    if (u.totpEnabledAt) throw new AppError(409, 'auth.2fa_already_enabled', 'two-factor authentication is already on');
    if (!u.totpSecret) throw new AppError(409, 'auth.2fa_not_set_up', 'call POST /api/v1/auth/2fa/setup first');
    if (!(await this.totpMatches(u, code))) throw badRequest('auth.invalid_2fa_code', 'that code is not right; check the time on your device and try the newest code');
    const codes = await this.replaceRecoveryCodes(u.id, async () => {
      await this.db.update(users).set({ totpEnabledAt: new Date(), updatedAt: new Date() }).where(eq(users.id, u.id));
    });
    return codes;
  }

  /** Turn 2FA off: needs the password (when the account has one) and a current code or recovery code. */
  async disable(u: UserRow, password: string | undefined, code: string): Promise<void> {
    if (!u.totpEnabledAt) throw new AppError(409, 'auth.2fa_not_enabled', 'two-factor authentication is not on');
    if (u.passwordHash && !(password && (await verifyPassword(u.passwordHash, password)))) throw new AppError(403, 'auth.wrong_password', 'the password is wrong');
    if (!(await this.secondFactorMatches(u, code))) throw badRequest('auth.invalid_2fa_code', 'that code is not right');
    await this.db.transaction(async (tx) => {
      await tx.update(users).set({ totpEnabledAt: null, totpSecret: null, updatedAt: new Date() }).where(eq(users.id, u.id));
      await tx.delete(recoveryCodes).where(eq(recoveryCodes.userId, u.id));
    });
  }

  async regenerateRecoveryCodes(u: UserRow, code: string): Promise<string[]> {
    if (!u.totpEnabledAt) throw new AppError(409, 'auth.2fa_not_enabled', 'two-factor authentication is not on');
    if (!(await this.totpMatches(u, code))) throw badRequest('auth.invalid_2fa_code', 'that code is not right');
    return this.replaceRecoveryCodes(u.id);
  }

  private async replaceRecoveryCodes(userId: string, also?: () => Promise<void>): Promise<string[]> {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    await this.db.transaction(async (tx) => {
      await tx.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId));
      await tx.insert(recoveryCodes).values(codes.map((c) => ({ id: uuidv7(), userId, codeHash: hashToken(`${userId}:${normaliseCode(c)}`) })));
    });
    await also?.();
    return codes;
  }

  /** A TOTP code, or a recovery code (spent on use). */
  async secondFactorMatches(u: UserRow, code: string): Promise<boolean> {
    if (await this.totpMatches(u, code)) return true;
    const normal = normaliseCode(code);
    if (normal.length !== 10) return false;
    const spent = await this.db
      .update(recoveryCodes)
      .set({ usedAt: new Date() })
      .where(and(eq(recoveryCodes.userId, u.id), eq(recoveryCodes.codeHash, hashToken(`${u.id}:${normal}`)), isNull(recoveryCodes.usedAt)))
      .returning({ id: recoveryCodes.id });
    return spent.length === 1;
  }

  async remainingRecoveryCodes(userId: string): Promise<number> {
    const rows = await this.db.select({ id: recoveryCodes.id }).from(recoveryCodes).where(and(eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt)));
    return rows.length;
  }

  /** After a right password on a 2FA account: a short-lived, single-use challenge instead of tokens. */
  async createChallenge(userId: string, ip: string): Promise<string> {
    const token = randomToken();
    await this.cache.set(`2fa:ch:${hashToken(token)}`, JSON.stringify({ userId, ip } satisfies ChallengeData), CHALLENGE_TTL_MS);
    return token;
  }

  /** Check the code for a challenge; on success the challenge is spent and the user returned. */
  async completeChallenge(challengeToken: string, code: string, ip: string, load: (id: string) => Promise<UserRow | undefined>): Promise<UserRow> {
    const key = `2fa:ch:${hashToken(challengeToken)}`;
    const raw = await this.cache.get(key);
    if (!raw) throw unauthorized('auth.invalid_challenge', 'this sign-in attempt has expired; sign in again');
    const data = JSON.parse(raw) as ChallengeData;
    const keys: ThrottleKey[] = [
      { rule: RULES.twoFactorAccount, key: `2fa:${data.userId}` },
      { rule: RULES.twoFactorIp, key: `2fa-ip:${ip}` },
    ];
    await this.throttle.check(keys);
    const u = await load(data.userId);
    if (!u || !u.totpEnabledAt) throw unauthorized('auth.invalid_challenge', 'this sign-in attempt has expired; sign in again');
    if (!(await this.secondFactorMatches(u, code))) {
      await this.throttle.fail(keys);
      throw unauthorized('auth.invalid_2fa_code', 'that code is not right');
    }
    // Single use: the first to claim it wins; a parallel second use is refused.
    if (!(await this.cache.setIfAbsent(`${key}:spent`, '1', CHALLENGE_TTL_MS))) throw unauthorized('auth.invalid_challenge', 'this sign-in attempt was already completed; sign in again');
    await this.cache.del(key);
    await this.throttle.reset(keys.slice(0, 1));
    return u;
  }

  /** For tests and tools: the current code of a secret. */
  static currentCode(secret: string): Promise<string> {
    return generate({ secret });
  }
}
