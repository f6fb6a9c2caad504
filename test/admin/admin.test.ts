import { eq, sql } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../../src/modules/admin/tables.js';
import { servicesFor } from '../../src/modules/services.js';
import { users, type Role } from '../../src/modules/users/tables.js';
import { createTestEnv, type TestEnv } from '../support/app.js';
import { injectClient, signUp, type Call, type TestUser } from '../support/auth.js';

let env: TestEnv;
let call: Call;
let admin: TestUser;
let moderator: TestUser;
let creator: TestUser;
let plain: TestUser;

let ipSeq = 0;
/** Registrations are throttled per IP, so each account signs up from an address of its own. */
function newUser(opts: { role?: Role; username?: string } = {}): Promise<TestUser> {
  ipSeq += 1;
  return signUp(injectClient(env.app, `10.77.${Math.floor(ipSeq / 200)}.${(ipSeq % 200) + 1}`), env.dataDir, { ...opts, deps: env.deps });
}

/** Accounts that only need to exist (search, pagination): written directly, no email round trip. */
async function insertUser(username: string, extra: Partial<typeof users.$inferInsert> = {}): Promise<string> {
  const id = uuidv7();
  await env.deps.database.db.insert(users).values({ id, username, email: `${username}@example.test`, emailVerifiedAt: new Date(), ...extra });
  return id;
}

async function auditRows(): Promise<number> {
  const [row] = await env.deps.database.db.select({ n: sql<number>`count(*)::int` }).from(auditLog);
  return Number(row!.n);
}

async function userRow(id: string) {
  const [u] = await env.deps.database.db.select().from(users).where(eq(users.id, id));
  return u!;
}

const login = (u: TestUser) => call('POST', '/api/v1/auth/login', { body: { login: u.username, password: u.password } });

beforeAll(async () => {
  env = await createTestEnv();
  call = injectClient(env.app);
  admin = await newUser({ role: 'admin' });
  moderator = await newUser({ role: 'moderator' });
  creator = await newUser({ role: 'creator' });
  plain = await newUser();
});
afterAll(async () => env?.close());

type Who = 'anonymous' | 'user' | 'creator' | 'moderator' | 'admin';
const WHO: Who[] = ['anonymous', 'user', 'creator', 'moderator', 'admin'];
const tokenOf = (who: Who): string | undefined => ({ anonymous: undefined, user: plain.accessToken, creator: creator.accessToken, moderator: moderator.accessToken, admin: admin.accessToken })[who];

describe('access to every admin endpoint', () => {
  it('anonymous 401, user and creator 403, moderator only where granted, admin everywhere', async () => {
    const target = await newUser();
    const suspendAsAdmin = () => call('POST', `/api/v1/admin/users/${target.id}/suspend`, { token: admin.accessToken, body: { reason: 'matrix set-up' } });
    const restoreAsAdmin = () => call('POST', `/api/v1/admin/users/${target.id}/restore`, { token: admin.accessToken, body: { reason: 'matrix clean-up' } });

    const endpoints: { name: string; allowed: Who[]; before?: () => Promise<unknown>; after?: () => Promise<unknown>; run: (token?: string) => ReturnType<Call> }[] = [
      { name: 'list users', allowed: ['moderator', 'admin'], run: (token) => call('GET', '/api/v1/admin/users', { token }) },
      { name: 'get user', allowed: ['moderator', 'admin'], run: (token) => call('GET', `/api/v1/admin/users/${target.id}`, { token }) },
      { name: 'set role', allowed: ['admin'], run: (token) => call('POST', `/api/v1/admin/users/${target.id}/role`, { token, body: { role: 'creator', reason: 'verified creator' } }) },
      { name: 'suspend', allowed: ['moderator', 'admin'], after: restoreAsAdmin, run: (token) => call('POST', `/api/v1/admin/users/${target.id}/suspend`, { token, body: { reason: 'spam' } }) },
      { name: 'restore', allowed: ['moderator', 'admin'], before: suspendAsAdmin, after: restoreAsAdmin, run: (token) => call('POST', `/api/v1/admin/users/${target.id}/restore`, { token, body: { reason: 'appeal accepted' } }) },
      { name: 'audit log', allowed: ['admin'], run: (token) => call('GET', '/api/v1/admin/audit-log', { token }) },
      { name: 'rotate keys', allowed: ['admin'], run: (token) => call('POST', '/api/v1/admin/signing-keys/rotate', { token, body: {} }) },
    ];

    for (const e of endpoints) {
      for (const who of WHO) {
        await e.before?.();
        const before = await userRow(target.id);
        const res = await e.run(tokenOf(who));
        const expected = who === 'anonymous' ? 401 : e.allowed.includes(who) ? 200 : 403;
        expect(res.status, `${e.name} as ${who}: ${JSON.stringify(res.body)}`).toBe(expected);
        if (expected === 401) expect(res.body.code).toBe('auth.required');
        if (expected === 403) {
          expect(res.body.code).toBe('auth.forbidden');
          // A refusal changes nothing.
          const after = await userRow(target.id);
          expect({ role: after.role, state: after.state }).toEqual({ role: before.role, state: before.state });
        }
        if (expected !== 200) expect(String((res.headers as Record<string, unknown>)['content-type'])).toMatch(/application\/problem\+json/);
        if (expected === 200) await e.after?.();
      }
    }
  });
});

describe('suspension', () => {
  it('ends existing access at once, refuses sign-in with the reason, and restore lets the account back in', async () => {
    const victim = await newUser();
    // Warm the guard's cache: the suspension must win over a cached "active".
    expect((await call('GET', '/api/v1/me', { token: victim.accessToken })).status).toBe(200);

    const res = await call('POST', `/api/v1/admin/users/${victim.id}/suspend`, { token: moderator.accessToken, body: { reason: 'posting spam links' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: victim.id, state: 'suspended', suspendedReason: 'posting spam links', suspendedUntil: null, email: victim.email });

    expect((await call('GET', '/api/v1/me', { token: victim.accessToken })).status).toBe(401);
    expect((await call('POST', '/api/v1/auth/refresh', { body: { refreshToken: victim.refreshToken } })).status).toBe(401);
    const refused = await login(victim);
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('auth.account_suspended');
    expect(refused.body.detail).toContain('posting spam links');

    const restored = await call('POST', `/api/v1/admin/users/${victim.id}/restore`, { token: moderator.accessToken, body: { reason: 'appeal accepted' } });
    expect(restored.status).toBe(200);
    expect(restored.body).toMatchObject({ state: 'active', suspendedReason: null, suspendedUntil: null });
    const back = await login(victim);
    expect(back.status).toBe(200);
    expect((await call('GET', '/api/v1/me', { token: back.body.accessToken as string })).status).toBe(200);
    // The sessions ended by the suspension stay ended.
    expect((await call('GET', '/api/v1/me', { token: victim.accessToken })).status).toBe(401);

    // Restoring an account that is not suspended is a conflict, not a silent success.
    const again = await call('POST', `/api/v1/admin/users/${victim.id}/restore`, { token: moderator.accessToken, body: { reason: 'twice' } });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('admin.not_suspended');
  });

  it('a suspension with an end lets the account in again once the end has passed', async () => {
    const victim = await newUser();
    const until = new Date(Date.now() + 3_600_000).toISOString();
    const res = await call('POST', `/api/v1/admin/users/${victim.id}/suspend`, { token: admin.accessToken, body: { reason: 'cooling off', until } });
    expect(res.status).toBe(200);
    expect(res.body.suspendedUntil).toBe(until);
    const refused = await login(victim);
    expect(refused.status).toBe(403);
    expect(refused.body.detail).toContain(until);
    expect(refused.body.suspendedUntil).toBe(until);

    // An hour passes: move the end into the past instead of waiting for it.
    await env.deps.database.db.update(users).set({ suspendedUntil: new Date(Date.now() - 1000) }).where(eq(users.id, victim.id));
    await servicesFor(env.deps).sessionState.forgetAccount(victim.id);

    const seen = await call('GET', `/api/v1/admin/users/${victim.id}`, { token: admin.accessToken });
    expect(seen.body.state).toBe('active');
    const listed = await call('GET', `/api/v1/admin/users?state=suspended&q=${victim.username}`, { token: admin.accessToken });
    expect(listed.body.items).toEqual([]);
    const back = await login(victim);
    expect(back.status).toBe(200);
    expect((back.body.user as { state: string }).state).toBe('active');
    expect((await userRow(victim.id)).suspendedReason).toBeNull();
  });

  it('staff act only on lower ranks, never on themselves', async () => {
    const otherModerator = await newUser({ role: 'moderator' });
    const suspend = (token: string, id: string) => call('POST', `/api/v1/admin/users/${id}/suspend`, { token, body: { reason: 'rank check' } });
    const before = await auditRows();

    for (const [token, id, code] of [
      [moderator.accessToken, admin.id, 'admin.insufficient_rank'],
      [moderator.accessToken, otherModerator.id, 'admin.insufficient_rank'],
      [moderator.accessToken, moderator.id, 'admin.cannot_act_on_self'],
      [admin.accessToken, admin.id, 'admin.cannot_act_on_self'],
    ] as const) {
      const res = await suspend(token, id);
      expect(res.status).toBe(403);
      expect(res.body.code).toBe(code);
    }
    expect(await auditRows()).toBe(before);
    for (const u of [admin, moderator, otherModerator]) expect((await call('GET', '/api/v1/me', { token: u.accessToken })).status).toBe(200);

    // A moderator may suspend creators; an admin may suspend moderators.
    const c = await newUser({ role: 'creator' });
    expect((await suspend(moderator.accessToken, c.id)).status).toBe(200);
    expect((await suspend(admin.accessToken, otherModerator.id)).status).toBe(200);
    expect((await call('GET', '/api/v1/me', { token: otherModerator.accessToken })).status).toBe(401);
    // ...and the moderator cannot lift a suspension an admin put on a moderator.
    const lift = await call('POST', `/api/v1/admin/users/${otherModerator.id}/restore`, { token: moderator.accessToken, body: { reason: 'friend' } });
    expect(lift.status).toBe(403);
  });

  it('unknown accounts are 404', async () => {
    const ghost = uuidv7();
    for (const res of [
      await call('GET', `/api/v1/admin/users/${ghost}`, { token: moderator.accessToken }),
      await call('POST', `/api/v1/admin/users/${ghost}/suspend`, { token: moderator.accessToken, body: { reason: 'x' } }),
      await call('POST', `/api/v1/admin/users/${ghost}/restore`, { token: moderator.accessToken, body: { reason: 'x' } }),
      await call('POST', `/api/v1/admin/users/${ghost}/role`, { token: admin.accessToken, body: { role: 'creator', reason: 'x' } }),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('users.not_found');
    }
  });
});

describe('roles', () => {
  it('a role change applies to the next request; the last admin cannot demote themselves', async () => {
    const last = await call('POST', `/api/v1/admin/users/${admin.id}/role`, { token: admin.accessToken, body: { role: 'moderator', reason: 'stepping down' } });
    expect(last.status).toBe(409);
    expect(last.body.code).toBe('admin.last_admin');
    expect((await userRow(admin.id)).role).toBe('admin');

    const second = await newUser();
    expect((await call('GET', '/api/v1/admin/audit-log', { token: second.accessToken })).status).toBe(403);
    const promoted = await call('POST', `/api/v1/admin/users/${second.id}/role`, { token: admin.accessToken, body: { role: 'admin', reason: 'new co-admin' } });
    expect(promoted.status).toBe(200);
    expect(promoted.body.role).toBe('admin');
    // The same token, new rights: the guard's cached role was dropped.
    expect((await call('GET', '/api/v1/admin/audit-log', { token: second.accessToken })).status).toBe(200);
    // Admins are equals: neither may suspend the other.
    expect((await call('POST', `/api/v1/admin/users/${admin.id}/suspend`, { token: second.accessToken, body: { reason: 'coup' } })).status).toBe(403);

    // With another admin around, stepping down is allowed.
    const down = await call('POST', `/api/v1/admin/users/${second.id}/role`, { token: second.accessToken, body: { role: 'user', reason: 'temporary access over' } });
    expect(down.status).toBe(200);
    expect((await call('GET', '/api/v1/admin/audit-log', { token: second.accessToken })).status).toBe(403);

    // Setting the role an account already has changes and records nothing.
    const before = await auditRows();
    const same = await call('POST', `/api/v1/admin/users/${second.id}/role`, { token: admin.accessToken, body: { role: 'user', reason: 'no-op' } });
    expect(same.status).toBe(200);
    expect(await auditRows()).toBe(before);
  });
});

describe('audit log', () => {
  it('records every action with actor, action, target, reason and time, newest first', async () => {
    const t0 = Date.now();
    const target = await newUser();
    const act = async (token: string, path: string, body: object) => expect((await call('POST', `/api/v1/admin/users/${target.id}/${path}`, { token, body })).status).toBe(200);
    await act(moderator.accessToken, 'suspend', { reason: 'harassment report #12', until: new Date(Date.now() + 86_400_000).toISOString() });
    await act(admin.accessToken, 'restore', { reason: 'report was mistaken' });
    await act(admin.accessToken, 'role', { role: 'creator', reason: 'monetization approved' });

    const log = await call('GET', `/api/v1/admin/audit-log?targetType=user&targetId=${target.id}`, { token: admin.accessToken });
    expect(log.status).toBe(200);
    const items = log.body.items as Record<string, unknown>[];
    expect(items.map((i) => [i.action, i.actorId, i.actorUsername, i.reason])).toEqual([
      ['user.set_role', admin.id, admin.username, 'monetization approved'],
      ['user.restore', admin.id, admin.username, 'report was mistaken'],
      ['user.suspend', moderator.id, moderator.username, 'harassment report #12'],
    ]);
    for (const i of items) {
      expect(i).toMatchObject({ targetType: 'user', targetId: target.id, targetUsername: target.username });
      const at = Date.parse(i.createdAt as string);
      expect(at).toBeGreaterThanOrEqual(t0 - 1000);
      expect(at).toBeLessThanOrEqual(Date.now() + 1000);
    }
    expect(items[0]!.details).toEqual({ from: 'user', to: 'creator' });
    expect(items[2]!.details).toMatchObject({ previousState: 'active', revokedSessions: 1 });

    const byModerator = await call('GET', `/api/v1/admin/audit-log?actorId=${moderator.id}&action=user.suspend`, { token: admin.accessToken });
    expect((byModerator.body.items as { targetId: string }[]).map((i) => i.targetId)).toContain(target.id);
    expect((byModerator.body.items as { actorId: string; action: string }[]).every((i) => i.actorId === moderator.id && i.action === 'user.suspend')).toBe(true);

    const bad = await call('GET', `/api/v1/admin/audit-log?targetId=${target.id}`, { token: admin.accessToken });
    expect(bad.status).toBe(400);
  });

  it('key rotation is recorded and signs nobody out', async () => {
    const res = await call('POST', '/api/v1/admin/signing-keys/rotate', { token: admin.accessToken, body: { reason: 'quarterly rotation' } });
    expect(res.status).toBe(200);
    expect(servicesFor(env.deps).keys.activeKid()).toBe(res.body.kid);
    expect((await call('GET', '/api/v1/me', { token: admin.accessToken })).status).toBe(200);
    const log = await call('GET', '/api/v1/admin/audit-log?action=keys.rotate&limit=1', { token: admin.accessToken });
    expect(log.body.items).toEqual([expect.objectContaining({ actorId: admin.id, targetType: 'signing_key', targetId: res.body.kid, reason: 'quarterly rotation' })]);
  });

  it('pages never repeat or skip an entry', async () => {
    const all = await call('GET', '/api/v1/admin/audit-log?limit=100', { token: admin.accessToken });
    const expected = (all.body.items as { id: string }[]).map((i) => i.id);
    expect(expected.length).toBeGreaterThan(5);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<Call>> = await call('GET', `/api/v1/admin/audit-log?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: admin.accessToken });
      expect(page.status).toBe(200);
      seen.push(...(page.body.items as { id: string }[]).map((i) => i.id));
      cursor = page.body.nextCursor as string | null;
    } while (cursor);
    expect(seen).toEqual(expected);
  });
});

describe('bad input', () => {
  it('is a 400 problem+json that changes nothing and records nothing', async () => {
    const target = await newUser();
    const before = await auditRows();
    const id = target.id;
    const cases: [string, string, object | undefined, string][] = [
      ['POST', `/api/v1/admin/users/${id}/suspend`, {}, 'missing reason'],
      ['POST', `/api/v1/admin/users/${id}/suspend`, { reason: '' }, 'empty reason'],
      ['POST', `/api/v1/admin/users/${id}/suspend`, { reason: '   ' }, 'blank reason'],
      ['POST', `/api/v1/admin/users/${id}/suspend`, { reason: 'x'.repeat(501) }, 'overlong reason'],
      ['POST', `/api/v1/admin/users/${id}/suspend`, { reason: 'two\nlines' }, 'multi-line reason'],
      ['POST', `/api/v1/admin/users/${id}/suspend`, { reason: 'spam', until: new Date(Date.now() - 60_000).toISOString() }, 'until in the past'],
      ['POST', `/api/v1/admin/users/${id}/suspend`, { reason: 'spam', until: 'next tuesday' }, 'until not a date'],
      ['POST', `/api/v1/admin/users/${id}/suspend`, { reason: 'spam', extra: true }, 'unknown field'],
      ['POST', `/api/v1/admin/users/${id}/role`, { role: 'superuser', reason: 'why not' }, 'invalid role'],
      ['POST', `/api/v1/admin/users/${id}/role`, { role: 'creator' }, 'role without reason'],
      ['POST', `/api/v1/admin/users/${id}/role`, { role: 'creator', reason: 'y'.repeat(501) }, 'role with overlong reason'],
      ['POST', `/api/v1/admin/users/${id}/restore`, {}, 'restore without reason'],
      ['POST', '/api/v1/admin/users/not-a-uuid/suspend', { reason: 'spam' }, 'invalid uuid (suspend)'],
      ['POST', '/api/v1/admin/users/not-a-uuid/role', { role: 'creator', reason: 'x' }, 'invalid uuid (role)'],
      ['POST', '/api/v1/admin/users/not-a-uuid/restore', { reason: 'x' }, 'invalid uuid (restore)'],
      ['GET', '/api/v1/admin/users/not-a-uuid', undefined, 'invalid uuid (get)'],
      ['GET', '/api/v1/admin/users?limit=0', undefined, 'limit 0'],
      ['GET', '/api/v1/admin/users?limit=101', undefined, 'limit 101'],
      ['GET', '/api/v1/admin/users?role=overlord', undefined, 'invalid role filter'],
      ['GET', '/api/v1/admin/users?state=sleeping', undefined, 'invalid state filter'],
      ['GET', '/api/v1/admin/users?cursor=***', undefined, 'malformed cursor'],
      ['GET', `/api/v1/admin/users?cursor=${Buffer.from('not an id').toString('base64url')}`, undefined, 'cursor that is not ours'],
      ['GET', '/api/v1/admin/audit-log?actorId=bob', undefined, 'invalid actorId'],
    ];
    for (const [method, url, body, what] of cases) {
      const res = await call(method, url, { token: admin.accessToken, body });
      expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBe(400);
      expect(String((res.headers as Record<string, unknown>)['content-type']), what).toMatch(/application\/problem\+json/);
      expect(res.body.code, what).toEqual(expect.any(String));
      expect(res.body.detail, what).toEqual(expect.any(String));
    }
    const after = await userRow(id);
    expect({ role: after.role, state: after.state, suspendedReason: after.suspendedReason }).toEqual({ role: 'user', state: 'active', suspendedReason: null });
    expect(await auditRows()).toBe(before);
    expect((await call('GET', '/api/v1/me', { token: target.accessToken })).status).toBe(200);
  });
});

describe('listing and search', () => {
  let margarita: string;
  let margaret: string;
  let tomas: string;
  beforeAll(async () => {
    margarita = await insertUser('margarita_ruiz', { displayName: 'Margarita Ruiz', email: 'mruiz@example.test' });
    margaret = await insertUser('margaret_lee', { displayName: 'Maggie' });
    tomas = await insertUser('tomas_berg', { displayName: 'Tomás Berg', role: 'creator' });
  });

  const search = async (query: string) => {
    const res = await call('GET', `/api/v1/admin/users?${query}`, { token: moderator.accessToken });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return (res.body.items as { id: string }[]).map((i) => i.id);
  };

  it('returns staff fields', async () => {
    const res = await call('GET', `/api/v1/admin/users?q=margarita_ruiz`, { token: moderator.accessToken });
    expect(res.body.items).toEqual([
      expect.objectContaining({ id: margarita, username: 'margarita_ruiz', email: 'mruiz@example.test', role: 'user', state: 'active', suspendedReason: null, suspendedUntil: null, createdAt: expect.any(String) }),
    ]);
  });

  it('finds by username prefix, email prefix, display name, typo and id', async () => {
    const byPrefix = await search('q=MARG');
    expect(byPrefix).toEqual(expect.arrayContaining([margarita, margaret]));
    expect(byPrefix).not.toContain(tomas);
    // % and _ are LIKE wildcards; in a query they match only themselves.
    expect(await search('q=%25')).toEqual([]);
    expect(await search('q=_')).toEqual([]);

    const byTypo = await search('q=margerita');
    expect(byTypo).toContain(margarita);
    expect(byTypo).not.toContain(tomas);

    expect(await search('q=mruiz')).toEqual([margarita]);
    expect(await search('q=maggie')).toEqual([margaret]);
    expect(await search('q=berg')).toContain(tomas);
    expect(await search(`q=${tomas}`)).toEqual([tomas]);
    expect(await search('q=zzqqxx')).toEqual([]);
  });

  it('filters by role and state', async () => {
    const creators = await call('GET', '/api/v1/admin/users?role=creator&limit=100', { token: moderator.accessToken });
    const items = creators.body.items as { id: string; role: string }[];
    expect(items.map((i) => i.id)).toContain(tomas);
    expect(items.every((i) => i.role === 'creator')).toBe(true);

    const gone = await insertUser('suspended_sam', { state: 'suspended', suspendedReason: 'test' });
    const suspended = (await call('GET', '/api/v1/admin/users?state=suspended&limit=100', { token: moderator.accessToken })).body.items as { id: string; state: string }[];
    expect(suspended.map((i) => i.id)).toContain(gone);
    expect(suspended.every((i) => i.state === 'suspended')).toBe(true);
    expect(await search('state=active&q=suspended_sam')).toEqual([]);
  });

  it('pages never repeat or skip an account, even while accounts are added', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push(await insertUser(`pager_${i}`));
    const full = await search('q=pager_&limit=100');
    expect(full).toEqual([...ids].reverse());

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: Awaited<ReturnType<Call>> = await call('GET', `/api/v1/admin/users?q=pager_&limit=3${cursor ? `&cursor=${cursor}` : ''}`, { token: moderator.accessToken });
      seen.push(...(res.body.items as { id: string }[]).map((i) => i.id));
      cursor = res.body.nextCursor as string | null;
      pages += 1;
      // A sign-up between pages lands before the first page, not inside the walk.
      if (pages === 1) await insertUser('pager_late');
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(full);

    // The whole table, two at a time, matches one big page.
    const everyone = await search('limit=100');
    const walked: string[] = [];
    cursor = null;
    do {
      const res: Awaited<ReturnType<Call>> = await call('GET', `/api/v1/admin/users?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: moderator.accessToken });
      walked.push(...(res.body.items as { id: string }[]).map((i) => i.id));
      cursor = res.body.nextCursor as string | null;
    } while (cursor);
    expect(walked).toEqual(everyone);
    expect(new Set(walked).size).toBe(walked.length);
  });
});

describe('OpenAPI', () => {
  it('documents the admin endpoints with their schemas', async () => {
    const doc = (await call('GET', '/openapi.json')).body as { paths: Record<string, Record<string, { tags: string[]; security: unknown[]; requestBody?: unknown }>> };
    for (const [path, method] of [
      ['/api/v1/admin/users', 'get'],
      ['/api/v1/admin/users/{id}', 'get'],
      ['/api/v1/admin/users/{id}/role', 'post'],
      ['/api/v1/admin/users/{id}/suspend', 'post'],
      ['/api/v1/admin/users/{id}/restore', 'post'],
      ['/api/v1/admin/audit-log', 'get'],
      ['/api/v1/admin/signing-keys/rotate', 'post'],
    ] as const) {
      const op = doc.paths[path]?.[method];
      expect(op, path).toBeDefined();
      expect(op!.tags).toEqual(['admin']);
      expect(op!.security).toEqual([{ bearerAuth: [] }]);
    }
    expect(doc.paths['/api/v1/admin/users/{id}/suspend']!.post!.requestBody).toBeDefined();
  });
});
