import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emailTokens, sessions } from '../../src/modules/auth/tables.js';
import { users } from '../../src/modules/users/tables.js';
import { createTestEnv, type TestEnv } from '../support/app.js';
import { injectClient, signUp, STRONG_PASSWORD, type Call, type TestUser } from '../support/auth.js';

/**
 * PeerTube-style parameter checks for the account endpoints: every kind of bad input is a 4xx
 * problem+json and changes nothing; every endpoint answers the access matrix.
 */
let env: TestEnv;
let call: Call;
let owner: TestUser;
let other: TestUser;
let moderator: TestUser;
let admin: TestUser;

beforeAll(async () => {
  env = await createTestEnv();
  call = injectClient(env.app);
  owner = await signUp(call, env.dataDir);
  other = await signUp(call, env.dataDir);
  moderator = await signUp(call, env.dataDir, { role: 'moderator', deps: env.deps });
  admin = await signUp(call, env.dataDir, { role: 'admin', deps: env.deps });
});
afterAll(async () => env?.close());

async function snapshot() {
  const db = env.deps.database.db;
  const [u] = await db.select({ n: sql<number>`count(*)::int`, changed: sql<string>`max(${users.updatedAt})::text` }).from(users);
  const [t] = await db.select({ n: sql<number>`count(*)::int` }).from(emailTokens);
  const [s] = await db.select({ n: sql<number>`count(*)::int` }).from(sessions);
  return { users: u, tokens: t, sessions: s };
}

function expect4xx(res: { status: number; body: Record<string, unknown>; headers: Record<string, unknown> }, status?: number) {
  if (status) expect(res.status).toBe(status);
  expect(res.status).toBeGreaterThanOrEqual(400);
  expect(res.status).toBeLessThan(500);
  expect(String(res.headers['content-type'])).toMatch(/application\/problem\+json/);
  expect(res.body.code).toEqual(expect.any(String));
}

const long = (n: number) => 'a'.repeat(n);
const SQL = "x'); DROP TABLE users; --";
const HTML = '<script>alert(1)</script>';

describe('bad input changes nothing', () => {
  const cases: [string, string, unknown][] = [
    ['register: nothing', '/api/v1/auth/register', {}],
    ['register: missing password', '/api/v1/auth/register', { email: 'a@example.test', username: 'someone_new' }],
    ['register: invalid email', '/api/v1/auth/register', { email: 'not-an-email', username: 'someone_new', password: STRONG_PASSWORD }],
    ['register: overlong email', '/api/v1/auth/register', { email: `${long(250)}@example.test`, username: 'someone_new', password: STRONG_PASSWORD }],
    ['register: overlong username', '/api/v1/auth/register', { email: 'n1@example.test', username: long(31), password: STRONG_PASSWORD }],
    ['register: SQL in username', '/api/v1/auth/register', { email: 'n2@example.test', username: SQL, password: STRONG_PASSWORD }],
    ['register: HTML in username', '/api/v1/auth/register', { email: 'n3@example.test', username: HTML, password: STRONG_PASSWORD }],
    ['register: SQL in email', '/api/v1/auth/register', { email: `${SQL}@example.test`, username: 'someone_new', password: STRONG_PASSWORD }],
    ['register: weak password', '/api/v1/auth/register', { email: 'n4@example.test', username: 'someone_new', password: 'password1' }],
    ['register: password is the username', '/api/v1/auth/register', { email: 'n5@example.test', username: 'someone_new', password: 'someone_new1' }],
    ['register: overlong password', '/api/v1/auth/register', { email: 'n6@example.test', username: 'someone_new', password: long(300) }],
    ['register: extra field', '/api/v1/auth/register', { email: 'n7@example.test', username: 'someone_new', password: STRONG_PASSWORD, role: 'admin' }],
    ['register: wrong types', '/api/v1/auth/register', { email: 42, username: ['x'], password: { a: 1 } }],
    ['login: missing password', '/api/v1/auth/login', { login: 'x' }],
    ['login: overlong login', '/api/v1/auth/login', { login: long(300), password: 'x' }],
    ['verify-email: short token', '/api/v1/auth/verify-email', { token: 'abc' }],
    ['verify-email: SQL token', '/api/v1/auth/verify-email', { token: SQL }],
    ['resend: invalid email', '/api/v1/auth/resend-verification', { email: HTML }],
    ['2fa verify: missing code', '/api/v1/auth/2fa/verify', { challengeToken: long(40) }],
    ['refresh: missing token', '/api/v1/auth/refresh', {}],
    ['refresh: HTML token', '/api/v1/auth/refresh', { refreshToken: HTML }],
    ['logout: unknown token', '/api/v1/auth/logout', { refreshToken: long(43) }],
    ['forgot: invalid email', '/api/v1/auth/password/forgot', { email: 'nope' }],
    ['reset: missing password', '/api/v1/auth/password/reset', { token: long(43) }],
    ['reset: unknown token', '/api/v1/auth/password/reset', { token: long(43), password: 'a whole new passphrase 2026!' }],
  ];
  it.each(cases)('%s', async (_name, url, body) => {
    const before = await snapshot();
    const res = await call('POST', url, { body });
    expect4xx(res);
    expect(await snapshot()).toEqual(before);
  });

  it('signed-in endpoints: bad bodies change nothing', async () => {
    const before = await snapshot();
    const t = owner.accessToken;
    expect4xx(await call('POST', '/api/v1/auth/password/change', { token: t, body: { currentPassword: owner.password } }), 400);
    expect4xx(await call('POST', '/api/v1/auth/password/change', { token: t, body: { currentPassword: owner.password, newPassword: 'short' } }), 400);
    expect4xx(await call('POST', '/api/v1/auth/password/change', { token: t, body: { currentPassword: owner.password, newPassword: long(300) } }), 400);
    expect4xx(await call('POST', '/api/v1/auth/2fa/enable', { token: t, body: { code: '123456' } }), 409);
    expect4xx(await call('POST', '/api/v1/auth/2fa/enable', { token: t, body: {} }), 400);
    expect4xx(await call('POST', '/api/v1/auth/2fa/disable', { token: t, body: { code: '123456' } }), 409);
    expect4xx(await call('DELETE', '/api/v1/auth/sessions/not-a-uuid', { token: t }), 400);
    expect4xx(await call('PATCH', '/api/v1/me', { token: t, body: { displayName: long(51) } }), 400);
    expect4xx(await call('PATCH', '/api/v1/me', { token: t, body: { bio: HTML } }), 400);
    expect4xx(await call('PATCH', '/api/v1/me', { token: t, body: { displayName: 'Ana <b>bold</b>' } }), 400);
    expect4xx(await call('PATCH', '/api/v1/me', { token: t, body: { links: [{ label: 'x', url: 'javascript:alert(1)' }] } }), 400);
    expect4xx(await call('PATCH', '/api/v1/me', { token: t, body: { links: Array.from({ length: 6 }, () => ({ label: 'x', url: 'https://example.com' })) } }), 400);
    expect4xx(await call('PATCH', '/api/v1/me', { token: t, body: {} }), 400);
    expect4xx(await call('PATCH', '/api/v1/me', { token: t, body: { role: 'admin' } }), 400);
    expect(await snapshot()).toEqual(before);
  });

  it('SQL in free text is stored as text and harms nothing', async () => {
    const res = await call('PATCH', '/api/v1/me', { token: owner.accessToken, body: { bio: SQL, displayName: "O'Brien; --" } });
    expect(res.status).toBe(200);
    expect(res.body.bio).toBe(SQL);
    const [row] = await env.deps.database.db.select().from(users).where(eq(users.id, owner.id));
    expect(row?.bio).toBe(SQL);
    expect((await call('GET', `/api/v1/users/${owner.username}`)).body.displayName).toBe("O'Brien; --");
  });
});

describe('access matrix', () => {
  const selfEndpoints: [string, string, unknown?][] = [
    ['GET', '/api/v1/me'],
    ['PATCH', '/api/v1/me', { displayName: 'x' }],
    ['GET', '/api/v1/auth/sessions'],
    ['POST', '/api/v1/auth/logout-all', {}],
    ['POST', '/api/v1/auth/password/change', { currentPassword: 'x', newPassword: 'y' }],
    ['POST', '/api/v1/auth/2fa/setup'],
    ['POST', '/api/v1/auth/2fa/enable', { code: '123456' }],
    ['POST', '/api/v1/auth/2fa/disable', { code: '123456' }],
    ['POST', '/api/v1/auth/2fa/recovery-codes', { code: '123456' }],
    ['DELETE', '/api/v1/auth/sessions/01936a3e-0000-7000-8000-000000000000'],
  ];

  it.each(selfEndpoints)('anonymous: %s %s is 401', async (method, url, body) => {
    const res = await call(method, url, { body });
    expect4xx(res, 401);
    expect(res.body.code).toBe('auth.required');
  });

  it('every role sees only its own account and sessions', async () => {
    for (const u of [owner, other, moderator, admin]) {
      const me = await call('GET', '/api/v1/me', { token: u.accessToken });
      expect(me.status).toBe(200);
      expect(me.body.id).toBe(u.id);
      const s = await call('GET', '/api/v1/auth/sessions', { token: u.accessToken });
      const ids = (s.body.items as { id: string }[]).map((i) => i.id);
      const [mine] = await env.deps.database.db.select({ n: sql<number>`count(*)::int` }).from(sessions).where(eq(sessions.userId, u.id));
      expect(ids.length).toBeGreaterThan(0);
      expect(ids.length).toBeLessThanOrEqual(mine!.n);
    }
  });

  it("nobody, not even an admin, can end another user's session through the self endpoint", async () => {
    const [target] = await env.deps.database.db.select({ id: sessions.id }).from(sessions).where(eq(sessions.userId, owner.id));
    for (const u of [other, moderator, admin]) {
      const res = await call('DELETE', `/api/v1/auth/sessions/${target!.id}`, { token: u.accessToken });
      expect4xx(res, 404);
    }
    expect((await call('GET', '/api/v1/me', { token: owner.accessToken })).status).toBe(200);
  });

  it('public profiles are readable by anyone and never show private fields', async () => {
    for (const token of [undefined, other.accessToken, admin.accessToken]) {
      const res = await call('GET', `/api/v1/users/${owner.username}`, { token });
      expect(res.status).toBe(200);
      expect(res.body).not.toHaveProperty('email');
      expect(res.body).not.toHaveProperty('state');
    }
    expect4xx(await call('GET', '/api/v1/users/nobody_by_that_name'), 404);
  });

  it('a refresh token only ever refreshes its own session', async () => {
    const res = await call('POST', '/api/v1/auth/refresh', { body: { refreshToken: other.refreshToken } });
    expect(res.status).toBe(200);
    expect((res.body.user as { id: string }).id).toBe(other.id);
  });
});
