import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { uuidv7 } from 'uuidv7';
import { registerGuard } from './modules/auth/guard.js';
import { modules } from './modules/index.js';
import { servicesFor } from './modules/services.js';
import type { ModuleRoutes } from './modules/types.js';
import type { Deps } from './platform/deps.js';
import { callerScope, decorateAuth } from './platform/http/auth-context.js';
import { registerIdempotency } from './platform/http/idempotency.js';
import { registerProblemHandlers } from './platform/http/problem.js';
import { staticSecurityHeaders } from './platform/http/security-headers.js';
import { cacheRateLimitStore } from './platform/http/rate-limit-store.js';
import { localFilesRoute } from './platform/storage/local-route.js';
import { LocalStorage } from './platform/storage/local.js';
import { version } from './version.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export type App = FastifyInstance;

export interface BuildAppOptions {
  /** More route plugins under /api/v1, after the modules (tests exercise the shared pipeline with them). */
  extraRoutes?: ModuleRoutes[];
}

/** The HTTP app with every module registered. It does not listen: callers decide where. */
export async function buildApp(deps: Deps, opts: BuildAppOptions = {}): Promise<App> {
  const { config, metrics } = deps;
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Fastify's default of 10 s per plugin failed startups on a busy host (CI, a small VM during
    // a transcode), and 60 s did once on a CPU-starved CI run; a plugin that hangs still fails,
    // just later.
    pluginTimeout: 180_000,
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    // A caller's X-Request-Id is kept when it is a plain token, so ids can follow a request across services.
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : uuidv7();
    },
    ajv: { customOptions: { allErrors: true, removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
    // Graceful shutdown closes idle keep-alive sockets and lets in-flight requests finish.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    // Fastify's own two lines per request are off: the onResponse hook below writes one.
    logController: new LogController({ disableRequestLogging: true }),
  }).withTypeProvider<TypeBoxTypeProvider>();

  // JSON APIs only: a text/plain body is a client mistake (415), not a string to validate.
  app.removeContentTypeParser('text/plain');

  const securityHeaders = staticSecurityHeaders({
    // Swagger UI at /docs loads its own scripts and styles from this origin only.
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        styleSrc: ["'self'", "'unsafe-inline'"],
        scriptSrc: ["'self'"],
        connectSrc: ["'self'"],
        mediaSrc: ["'self'", 'blob:'],
        frameAncestors: ["'none'"],
      },
    },
    crossOriginResourcePolicy: { policy: 'cross-origin' },
  });
  // Callback-style hooks: nothing to await, and async hooks cost a promise per request.
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(securityHeaders);
    reply.header('x-request-id', request.id);
    done();
  });
  const quietRoutes = new Set(['/healthz', '/readyz', '/metrics']);
  // Labelled children are looked up once per (method, route, status): hashing labels on every
  // observation was a measurable part of a request's cost.
  const histograms = new Map<string, { observe(v: number): void }>();
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const status = reply.statusCode;
    const key = `${request.method} ${route} ${status}`;
    let h = histograms.get(key);
    if (!h) {
      h = metrics.httpDuration.labels({ method: request.method, route, status_code: String(status) });
      histograms.set(key, h);
    }
    h.observe(reply.elapsedTime / 1000);
    // One line per request (Fastify's own two are off); probes only at debug.
    const level = quietRoutes.has(route) ? 'debug' : 'info';
    if ((request.log as unknown as { isLevelEnabled(l: string): boolean }).isLevelEnabled(level)) {
      request.log[level]({ req: request, statusCode: status, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request done');
    }
    done();
  });

  registerProblemHandlers(app, metrics);
  decorateAuth(app);

  await app.register(cors, {
    origin: config.corsOrigins,
    // Bearer tokens, not cookies: no credentials, so a reflected origin cannot ride a user's session.
    credentials: false,
    // The plugin's default is the CORS-safelisted GET, HEAD and POST: a browser app on another
    // origin could then never PATCH, PUT or DELETE (editing a post, tus uploads, unfollowing).
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    exposedHeaders: ['x-request-id', 'retry-after', 'location', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'],
    maxAge: 600,
  });
  await app.register(rateLimit, {
    global: true,
    max: config.rateLimit.max,
    timeWindow: config.rateLimit.windowMs,
    store: cacheRateLimitStore(deps.cache.cache),
    errorResponseBuilder: (_req, ctx) => ({
      statusCode: 429,
      code: 'request.rate_limited',
      message: `rate limit of ${ctx.max} requests per ${ctx.after} exceeded; retry in ${Math.ceil(ctx.ttl / 1000)} s`,
    }),
  });

  // The guard authenticates in preParsing, after the rate limiter's onRequest hooks, so floods of
  // bad tokens are limited before any signature is checked (test/app/http-pipeline.test.ts).
  const services = servicesFor(deps);
  await services.keys.init();
  registerGuard(app, services.keys, services.sessionState);
  registerIdempotency(app, deps.database.db, callerScope);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Social Flow API',
        version,
        description: 'Self-hostable social video platform. Errors are RFC 9457 application/problem+json with a stable `code`. Lists use keyset pagination (`limit`, `cursor` -> `{ items, nextCursor }`).',
      },
      servers: [{ url: config.publicUrl }],
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
      tags: [
        { name: 'operations', description: 'Health, readiness and metrics' },
        { name: 'instance', description: 'About this server' },
        { name: 'auth', description: 'Registration, sign-in, sessions, passwords, two-factor authentication' },
        { name: 'users', description: 'Profiles and account lifecycle' },
        { name: 'graph', description: 'Follows, follow requests, blocks and mutes' },
        { name: 'posts', description: 'Posts, replies, quotes, reposts, threads, profile and hashtag feeds, media' },
        { name: 'reactions', description: 'Likes and saves' },
        { name: 'comments', description: 'Threaded comments on posts (and videos once they land)' },
        { name: 'feed', description: 'Home feed' },
        { name: 'notifications', description: 'In-app notifications, preferences, web push subscriptions, email unsubscribe' },
        { name: 'realtime', description: 'WebSocket stream: notifications and live channels' },
        { name: 'admin', description: 'Moderators and admins: users, roles, suspensions, audit log, signing keys' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true, uiConfig: { deepLinking: true } });
  app.get('/openapi.json', { schema: { hide: true }, config: { rateLimit: false } }, async () => app.swagger());

  // Once for the whole app: every instance would answer every upgrade. Modules add `websocket: true` routes.
  await app.register(websocket, {
    options: { maxPayload: 64 * 1024 },
    preClose(done) {
      for (const client of this.websocketServer.clients) client.close(1001, 'server shutting down');
      done();
    },
  });

  for (const m of modules) {
    if (m.rootRoutes) await app.register(m.rootRoutes, { deps });
    if (m.routes) await app.register(m.routes, { prefix: '/api/v1', deps });
  }
  for (const routes of opts.extraRoutes ?? []) await app.register(routes, { prefix: '/api/v1', deps });
  if (deps.storage instanceof LocalStorage) {
    await app.register(localFilesRoute, { storage: deps.storage, secretKey: config.secretKey });
  }

  await app.ready();
  return app;
}
