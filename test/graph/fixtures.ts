import { randomBytes } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { expect } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { blocks, followRequests, follows, mutes, userStats } from '../../src/modules/graph/tables.js';
import { servicesFor } from '../../src/modules/services.js';
import { users } from '../../src/modules/users/tables.js';
import type { TestEnv } from '../support/app.js';

export interface GraphUser {
  id: string;
  username: string;
  accessToken: string;
}

/**
 * An active, verified account with a live session, made without the register/verify/login round
 * trip (argon2 and the email job make that seconds per user; graph tests need dozens).
 */
export async function quickUser(env: TestEnv, opts: { isPrivate?: boolean } = {}): Promise<GraphUser> {
  const id = uuidv7();
  const username = `g_${randomBytes(6).toString('hex')}`;
  const [row] = await env.deps.database.db
    .insert(users)
    .values({ id, username, email: `${username}@example.test`, emailVerifiedAt: new Date(), isPrivate: opts.isPrivate ?? false })
    .returning();
  const tokens = await servicesFor(env.deps).auth.startSession(row!, 'password', { ip: '127.0.0.1', userAgent: 'vitest' });
  return { id, username, accessToken: tokens.accessToken };
}

/** The whole graph state, to show that a rejected request changed nothing. */
export async function graphSnapshot(env: TestEnv) {
  const db = env.deps.database.db;
  const count = async (t: typeof follows | typeof followRequests | typeof blocks | typeof mutes) => (await db.select({ n: sql<number>`count(*)::int` }).from(t))[0]!.n;
  return {
    follows: await count(follows),
    requests: await count(followRequests),
    blocks: await count(blocks),
    mutes: await count(mutes),
    stats: await db.select().from(userStats).orderBy(userStats.userId),
  };
}

export async function statsRow(env: TestEnv, userId: string) {
  const [row] = await env.deps.database.db.select().from(userStats).where(eq(userStats.userId, userId));
  return { followers: row?.followers ?? 0, following: row?.following ?? 0 };
}

export function expect4xx(res: { status: number; body: Record<string, unknown>; headers: Record<string, unknown> }, status?: number, code?: string) {
  if (status) expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.status).toBeGreaterThanOrEqual(400);
  expect(res.status).toBeLessThan(500);
  expect(String(res.headers['content-type'])).toMatch(/application\/problem\+json/);
  expect(res.body.code).toEqual(expect.any(String));
  if (code) expect(res.body.code).toBe(code);
}

export const usernames = (body: Record<string, unknown>) => (body.items as { username: string }[]).map((u) => u.username);
