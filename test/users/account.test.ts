import { eq } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emailTokens, oidcIdentities, recoveryCodes, refreshTokens, sessions } from '../../src/modules/auth/tables.js';
import { purgeDeletedAccounts, tombstoneUsername } from '../../src/modules/users/account.js';
import { users } from '../../src/modules/users/tables.js';
import { createTestEnv, type TestEnv } from '../support/app.js';
import { injectClient, signUp, STRONG_PASSWORD, type Call, type TestUser } from '../support/auth.js';
import { filePart, formData, photo, storedKeys } from './support.js';

const DAY = 86_400_000;

/** Everything in the auth tables that belongs to a user, counted. */
async function authRows(env: TestEnv, userId: string) {
  const db = env.deps.database.db;
  const mine = await db.select({ id: sessions.id }).from(sessions).where(eq(sessions.userId, userId));
  let tokens = 0;
  for (const s of mine) tokens += (await db.select().from(refreshTokens).where(eq(refreshTokens.sessionId, s.id))).length;
  return {
    sessions: mine.length,
    refreshTokens: tokens,
    emailTokens: (await db.select().from(emailTokens).where(eq(emailTokens.userId, userId))).length,
    recoveryCodes: (await db.select().from(recoveryCodes).where(eq(recoveryCodes.userId, userId))).length,
    oidcIdentities: (await db.select().from(oidcIdentities).where(eq(oidcIdentities.userId, userId))).length,
  };
}

describe('account lifecycle', () => {
  let env: TestEnv;
  let call: Call;

  beforeAll(async () => {
    env = await createTestEnv();
    call = injectClient(env.app);
  });
  afterAll(async () => env?.close());

  const row = async (id: string) => (await env.deps.database.db.select().from(users).where(eq(users.id, id)))[0]!;
  const login = (u: TestUser, loginName = u.username) => call('POST', '/api/v1/auth/login', { body: { login: loginName, password: u.password } });
  const uploadAvatar = async (u: TestUser) => {
    const { payload, headers } = formData([filePart(await photo(120, 120).jpeg().toBuffer())]);
    const res = await env.app.inject({ method: 'PUT', url: '/api/v1/me/avatar', headers: { ...headers, authorization: `Bearer ${u.accessToken}` }, payload });
    expect(res.statusCode).toBe(200);
  };

  it('needs a signed-in caller', async () => {
    expect((await call('POST', '/api/v1/me/deactivate', { body: {} })).status).toBe(401);
    const del = await call('DELETE', '/api/v1/me', { body: { confirm: 'anyone', password: 'x' } });
    expect(del.status).toBe(401);
    expect(del.body.code).toBe('auth.required');
  });

  it('deactivate: password asked, every session ends, profile hidden; signing in again reactivates', async () => {
    const u = await signUp(call, env.dataDir);
    const other = await login(u);
    expect(other.status).toBe(200);
    await uploadAvatar(u);

    const missing = await call('POST', '/api/v1/me/deactivate', { token: u.accessToken, body: {} });
    expect(missing.status).toBe(400);
    expect(missing.body.code).toBe('account.password_required');
    const wrong = await call('POST', '/api/v1/me/deactivate', { token: u.accessToken, body: { password: 'not my password at all' } });
    expect(wrong.status).toBe(403);
    expect(wrong.body.code).toBe('auth.wrong_password');
    const extra = await call('POST', '/api/v1/me/deactivate', { token: u.accessToken, body: { password: u.password, userId: 'someone-else' } });
    expect(extra.status).toBe(400);
    expect((await row(u.id)).state).toBe('active');

    expect((await call('POST', '/api/v1/me/deactivate', { token: u.accessToken, body: { password: u.password } })).status).toBe(204);
    const r = await row(u.id);
    expect(r.state).toBe('deactivated');
    expect(r.deactivatedAt).toBeInstanceOf(Date);
    expect(r.avatar).not.toBeNull();
    for (const t of [u.accessToken, other.body.accessToken as string]) expect((await call('GET', '/api/v1/me', { token: t })).status).toBe(401);
    for (const t of [u.refreshToken, other.body.refreshToken as string]) expect((await call('POST', '/api/v1/auth/refresh', { body: { refreshToken: t } })).status).toBe(401);
    expect((await call('GET', `/api/v1/users/${u.username}`)).status).toBe(404);

    const back = await login(u);
    expect(back.status).toBe(200);
    expect((back.body.user as { state: string }).state).toBe('active');
    expect((await row(u.id)).deactivatedAt).toBeNull();
    const profile = await call('GET', `/api/v1/users/${u.username}`);
    expect(profile.status).toBe(200);
    // Nothing was lost while away.
    expect(profile.body.avatar).not.toBeNull();
    expect((await call('GET', '/api/v1/me', { token: back.body.accessToken as string })).status).toBe(200);
    // The sessions ended by deactivation stay ended.
    expect((await call('GET', '/api/v1/me', { token: other.body.accessToken as string })).status).toBe(401);
  });

  it('an account without a password (OpenID Connect only) deactivates without one', async () => {
    const u = await signUp(call, env.dataDir);
    await env.deps.database.db.update(users).set({ passwordHash: null }).where(eq(users.id, u.id));
    expect((await call('POST', '/api/v1/me/deactivate', { token: u.accessToken, body: {} })).status).toBe(204);
    expect((await row(u.id)).state).toBe('deactivated');
  });

  it('delete: confirmed by username and password, signs out everywhere, refuses sign-in, hides the profile', async () => {
    const u = await signUp(call, env.dataDir);
    const other = await login(u, u.email);
    await uploadAvatar(u);

    const mismatch = await call('DELETE', '/api/v1/me', { token: u.accessToken, body: { password: u.password, confirm: `${u.username}x` } });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.code).toBe('account.confirm_mismatch');
    expect((await call('DELETE', '/api/v1/me', { token: u.accessToken, body: { password: u.password } })).status).toBe(400);
    const noPassword = await call('DELETE', '/api/v1/me', { token: u.accessToken, body: { confirm: u.username } });
    expect(noPassword.status).toBe(400);
    expect(noPassword.body.code).toBe('account.password_required');
    const wrong = await call('DELETE', '/api/v1/me', { token: u.accessToken, body: { password: 'definitely not it', confirm: u.username } });
    expect(wrong.status).toBe(403);
    expect((await row(u.id)).state).toBe('active');
    expect((await call('GET', '/api/v1/me', { token: u.accessToken })).status).toBe(200);

    const t0 = Date.now();
    expect((await call('DELETE', '/api/v1/me', { token: u.accessToken, body: { password: u.password, confirm: u.username.toUpperCase() } })).status).toBe(204);
    const r = await row(u.id);
    expect(r.state).toBe('deleted');
    expect(r.deletedAt!.getTime()).toBeGreaterThanOrEqual(t0 - 1000);
    expect(r.purgeAfter!.getTime() - r.deletedAt!.getTime()).toBe(env.config.auth.accountPurgeGraceDays * DAY);

    for (const t of [u.accessToken, other.body.accessToken as string]) expect((await call('GET', '/api/v1/me', { token: t })).status).toBe(401);
    for (const t of [u.refreshToken, other.body.refreshToken as string]) expect((await call('POST', '/api/v1/auth/refresh', { body: { refreshToken: t } })).status).toBe(401);
    for (const name of [u.username, u.email]) {
      const again = await login(u, name);
      expect(again.status).toBe(401);
      expect(again.body.code).toBe('auth.invalid_credentials');
    }
    expect((await call('GET', `/api/v1/users/${u.username}`)).status).toBe(404);
    // Deleting is not undone by trying again with an old token.
    expect((await call('DELETE', '/api/v1/me', { token: u.accessToken, body: { password: u.password, confirm: u.username } })).status).toBe(401);
  });

  it('the purge erases personal data and files once the grace period is over, and only then', async () => {
    const db = env.deps.database.db;
    const gone = await signUp(call, env.dataDir);
    const later = await signUp(call, env.dataDir);
    const staying = await signUp(call, env.dataDir);
    for (const u of [gone, later, staying]) await uploadAvatar(u);
    // Rows a real account collects through 2FA and OpenID Connect, made directly.
    await db.insert(recoveryCodes).values({ id: uuidv7(), userId: gone.id, codeHash: 'x'.repeat(64) });
    await db.insert(oidcIdentities).values({ provider: 'test', subject: `sub-${gone.id}`, userId: gone.id, email: gone.email });
    await db.update(users).set({ displayName: 'Gone Person', bio: 'lives at 1 Main St', links: [{ label: 'site', url: 'https://gone.example/' }], totpSecret: 'sealed-secret' }).where(eq(users.id, gone.id));

    for (const u of [gone, later]) {
      expect((await call('DELETE', '/api/v1/me', { token: u.accessToken, body: { password: u.password, confirm: u.username } })).status).toBe(204);
    }
    // `later` was deleted just now; `gone` as if the grace period had started long ago.
    await db.update(users).set({ purgeAfter: new Date(Date.now() - DAY) }).where(eq(users.id, gone.id));

    // Not due: nothing happens.
    expect(await purgeDeletedAccounts(env.deps, new Date(Date.now() - 2 * DAY))).toBe(0);
    expect((await row(gone.id)).email).toBe(gone.email);

    expect(await purgeDeletedAccounts(env.deps)).toBe(1);
    const r = await row(gone.id);
    expect(r).toMatchObject({
      username: tombstoneUsername(gone.id),
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
      state: 'deleted',
      purgeAfter: null,
    });
    expect(r.deletedAt).toBeInstanceOf(Date);
    expect(await storedKeys(env.deps.storage, gone.id)).toEqual([]);
    expect(await authRows(env, gone.id)).toEqual({ sessions: 0, refreshTokens: 0, emailTokens: 0, recoveryCodes: 0, oidcIdentities: 0 });
    expect(JSON.stringify(r)).not.toContain(gone.username);

    // The one still in its grace period and the active account are untouched.
    const l = await row(later.id);
    expect(l).toMatchObject({ username: later.username, email: later.email, state: 'deleted' });
    expect(l.avatar).not.toBeNull();
    expect(await storedKeys(env.deps.storage, later.id)).toHaveLength(3);
    expect((await row(staying.id)).state).toBe('active');
    expect(await storedKeys(env.deps.storage, staying.id)).toHaveLength(3);
    expect((await call('GET', '/api/v1/me', { token: staying.accessToken })).status).toBe(200);

    // Idempotent.
    expect(await purgeDeletedAccounts(env.deps)).toBe(0);
    expect(await row(gone.id)).toEqual(r);

    // Far in the future, the other one goes too (with any deleted by earlier tests in this file).
    expect(await purgeDeletedAccounts(env.deps, new Date(Date.now() + (env.config.auth.accountPurgeGraceDays + 1) * DAY))).toBeGreaterThanOrEqual(1);
    expect((await row(later.id)).email).toBeNull();
    expect(await storedKeys(env.deps.storage, later.id)).toEqual([]);

    // The name and address are free again, and the tombstone cannot be signed in to.
    const reg = await call('POST', '/api/v1/auth/register', { body: { email: gone.email, username: gone.username, password: STRONG_PASSWORD } });
    expect(reg.status).toBe(202);
    const [fresh] = await db.select().from(users).where(eq(users.username, gone.username));
    expect(fresh).toMatchObject({ email: gone.email, state: 'active' });
    expect(fresh!.id).not.toBe(gone.id);
    expect((await call('POST', '/api/v1/auth/login', { body: { login: tombstoneUsername(gone.id), password: STRONG_PASSWORD } })).status).toBe(401);
  });
});

describe('the purge job', () => {
  let env: TestEnv;
  let call: Call;

  beforeAll(async () => {
    env = await createTestEnv({ env: { ACCOUNT_PURGE_GRACE_DAYS: '0' } });
    call = injectClient(env.app);
  });
  afterAll(async () => env?.close());

  it('runs on the queue and erases an account with no grace period', async () => {
    const u = await signUp(call, env.dataDir);
    expect((await call('DELETE', '/api/v1/me', { token: u.accessToken, body: { password: u.password, confirm: u.username } })).status).toBe(204);
    await env.deps.jobs.send('users.purge_deleted', {});
    const deadline = Date.now() + 60_000;
    let username = u.username;
    while (Date.now() < deadline && username === u.username) {
      await new Promise((r) => setTimeout(r, 200));
      username = (await env.deps.database.db.select({ username: users.username }).from(users).where(eq(users.id, u.id)))[0]!.username;
    }
    expect(username).toBe(tombstoneUsername(u.id));
  });
});
