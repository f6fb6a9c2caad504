import { and, eq, gt, isNull } from 'drizzle-orm';
import type { Cache } from '../../platform/cache/types.js';
import type { Db } from '../../platform/db/index.js';
import { users, type AccountState, type Role } from '../users/tables.js';
import { sessions } from './tables.js';

export interface LiveAccount {
  role: Role;
  state: AccountState;
  suspendedUntil: string | null;
}

const TTL_MS = 60_000;

/** A suspension whose end has passed no longer counts. */
export function effectiveState(state: AccountState, suspendedUntil: Date | string | null): AccountState {
  if (state === 'suspended' && suspendedUntil && new Date(suspendedUntil).getTime() <= Date.now()) return 'active';
  return state;
}

/**
 * Is this session still live, and what may its user do now? Read on every authenticated request,
 * so answers are cached (Redis in production) and dropped the moment a session is revoked or an
 * account changes, in every process.
 */
export class SessionState {
  constructor(
    private readonly db: Db,
    private readonly cache: Cache,
  ) {}

  async sessionLive(sid: string, userId: string): Promise<boolean> {
    const key = `auth:s:${sid}`;
    const cached = await this.cache.get(key);
    if (cached !== null) return cached === userId;
    const [row] = await this.db
      .select({ userId: sessions.userId })
      .from(sessions)
      .where(and(eq(sessions.id, sid), isNull(sessions.revokedAt), gt(sessions.expiresAt, new Date())));
    await this.cache.set(key, row?.userId ?? '-', TTL_MS);
    return row?.userId === userId;
  }

  async account(userId: string): Promise<LiveAccount | null> {
    const key = `auth:u:${userId}`;
    const cached = await this.cache.get(key);
    if (cached !== null) return cached === '-' ? null : (JSON.parse(cached) as LiveAccount);
    const [row] = await this.db.select({ role: users.role, state: users.state, suspendedUntil: users.suspendedUntil }).from(users).where(eq(users.id, userId));
    const live = row ? { role: row.role, state: row.state, suspendedUntil: row.suspendedUntil?.toISOString() ?? null } : null;
    await this.cache.set(key, live ? JSON.stringify(live) : '-', TTL_MS);
    return live;
  }

  async forgetSession(sid: string): Promise<void> {
    await this.cache.del(`auth:s:${sid}`);
  }

  async forgetAccount(userId: string): Promise<void> {
    await this.cache.del(`auth:u:${userId}`);
  }
}
