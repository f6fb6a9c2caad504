import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../../src/modules/admin/tables.js';
import { moderationActions, moderationCases, moderationLabels, moderationReports } from '../../src/modules/moderation/tables.js';
import { users } from '../../src/modules/users/tables.js';
import { createTestEnv, type TestEnv } from '../support/app.js';
import { injectClient, signUp, type Call, type TestUser } from '../support/auth.js';
import { expect4xx, post } from '../posts/support.js';
import { act } from './support.js';

let env: TestEnv;
let call: Call;
let author: TestUser;
let r1: TestUser;
let r2: TestUser;
let r3: TestUser;
let mod: TestUser;
let mod2: TestUser;
let admin: TestUser;

const UNKNOWN = '01936a3e-0000-7000-8000-000000000000';

beforeAll(async () => {
  env = await createTestEnv();
  call = injectClient(env.app);
  [author, r1, r2, r3] = (await Promise.all([0, 1, 2, 3].map(() => signUp(call, env.dataDir)))) as [TestUser, TestUser, TestUser, TestUser];
  mod = await signUp(call, env.dataDir, { role: 'moderator', deps: env.deps });
  mod2 = await signUp(call, env.dataDir, { role: 'moderator', deps: env.deps });
  admin = await signUp(call, env.dataDir, { role: 'admin', deps: env.deps });
});
afterAll(async () => env?.close());

const report = (u: TestUser | null, body: Record<string, unknown>) => call('POST', '/api/v1/reports', { token: u?.accessToken, body });
const rowCounts = async () => {
  const db = env.deps.database.db;
  return {
    reports: (await db.select().from(moderationReports)).length,
    cases: (await db.select().from(moderationCases)).length,
    actions: (await db.select().from(moderationActions)).length,
  };
};
type CaseBody = { id: string; targetId: string; reportCount: number; priority: number; assigneeId: string | null; status: string; source: string };

describe('reports', () => {
  it('files reports into one case per target, once per reporter, ordered by volume', async () => {
    const a = await post(call, author, { text: 'reported once' });
    const b = await post(call, author, { text: 'reported thrice' });
    const first = await report(r1, { targetType: 'post', targetId: a.id, reason: 'spam', details: 'buy-now links' });
    expect(first.status).toBe(201);
    for (const u of [r1, r2, r3]) expect((await report(u, { targetType: 'post', targetId: b.id, reason: 'harassment' })).status).toBe(201);
    const again = await report(r1, { targetType: 'post', targetId: b.id, reason: 'hate' });
    expect4xx(again, 409);
    expect(again.body.code).toBe('moderation.already_reported');

    const q = await call('GET', '/api/v1/moderation/queue?source=report', { token: mod.accessToken });
    expect(q.status).toBe(200);
    const items = (q.body as { items: CaseBody[] }).items;
    const ib = items.findIndex((c) => c.targetId === b.id);
    const ia = items.findIndex((c) => c.targetId === a.id);
    expect(items[ib]!.reportCount).toBe(3);
    expect(items[ia]!.reportCount).toBe(1);
    expect(ib).toBeLessThan(ia);
    // Pages follow the same order without repeats.
    const p1 = await call('GET', '/api/v1/moderation/queue?source=report&limit=1', { token: mod.accessToken });
    const next = (p1.body as { nextCursor: string }).nextCursor;
    const p2 = await call('GET', `/api/v1/moderation/queue?source=report&limit=1&cursor=${next}`, { token: mod.accessToken });
    expect([...(p1.body as { items: CaseBody[] }).items, ...(p2.body as { items: CaseBody[] }).items].map((c) => c.targetId)).toEqual([b.id, a.id]);
    const detail = await call('GET', `/api/v1/moderation/cases/${items[ia]!.id}`, { token: mod.accessToken });
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({ subject: { text: 'reported once', state: 'visible', authorId: author.id }, reports: [{ reason: 'spam', details: 'buy-now links', reporterId: r1.id }] });
  });

  it('refuses bad reports and changes nothing', async () => {
    const p = await post(call, author, { text: 'fine post' });
    const before = await rowCounts();
    expect4xx(await report(null, { targetType: 'post', targetId: p.id, reason: 'spam' }), 401);
    expect4xx(await report(r1, { targetType: 'post', targetId: 'nope', reason: 'spam' }), 400);
    expect4xx(await report(r1, { targetType: 'planet', targetId: p.id, reason: 'spam' }), 400);
    expect4xx(await report(r1, { targetType: 'post', targetId: p.id, reason: 'ugly' }), 400);
    expect4xx(await report(r1, { targetType: 'post', targetId: p.id, reason: 'spam', extra: 1 }), 400);
    expect4xx(await report(r1, { targetType: 'post', targetId: p.id, reason: 'other', details: 'x'.repeat(2001) }), 400);
    expect4xx(await report(r1, { targetType: 'post', targetId: UNKNOWN, reason: 'spam' }), 404);
    expect4xx(await report(author, { targetType: 'post', targetId: p.id, reason: 'spam' }), 422);
    expect4xx(await report(r1, { targetType: 'video', targetId: UNKNOWN, reason: 'spam' }), 404);
    const chat = await report(r1, { targetType: 'chat_message', targetId: UNKNOWN, reason: 'spam' });
    expect4xx(chat, 422);
    expect(chat.body.code).toBe('moderation.unsupported_target');
    expect(await rowCounts()).toEqual(before);
  });

  it('reports accounts and comments too', async () => {
    const p = await post(call, r2, { text: 'host' });
    const c = await call('POST', `/api/v1/posts/${p.id}/comments`, { token: author.accessToken, body: { text: 'a comment' } });
    expect((await report(r1, { targetType: 'comment', targetId: (c.body as { id: string }).id, reason: 'spam' })).status).toBe(201);
    expect((await report(r1, { targetType: 'user', targetId: author.id, reason: 'harassment' })).status).toBe(201);
  });
});

describe('queue access', () => {
  it('only moderators and admins reach the queue, cases, decisions and models', async () => {
    const [someCase] = await env.deps.database.db.select().from(moderationCases).limit(1);
    for (const url of ['/api/v1/moderation/queue', `/api/v1/moderation/cases/${someCase!.id}`, '/api/v1/moderation/actions', '/api/v1/moderation/models']) {
      expect4xx(await call('GET', url), 401);
      expect4xx(await call('GET', url, { token: r1.accessToken }), 403);
      expect4xx(await call('GET', url, { token: author.accessToken }), 403);
      expect((await call('GET', url, { token: mod.accessToken })).status).toBe(200);
      expect((await call('GET', url, { token: admin.accessToken })).status).toBe(200);
    }
    const p = await post(call, author, { text: 'not to be touched' });
    const before = await rowCounts();
    for (const token of [undefined, r1.accessToken, author.accessToken]) {
      const res = await call('POST', '/api/v1/moderation/actions', { token, body: { targetType: 'post', targetId: p.id, action: 'remove', reason: 'x' } });
      expect4xx(res, token ? 403 : 401);
      expect4xx(await call('POST', `/api/v1/moderation/cases/${someCase!.id}/claim`, { token }), token ? 403 : 401);
    }
    expect(await rowCounts()).toEqual(before);
    expect((await call('GET', `/api/v1/posts/${p.id}`)).status).toBe(200);
  });

  it('rejects bad queue queries and unknown cases', async () => {
    for (const qs of ['status=closed', 'targetType=planet', 'assignee=bob', 'minScore=2', 'limit=0', 'limit=101', 'cursor=%%%', 'nope=1']) {
      expect4xx(await call('GET', `/api/v1/moderation/queue?${qs}`, { token: mod.accessToken }), 400);
    }
    expect4xx(await call('GET', `/api/v1/moderation/queue?cursor=${Buffer.from('x~y').toString('base64url')}`, { token: mod.accessToken }), 400);
    expect4xx(await call('GET', '/api/v1/moderation/cases/nope', { token: mod.accessToken }), 400);
    expect4xx(await call('GET', `/api/v1/moderation/cases/${UNKNOWN}`, { token: mod.accessToken }), 404);
  });
});

describe('claim and assign', () => {
  it('one moderator holds a case at a time; admins can take it over; assignment needs staff', async () => {
    const p = await post(call, author, { text: 'claim me' });
    const { caseId } = (await report(r1, { targetType: 'post', targetId: p.id, reason: 'other' })).body as { caseId: string };
    const claimed = await call('POST', `/api/v1/moderation/cases/${caseId}/claim`, { token: mod.accessToken });
    expect(claimed.status).toBe(200);
    expect((claimed.body as CaseBody).assigneeId).toBe(mod.id);
    expect4xx(await call('POST', `/api/v1/moderation/cases/${caseId}/claim`, { token: mod2.accessToken }), 409);
    expect4xx(await call('POST', `/api/v1/moderation/cases/${caseId}/claim?force=true`, { token: mod2.accessToken }), 409);
    const taken = await call('POST', `/api/v1/moderation/cases/${caseId}/claim?force=true`, { token: admin.accessToken });
    expect((taken.body as CaseBody).assigneeId).toBe(admin.id);
    const mine = await call('GET', '/api/v1/moderation/queue?assignee=me', { token: admin.accessToken });
    expect((mine.body as { items: CaseBody[] }).items.map((c) => c.id)).toEqual([caseId]);

    expect4xx(await call('POST', `/api/v1/moderation/cases/${caseId}/assign`, { token: admin.accessToken, body: { assigneeId: r1.id } }), 422);
    expect4xx(await call('POST', `/api/v1/moderation/cases/${caseId}/assign`, { token: admin.accessToken, body: { assigneeId: 'x' } }), 400);
    expect4xx(await call('POST', `/api/v1/moderation/cases/${UNKNOWN}/assign`, { token: admin.accessToken, body: { assigneeId: null } }), 404);
    const given = await call('POST', `/api/v1/moderation/cases/${caseId}/assign`, { token: admin.accessToken, body: { assigneeId: mod2.id } });
    expect((given.body as CaseBody).assigneeId).toBe(mod2.id);
    const none = await call('POST', `/api/v1/moderation/cases/${caseId}/assign`, { token: mod.accessToken, body: { assigneeId: null } });
    expect((none.body as CaseBody).assigneeId).toBeNull();
    const unassigned = await call('GET', '/api/v1/moderation/queue?assignee=none', { token: mod.accessToken });
    expect((unassigned.body as { items: CaseBody[] }).items.map((c) => c.id)).toContain(caseId);
  });
});

describe('actions and appeals', () => {
  it('acts with a reason, audits it, resolves the case, stores labels; the author appeals once and it goes back to the queue', async () => {
    const p = await post(call, author, { text: 'buy cheap followers at my site' });
    const { caseId } = (await report(r1, { targetType: 'post', targetId: p.id, reason: 'spam' })).body as { caseId: string };
    const removed = await act(call, mod, { targetType: 'post', targetId: p.id, action: 'remove', reason: 'commercial spam', category: 'spam' });
    expect(removed).toMatchObject({ action: 'remove', automatic: false, caseId });
    expect((await call('GET', `/api/v1/posts/${p.id}`, { token: author.accessToken })).status).toBe(404);
    const [c] = await env.deps.database.db.select().from(moderationCases).where(eq(moderationCases.id, caseId));
    expect(c!.status).toBe('resolved');
    const audit = await env.deps.database.db.select().from(auditLog).where(and(eq(auditLog.targetId, p.id), eq(auditLog.action, 'moderation.remove')));
    expect(audit).toMatchObject([{ actorId: mod.id, reason: 'commercial spam' }]);
    const labels = await env.deps.database.db.select().from(moderationLabels).where(eq(moderationLabels.actionId, removed.id));
    expect(labels).toMatchObject([{ task: 'spam', label: 1, text: 'buy cheap followers at my site' }]);

    // The author sees the decision and appeals it once.
    const mine = await call('GET', '/api/v1/moderation/me/actions', { token: author.accessToken });
    expect((mine.body as { items: { id: string }[] }).items.map((a) => a.id)).toContain(removed.id);
    const others = await call('GET', '/api/v1/moderation/me/actions', { token: r1.accessToken });
    expect((others.body as { items: { id: string }[] }).items.map((a) => a.id)).not.toContain(removed.id);
    expect4xx(await call('POST', '/api/v1/moderation/appeals', { token: r1.accessToken, body: { actionId: removed.id, text: 'not mine' } }), 404);
    expect4xx(await call('POST', '/api/v1/moderation/appeals', { body: { actionId: removed.id, text: 'anon' } }), 401);
    expect4xx(await call('POST', '/api/v1/moderation/appeals', { token: author.accessToken, body: { actionId: removed.id, text: '' } }), 400);
    expect4xx(await call('POST', '/api/v1/moderation/appeals', { token: author.accessToken, body: { actionId: removed.id } }), 400);
    const appeal = await call('POST', '/api/v1/moderation/appeals', { token: author.accessToken, body: { actionId: removed.id, text: 'it was a joke' } });
    expect(appeal.status).toBe(201);
    expect(appeal.body).toMatchObject({ status: 'open', actionId: removed.id });
    const second = await call('POST', '/api/v1/moderation/appeals', { token: author.accessToken, body: { actionId: removed.id, text: 'again' } });
    expect4xx(second, 409);
    expect(second.body.code).toBe('moderation.already_appealed');
    const q = await call('GET', '/api/v1/moderation/queue?source=appeal', { token: mod.accessToken });
    const appealCase = (q.body as { items: CaseBody[] }).items.find((x) => x.targetId === p.id);
    expect(appealCase).toMatchObject({ status: 'open', source: 'appeal' });

    // Overturned: restore brings the post back and decides the appeal.
    const restored = await act(call, mod2, { targetType: 'post', targetId: p.id, action: 'restore', reason: 'appeal accepted' });
    expect(restored.caseId).toBe(appealCase!.id);
    expect((await call('GET', `/api/v1/posts/${p.id}`, { token: r1.accessToken })).status).toBe(200);
    const detail = await call('GET', `/api/v1/moderation/cases/${appealCase!.id}`, { token: mod.accessToken });
    expect((detail.body as { appeals: { status: string }[] }).appeals).toMatchObject([{ status: 'overturned' }]);
    expect4xx(await call('POST', '/api/v1/moderation/appeals', { token: author.accessToken, body: { actionId: restored.id, text: 'thanks' } }), 422);
  });

  it('warns, suspends the author (ranked below only), and refuses what does not apply', async () => {
    const p = await post(call, author, { text: 'rude again' });
    const warned = await act(call, mod, { targetType: 'post', targetId: p.id, action: 'warn', reason: 'first warning', category: 'offensive' });
    expect(warned.action).toBe('warn');
    expect((await call('GET', `/api/v1/posts/${p.id}`)).status).toBe(200);

    const before = await rowCounts();
    const bad = (body: Record<string, unknown>) => call('POST', '/api/v1/moderation/actions', { token: mod.accessToken, body });
    expect4xx(await bad({ targetType: 'post', targetId: p.id, action: 'remove' }), 400);
    expect4xx(await bad({ targetType: 'post', targetId: p.id, action: 'remove', reason: '   ' }), 400);
    expect4xx(await bad({ targetType: 'post', targetId: p.id, action: 'explode', reason: 'x' }), 400);
    expect4xx(await bad({ targetType: 'post', targetId: p.id, action: 'remove', reason: 'x', category: 'weird' }), 400);
    expect4xx(await bad({ targetType: 'post', targetId: p.id, action: 'remove', reason: 'x', until: '2099-01-01T00:00:00Z' }), 400);
    expect4xx(await bad({ targetType: 'post', targetId: UNKNOWN, action: 'remove', reason: 'x' }), 404);
    expect4xx(await bad({ targetType: 'post', targetId: p.id, action: 'age_restrict', reason: 'x' }), 422);
    expect4xx(await bad({ targetType: 'user', targetId: author.id, action: 'remove', reason: 'x' }), 422);
    expect4xx(await bad({ targetType: 'user', targetId: mod2.id, action: 'suspend', reason: 'x' }), 403);
    const modPost = await post(call, mod, { text: 'my own' });
    expect4xx(await bad({ targetType: 'post', targetId: modPost.id, action: 'remove', reason: 'x' }), 403);
    expect(await rowCounts()).toEqual(before);

    const suspended = await act(call, mod, { targetType: 'post', targetId: p.id, action: 'suspend', reason: 'repeated abuse', category: 'offensive' });
    expect(suspended.action).toBe('suspend');
    const [u] = await env.deps.database.db.select().from(users).where(eq(users.id, author.id));
    expect(u!.state).toBe('suspended');
    expect4xx(await call('GET', '/api/v1/moderation/me/actions', { token: author.accessToken }), 401);
    const lifted = await act(call, admin, { targetType: 'user', targetId: author.id, action: 'restore', reason: 'served its time' });
    expect(lifted.action).toBe('restore');
    const [again] = await env.deps.database.db.select().from(users).where(eq(users.id, author.id));
    expect(again!.state).toBe('active');
    const audit = await env.deps.database.db.select().from(auditLog).where(eq(auditLog.targetId, author.id));
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['user.suspend', 'user.restore', 'moderation.restore']));
  });
});
