import { and, eq, sql } from 'drizzle-orm';
import * as client from 'openid-client';
import { uuidv7 } from 'uuidv7';
import type { OidcProviderConfig } from '../../config.js';
import type { Deps } from '../../platform/deps.js';
import type { Tx } from '../../platform/db/index.js';
import { AppError, badRequest, forbidden, notFound, unauthorized } from '../../platform/errors.js';
import { users, type UserRow } from '../users/tables.js';
import { hashToken } from './crypto.js';
import { normaliseEmail, RESERVED_USERNAMES, type AuthService, type ClientContext, type IssuedTokens } from './service.js';
import { effectiveState } from './session-state.js';
import { oidcIdentities, recoveryCodes } from './tables.js';
import type { TwoFactorService } from './two-factor.js';

/** Long enough to sign in at the IdP (password manager, MFA there), short enough that a stale tab is refused. */
const STATE_TTL_MS = 10 * 60_000;
/** A sign-in request waits at most this long on the IdP, so a hung IdP does not hold requests open. */
const IDP_TIMEOUT_SECONDS = 10;
const USERNAME_MAX = 30;
const DISPLAY_NAME_MAX = 50;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/g;
const MARKUP = /<\s*[a-zA-Z!/?]/;
const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+$/;

/** What one pending sign-in remembers between start and callback (in the cache, keyed by the state's hash). */
interface PendingSignIn {
  provider: string;
  nonce: string;
  codeVerifier: string;
  redirectAfter?: string;
}

/** The identity the IdP vouched for, reduced to what linking needs. */
export interface OidcIdentity {
  subject: string;
  email: string | null;
  /** Only a literal `true` from the IdP counts: a missing or string claim is "not verified". */
  emailVerified: boolean;
  preferredUsername: string | null;
  name: string | null;
}

export type OidcSignInResult =
  | { kind: 'tokens'; tokens: IssuedTokens; redirectAfter?: string }
  | { kind: 'two_factor'; challengeToken: string; redirectAfter?: string };

const isUniqueViolation = (err: unknown): boolean => {
  for (let e = err as { code?: unknown; cause?: unknown; message?: unknown } | undefined, i = 0; e && i < 4; e = e.cause as typeof e, i++) {
    if (e.code === '23505' || /duplicate key|unique constraint/i.test(String(e.message))) return true;
  }
  return false;
};

/**
 * What of a failure reaches the log: openid-client errors can carry the IdP's response or ID token
 * claims as their cause, and tokens must never be logged.
 */
const errSummary = (err: unknown) => ({ name: (err as Error)?.name, message: (err as Error)?.message, code: (err as { code?: unknown })?.code });

const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);

/** A username candidate from what the IdP offers: letters, digits and _ only, 3..30 long. */
export function usernameBase(preferred: string | null, email: string | null): string {
  const from = preferred ?? (email ? email.split('@')[0]! : null) ?? 'user';
  let s = from
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9_]+/g, '_')
    .replace(/_+/g, '_')
    .slice(0, USERNAME_MAX)
    .replace(/^_+|_+$/g, '');
  if (s.length < 3) s = `${s}${s ? '_' : ''}user`.slice(0, USERNAME_MAX);
  return s;
}

/**
 * OpenID Connect sign-in with any configured provider (openid-client): authorization code flow with
 * PKCE, state and nonce. An IdP account maps to a local one through oidc_identities; it links to an
 * existing account only through an email address the IdP says it verified.
 */
export class OidcService {
  /** Discovery results per provider. Metadata, not shared state: each process fetching its own copy is fine. */
  private readonly discovered = new Map<string, Promise<client.Configuration>>();
  private readonly providers: Map<string, OidcProviderConfig>;

  constructor(
    private readonly deps: Deps,
    private readonly auth: AuthService,
    private readonly twoFactor: TwoFactorService,
  ) {
    this.providers = new Map(deps.config.auth.oidc.map((p) => [p.name, p]));
  }

  private get db() {
    return this.deps.database.db;
  }

  private get cache() {
    return this.deps.cache.cache;
  }

  providerNames(): string[] {
    return [...this.providers.keys()];
  }

  redirectUri(name: string): string {
    return `${this.deps.config.publicUrl}/api/v1/auth/oidc/${name}/callback`;
  }

  private provider(name: string): OidcProviderConfig {
    const p = this.providers.get(name.toLowerCase());
    if (!p) throw notFound('auth.oidc_unknown_provider', `no sign-in provider named "${name}" is configured`);
    return p;
  }

  /**
   * Discovery happens on first use, not at startup, so an IdP that is down does not stop the server;
   * a failed attempt is forgotten so the next sign-in tries again.
   */
  private configuration(p: OidcProviderConfig): Promise<client.Configuration> {
    let pending = this.discovered.get(p.name);
    if (!pending) {
      pending = this.discover(p);
      this.discovered.set(p.name, pending);
      pending.catch(() => {
        if (this.discovered.get(p.name) === pending) this.discovered.delete(p.name);
      });
    }
    return pending;
  }

  private async discover(p: OidcProviderConfig): Promise<client.Configuration> {
    // Operators may point at a plain-http IdP (a local Keycloak, the test IdP); config already limits issuers to http(s).
    const insecure = new URL(p.issuer).protocol === 'http:';
    const execute = insecure ? [client.allowInsecureRequests] : [];
    try {
      const found = await client.discovery(new URL(p.issuer), p.clientId, undefined, client.None(), { execute, timeout: IDP_TIMEOUT_SECONDS });
      const meta = found.serverMetadata();
      // client_secret_basic is the OIDC default every IdP must accept; post only for IdPs that do not list basic.
      const methods = meta.token_endpoint_auth_methods_supported;
      const auth = !methods || methods.includes('client_secret_basic') ? client.ClientSecretBasic(p.clientSecret) : client.ClientSecretPost(p.clientSecret);
      const config = new client.Configuration(meta, p.clientId, { client_secret: p.clientSecret }, auth);
      config.timeout = IDP_TIMEOUT_SECONDS;
      if (insecure) {
        client.allowInsecureRequests(config);
        this.deps.logger.warn({ provider: p.name }, 'OIDC issuer uses plain http; use https outside development');
      }
      return config;
    } catch (err) {
      this.deps.logger.warn({ err: errSummary(err), provider: p.name, issuer: p.issuer }, 'OIDC discovery failed');
      throw new AppError(503, 'auth.oidc_provider_unavailable', `the sign-in provider "${p.name}" cannot be reached right now; try again later`);
    }
  }

  private stateKey(state: string): string {
    return `oidc:state:${hashToken(state)}`;
  }

  /**
   * Begin a sign-in: state, nonce and PKCE verifier are kept in the cache (every API process sees
   * them) and the URL to send the browser to is returned.
   */
  async start(name: string, redirectAfter?: string): Promise<string> {
    const p = this.provider(name);
    const config = await this.configuration(p);
    const state = client.randomState();
    const nonce = client.randomNonce();
    const codeVerifier = client.randomPKCECodeVerifier();
    const pending: PendingSignIn = { provider: p.name, nonce, codeVerifier, ...(redirectAfter ? { redirectAfter } : {}) };
    await this.cache.set(this.stateKey(state), JSON.stringify(pending), STATE_TTL_MS);
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUri(p.name),
      scope: p.scopes,
      state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    });
    return url.href;
  }

  /** Look a state up and spend it: a second callback with the same state finds nothing. */
  private async takeState(state: string): Promise<PendingSignIn | undefined> {
    const key = this.stateKey(state);
    const raw = await this.cache.get(key);
    if (!raw) return undefined;
    // get + del is not atomic on the cache interface; the claim is, so two racing callbacks cannot both pass.
    if (!(await this.cache.setIfAbsent(`${key}:spent`, '1', STATE_TTL_MS))) return undefined;
    await this.cache.del(key);
    return JSON.parse(raw) as PendingSignIn;
  }

  /**
   * Finish a sign-in from the URL the IdP redirected to: check state, exchange the code (PKCE,
   * nonce and ID token checks by openid-client), map the identity to a local account, sign in.
   */
  async callback(name: string, currentUrl: URL, ctx: ClientContext): Promise<OidcSignInResult> {
    const p = this.provider(name);
    const params = currentUrl.searchParams;
    const state = params.get('state');
    // Spent even when the IdP reports an error, so a state never works twice.
    const pending = state ? await this.takeState(state) : undefined;
    const idpError = params.get('error');
    if (idpError) {
      const safe = /^[A-Za-z0-9_.-]{1,64}$/.test(idpError) ? idpError : 'error';
      throw badRequest('auth.oidc_denied', `the sign-in provider did not authorise the sign-in (${safe})`, { providerError: safe });
    }
    if (!pending || pending.provider !== p.name) {
      throw badRequest('auth.oidc_invalid_state', 'this sign-in link is invalid, expired or already used; start the sign-in again');
    }

    const identity = await this.exchange(p, currentUrl, pending);
    const user = await this.resolveUser(p, identity, ctx);
    this.auth.assertMaySignIn(user);
    const extra = pending.redirectAfter ? { redirectAfter: pending.redirectAfter } : {};
    if (user.totpEnabledAt) return { kind: 'two_factor', challengeToken: await this.twoFactor.createChallenge(user.id, ctx.ip), ...extra };
    return { kind: 'tokens', tokens: await this.auth.startSession(user, `oidc:${p.name}`, ctx), ...extra };
  }

  private async exchange(p: OidcProviderConfig, currentUrl: URL, pending: PendingSignIn): Promise<OidcIdentity> {
    const config = await this.configuration(p);
    try {
      const tokens = await client.authorizationCodeGrant(config, currentUrl, {
        pkceCodeVerifier: pending.codeVerifier,
        expectedNonce: pending.nonce,
        expectedState: currentUrl.searchParams.get('state') ?? undefined,
        idTokenExpected: true,
      });
      const claims: Record<string, unknown> = { ...tokens.claims() };
      // Some IdPs (oidc-provider by default, Azure AD in places) put profile claims only in userinfo.
      if ((claims.email === undefined || claims.preferred_username === undefined) && config.serverMetadata().userinfo_endpoint) {
        const info = await client.fetchUserInfo(config, tokens.access_token, String(claims.sub));
        for (const [k, v] of Object.entries(info)) if (claims[k] === undefined) claims[k] = v;
      }
      const rawEmail = str(claims.email);
      const email = rawEmail && rawEmail.length <= 254 && EMAIL_SHAPE.test(rawEmail) ? normaliseEmail(rawEmail) : null;
      return {
        subject: String(claims.sub),
        email,
        emailVerified: email !== null && claims.email_verified === true,
        preferredUsername: str(claims.preferred_username),
        name: str(claims.name),
      };
    } catch (err) {
      if (err instanceof AppError) throw err;
      const code = (err as { code?: unknown }).code;
      // The IdP answered but refused or sent something that does not check out: the sign-in fails (400).
      // It did not answer usefully (network, timeout, 5xx): it is unavailable (502).
      const refused =
        err instanceof client.ResponseBodyError ||
        err instanceof client.AuthorizationResponseError ||
        err instanceof client.WWWAuthenticateChallengeError ||
        (err instanceof client.ClientError && code !== 'OAUTH_RESPONSE_IS_NOT_CONFORM' && code !== 'OAUTH_RESPONSE_IS_NOT_JSON');
      this.deps.logger.warn({ err: errSummary(err), provider: p.name }, 'OIDC code exchange failed');
      if (refused) throw badRequest('auth.oidc_failed', 'the sign-in provider\'s answer could not be verified; start the sign-in again');
      throw new AppError(502, 'auth.oidc_provider_unavailable', `the sign-in provider "${p.name}" did not answer properly; try again later`);
    }
  }

  // ---- mapping an IdP identity to a local account ------------------------------------------------

  /** Two first sign-ins racing for one name or address: the unique indexes decide, and the loser looks again. */
  private async resolveUser(p: OidcProviderConfig, id: OidcIdentity, ctx: ClientContext): Promise<UserRow> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.resolveOnce(p, id, ctx);
      } catch (err) {
        if (attempt >= 3 || !isUniqueViolation(err)) throw err;
      }
    }
  }

  private async resolveOnce(p: OidcProviderConfig, id: OidcIdentity, ctx: ClientContext): Promise<UserRow> {
    const [linked] = await this.db
      .select({ user: users, email: oidcIdentities.email })
      .from(oidcIdentities)
      .innerJoin(users, eq(users.id, oidcIdentities.userId))
      .where(and(eq(oidcIdentities.provider, p.name), eq(oidcIdentities.subject, id.subject)));
    if (linked) return this.refreshLinked(p, id, linked.user, linked.email);

    if (id.email) {
      const [existing] = await this.db.select().from(users).where(sql`lower(${users.email}) = ${id.email}`);
      if (existing) {
        // Anyone can put any address on an IdP account; only the IdP's word that it checked the address lets it reach ours.
        if (!id.emailVerified) {
          throw forbidden('auth.oidc_email_unverified', 'an account with this email address exists, and the sign-in provider has not verified the address; verify it there, or sign in with your password');
        }
        return this.link(p, id, existing);
      }
    }
    return this.create(p, id, ctx);
  }

  /** A returning identity: keep the stored address current, and take the IdP's verification of the same address. */
  private async refreshLinked(p: OidcProviderConfig, id: OidcIdentity, user: UserRow, storedEmail: string | null): Promise<UserRow> {
    if (id.email !== storedEmail) {
      await this.db.update(oidcIdentities).set({ email: id.email }).where(and(eq(oidcIdentities.provider, p.name), eq(oidcIdentities.subject, id.subject)));
    }
    if (!user.emailVerifiedAt && id.emailVerified && user.email && user.email.toLowerCase() === id.email) {
      const [u] = await this.db.update(users).set({ emailVerifiedAt: new Date(), updatedAt: new Date() }).where(eq(users.id, user.id)).returning();
      return u ?? user;
    }
    return user;
  }

  private async link(p: OidcProviderConfig, id: OidcIdentity, existing: UserRow): Promise<UserRow> {
    // A deleted account keeps its address until the purge; it is not revived by linking.
    if (effectiveState(existing.state, existing.suspendedUntil) === 'deleted') throw unauthorized('auth.invalid_credentials', 'wrong username, email or password');
    const updated = await this.deps.database.transaction(async (tx) => {
      await tx.insert(oidcIdentities).values({ provider: p.name, subject: id.subject, userId: existing.id, email: id.email });
      if (existing.emailVerifiedAt) return existing;
      return this.takeOverUnverified(tx, existing);
    });
    this.deps.logger.info({ provider: p.name, userId: existing.id, verifiedLocally: existing.emailVerifiedAt !== null }, 'OIDC identity linked to an existing account by verified email');
    return updated;
  }

  /**
   * The local account never proved it owns the address, so whoever set it up may not be the address's
   * owner (account pre-hijacking). The IdP has now proved ownership: the address is verified, and
   * the password, authenticator and sessions the unproven registrant set up are dropped.
   */
  private async takeOverUnverified(tx: Tx, u: UserRow): Promise<UserRow> {
    await tx.delete(recoveryCodes).where(eq(recoveryCodes.userId, u.id));
    await this.auth.revokeAllSessions(u.id, 'oidc_link_unverified_email', undefined, tx);
    const [row] = await tx
      .update(users)
      .set({ emailVerifiedAt: new Date(), passwordHash: null, totpSecret: null, totpEnabledAt: null, updatedAt: new Date() })
      .where(eq(users.id, u.id))
      .returning();
    return row!;
  }

  private async create(p: OidcProviderConfig, id: OidcIdentity, ctx: ClientContext): Promise<UserRow> {
    const requireVerified = this.deps.config.auth.requireEmailVerification;
    // Without an address such an account could never confirm one, so it could never sign in.
    if (!id.email && requireVerified) {
      throw forbidden('auth.oidc_email_required', 'the sign-in provider did not share an email address; allow access to your email there and try again');
    }
    const username = await this.freeUsername(usernameBase(id.preferredUsername, id.email));
    const userId = uuidv7();
    const user = await this.deps.database.transaction(async (tx) => {
      const [row] = await tx
        .insert(users)
        .values({
          id: userId,
          username,
          email: id.email,
          emailVerifiedAt: id.emailVerified ? new Date() : null,
          passwordHash: null,
          displayName: this.displayName(id.name),
        })
        .returning();
      await tx.insert(oidcIdentities).values({ provider: p.name, subject: id.subject, userId, email: id.email });
      return row!;
    });
    this.deps.logger.info({ provider: p.name, userId, emailVerified: id.emailVerified }, 'account created through OIDC');
    if (id.email && !id.emailVerified && requireVerified) {
      // Same way forward as a password registration: the address is confirmed by link, then sign-in works.
      await this.auth.resendVerification(id.email, ctx).catch((err: unknown) => this.deps.logger.warn({ err, userId }, 'could not send the verification email'));
    }
    return user;
  }

  private displayName(name: string | null): string | null {
    if (!name || MARKUP.test(name)) return null;
    const clean = name.replace(CONTROL, ' ').replace(/\s+/g, ' ').trim().slice(0, DISPLAY_NAME_MAX).trim();
    return clean === '' ? null : clean;
  }

  /** The base name if free, else the base with a short random suffix (the unique index still has the final word). */
  private async freeUsername(base: string): Promise<string> {
    for (let attempt = 0; attempt < 8; attempt++) {
      let candidate = base;
      if (attempt > 0 || RESERVED_USERNAMES.has(base.toLowerCase())) {
        const suffix = `_${Math.floor(Math.random() * 10 ** Math.min(4 + attempt, 8))}`;
        candidate = `${base.slice(0, USERNAME_MAX - suffix.length)}${suffix}`;
      }
      if (RESERVED_USERNAMES.has(candidate.toLowerCase())) continue;
      const [taken] = await this.db.select({ id: users.id }).from(users).where(sql`lower(${users.username}) = ${candidate.toLowerCase()}`);
      if (!taken) return candidate;
    }
    return `${base.slice(0, USERNAME_MAX - 13)}_${uuidv7().replace(/-/g, '').slice(-12)}`;
  }
}
