import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../support/app.js';
import { injectClient, type Call } from '../support/auth.js';
import { expect4xx, graphSnapshot, quickUser, type GraphUser } from './fixtures.js';

/**
 * PeerTube-style parameter checks for the graph endpoints: every kind of bad input is a 4xx
 * problem+json and changes nothing; every endpoint answers the access matrix.
 */
let env: TestEnv;
let call: Call;
let owner: GraphUser;
let other: GraphUser;
let target: GraphUser;

beforeAll(async () => {
  env = await createTestEnv();
  call = injectClient(env.app);
  [owner, other, target] = await Promise.all([quickUser(env), quickUser(env), quickUser(env, { isPrivate: true })]);
  // Some state for "changes nothing" to be about.
  await call('POST', `/api/v1/users/${target.username}/follow`, { token: owner.accessToken });
  await call('POST', `/api/v1/users/${other.username}/follow`, { token: owner.accessToken });
  await call('POST', `/api/v1/users/${other.username}/mute`, { token: owner.accessToken });
});
afterAll(async () => env?.close());

const api = '/api/v1';

describe('access matrix', () => {
  const signedIn = (): [string, string, unknown?][] => [
    ['POST', `${api}/users/${target.username}/follow`],
    ['DELETE', `${api}/users/${target.username}/follow`],
    ['GET', `${api}/me/follow-requests`],
    ['POST', `${api}/me/follow-requests/${owner.username}/approve`],
    ['POST', `${api}/me/follow-requests/${owner.username}/deny`],
    ['GET', `${api}/users/${target.username}/relationship`],
    ['POST', `${api}/users/${target.username}/block`],
    ['DELETE', `${api}/users/${target.username}/block`],
    ['GET', `${api}/me/blocks`],
    ['POST', `${api}/users/${target.username}/mute`, { durationSeconds: 600 }],
    ['DELETE', `${api}/users/${target.username}/mute`],
    ['GET', `${api}/me/mutes`],
  ];

  it('anonymous: every signed-in endpoint is 401 and changes nothing', async () => {
    const before = await graphSnapshot(env);
    for (const [method, url, body] of signedIn()) {
      const res = await call(method, url, { body });
      expect4xx(res, 401, 'auth.required');
    }
    expect(await graphSnapshot(env)).toEqual(before);
  });

  it('a bad token is 401 even on public reads', async () => {
    expect4xx(await call('GET', `${api}/users/${owner.username}/followers`, { token: 'not.a.token' }), 401);
  });

  it('public reads: anyone sees a public account, only the owner and approved followers a private one', async () => {
    for (const token of [undefined, other.accessToken, target.accessToken]) {
      for (const path of ['followers', 'following', 'stats']) {
        expect((await call('GET', `${api}/users/${owner.username}/${path}`, { token })).status).toBe(200);
      }
    }
    for (const token of [undefined, owner.accessToken, other.accessToken]) {
      expect4xx(await call('GET', `${api}/users/${target.username}/followers`, { token }), 403, 'graph.private');
    }
    expect((await call('GET', `${api}/users/${target.username}/followers`, { token: target.accessToken })).status).toBe(200);
    // Counts of a private account are public, like its profile.
    expect((await call('GET', `${api}/users/${target.username}/stats`)).status).toBe(200);
  });

  it("one user's /me lists never show another's", async () => {
    const mine = await call('GET', `${api}/me/mutes`, { token: owner.accessToken });
    expect((mine.body.items as unknown[]).length).toBe(1);
    const theirs = await call('GET', `${api}/me/mutes`, { token: other.accessToken });
    expect(theirs.body.items).toEqual([]);
    const reqs = await call('GET', `${api}/me/follow-requests`, { token: other.accessToken });
    expect(reqs.body.items).toEqual([]);
  });

  it('only the requested account can approve: the requester and others get 404 and nothing changes', async () => {
    const before = await graphSnapshot(env);
    for (const u of [owner, other]) {
      expect4xx(await call('POST', `${api}/me/follow-requests/${owner.username}/approve`, { token: u.accessToken }), 404);
    }
    expect(await graphSnapshot(env)).toEqual(before);
  });
});

describe('bad input changes nothing', () => {
  const long = 'a'.repeat(31);
  const badCursor = Buffer.from('2020-01-01T00:00:00.000000Z~not-a-uuid').toString('base64url');
  const cases = (): [string, string, string, unknown?][] => [
    ['follow unknown user', 'POST', `${api}/users/nobody_by_that_name/follow`],
    ['follow overlong username', 'POST', `${api}/users/${long}/follow`],
    ['unfollow unknown user', 'DELETE', `${api}/users/nobody_by_that_name/follow`],
    ['follow self', 'POST', `${api}/users/${owner.username}/follow`],
    ['block unknown user', 'POST', `${api}/users/nobody_by_that_name/block`],
    ['block self', 'POST', `${api}/users/${owner.username}/block`],
    ['unblock unknown user', 'DELETE', `${api}/users/nobody_by_that_name/block`],
    ['mute unknown user', 'POST', `${api}/users/nobody_by_that_name/mute`],
    ['mute: durationSeconds 0', 'POST', `${api}/users/${target.username}/mute`, { durationSeconds: 0 }],
    ['mute: durationSeconds negative', 'POST', `${api}/users/${target.username}/mute`, { durationSeconds: -60 }],
    ['mute: durationSeconds fractional', 'POST', `${api}/users/${target.username}/mute`, { durationSeconds: 90.5 }],
    ['mute: durationSeconds text', 'POST', `${api}/users/${target.username}/mute`, { durationSeconds: 'an hour' }],
    ['mute: durationSeconds over a year', 'POST', `${api}/users/${target.username}/mute`, { durationSeconds: 366 * 24 * 3600 }],
    ['mute: extra field', 'POST', `${api}/users/${target.username}/mute`, { durationSeconds: 600, forever: true }],
    ['mute: self', 'POST', `${api}/users/${owner.username}/mute`],
    ['approve unknown user', 'POST', `${api}/me/follow-requests/nobody_by_that_name/approve`],
    ['deny without a request', 'POST', `${api}/me/follow-requests/${other.username}/deny`],
    ['followers: limit 0', 'GET', `${api}/users/${owner.username}/followers?limit=0`],
    ['followers: limit 101', 'GET', `${api}/users/${owner.username}/followers?limit=101`],
    ['followers: limit text', 'GET', `${api}/users/${owner.username}/followers?limit=ten`],
    ['followers: cursor not base64url', 'GET', `${api}/users/${owner.username}/followers?cursor=%24%24%24`],
    ['followers: cursor not ours', 'GET', `${api}/users/${owner.username}/followers?cursor=${badCursor}`],
    ['following: cursor garbage', 'GET', `${api}/users/${owner.username}/following?cursor=abc`],
    ['followers: unknown query field', 'GET', `${api}/users/${owner.username}/followers?sort=oldest`],
    ['followers of unknown user', 'GET', `${api}/users/nobody_by_that_name/followers`],
    ['stats of unknown user', 'GET', `${api}/users/nobody_by_that_name/stats`],
    ['relationship with unknown user', 'GET', `${api}/users/nobody_by_that_name/relationship`],
    ['requests: limit 1000', 'GET', `${api}/me/follow-requests?limit=1000`],
    ['blocks: bad cursor', 'GET', `${api}/me/blocks?cursor=zzzz`],
    ['mutes: bad cursor', 'GET', `${api}/me/mutes?cursor=${badCursor}`],
  ];

  it('every case is a 4xx problem and the graph is untouched', async () => {
    const before = await graphSnapshot(env);
    for (const [name, method, url, body] of cases()) {
      const res = await call(method, url, { token: owner.accessToken, body });
      try {
        expect4xx(res);
      } catch (err) {
        throw new Error(`${name}: ${res.status} ${JSON.stringify(res.body)}`, { cause: err });
      }
    }
    expect(await graphSnapshot(env)).toEqual(before);
  });

  it('invalid cursors are 400 request.invalid_cursor; out-of-range limits are 400 request.invalid', async () => {
    expect4xx(await call('GET', `${api}/users/${owner.username}/followers?cursor=abc`), 400, 'request.invalid_cursor');
    expect4xx(await call('GET', `${api}/users/${owner.username}/followers?limit=101`), 400, 'request.invalid');
    expect4xx(await call('POST', `${api}/users/${target.username}/mute`, { token: owner.accessToken, body: { durationSeconds: 0 } }), 400, 'request.invalid');
  });

  it('SQL and markup in a username are just names that do not exist', async () => {
    for (const name of ["x'); DROP TABLE follows; --", '<script>alert(1)</script>']) {
      expect4xx(await call('POST', `${api}/users/${encodeURIComponent(name)}/follow`, { token: owner.accessToken }), 404);
    }
    expect((await graphSnapshot(env)).follows).toBeGreaterThan(0);
  });
});
