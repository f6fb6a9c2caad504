import { eq } from 'drizzle-orm';
import { SignJWT, generateKeyPair, importJWK, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Sealer } from '../../src/modules/auth/crypto.js';
import { signingKeys } from '../../src/modules/auth/tables.js';
import { servicesFor } from '../../src/modules/services.js';
import { users } from '../../src/modules/users/tables.js';
import { createTestEnv, type TestEnv } from '../support/app.js';
import { injectClient, signUp, type Call, type TestUser } from '../support/auth.js';

let env: TestEnv;
let call: Call;
let ana: TestUser;

beforeAll(async () => {
  env = await createTestEnv();
  call = injectClient(env.app);
  ana = await signUp(call, env.dataDir);
});
afterAll(async () => env?.close());

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const parts = (t: string) => t.split('.') as [string, string, string];
const payloadOf = (t: string) => JSON.parse(Buffer.from(parts(t)[1], 'base64url').toString()) as Record<string, unknown>;
const headerOf = (t: string) => JSON.parse(Buffer.from(parts(t)[0], 'base64url').toString()) as Record<string, unknown>;

async function activePrivateKey(): Promise<{ kid: string; key: Awaited<ReturnType<typeof importJWK>> }> {
  const kid = servicesFor(env.deps).keys.activeKid()!;
  const [row] = await env.deps.database.db.select().from(signingKeys).where(eq(signingKeys.kid, kid));
  const jwk = JSON.parse(new Sealer(env.config.secretKey, 'signing-keys').open(row!.privateJwk)) as JWK;
  return { kid, key: await importJWK(jwk, 'EdDSA') };
}

/** An access token for ana signed with the active key, as the server would make it unless told otherwise. */
async function signedToken(opts: { issuedAt?: number; expires: number | string; audience?: string }): Promise<string> {
  const { kid, key } = await activePrivateKey();
  const jwt = new SignJWT({ sid: payloadOf(ana.accessToken).sid as string }).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid }).setSubject(ana.id).setIssuer(env.config.publicUrl);
  jwt.setAudience(opts.audience ?? 'social-flow');
  if (opts.issuedAt !== undefined) jwt.setIssuedAt(opts.issuedAt);
  else jwt.setIssuedAt();
  return jwt.setExpirationTime(opts.expires).sign(key);
}

async function me(token: string) {
  return call('GET', '/api/v1/me', { token });
}

describe('access tokens', () => {
  it('a valid token works and names its key', async () => {
    expect((await me(ana.accessToken)).status).toBe(200);
    expect(headerOf(ana.accessToken)).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt', kid: expect.any(String) });
    expect(payloadOf(ana.accessToken)).toMatchObject({ sub: ana.id, aud: 'social-flow', iss: env.config.publicUrl });
    const jwks = await call('GET', '/.well-known/jwks.json');
    expect((jwks.body.keys as { kid: string; d?: string }[]).map((k) => k.kid)).toContain(headerOf(ana.accessToken).kid);
    expect((jwks.body.keys as { d?: string }[]).every((k) => k.d === undefined)).toBe(true);
  });

  it('a tampered token is refused', async () => {
    const [h, p, s] = parts(ana.accessToken);
    const forged = b64({ ...payloadOf(ana.accessToken), sub: '00000000-0000-7000-8000-000000000000' });
    const res = await me(`${h}.${forged}.${s}`);
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('auth.invalid_token');
    const flipped = s[0] === 'A' ? `B${s.slice(1)}` : `A${s.slice(1)}`;
    expect((await me(`${h}.${p}.${flipped}`)).status).toBe(401);
  });

  it('alg none and algorithm confusion are refused', async () => {
    const payload = parts(ana.accessToken)[1];
    const none = `${b64({ alg: 'none', typ: 'at+jwt', kid: headerOf(ana.accessToken).kid })}.${payload}.`;
    expect((await me(none)).status).toBe(401);
    const jwks = (await call('GET', '/.well-known/jwks.json')).body.keys as JWK[];
    const hs = await new SignJWT(payloadOf(ana.accessToken))
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: jwks[0]!.kid! })
      .sign(new TextEncoder().encode(jwks[0]!.x!));
    expect((await me(hs)).status).toBe(401);
  });

  it('a token signed by an unknown key, or claiming another kid, is refused', async () => {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const claims = payloadOf(ana.accessToken);
    const foreign = await new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: 'not-a-key-we-have' }).sign(privateKey);
    expect((await me(foreign)).status).toBe(401);
    const stolenKid = await new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: headerOf(ana.accessToken).kid as string }).sign(privateKey);
    expect((await me(stolenKid)).status).toBe(401);
  });

  it('an expired token is refused with its own code', async () => {
    const now = Math.floor(Date.now() / 1000);
    const res = await me(await signedToken({ issuedAt: now - 3600, expires: now - 1800 }));
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('auth.token_expired');
    // The same key and claims, not expired, pass: the refusal is about time only.
    expect((await me(await signedToken({ expires: '5m' }))).status).toBe(200);
    expect((await me(await signedToken({ expires: '5m', audience: 'another-service' }))).status).toBe(401);
  });

  it('a token verified before is refused once it expires (the verified-token cache checks expiry on every use)', async () => {
    const token = await signedToken({ expires: '2m' });
    expect((await me(token)).status).toBe(200);
    expect((await me(token)).status).toBe(200);
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 3 * 60_000);
      const res = await me(token);
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('auth.token_expired');
    } finally {
      vi.useRealTimers();
    }
    // A cached token's text still has to match exactly: one changed signature character is a new, unverified token.
    const [h, p, s] = parts(ana.accessToken);
    expect((await me(ana.accessToken)).status).toBe(200);
    expect((await me(`${h}.${p}.${s.slice(0, -2)}${s.at(-2) === 'A' ? 'B' : 'A'}${s.at(-1)}`)).status).toBe(401);
  });

  it('malformed Authorization headers are 401, not 500', async () => {
    for (const h of ['Bearer', 'Basic dXNlcjpwYXNz', 'Bearer a b', 'Bearer not.a.jwt', `Bearer ${'x'.repeat(5000)}`]) {
      const res = await call('GET', '/api/v1/me', { headers: { authorization: h } });
      expect(res.status).toBe(401);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
    }
  });

  it('tokens of suspended or deleted accounts stop working at once', async () => {
    const s = servicesFor(env.deps);
    const bo = await signUp(call, env.dataDir);
    const cy = await signUp(call, env.dataDir);
    await env.deps.database.db.update(users).set({ state: 'suspended', suspendedReason: 'spam' }).where(eq(users.id, bo.id));
    await s.sessionState.forgetAccount(bo.id);
    expect((await me(bo.accessToken)).status).toBe(401);
    await env.deps.database.db.update(users).set({ state: 'deleted', deletedAt: new Date() }).where(eq(users.id, cy.id));
    await s.sessionState.forgetAccount(cy.id);
    const res = await me(cy.accessToken);
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('auth.account_inactive');
  });

  it('a token this process already accepted is still refused at once after logout, suspension or a forged twin', async () => {
    // The guard starts the session and account reads of remembered tokens early (before the rate
    // limiter); the verdict must still be the current one.
    const s = servicesFor(env.deps);
    const dee = await signUp(call, env.dataDir);
    expect((await me(dee.accessToken)).status).toBe(200);
    expect((await call('POST', '/api/v1/auth/logout', { body: { refreshToken: dee.refreshToken } })).status).toBe(204);
    const out = await me(dee.accessToken);
    expect(out.status).toBe(401);
    expect(out.body.code).toBe('auth.session_revoked');

    const eve = await signUp(call, env.dataDir);
    expect((await me(eve.accessToken)).status).toBe(200);
    await env.deps.database.db.update(users).set({ state: 'suspended', suspendedReason: 'spam' }).where(eq(users.id, eve.id));
    await s.sessionState.forgetAccount(eve.id);
    const suspended = await me(eve.accessToken);
    expect(suspended.status).toBe(401);
    expect(suspended.body.code).toBe('auth.account_inactive');

    // Same header and payload as a remembered token, another signature: not the remembered token.
    const fay = await signUp(call, env.dataDir);
    expect((await me(fay.accessToken)).status).toBe(200);
    const [h, p] = parts(fay.accessToken);
    const forged = await me(`${h}.${p}.${b64('not the signature')}`);
    expect(forged.status).toBe(401);
    expect(forged.body.code).toBe('auth.invalid_token');
    expect((await me(fay.accessToken)).status).toBe(200);
  });

  it('rotating the signing key signs nobody out, and new tokens use the new key', async () => {
    const s = servicesFor(env.deps);
    const user = await signUp(call, env.dataDir);
    const oldKid = headerOf(user.accessToken).kid;
    const newKid = await s.keys.rotate();
    expect(newKid).not.toBe(oldKid);
    expect((await me(user.accessToken)).status).toBe(200);
    const refreshed = await call('POST', '/api/v1/auth/refresh', { body: { refreshToken: user.refreshToken } });
    expect(headerOf(refreshed.body.accessToken as string).kid).toBe(newKid);
    const kids = ((await call('GET', '/.well-known/jwks.json')).body.keys as { kid: string }[]).map((k) => k.kid);
    expect(kids).toEqual(expect.arrayContaining([oldKid, newKid]));
    // Once every token the old key signed has expired, it verifies nothing and leaves the JWKS.
    await s.keys.rotateIfDue(new Date(Date.now() + (env.config.auth.accessTokenTtlSeconds + 600) * 1000));
    await s.keys.load();
    expect((await me(user.accessToken)).status).toBe(401);
    expect(((await call('GET', '/.well-known/jwks.json')).body.keys as { kid: string }[]).map((k) => k.kid)).not.toContain(oldKid);
  });
});
