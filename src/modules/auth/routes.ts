import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { problemResponses } from '../../platform/http/problem.js';
import { notFound, unauthorized } from '../../platform/errors.js';
import { servicesFor } from '../services.js';
import type { ModuleRoutes } from '../types.js';
import { presentSelf } from '../users/present.js';
import { Accepted, Email, OpaqueToken, Password, SessionSchema, TokenResponse, TwoFactorChallenge, Username } from './schemas.js';
import type { ClientContext, IssuedTokens } from './service.js';

const ctxOf = (req: FastifyRequest): ClientContext => ({ ip: req.ip, userAgent: req.headers['user-agent'] });

export const authRoutes: ModuleRoutes = async (app, { deps }) => {
  const s = servicesFor(deps);
  const ttl = deps.config.signedUrlTtlSeconds;
  const tokens = async (t: IssuedTokens) => ({
    accessToken: t.accessToken,
    refreshToken: t.refreshToken,
    expiresIn: t.expiresIn,
    tokenType: 'Bearer' as const,
    user: await presentSelf(t.user, deps.storage, ttl),
  });
  const tags = ['auth'];

  app.post(
    '/auth/register',
    {
      config: { idempotent: true },
      schema: {
        tags,
        summary: 'Create an account; a confirmation link is emailed',
        description: 'Answers 202 whether or not the email is already registered (the owner of a known address is told by email instead), so the response does not reveal which addresses have accounts.',
        body: Type.Object({ email: Email, username: Username, password: Password }, { additionalProperties: false }),
        response: { 202: Accepted, ...problemResponses(400, 409, 429) },
      },
    },
    async (req, reply) => {
      await s.auth.register(req.body, ctxOf(req));
      return reply.code(202).send({ status: 'accepted' as const, message: 'check your inbox for a link to confirm your email address' });
    },
  );

  app.post(
    '/auth/verify-email',
    {
      schema: { tags, summary: 'Confirm an email address with the emailed token', body: Type.Object({ token: OpaqueToken }, { additionalProperties: false }), response: { 200: Type.Object({ verified: Type.Literal(true) }), ...problemResponses(400, 429) } },
    },
    async (req) => {
      await s.auth.verifyEmail(req.body.token, ctxOf(req));
      return { verified: true as const };
    },
  );

  app.post(
    '/auth/resend-verification',
    { schema: { tags, summary: 'Send the confirmation link again', body: Type.Object({ email: Email }, { additionalProperties: false }), response: { 202: Accepted, ...problemResponses(400, 429) } } },
    async (req, reply) => {
      await s.auth.resendVerification(req.body.email, ctxOf(req));
      return reply.code(202).send({ status: 'accepted' as const, message: 'if that address has an unconfirmed account, a new link is on its way' });
    },
  );

  app.post(
    '/auth/login',
    {
      schema: {
        tags,
        summary: 'Sign in with username or email and password',
        description: 'Answers tokens, or `{ twoFactorRequired: true, challengeToken }` when the account has two-factor authentication on.',
        body: Type.Object({ login: Type.String({ minLength: 1, maxLength: 254 }), password: Password }, { additionalProperties: false }),
        response: { 200: Type.Union([TokenResponse, TwoFactorChallenge]), ...problemResponses(400, 401, 403, 429) },
      },
    },
    async (req) => {
      const u = await s.auth.checkPassword(req.body.login, req.body.password, ctxOf(req));
      if (u.totpEnabledAt) return { twoFactorRequired: true as const, challengeToken: await s.twoFactor.createChallenge(u.id, req.ip) };
      return tokens(await s.auth.startSession(u, 'password', ctxOf(req)));
    },
  );

  app.post(
    '/auth/2fa/verify',
    {
      schema: {
        tags,
        summary: 'Finish a 2FA sign-in with a TOTP code or a recovery code',
        body: Type.Object({ challengeToken: OpaqueToken, code: Type.String({ minLength: 6, maxLength: 20 }) }, { additionalProperties: false }),
        response: { 200: TokenResponse, ...problemResponses(400, 401, 403, 429) },
      },
    },
    async (req) => {
      const u = await s.twoFactor.completeChallenge(req.body.challengeToken, req.body.code, req.ip, (id) => s.auth.findById(id));
      s.auth.assertMaySignIn(u);
      return tokens(await s.auth.startSession(u, 'password+totp', ctxOf(req)));
    },
  );

  app.post(
    '/auth/refresh',
    { schema: { tags, summary: 'Exchange a refresh token for a new token pair (the old one stops working)', body: Type.Object({ refreshToken: OpaqueToken }, { additionalProperties: false }), response: { 200: TokenResponse, ...problemResponses(400, 401) } } },
    async (req) => tokens(await s.auth.refresh(req.body.refreshToken, ctxOf(req))),
  );

  app.post(
    '/auth/logout',
    { schema: { tags, summary: 'End the session a refresh token belongs to', body: Type.Object({ refreshToken: OpaqueToken }, { additionalProperties: false }), response: { 204: Type.Null(), ...problemResponses(400, 401) } } },
    async (req, reply) => {
      await s.auth.logout(req.body.refreshToken);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/auth/sessions',
    {
      config: { permission: 'account.self' },
      schema: { tags, summary: 'Your signed-in devices', security: [{ bearerAuth: [] }], response: { 200: Type.Object({ items: Type.Array(SessionSchema) }), ...problemResponses(401) } },
    },
    async (req) => {
      const rows = await s.auth.listSessions(req.auth!.userId);
      return {
        items: rows.map((r) => ({
          ...r,
          createdAt: r.createdAt.toISOString(),
          lastUsedAt: r.lastUsedAt.toISOString(),
          expiresAt: r.expiresAt.toISOString(),
          current: r.id === req.auth!.sessionId,
        })),
      };
    },
  );

  app.delete(
    '/auth/sessions/:id',
    {
      config: { permission: 'account.self' },
      schema: { tags, summary: 'Sign one of your devices out', security: [{ bearerAuth: [] }], params: Type.Object({ id: Type.String({ format: 'uuid' }) }), response: { 204: Type.Null(), ...problemResponses(400, 401, 404) } },
    },
    async (req, reply) => {
      if (!(await s.auth.revokeOwnSession(req.auth!.userId, req.params.id))) throw notFound('auth.session_not_found', 'no such session among yours');
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/auth/logout-all',
    {
      config: { permission: 'account.self' },
      schema: {
        tags,
        summary: 'Sign out everywhere (optionally keeping this device)',
        security: [{ bearerAuth: [] }],
        body: Type.Optional(Type.Object({ keepCurrent: Type.Optional(Type.Boolean()) }, { additionalProperties: false })),
        response: { 200: Type.Object({ revoked: Type.Integer() }), ...problemResponses(400, 401) },
      },
    },
    async (req) => ({ revoked: await s.auth.revokeAllSessions(req.auth!.userId, 'logout_all', req.body?.keepCurrent ? req.auth!.sessionId : undefined) }),
  );

  app.post(
    '/auth/password/change',
    {
      config: { permission: 'account.self' },
      schema: {
        tags,
        summary: 'Change your password; your other sessions end',
        security: [{ bearerAuth: [] }],
        body: Type.Object({ currentPassword: Type.String({ maxLength: 256 }), newPassword: Password }, { additionalProperties: false }),
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 429) },
      },
    },
    async (req, reply) => {
      await s.auth.changePassword(req.auth!.userId, req.auth!.sessionId, req.body.currentPassword, req.body.newPassword);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/auth/password/forgot',
    { schema: { tags, summary: 'Email a password reset link', body: Type.Object({ email: Email }, { additionalProperties: false }), response: { 202: Accepted, ...problemResponses(400, 429) } } },
    async (req, reply) => {
      await s.auth.forgotPassword(req.body.email, ctxOf(req));
      return reply.code(202).send({ status: 'accepted' as const, message: 'if that address has an account, a reset link is on its way' });
    },
  );

  app.post(
    '/auth/password/reset',
    {
      schema: { tags, summary: 'Choose a new password with the emailed token; every session ends', body: Type.Object({ token: OpaqueToken, password: Password }, { additionalProperties: false }), response: { 204: Type.Null(), ...problemResponses(400, 429) } },
    },
    async (req, reply) => {
      await s.auth.resetPassword(req.body.token, req.body.password, ctxOf(req));
      return reply.code(204).send(null);
    },
  );

  // ---- two-factor enrolment ----------------------------------------------------------------------
  const me = async (req: FastifyRequest) => {
    const u = await s.auth.findById(req.auth!.userId);
    if (!u) throw unauthorized('auth.required', 'sign in again');
    return u;
  };
  const Code = Type.String({ minLength: 6, maxLength: 20 });
  const RecoveryCodes = Type.Object({ recoveryCodes: Type.Array(Type.String(), { description: 'Each works once; shown only now' }) });

  app.post(
    '/auth/2fa/setup',
    {
      config: { permission: 'account.self' },
      schema: {
        tags,
        summary: 'Start enrolling an authenticator app',
        security: [{ bearerAuth: [] }],
        response: { 200: Type.Object({ secret: Type.String(), otpauthUri: Type.String(), qrCodeDataUrl: Type.String({ description: 'PNG data: URL of the otpauth URI' }) }), ...problemResponses(401, 409) },
      },
    },
    async (req) => s.twoFactor.setup(await me(req)),
  );

  app.post(
    '/auth/2fa/enable',
    {
      config: { permission: 'account.self' },
      schema: { tags, summary: 'Confirm enrolment with a code from the app; returns 10 recovery codes', security: [{ bearerAuth: [] }], body: Type.Object({ code: Code }, { additionalProperties: false }), response: { 200: RecoveryCodes, ...problemResponses(400, 401, 409) } },
    },
    async (req) => ({ recoveryCodes: await s.twoFactor.enable(await me(req), req.body.code) }),
  );

  app.post(
    '/auth/2fa/disable',
    {
      config: { permission: 'account.self' },
      schema: {
        tags,
        summary: 'Turn two-factor authentication off (password and a code needed)',
        security: [{ bearerAuth: [] }],
        body: Type.Object({ password: Type.Optional(Type.String({ maxLength: 256 })), code: Code }, { additionalProperties: false }),
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 409) },
      },
    },
    async (req, reply) => {
      await s.twoFactor.disable(await me(req), req.body.password, req.body.code);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/auth/2fa/recovery-codes',
    {
      config: { permission: 'account.self' },
      schema: { tags, summary: 'Replace your recovery codes (a current TOTP code needed)', security: [{ bearerAuth: [] }], body: Type.Object({ code: Code }, { additionalProperties: false }), response: { 200: RecoveryCodes, ...problemResponses(400, 401, 409) } },
    },
    async (req) => ({ recoveryCodes: await s.twoFactor.regenerateRecoveryCodes(await me(req), req.body.code) }),
  );
};

export const authRootRoutes: ModuleRoutes = async (app, { deps }) => {
  const s = servicesFor(deps);
  app.get(
    '/.well-known/jwks.json',
    {
      schema: {
        tags: ['auth'],
        summary: 'Public keys that verify access tokens (JWKS)',
        response: { 200: Type.Object({ keys: Type.Array(Type.Object({ kid: Type.String(), kty: Type.String(), crv: Type.String(), x: Type.String(), alg: Type.String(), use: Type.String() })) }) },
      },
    },
    async (_req, reply) => {
      reply.header('cache-control', 'public, max-age=300');
      return (await s.keys.jwks()) as never;
    },
  );
};

