import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../../src/modules/admin/tables.js';
import { moderationActions, moderationScores } from '../../src/modules/moderation/tables.js';
import { createTestEnv, type TestEnv } from '../support/app.js';
import { injectClient, signUp, type Call, type TestUser } from '../support/auth.js';
import { post } from '../posts/support.js';
import { act, eventually } from './support.js';

let env: TestEnv;
let call: Call;
let author: TestUser;
let reader: TestUser;
let mod: TestUser;

beforeAll(async () => {
  env = await createTestEnv();
  call = injectClient(env.app);
  [author, reader] = await Promise.all([signUp(call, env.dataDir), signUp(call, env.dataDir)]);
  mod = await signUp(call, env.dataDir, { role: 'moderator', deps: env.deps });
});
afterAll(async () => env?.close());

const scoreOf = (type: 'post' | 'comment', id: string) =>
  eventually(async () => (await env.deps.database.db.select().from(moderationScores).where(and(eq(moderationScores.targetType, type), eq(moderationScores.targetId, id))))[0], `the score of ${type} ${id}`);

describe('automatic moderation (lexicon fallback: no model trained)', () => {
  it('holds clearly abusive text at once (pre-check) and records the decision from the job', async () => {
    const p = await post(call, author, { text: 'f u c k you, you sh1t' });
    // Held from the start: the author sees it marked, others do not see it at all.
    const own = await call('GET', `/api/v1/posts/${p.id}`, { token: author.accessToken });
    expect((own.body as { moderationState: string }).moderationState).toBe('held');
    expect((await call('GET', `/api/v1/posts/${p.id}`, { token: reader.accessToken })).status).toBe(404);

    const s = await scoreOf('post', p.id);
    expect(s).toMatchObject({ decision: 'hold', offensiveModel: 'lexicon' });
    expect(s.profanityTerms).toBeGreaterThanOrEqual(2);
    const actions = await eventually(async () => {
      const r = await call('GET', `/api/v1/moderation/actions?targetType=post&targetId=${p.id}`, { token: mod.accessToken });
      const items = (r.body as { items: { action: string; automatic: boolean; id: string }[] }).items;
      return items.length ? items : undefined;
    }, 'the automatic decision');
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({ action: 'hold', automatic: true });
    // In the queue, as an automatic case, and listed with the automatic decisions.
    const q = await call('GET', '/api/v1/moderation/queue?source=automatic&targetType=post', { token: mod.accessToken });
    expect((q.body as { items: { targetId: string; score: number }[] }).items.find((c) => c.targetId === p.id)?.score).toBeGreaterThanOrEqual(0.9);
    const auto = await call('GET', '/api/v1/moderation/actions?automatic=true', { token: mod.accessToken });
    expect((auto.body as { items: { id: string }[] }).items.map((a) => a.id)).toContain(actions[0]!.id);
    // The audit log has it, with no human actor.
    const audit = await env.deps.database.db.select().from(auditLog).where(and(eq(auditLog.targetId, p.id), eq(auditLog.action, 'moderation.hold')));
    expect(audit).toHaveLength(1);
    expect(audit[0]!.actorId).toBeNull();

    // Reversible: a moderator restores it; the post is back and the case is resolved.
    await act(call, mod, { targetType: 'post', targetId: p.id, action: 'restore', reason: 'quoting a song' });
    expect((await call('GET', `/api/v1/posts/${p.id}`, { token: reader.accessToken })).status).toBe(200);
    const open = await call('GET', '/api/v1/moderation/queue?targetType=post', { token: mod.accessToken });
    expect((open.body as { items: { targetId: string }[] }).items.map((c) => c.targetId)).not.toContain(p.id);
  });

  it('sends borderline text to review without hiding it, and lets clean text pass', async () => {
    const borderline = await post(call, author, { text: 'this is shiiiit honestly' });
    const clean = await post(call, author, { text: 'what a lovely sunny morning' });
    expect((await scoreOf('post', borderline.id)).decision).toBe('review');
    expect((await scoreOf('post', clean.id)).decision).toBe('pass');
    expect((await call('GET', `/api/v1/posts/${borderline.id}`, { token: reader.accessToken })).status).toBe(200);
    const q = await call('GET', '/api/v1/moderation/queue', { token: mod.accessToken });
    const targets = (q.body as { items: { targetId: string }[] }).items.map((c) => c.targetId);
    expect(targets).toContain(borderline.id);
    expect(targets).not.toContain(clean.id);
    const none = await env.deps.database.db.select().from(moderationActions).where(eq(moderationActions.targetId, borderline.id));
    expect(none).toHaveLength(0);
  });

  it('scores comments and their edits', async () => {
    const p = await post(call, reader, { text: 'comments welcome' });
    const c = await call('POST', `/api/v1/posts/${p.id}/comments`, { token: author.accessToken, body: { text: 'nice one' } });
    const cid = (c.body as { id: string }).id;
    expect((await scoreOf('comment', cid)).decision).toBe('pass');
    expect((await call('PATCH', `/api/v1/comments/${cid}`, { token: author.accessToken, body: { text: 'nice one, you f.u.c.k.i.n.g b1tch' } })).status).toBeLessThan(300);
    await eventually(async () => {
      const [s] = await env.deps.database.db.select().from(moderationScores).where(eq(moderationScores.targetId, cid));
      return s?.decision === 'hold';
    }, 'the edit to be held');
    const list = await call('GET', `/api/v1/posts/${p.id}/comments`, { token: reader.accessToken });
    expect((list.body as { items: { id: string }[] }).items.map((x) => x.id)).not.toContain(cid);
  });
});
