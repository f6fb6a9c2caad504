import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { and, eq, sql } from 'drizzle-orm';
import { exportJWK, generateKeyPair } from 'jose';
// @ts-expect-error oidc-provider ships no type declarations; the few calls used here are typed below.
import Provider from 'oidc-provider';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oidcIdentities } from '../../src/modules/auth/tables.js';
import { users } from '../../src/modules/users/tables.js';
import { startTestServer, type TestServer } from '../support/app.js';
import { httpClient, signUp, STRONG_PASSWORD, waitForEmail, type Call } from '../support/auth.js';

// ---- a real OpenID provider on loopback ------------------------------------------------------------

interface IdpAccount {
  sub: string;
  email: string;
  email_verified: boolean;
  preferred_username: string;
  name?: string;
}

interface Interaction {
  prompt: { name: string; details: { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> } };
  params: { client_id: string };
  session?: { accountId?: string };
  grantId?: string;
}
interface Grant {
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  addResourceScope(indicator: string, scope: string): void;
  save(): Promise<string>;
}
interface OidcProvider {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
  interactionFinished(req: IncomingMessage, res: ServerResponse, result: object, opts?: { mergeWithLastSubmission?: boolean }): Promise<void>;
  Grant: { new (opts: { accountId: string; clientId: string }): Grant; find(id: string): Promise<Grant | undefined> };
}
const ProviderClass = Provider as new (issuer: string, config: object) => OidcProvider;

const CLIENT_ID = 'social-flow-test';
const CLIENT_SECRET = 'a-long-test-client-secret-0123456789';

/** Accounts at the IdP, by subject; tests add to it. */
const accounts = new Map<string, IdpAccount>();
/** Who "logs in" at the IdP on the next interaction: set by each test before it starts a sign-in. */
let signingInAs = '';

async function listenLoopback(server: Server, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/** A free port for the app: its PUBLIC_URL (hence the redirect URI the IdP knows) must be fixed before it starts. */
async function freePort(): Promise<number> {
  const probe = createServer();
  const port = await listenLoopback(probe);
  await new Promise((r) => probe.close(r));
  return port;
}

async function startIdp(redirectUri: string): Promise<{ issuer: string; close(): Promise<void> }> {
  const server = createServer();
  // Node's 5 s keep-alive let fetch reuse a socket the IdP was closing on a CPU-starved run
  // (ECONNRESET); undici's own idle timeout (4 s) is shorter than this, so the client closes first.
  server.keepAliveTimeout = 60_000;
  const port = await listenLoopback(server);
  const issuer = `http://127.0.0.1:${port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const provider = new ProviderClass(issuer, {
    clients: [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [redirectUri], grant_types: ['authorization_code'], response_types: ['code'] }],
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'test', alg: 'RS256', use: 'sig' }] },
    cookies: { keys: ['test-idp-cookie-key'] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['preferred_username', 'name'] },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    pkce: { required: () => true },
    // Explicit lifetimes (seconds) keep the IdP from printing a notice for each default it falls back to.
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
    async findAccount(_ctx: unknown, sub: string) {
      const a = accounts.get(sub);
      if (!a) return undefined;
      return { accountId: sub, claims: async () => ({ ...a }) };
    },
  });
  const handle = provider.callback();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!req.url?.startsWith('/interaction/')) return handle(req, res);
    interact(provider, req, res).catch((err: unknown) => {
      res.statusCode = 500;
      res.end(String(err));
    });
  });
  return { issuer, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** The IdP's login and consent pages, answered at once for the account the test chose. */
async function interact(provider: OidcProvider, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === 'login') {
    await provider.interactionFinished(req, res, { login: { accountId: signingInAs } }, { mergeWithLastSubmission: false });
    return;
  }
  const grant = details.grantId ? (await provider.Grant.find(details.grantId))! : new provider.Grant({ accountId: details.session!.accountId!, clientId: details.params.client_id });
  const missing = details.prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
  await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
}

// ---- the app --------------------------------------------------------------------------------------

let idp: Awaited<ReturnType<typeof startIdp>>;
let server: TestServer;
let call: Call;
let appUrl: string;

beforeAll(async () => {
  const port = await freePort();
  appUrl = `http://127.0.0.1:${port}`;
  idp = await startIdp(`${appUrl}/api/v1/auth/oidc/testidp/callback`);
  // A provider whose IdP is down: the server must still start, and its sign-in answer 503.
  const deadPort = await freePort();
  server = await startTestServer({
    env: {
      PORT: String(port),
      PUBLIC_URL: appUrl,
      OIDC_PROVIDERS: 'testidp,deadidp',
      OIDC_TESTIDP_ISSUER: idp.issuer,
      OIDC_TESTIDP_CLIENT_ID: CLIENT_ID,
      OIDC_TESTIDP_CLIENT_SECRET: CLIENT_SECRET,
      OIDC_DEADIDP_ISSUER: `http://127.0.0.1:${deadPort}`,
      OIDC_DEADIDP_CLIENT_ID: 'nobody',
      OIDC_DEADIDP_CLIENT_SECRET: 'nothing-here',
    },
  });
  expect(server.url).toBe(appUrl);
  call = httpClient(server.url);
});
afterAll(async () => {
  await server?.close();
  await idp?.close();
});

let seq = 0;
function idpAccount(over: Partial<IdpAccount> = {}): IdpAccount {
  seq += 1;
  const a: IdpAccount = { sub: `sub-${process.pid}-${seq}`, email: `idp${seq}.${process.pid}@example.test`, email_verified: true, preferred_username: `idp_user_${seq}`, name: `IdP User ${seq}`, ...over };
  accounts.set(a.sub, a);
  return a;
}

/**
 * Drive a browser through the sign-in: the app's start redirect, the IdP's pages (cookies kept, as a
 * browser would), until the IdP sends it back to the app. Returns the callback URL, not yet visited.
 */
async function authorize(as: IdpAccount, startPath = '/api/v1/auth/oidc/testidp/start'): Promise<string> {
  signingInAs = as.sub;
  const jar = new Map<string, string>();
  let url = `${appUrl}${startPath}`;
  for (let hop = 0; hop < 12; hop++) {
    if (url.startsWith(`${appUrl}/api/v1/auth/oidc/testidp/callback`)) return url;
    const onIdp = url.startsWith(idp.issuer);
    const headers: Record<string, string> = {};
    if (onIdp && jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, { redirect: 'manual', headers });
    if (onIdp) {
      for (const c of res.headers.getSetCookie()) {
        const [pair, ...attrs] = c.split(';');
        const eqAt = pair!.indexOf('=');
        const name = pair!.slice(0, eqAt).trim();
        const value = pair!.slice(eqAt + 1).trim();
        const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]!) < Date.now()));
        if (expired || value === '') jar.delete(name);
        else jar.set(name, value);
      }
    }
    const location = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !location) throw new Error(`sign-in stopped at ${url}: ${res.status} ${await res.text()}`);
    url = new URL(location, url).href;
  }
  throw new Error('too many redirects');
}

async function signInWith(as: IdpAccount) {
  const res = await fetch(await authorize(as));
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

const identitiesOf = (sub: string) => server.deps.database.db.select().from(oidcIdentities).where(and(eq(oidcIdentities.provider, 'testidp'), eq(oidcIdentities.subject, sub)));
const userCount = async () => Number((await server.deps.database.db.select({ n: sql<number>`count(*)` }).from(users))[0]!.n);

describe('OpenID Connect sign-in', () => {
  it('lists the configured providers', async () => {
    const res = await call('GET', '/api/v1/auth/oidc/providers');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      items: [
        { name: 'testidp', startUrl: `${appUrl}/api/v1/auth/oidc/testidp/start` },
        { name: 'deadidp', startUrl: `${appUrl}/api/v1/auth/oidc/deadidp/start` },
      ],
    });
  });

  it('start redirects to the IdP with state, nonce and PKCE, or answers the URL as JSON', async () => {
    const res = await fetch(`${appUrl}/api/v1/auth/oidc/testidp/start`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const to = new URL(res.headers.get('location')!);
    expect(to.origin).toBe(idp.issuer);
    expect(Object.fromEntries(to.searchParams)).toMatchObject({
      client_id: CLIENT_ID,
      response_type: 'code',
      redirect_uri: `${appUrl}/api/v1/auth/oidc/testidp/callback`,
      scope: 'openid email profile',
      code_challenge_method: 'S256',
      state: expect.any(String),
      nonce: expect.any(String),
      code_challenge: expect.any(String),
    });
    const json = await call('GET', '/api/v1/auth/oidc/testidp/start?format=json');
    expect(json.status).toBe(200);
    expect(new URL(json.body.url as string).origin).toBe(idp.issuer);
    expect(new URL(json.body.url as string).searchParams.get('state')).not.toBe(to.searchParams.get('state'));
  });

  it('first sign-in creates an account; the next one maps to the same account', async () => {
    const a = idpAccount({ name: 'Zoë Example' });
    const before = await userCount();
    const first = await signInWith(a);
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(first.body).toMatchObject({
      tokenType: 'Bearer',
      accessToken: expect.any(String),
      refreshToken: expect.any(String),
      user: { username: a.preferred_username, email: a.email, emailVerified: true, hasPassword: false, twoFactorEnabled: false, displayName: 'Zoë Example' },
    });
    expect(await userCount()).toBe(before + 1);
    const me = await call('GET', '/api/v1/me', { token: first.body.accessToken as string });
    expect(me.status).toBe(200);
    expect(me.body.username).toBe(a.preferred_username);
    const sessions = await call('GET', '/api/v1/auth/sessions', { token: first.body.accessToken as string });
    expect(sessions.body.items).toEqual([expect.objectContaining({ method: 'oidc:testidp', current: true })]);
    // Refresh works like any session's.
    expect((await call('POST', '/api/v1/auth/refresh', { body: { refreshToken: first.body.refreshToken } })).status).toBe(200);

    const second = await signInWith(a);
    expect(second.status).toBe(200);
    expect((second.body.user as { id: string }).id).toBe((first.body.user as { id: string }).id);
    expect(await userCount()).toBe(before + 1);
    expect(await identitiesOf(a.sub)).toEqual([expect.objectContaining({ userId: (first.body.user as { id: string }).id, email: a.email })]);
  });

  it('a taken or odd preferred username becomes a free, valid one', async () => {
    const owner = await signUp(call, server.config.dataDir);
    const clash = await signInWith(idpAccount({ preferred_username: owner.username }));
    expect(clash.status).toBe(200);
    const name = (clash.body.user as { username: string }).username;
    expect(name).not.toBe(owner.username);
    expect(name).toMatch(/^[A-Za-z0-9_]{3,30}$/);
    expect(name.startsWith(owner.username.slice(0, 20))).toBe(true);

    const odd = await signInWith(idpAccount({ preferred_username: 'Jürgen Müller-Lüdenscheidt of the very long name' }));
    expect(odd.status).toBe(200);
    expect((odd.body.user as { username: string }).username).toBe('Jurgen_Muller_Ludenscheidt_of');
    const reserved = await signInWith(idpAccount({ preferred_username: 'admin' }));
    expect((reserved.body.user as { username: string }).username).toMatch(/^admin_\d+$/);
  });

  it('links to an existing password account through an email the IdP verified', async () => {
    const u = await signUp(call, server.config.dataDir);
    const a = idpAccount({ email: u.email.toUpperCase(), email_verified: true });
    const before = await userCount();
    const res = await signInWith(a);
    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({ id: u.id, username: u.username, hasPassword: true });
    expect(await userCount()).toBe(before);
    expect(await identitiesOf(a.sub)).toEqual([expect.objectContaining({ userId: u.id })]);
    // The account was the address's owner already: its password still works.
    expect((await call('POST', '/api/v1/auth/login', { body: { login: u.username, password: u.password } })).status).toBe(200);
  });

  it('linking to an account whose address was never confirmed verifies it and drops what the unproven registrant set', async () => {
    // Someone registered the address without confirming it (perhaps not its owner).
    const email = `squatted.${process.pid}@example.test`;
    const username = `squat_${process.pid}`;
    expect((await call('POST', '/api/v1/auth/register', { body: { email, username, password: STRONG_PASSWORD } })).status).toBe(202);
    await waitForEmail(server.config.dataDir, email, /Confirm your email/);
    const res = await signInWith(idpAccount({ email, email_verified: true }));
    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({ username, emailVerified: true, hasPassword: false });
    const login = await call('POST', '/api/v1/auth/login', { body: { login: username, password: STRONG_PASSWORD } });
    expect(login.status).toBe(401);
  });

  it('refuses an IdP-unverified email that matches an account, and links or creates nothing', async () => {
    const u = await signUp(call, server.config.dataDir);
    const a = idpAccount({ email: u.email, email_verified: false });
    const before = await userCount();
    const res = await signInWith(a);
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(res.body.code).toBe('auth.oidc_email_unverified');
    expect(await identitiesOf(a.sub)).toEqual([]);
    expect(await userCount()).toBe(before);
    const [row] = await server.deps.database.db.select().from(users).where(eq(users.id, u.id));
    expect(row!.passwordHash).not.toBeNull();
  });

  it('a new account with an IdP-unverified email is created but must confirm the address first', async () => {
    const a = idpAccount({ email_verified: false });
    const res = await signInWith(a);
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('auth.email_unverified');
    expect(await identitiesOf(a.sub)).toHaveLength(1);
    await waitForEmail(server.config.dataDir, a.email, /Confirm your email/);
  });

  it('asks for the second factor when the account has TOTP on', async () => {
    const u = await signUp(call, server.config.dataDir);
    const setup = await call('POST', '/api/v1/auth/2fa/setup', { token: u.accessToken });
    const secret = setup.body.secret as string;
    const now = Math.floor(Date.now() / 1000);
    expect((await call('POST', '/api/v1/auth/2fa/enable', { token: u.accessToken, body: { code: await generate({ secret, epoch: now }) } })).status).toBe(200);
    const res = await signInWith(idpAccount({ email: u.email, email_verified: true }));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ twoFactorRequired: true, challengeToken: expect.any(String) });
    const done = await call('POST', '/api/v1/auth/2fa/verify', { body: { challengeToken: res.body.challengeToken, code: await generate({ secret, epoch: now + 30 }) } });
    expect(done.status).toBe(200);
    expect((done.body.user as { id: string }).id).toBe(u.id);
  });

  it('hands back redirectAfter, and refuses one that leaves the site', async () => {
    const res = await fetch(await authorize(idpAccount(), '/api/v1/auth/oidc/testidp/start?redirectAfter=%2Fwatch%2F42'));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { redirectAfter?: string }).redirectAfter).toBe('/watch/42');
    for (const bad of ['https://evil.example/', '//evil.example/x', '/\\evil.example']) {
      const r = await call('GET', `/api/v1/auth/oidc/testidp/start?redirectAfter=${encodeURIComponent(bad)}`);
      expect(r.status).toBe(400);
    }
  });

  it('refuses a replayed, unknown or missing state', async () => {
    const callbackUrl = await authorize(idpAccount());
    expect((await fetch(callbackUrl)).status).toBe(200);
    const replay = await fetch(callbackUrl);
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { code: string }).code).toBe('auth.oidc_invalid_state');

    const forged = new URL(callbackUrl);
    forged.searchParams.set('state', 'not-a-state-we-issued');
    expect(((await (await fetch(forged)).json()) as { code: string }).code).toBe('auth.oidc_invalid_state');
    const missing = await call('GET', '/api/v1/auth/oidc/testidp/callback?code=abc');
    expect(missing.status).toBe(400);
    expect(missing.body.code).toBe('auth.oidc_invalid_state');
  });

  it('a code that does not check out at the IdP fails the sign-in', async () => {
    const a = idpAccount();
    const tampered = new URL(await authorize(a));
    tampered.searchParams.set('code', 'not-the-code-the-idp-issued');
    const res = await fetch(tampered);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe('auth.oidc_failed');
    expect(await identitiesOf(a.sub)).toEqual([]);
  });

  it('reports an IdP refusal and spends the state', async () => {
    const start = await call('GET', '/api/v1/auth/oidc/testidp/start?format=json');
    const state = new URL(start.body.url as string).searchParams.get('state')!;
    const denied = await call('GET', `/api/v1/auth/oidc/testidp/callback?error=access_denied&error_description=no&state=${state}`);
    expect(denied.status).toBe(400);
    expect(denied.body.code).toBe('auth.oidc_denied');
    const again = await call('GET', `/api/v1/auth/oidc/testidp/callback?code=x&state=${state}`);
    expect(again.body.code).toBe('auth.oidc_invalid_state');
  });

  it('an unknown provider is 404; one whose IdP is down is 503', async () => {
    for (const path of ['/api/v1/auth/oidc/nosuch/start', '/api/v1/auth/oidc/nosuch/callback?code=a&state=b']) {
      const res = await call('GET', path);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('auth.oidc_unknown_provider');
    }
    const down = await call('GET', '/api/v1/auth/oidc/deadidp/start');
    expect(down.status).toBe(503);
    expect(down.body.code).toBe('auth.oidc_provider_unavailable');
  });

  it('documents the endpoints in the OpenAPI document', async () => {
    const doc = await call('GET', '/openapi.json');
    const paths = doc.body.paths as Record<string, Record<string, { tags?: string[] }>>;
    for (const p of ['/api/v1/auth/oidc/providers', '/api/v1/auth/oidc/{provider}/start', '/api/v1/auth/oidc/{provider}/callback']) {
      expect(paths[p]?.get?.tags).toEqual(['auth']);
    }
  });
});
