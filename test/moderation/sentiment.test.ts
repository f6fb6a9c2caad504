import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commentSentiments } from '../../src/modules/moderation/tables.js';
import { createTestEnv, type TestEnv } from '../support/app.js';
import { injectClient, signUp, type Call, type TestUser } from '../support/auth.js';
import { expect4xx, post } from '../posts/support.js';
import { act, eventually } from './support.js';

let env: TestEnv;
let call: Call;
let owner: TestUser;
let fan: TestUser;
let mod: TestUser;

beforeAll(async () => {
  env = await createTestEnv();
  call = injectClient(env.app);
  [owner, fan] = await Promise.all([signUp(call, env.dataDir), signUp(call, env.dataDir)]);
  mod = await signUp(call, env.dataDir, { role: 'moderator', deps: env.deps });
});
afterAll(async () => env?.close());

describe('comment sentiment', () => {
  it('scores each comment and gives the owner (and staff) the aggregate of visible ones', async () => {
    const p = await post(call, owner, { text: 'my new song' });
    const texts = ['I love this, it is wonderful!', 'Amazing, great job :)', 'This is terrible, I hate it', 'The video is 3 minutes long'];
    const ids: string[] = [];
    for (const text of texts) ids.push(((await call('POST', `/api/v1/posts/${p.id}/comments`, { token: fan.accessToken, body: { text } })).body as { id: string }).id);
    await eventually(async () => (await env.deps.database.db.select().from(commentSentiments)).length === texts.length, 'sentiment of every comment');

    const url = `/api/v1/sentiment/posts/${p.id}`;
    const res = await call('GET', url, { token: owner.accessToken });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ comments: 4, positive: 2, negative: 1, neutral: 1, models: ['vader'] });
    expect(res.body.meanScore as number).toBeGreaterThan(0);
    expect((await call('GET', url, { token: mod.accessToken })).status).toBe(200);

    // A removed comment leaves the aggregate.
    await act(call, mod, { targetType: 'comment', targetId: ids[2]!, action: 'remove', reason: 'rude' });
    expect((await call('GET', url, { token: owner.accessToken })).body).toMatchObject({ comments: 3, negative: 0 });
  });

  it('is for the owner only; bad input is refused', async () => {
    const p = await post(call, owner, { text: 'another' });
    expect4xx(await call('GET', `/api/v1/sentiment/posts/${p.id}`), 401);
    expect4xx(await call('GET', `/api/v1/sentiment/posts/${p.id}`, { token: fan.accessToken }), 404);
    expect4xx(await call('GET', `/api/v1/sentiment/planets/${p.id}`, { token: owner.accessToken }), 400);
    expect4xx(await call('GET', '/api/v1/sentiment/posts/nope', { token: owner.accessToken }), 400);
    expect4xx(await call('GET', `/api/v1/sentiment/videos/${p.id}`, { token: owner.accessToken }), 404);
    const empty = await call('GET', `/api/v1/sentiment/posts/${p.id}`, { token: owner.accessToken });
    expect(empty.body).toMatchObject({ comments: 0, meanScore: null });
  });
});
