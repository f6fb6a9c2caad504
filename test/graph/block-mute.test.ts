import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mutes } from '../../src/modules/graph/tables.js';
import { createTestEnv, type TestEnv } from '../support/app.js';
import { injectClient, type Call } from '../support/auth.js';
import { expect4xx, quickUser, statsRow, usernames } from './fixtures.js';
import { relationsChanged } from '../posts/support.js';

let env: TestEnv;
let call: Call;

beforeAll(async () => {
  env = await createTestEnv();
  call = injectClient(env.app);
});
afterAll(async () => env?.close());

const api = '/api/v1';

describe('block', () => {
  it('removes follows and requests both ways, with counters, and stops follows both ways', async () => {
    const a = await quickUser(env);
    const b = await quickUser(env);
    const privateC = await quickUser(env, { isPrivate: true });
    await call('POST', `${api}/users/${b.username}/follow`, { token: a.accessToken });
    await call('POST', `${api}/users/${a.username}/follow`, { token: b.accessToken });
    expect(await statsRow(env, a.id)).toEqual({ followers: 1, following: 1 });

    expect((await call('POST', `${api}/users/${b.username}/block`, { token: a.accessToken })).status).toBe(204);
    expect((await call('POST', `${api}/users/${b.username}/block`, { token: a.accessToken })).status).toBe(204);
    expect(await statsRow(env, a.id)).toEqual({ followers: 0, following: 0 });
    expect(await statsRow(env, b.id)).toEqual({ followers: 0, following: 0 });

    // Both directions get the same neutral answer: the refused side is not told who blocked whom.
    const ab = await call('POST', `${api}/users/${b.username}/follow`, { token: a.accessToken });
    const ba = await call('POST', `${api}/users/${a.username}/follow`, { token: b.accessToken });
    expect4xx(ab, 403, 'graph.blocked');
    expect4xx(ba, 403, 'graph.blocked');
    expect(ab.body.detail).toBe(ba.body.detail);

    expect((await call('GET', `${api}/users/${b.username}/relationship`, { token: a.accessToken })).body).toMatchObject({ blocking: true, unavailable: true, following: false, followedBy: false });
    expect((await call('GET', `${api}/users/${a.username}/relationship`, { token: b.accessToken })).body).toMatchObject({ blocking: false, unavailable: true });

    // Lists: the blocked side cannot read the blocker's lists, and the blocker's lists no longer show them.
    expect4xx(await call('GET', `${api}/users/${a.username}/followers`, { token: b.accessToken }), 403, 'graph.blocked');
    expect(usernames((await call('GET', `${api}/me/blocks`, { token: a.accessToken })).body)).toEqual([b.username]);

    // Pending requests both ways go too.
    await call('POST', `${api}/users/${privateC.username}/follow`, { token: a.accessToken });
    await call('POST', `${api}/users/${a.username}/block`, { token: privateC.accessToken });
    expect(usernames((await call('GET', `${api}/me/follow-requests`, { token: privateC.accessToken })).body)).toEqual([]);
    expect4xx(await call('POST', `${api}/me/follow-requests/${a.username}/approve`, { token: privateC.accessToken }), 404);

    // Unblocking restores nothing but lets a new follow happen.
    expect((await call('DELETE', `${api}/users/${b.username}/block`, { token: a.accessToken })).status).toBe(204);
    expect((await call('DELETE', `${api}/users/${b.username}/block`, { token: a.accessToken })).status).toBe(204);
    expect(await statsRow(env, a.id)).toEqual({ followers: 0, following: 0 });
    expect((await call('POST', `${api}/users/${b.username}/follow`, { token: a.accessToken })).body).toEqual({ state: 'following' });
  });

  it('a third party listing followers does not see accounts on the other side of a block from them', async () => {
    const star = await quickUser(env);
    const viewer = await quickUser(env);
    const hater = await quickUser(env);
    const fan = await quickUser(env);
    for (const u of [hater, fan]) await call('POST', `${api}/users/${star.username}/follow`, { token: u.accessToken });
    await call('POST', `${api}/users/${viewer.username}/block`, { token: hater.accessToken });
    expect(usernames((await call('GET', `${api}/users/${star.username}/followers`, { token: viewer.accessToken })).body)).toEqual([fan.username]);
    expect(usernames((await call('GET', `${api}/users/${star.username}/followers`)).body).sort()).toEqual([hater.username, fan.username].sort());
  });

  it('cannot block yourself', async () => {
    const a = await quickUser(env);
    expect4xx(await call('POST', `${api}/users/${a.username}/block`, { token: a.accessToken }), 400, 'graph.self');
  });
});

describe('mute', () => {
  it('mutes for the muter only, with and without a duration', async () => {
    const a = await quickUser(env);
    const b = await quickUser(env);
    const c = await quickUser(env);
    await call('POST', `${api}/users/${b.username}/follow`, { token: a.accessToken });

    const forever = await call('POST', `${api}/users/${b.username}/mute`, { token: a.accessToken });
    expect(forever.status).toBe(200);
    expect(forever.body).toEqual({ expiresAt: null });
    const timed = await call('POST', `${api}/users/${c.username}/mute`, { token: a.accessToken, body: { durationSeconds: 3600 } });
    expect(Date.parse(timed.body.expiresAt as string)).toBeGreaterThan(Date.now() + 3500_000);

    // Muting does not unfollow and is invisible to the muted account.
    expect((await call('GET', `${api}/users/${b.username}/relationship`, { token: a.accessToken })).body).toMatchObject({ muting: true, following: true, muteExpiresAt: null });
    expect((await call('GET', `${api}/users/${a.username}/relationship`, { token: b.accessToken })).body).toMatchObject({ muting: false, followedBy: true, unavailable: false });

    const list = await call('GET', `${api}/me/mutes`, { token: a.accessToken });
    expect((list.body.items as { user: { username: string } }[]).map((m) => m.user.username)).toEqual([c.username, b.username]);

    // An expired mute is over: it neither lists nor mutes.
    await env.deps.database.db.update(mutes).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(mutes.mutedId, c.id));
    await relationsChanged(env.deps, a);
    const after = await call('GET', `${api}/me/mutes`, { token: a.accessToken });
    expect((after.body.items as { user: { username: string } }[]).map((m) => m.user.username)).toEqual([b.username]);
    expect((await call('GET', `${api}/users/${c.username}/relationship`, { token: a.accessToken })).body).toMatchObject({ muting: false });

    expect((await call('DELETE', `${api}/users/${b.username}/mute`, { token: a.accessToken })).status).toBe(204);
    expect((await call('DELETE', `${api}/users/${b.username}/mute`, { token: a.accessToken })).status).toBe(204);
    expect((await call('GET', `${api}/users/${b.username}/relationship`, { token: a.accessToken })).body).toMatchObject({ muting: false, following: true });
  });

  it('cannot mute yourself', async () => {
    const a = await quickUser(env);
    expect4xx(await call('POST', `${api}/users/${a.username}/mute`, { token: a.accessToken }), 400, 'graph.self');
  });
});
