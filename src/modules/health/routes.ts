import { Type } from '@sinclair/typebox';
import type { AppModule, ModuleRoutes } from '../types.js';

const CheckResult = Type.Object({ ok: Type.Boolean(), kind: Type.String(), ms: Type.Number(), error: Type.Optional(Type.String()) });

async function timed(kind: string, fn: () => Promise<void>, timeoutMs: number) {
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true, kind, ms: Math.round(performance.now() - t0) };
  } catch (err) {
    // The message names the part, never a connection string (it could hold a password).
    return { ok: false, kind, ms: Math.round(performance.now() - t0), error: (err as Error).message.replace(/\/\/[^@\s]*@/g, '//***@') };
  } finally {
    clearTimeout(timer);
  }
}

const rootRoutes: ModuleRoutes = async (app, { deps }) => {
  app.get(
    '/healthz',
    {
      config: { rateLimit: false },
      schema: { tags: ['operations'], summary: 'Liveness: the process is up and serving', response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: { rateLimit: false },
      schema: {
        tags: ['operations'],
        summary: 'Readiness: database, cache and storage answer',
        response: {
          200: Type.Object({ status: Type.Literal('ready'), checks: Type.Record(Type.String(), CheckResult) }),
          503: Type.Object({ status: Type.Literal('unavailable'), checks: Type.Record(Type.String(), CheckResult) }),
        },
      },
    },
    async (_req, reply) => {
      const timeoutMs = deps.config.readinessTimeoutMs;
      const [database, cache, storage] = await Promise.all([
        timed(deps.database.kind, () => deps.database.ping(), timeoutMs),
        timed(deps.cache.kind, () => deps.cache.cache.ping(), timeoutMs),
        timed(deps.storage.kind, () => deps.storage.ping(), timeoutMs),
      ]);
      const checks = { database, cache, storage };
      if (database.ok && cache.ok && storage.ok) return { status: 'ready' as const, checks };
      return reply.code(503).send({ status: 'unavailable' as const, checks });
    },
  );

  app.get(
    '/metrics',
    { config: { rateLimit: false }, schema: { tags: ['operations'], summary: 'Prometheus metrics', produces: ['text/plain'] } },
    async (_req, reply) => {
      const body = await deps.metrics.registry.metrics();
      return reply.type(deps.metrics.registry.contentType).send(body);
    },
  );
};

export const healthModule: AppModule = { name: 'health', rootRoutes };
