import { createECDH, randomBytes, type ECDH } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import { decrypt } from 'http_ece';
import { importJWK, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushSubscriptions } from '../../src/modules/notifications/tables.js';
import { generateVapidKeys } from '../../src/platform/push/index.js';
import { createTestEnv, type TestEnv } from '../support/app.js';
import { injectClient, signUp, type Call, type TestUser } from '../support/auth.js';
import { expect4xx, post } from '../posts/support.js';
import { settle, waitFor, waitForNotification } from './support.js';

interface PushRequest {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A stand-in push service on loopback: /ok/* accepts (201), /gone/* answers 410 as for an expired subscription. */
let pushServer: Server;
let pushBase: string;
const received: PushRequest[] = [];

let env: TestEnv;
let call: Call;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
const vapid = generateVapidKeys();
const SUBJECT = 'mailto:ops@example.test';

function browser(): { ecdh: ECDH; keys: { p256dh: string; auth: string } } {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return { ecdh, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') } };
}

beforeAll(async () => {
  pushServer = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      res.statusCode = req.url?.startsWith('/gone/') ? 410 : 201;
      res.end();
    });
  });
  await new Promise<void>((r) => pushServer.listen(0, '127.0.0.1', () => r()));
  pushBase = `http://127.0.0.1:${(pushServer.address() as AddressInfo).port}`;
  env = await createTestEnv({ env: { VAPID_PUBLIC_KEY: vapid.publicKey, VAPID_PRIVATE_KEY: vapid.privateKey, VAPID_SUBJECT: SUBJECT, ARGON2_MEMORY_KIB: '1024', ARGON2_ITERATIONS: '1' } });
  call = injectClient(env.app);
  [alice, bob, carol] = await Promise.all([signUp(call, env.dataDir), signUp(call, env.dataDir), signUp(call, env.dataDir)]);
});
afterAll(async () => {
  await env?.close();
  await new Promise((r) => pushServer?.close(r));
});

describe('web push', () => {
  const good = browser();
  const expired = browser();

  it('publishes the VAPID public key', async () => {
    const res = await call('GET', '/api/v1/notifications/push/public-key');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ enabled: true, publicKey: vapid.publicKey });
  });

  it('sends a notification with VAPID headers that verify and a payload that decrypts, and drops a subscription answered 410', async () => {
    const okEndpoint = `${pushBase}/ok/${alice.id}`;
    const goneEndpoint = `${pushBase}/gone/${alice.id}`;
    for (const [endpoint, b] of [
      [okEndpoint, good],
      [goneEndpoint, expired],
    ] as const) {
      const res = await call('POST', '/api/v1/notifications/push/subscriptions', { token: alice.accessToken, body: { endpoint, expirationTime: null, keys: b.keys } });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body).toMatchObject({ endpoint, lastSuccessAt: null });
    }
    expect((await call('POST', `/api/v1/users/${alice.username}/follow`, { token: bob.accessToken })).status).toBeLessThan(300);

    const ok = await waitFor(async () => received.find((r) => r.path === `/ok/${alice.id}`), 'the push to the live subscription');
    await waitFor(async () => received.find((r) => r.path === `/gone/${alice.id}`), 'the push to the expired subscription');

    // VAPID (RFC 8292): a JWT for the push service's origin, signed with the configured key.
    expect(ok.headers['content-encoding']).toBe('aes128gcm');
    expect(Number(ok.headers.ttl)).toBeGreaterThan(0);
    const m = /^vapid t=([^,]+), k=(.+)$/.exec(String(ok.headers.authorization));
    expect(m).not.toBeNull();
    expect(m![2]).toBe(vapid.publicKey);
    const pub = Buffer.from(m![2]!, 'base64url');
    const key = await importJWK({ kty: 'EC', crv: 'P-256', x: pub.subarray(1, 33).toString('base64url'), y: pub.subarray(33, 65).toString('base64url') }, 'ES256');
    const { payload } = await jwtVerify(m![1]!, key, { audience: pushBase, subject: SUBJECT, algorithms: ['ES256'] });
    expect(payload.exp! * 1000).toBeGreaterThan(Date.now());
    // A JWT signed by another key does not verify.
    const stranger = generateVapidKeys().publicKey;
    const sp = Buffer.from(stranger, 'base64url');
    const otherKey = await importJWK({ kty: 'EC', crv: 'P-256', x: sp.subarray(1, 33).toString('base64url'), y: sp.subarray(33, 65).toString('base64url') }, 'ES256');
    await expect(jwtVerify(m![1]!, otherKey)).rejects.toThrow();

    // RFC 8291: only the browser's private key and auth secret open it.
    const plain = JSON.parse(decrypt(ok.body, { version: 'aes128gcm', privateKey: good.ecdh, authSecret: good.keys.auth }).toString('utf8')) as { type: string; data: Record<string, string> };
    expect(plain).toMatchObject({ type: 'notification', data: { type: 'follow', text: `${bob.username} followed you`, url: `/users/${bob.id}` } });
    expect(() => decrypt(ok.body, { version: 'aes128gcm', privateKey: expired.ecdh, authSecret: expired.keys.auth })).toThrow();

    // The 410 removed that subscription; the other one is kept and marked used.
    const list = await waitFor(async () => {
      const res = await call('GET', '/api/v1/notifications/push/subscriptions', { token: alice.accessToken });
      const items = res.body.items as { endpoint: string; lastSuccessAt: string | null }[];
      return items.length === 1 && items[0]!.lastSuccessAt ? items : undefined;
    }, 'the expired subscription to be removed');
    expect(list.map((s) => s.endpoint)).toEqual([okEndpoint]);
  });

  it('obeys the push channel per type', async () => {
    expect((await call('PATCH', '/api/v1/notifications/preferences', { token: alice.accessToken, body: { follow: { push: false } } })).status).toBe(200);
    const before = received.length;
    await call('POST', `/api/v1/users/${alice.username}/follow`, { token: carol.accessToken });
    // A mention still pushes; once every job is done, the follow had its chance too.
    const p = await post(call, carol, { text: `hi @${alice.username}` });
    const mention = await waitFor(async () => {
      for (const r of received.slice(before)) {
        const data = JSON.parse(decrypt(r.body, { version: 'aes128gcm', privateKey: good.ecdh, authSecret: good.keys.auth }).toString('utf8')) as { data: { type: string; url: string } };
        if (data.data.type === 'mention') return data;
      }
      return undefined;
    }, 'the mention push');
    expect(mention.data.url).toBe(`/posts/${p.id}`);
    await waitForNotification(call, alice, 'follow', (n) => n.actors.some((a) => a.id === carol.id));
    await settle(env.deps);
    const types = received.slice(before).map((r) => (JSON.parse(decrypt(r.body, { version: 'aes128gcm', privateKey: good.ecdh, authSecret: good.keys.auth }).toString('utf8')) as { data: { type: string } }).data.type);
    expect(types).not.toContain('follow');
  });

  it('refuses bad subscriptions and other people, changing nothing', async () => {
    const count = async () => (await env.deps.database.db.select().from(pushSubscriptions)).length;
    const before = await count();
    const url = '/api/v1/notifications/push/subscriptions';
    const b = browser();
    expect4xx(await call('POST', url, { body: { endpoint: `${pushBase}/ok/x`, keys: b.keys } }), 401);
    expect4xx(await call('GET', url), 401);
    expect4xx(await call('POST', url, { token: bob.accessToken, body: { endpoint: 'http://push.example.com/x', keys: b.keys } }), 400);
    expect4xx(await call('POST', url, { token: bob.accessToken, body: { endpoint: 'not a url at all', keys: b.keys } }), 400);
    expect4xx(await call('POST', url, { token: bob.accessToken, body: { endpoint: `${pushBase}/ok/x`, keys: { ...b.keys, p256dh: 'AAAA' } } }), 400);
    expect4xx(await call('POST', url, { token: bob.accessToken, body: { endpoint: `${pushBase}/ok/x`, keys: { ...b.keys, auth: 'AAAA' } } }), 400);
    expect4xx(await call('POST', url, { token: bob.accessToken, body: { endpoint: `${pushBase}/ok/x` } }), 400);
    expect4xx(await call('POST', url, { token: bob.accessToken, body: { endpoint: `${pushBase}/ok/x`, keys: b.keys, extra: 1 } }), 400);
    expect(await count()).toBe(before);

    const [mine] = await env.deps.database.db.select().from(pushSubscriptions).where(eq(pushSubscriptions.userId, alice.id));
    expect4xx(await call('DELETE', `${url}/${mine!.id}`), 401);
    expect4xx(await call('DELETE', `${url}/${mine!.id}`, { token: bob.accessToken }), 404);
    expect4xx(await call('DELETE', `${url}/not-a-uuid`, { token: alice.accessToken }), 400);
    expect4xx(await call('DELETE', `${url}/01936a3e-0000-7000-8000-000000000000`, { token: alice.accessToken }), 404);
    expect(await count()).toBe(before);
    expect(((await call('GET', url, { token: bob.accessToken })).body.items as unknown[]).length).toBe(0);
    expect((await call('DELETE', `${url}/${mine!.id}`, { token: alice.accessToken })).status).toBe(204);
    expect(await count()).toBe(before - 1);
  });
});
