import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { problemResponses } from '../../platform/http/problem.js';
import { servicesFor } from '../services.js';
import type { ModuleRoutes } from '../types.js';
import { presentSelf } from '../users/present.js';
import { OidcService } from './oidc.js';
import { TokenResponse, TwoFactorChallenge } from './schemas.js';
import type { ClientContext } from './service.js';

const ctxOf = (req: FastifyRequest): ClientContext => ({ ip: req.ip, userAgent: req.headers['user-agent'] });

const ProviderParams = Type.Object({ provider: Type.String({ minLength: 1, maxLength: 64, description: 'A configured provider name (GET /auth/oidc/providers)' }) });

/** Only a path on this site: an absolute URL here would make the sign-in an open redirect. */
const RedirectAfter = Type.String({ pattern: '^/(?![/\\\\])[^\\s]*$', maxLength: 512, description: 'A path (not a URL) the client goes to after signing in; handed back by the callback' });
const WithRedirect = Type.Object({ redirectAfter: Type.Optional(Type.String({ description: 'The redirectAfter given to start, when one was' })) });

const Param = Type.Optional(Type.String({ maxLength: 4096 }));

export const oidcRoutes: ModuleRoutes = async (app, { deps }) => {
  const s = servicesFor(deps);
  const oidc = new OidcService(deps, s.auth, s.twoFactor);
  const tags = ['auth'];

  app.get(
    '/auth/oidc/providers',
    {
      schema: {
        tags,
        summary: 'The OpenID Connect providers you can sign in with',
        response: { 200: Type.Object({ items: Type.Array(Type.Object({ name: Type.String(), startUrl: Type.String({ description: 'Open this in the browser to sign in' }) })) }) },
      },
    },
    async () => ({ items: oidc.providerNames().map((name) => ({ name, startUrl: `${deps.config.publicUrl}/api/v1/auth/oidc/${name}/start` })) }),
  );

  app.get(
    '/auth/oidc/:provider/start',
    {
      schema: {
        tags,
        summary: 'Start signing in with an OpenID Connect provider',
        description:
          'Redirects (302) the browser to the provider. With `format=json` answers `{ url }` instead, for clients that open the page themselves. The provider sends the browser back to `/auth/oidc/{provider}/callback` within 10 minutes.',
        params: ProviderParams,
        querystring: Type.Object({ format: Type.Optional(Type.Union([Type.Literal('redirect'), Type.Literal('json')])), redirectAfter: Type.Optional(RedirectAfter) }, { additionalProperties: false }),
        response: { 200: Type.Object({ url: Type.String({ description: 'The provider\'s authorization URL' }) }), 302: Type.Null({ description: 'Location: the provider\'s authorization URL' }), ...problemResponses(400, 404, 503) },
      },
    },
    async (req, reply) => {
      const url = await oidc.start(req.params.provider, req.query.redirectAfter);
      // Each URL carries a single-use state: no cache may hand it to someone else.
      reply.header('cache-control', 'no-store');
      if (req.query.format === 'json') return { url };
      return reply.redirect(url, 302);
    },
  );

  app.get(
    '/auth/oidc/:provider/callback',
    {
      schema: {
        tags,
        summary: 'Finish signing in with an OpenID Connect provider',
        description:
          'The redirect URI to register at the provider. Answers tokens like POST /auth/login, or `{ twoFactorRequired: true, challengeToken }` when the account has two-factor authentication on (finish with POST /auth/2fa/verify). An identity signs in to the account it is linked to; a new identity links to an existing account only when the provider verified the same email address (403 `auth.oidc_email_unverified` otherwise), else a new account is made.',
        params: ProviderParams,
        querystring: Type.Object({ code: Param, state: Param, iss: Param, error: Param, error_description: Param, session_state: Param }),
        response: { 200: Type.Union([Type.Composite([TokenResponse, WithRedirect], { title: 'OidcTokenResponse' }), Type.Composite([TwoFactorChallenge, WithRedirect], { title: 'OidcTwoFactorChallenge' })]), ...problemResponses(400, 401, 403, 404, 502, 503) },
      },
    },
    async (req, reply) => {
      const raw = req.raw.url ?? '';
      const query = raw.includes('?') ? raw.slice(raw.indexOf('?')) : '';
      // The redirect URI as registered (from PUBLIC_URL), never rebuilt from Host headers a client controls.
      const currentUrl = new URL(`${oidc.redirectUri(req.params.provider.toLowerCase())}${query}`);
      const result = await oidc.callback(req.params.provider, currentUrl, ctxOf(req));
      reply.header('cache-control', 'no-store');
      const extra = result.redirectAfter ? { redirectAfter: result.redirectAfter } : {};
      if (result.kind === 'two_factor') return { twoFactorRequired: true as const, challengeToken: result.challengeToken, ...extra };
      const t = result.tokens;
      return {
        accessToken: t.accessToken,
        refreshToken: t.refreshToken,
        expiresIn: t.expiresIn,
        tokenType: 'Bearer' as const,
        user: await presentSelf(t.user, deps.storage, deps.config.signedUrlTtlSeconds),
        ...extra,
      };
    },
  );
};
