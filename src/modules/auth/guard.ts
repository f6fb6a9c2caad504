import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../../platform/errors.js';
import type { SigningKeys } from './keys.js';
import { can, type Permission } from './permissions.js';
import { effectiveState, type SessionState } from './session-state.js';

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
  async function authenticate(request: FastifyRequest, header: string): Promise<void> {
    const match = /^Bearer ([A-Za-z0-9_\-.]+)$/.exec(header);
    if (!match) throw unauthorized('auth.invalid_token', 'Authorization must be "Bearer <access token>"');
    let claims;
    try {
      claims = await keys.verify(match[1]!);
    } catch (err) {
      const expired = /exp/.test((err as Error).message);
      throw unauthorized(expired ? 'auth.token_expired' : 'auth.invalid_token', expired ? 'the access token has expired; refresh it' : 'the access token is not valid');
    }
    const [live, account] = await Promise.all([state.sessionLive(claims.sid, claims.sub), state.account(claims.sub)]);
    if (!live) throw unauthorized('auth.session_revoked', 'this session has ended; sign in again');
    if (!account || effectiveState(account.state, account.suspendedUntil) !== 'active') {
      throw unauthorized('auth.account_inactive', 'this account is suspended, deactivated or deleted');
    }
    request.auth = { userId: claims.sub, role: account.role, sessionId: claims.sid };
  }

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
