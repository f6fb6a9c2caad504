import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../../platform/errors.js';
import type { SigningKeys } from './keys.js';
import { can, type Permission } from './permissions.js';
import { effectiveState, type LiveAccount, type SessionState } from './session-state.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** 'required': a valid access token; 'optional': anonymous allowed, a token is still checked. */
    auth?: 'required' | 'optional';
    /** Implies auth 'required'; checked against the caller's current role. */
    permission?: Permission;
  }
}

const unauthorized = (code: string, message: string) => new AppError(401, code, message);

/**
 * The one guard every route goes through. preParsing (after the rate limiter, before the body is
 * read): a Bearer token, when present, must be valid (signature, key, expiry) and belong to a live
 * session of an active account, else 401. preValidation: routes that need a caller or a permission
 * get 401 / 403.
 */
export function registerGuard(app: FastifyInstance, keys: SigningKeys, state: SessionState): void {
  type Standing = [live: boolean, account: LiveAccount | null];
  const standing = (sid: string, userId: string): Promise<Standing> => Promise.all([state.sessionLive(sid, userId), state.account(userId)]);
  /** Session and account reads started in onRequest for tokens verified before (see below), by request. */
  const prefetched = new WeakMap<FastifyRequest, { sid: string; sub: string; standing: Promise<Standing> }>();
  const bearer = (header: string) => /^Bearer ([A-Za-z0-9_\-.]+)$/.exec(header)?.[1];

  async function authenticate(request: FastifyRequest, header: string): Promise<void> {
    const token = bearer(header);
    if (!token) throw unauthorized('auth.invalid_token', 'Authorization must be "Bearer <access token>"');
    let claims;
    try {
      claims = await keys.verify(token);
    } catch (err) {
      const expired = /exp/.test((err as Error).message);
      throw unauthorized(expired ? 'auth.token_expired' : 'auth.invalid_token', expired ? 'the access token has expired; refresh it' : 'the access token is not valid');
    }
    const early = prefetched.get(request);
    const [live, account] = await (early && early.sid === claims.sid && early.sub === claims.sub ? early.standing : standing(claims.sid, claims.sub));
    if (!live) throw unauthorized('auth.session_revoked', 'this session has ended; sign in again');
    if (!account || effectiveState(account.state, account.suspendedUntil) !== 'active') {
      throw unauthorized('auth.account_inactive', 'this account is suspended, deactivated or deleted');
    }
    request.auth = { userId: claims.sub, role: account.role, sessionId: claims.sid };
  }

  // A token this process verified before names its session and account without any signature
  // check: their reads start here, so they share one Redis round trip with the rate limiter's
  // counter (ioredis batches the commands of one event-loop turn). Nothing is decided here: the
  // guard below verifies the token and uses the reads only for the session the token names.
  app.addHook('onRequest', (request, _reply, done) => {
    const header = request.headers.authorization;
    const token = header === undefined ? undefined : bearer(header);
    const claims = token === undefined ? undefined : keys.remembered(token);
    if (claims) {
      const early = standing(claims.sid, claims.sub);
      // Awaited by the guard, unless the request ends before it (rate limited): no unhandled rejection then.
      early.catch(() => {});
      prefetched.set(request, { sid: claims.sid, sub: claims.sub, standing: early });
    }
    done();
  });

  // preParsing, not onRequest: the rate limiter's onRequest hooks are route-level, which Fastify runs
  // after the app-level ones, so a guard in onRequest answered floods of forged tokens with 401
  // before they were ever counted (and checked a signature for each). Still before the body is read.
  // Callback style: most requests carry no token and should not pay for a promise.
  app.addHook('preParsing', (request, _reply, payload, done) => {
    const header = request.headers.authorization;
    if (header === undefined) return done(null, payload);
    authenticate(request, header).then(
      () => done(null, payload),
      (err: Error) => done(err),
    );
  });

  // Before validation: a caller without the right gets 401/403, never a hint about the body's shape.
  app.addHook('preValidation', (request, _reply, done) => {
    const { auth, permission } = request.routeOptions.config;
    if (auth !== 'required' && !permission) return done();
    if (!request.auth) return done(unauthorized('auth.required', 'sign in to do this (Authorization: Bearer <access token>)'));
    if (permission && !can(request.auth.role, permission)) return done(new AppError(403, 'auth.forbidden', 'your role does not allow this'));
    done();
  });
}
