/**
 * Where the HTTP overhead of the full app comes from: a replica of src/app.ts's request pipeline
 * (same Fastify options, hooks, plugins and plugin options, no database), measured with one part
 * taken out at a time, plus a variant with the cheaper pipeline suggested in docs/performance.md.
 *
 *   npx tsx bench/http-overhead-breakdown.ts [--duration 5] [--connections 32] [--warmup 1] [--rounds 1]
 *                                            [--only name,name]
 *
 * Method
 * - Each variant is a fresh Fastify instance on 127.0.0.1:0 serving GET /healthz -> {status:'ok'},
 *   started, warmed up (`--warmup` s), measured (`--duration` s, `--connections` keep-alive connections)
 *   and closed; variants run one after the other in this process. With `--rounds N` the whole list is
 *   measured N times and averaged.
 * - Load comes from autocannon in a child process (bench/support/loadgen.ts), as in bench/http-overhead.ts.
 * - Variants:
 *     bare              Fastify({ logger: false }), no plugins (the baseline of bench/http-overhead.ts)
 *     replica           everything src/app.ts puts on the /healthz path: silent pino loggerInstance from
 *                       createLogger(), uuidv7 genReqId, async x-request-id and metrics hooks, problem
 *                       handlers, @fastify/helmet, @fastify/cors, @fastify/rate-limit (route exempt as in
 *                       the app), swagger + swagger-ui, response schema
 *     -<part>           replica without that part
 *     none              Fastify with the app's constructor options (ajv, request-id header off, close
 *                       behaviour, text/plain parser removed) and none of the parts
 *     none+<part>       none plus that part only
 *     +limited          replica, route counted by the rate limiter (cache store on the in-memory cache)
 *     +limited-local    replica, route counted with @fastify/rate-limit's own in-memory store
 *     fixed             replica with the changes suggested in docs/performance.md
 *                       (bench/support/pipeline-suggestions.ts): helmet's headers computed once and set
 *                       by one sync onRequest hook together with x-request-id, a sync metrics hook, and
 *                       the logger without wildcard redact paths
 *     fixed+limited     fixed, route counted by the rate limiter (cache store)
 *     replica@info      replica with LOG_LEVEL=info, the production default (lines to /dev/null)
 *     fixed@info        fixed with LOG_LEVEL=info
 *   `--only a,b` measures bare plus the named variants.
 * - Figures as in bench/http-overhead.ts; `vsBare` = variant rps / bare rps, `vsBareCpu` = bare cpu
 *   µs per request / variant's (steadier when other programs share the machine). The last line is
 *   one JSON object with every figure.
 */
import type { IncomingMessage } from 'node:http';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import cors from '@fastify/cors';
import fastifyHelmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Type } from '@sinclair/typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { uuidv7 } from 'uuidv7';
import { MemoryCache } from '../src/platform/cache/memory.js';
import { registerProblemHandlers } from '../src/platform/http/problem.js';
import { cacheRateLimitStore } from '../src/platform/http/rate-limit-store.js';
import { createLogger } from '../src/platform/logger.js';
import { createMetrics } from '../src/platform/metrics.js';
import { startLoadgen, type Loadgen } from './support/loadgen.js';
import { staticHelmetHeaders, suggestedLogger } from './support/pipeline-suggestions.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '32' },
    warmup: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '1' },
    only: { type: 'string' },
  },
  strict: true,
});

function positiveInt(name: string, v: string | undefined, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got ${v}`);
  return n;
}
const durationS = positiveInt('duration', args.duration, 1);
const connections = positiveInt('connections', args.connections, 1);
const warmupS = positiveInt('warmup', args.warmup, 0);
const rounds = positiveInt('rounds', args.rounds, 1);

/** The parts of the pipeline a variant has. */
interface Parts {
  bare: boolean;
  /** app: createLogger() of src/platform/logger.ts; suggested: the same without wildcard redact paths, see suggestedLogger. */
  logger: 'app' | 'suggested' | false;
  reqId: boolean;
  metrics: boolean;
  problem: boolean;
  helmet: 'plugin' | 'static' | false;
  cors: boolean;
  rateLimit: 'exempt' | 'counted' | 'counted-local' | false;
  swagger: boolean;
  schema: boolean;
  syncHooks: boolean;
  /** Log level of the logger part; above silent, lines go synchronously to /dev/null. */
  logLevel?: 'silent' | 'info';
}

const REPLICA: Parts = {
  bare: false,
  logger: 'app',
  reqId: true,
  metrics: true,
  problem: true,
  helmet: 'plugin',
  cors: true,
  rateLimit: 'exempt',
  swagger: true,
  schema: true,
  syncHooks: false,
};

/** Fastify with the app's options (ajv, request-id off, close behaviour) and none of the parts. */
const NONE: Parts = {
  bare: false,
  logger: false,
  reqId: false,
  metrics: false,
  problem: false,
  helmet: false,
  cors: false,
  rateLimit: false,
  swagger: false,
  schema: false,
  syncHooks: false,
};

const VARIANTS: { name: string; parts: Parts }[] = [
  { name: 'bare', parts: { ...REPLICA, bare: true } },
  { name: 'none', parts: NONE },
  { name: 'replica', parts: REPLICA },
  { name: '-helmet', parts: { ...REPLICA, helmet: false } },
  { name: '-logger', parts: { ...REPLICA, logger: false } },
  { name: '-reqId', parts: { ...REPLICA, reqId: false } },
  { name: '-metrics', parts: { ...REPLICA, metrics: false } },
  { name: '-cors', parts: { ...REPLICA, cors: false } },
  { name: '-rateLimit', parts: { ...REPLICA, rateLimit: false } },
  { name: '-swagger', parts: { ...REPLICA, swagger: false } },
  { name: '-schema', parts: { ...REPLICA, schema: false } },
  { name: '+limited', parts: { ...REPLICA, rateLimit: 'counted' } },
  { name: '+limited-local', parts: { ...REPLICA, rateLimit: 'counted-local' } },
  { name: 'none+helmet', parts: { ...NONE, helmet: 'plugin' } },
  { name: 'none+static-hdrs', parts: { ...NONE, helmet: 'static', syncHooks: true } },
  { name: 'none+logger', parts: { ...NONE, logger: 'app' } },
  { name: 'none+logger-sugg', parts: { ...NONE, logger: 'suggested' } },
  { name: 'none+cors', parts: { ...NONE, cors: true } },
  { name: 'none+metrics', parts: { ...NONE, metrics: true } },
  { name: 'none+rateLimit', parts: { ...NONE, rateLimit: 'exempt' } },
  { name: 'none+swagger', parts: { ...NONE, swagger: true } },
  { name: 'none+reqId', parts: { ...NONE, reqId: true } },
  { name: 'fixed', parts: { ...REPLICA, helmet: 'static', syncHooks: true, logger: 'suggested' } },
  { name: 'fixed+limited', parts: { ...REPLICA, helmet: 'static', syncHooks: true, logger: 'suggested', rateLimit: 'counted' } },
  { name: 'replica@info', parts: { ...REPLICA, logLevel: 'info' } },
  { name: 'fixed@info', parts: { ...REPLICA, helmet: 'static', syncHooks: true, logger: 'suggested', logLevel: 'info' } },
];

// The options src/app.ts gives @fastify/helmet.
const HELMET_OPTIONS = {
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
  crossOriginResourcePolicy: { policy: 'cross-origin' as const },
};

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function makeLogger(kind: 'app' | 'suggested', level: 'silent' | 'info'): Logger {
  const make = kind === 'app' ? createLogger : suggestedLogger;
  return level === 'silent' ? make(level) : make(level, pino.destination({ dest: '/dev/null', sync: true }));
}

async function build(p: Parts): Promise<FastifyInstance> {
  if (p.bare) {
    const bare = Fastify({ logger: false });
    bare.get('/healthz', async () => ({ status: 'ok' }));
    return bare;
  }
  const metrics = createMetrics();
  const cache = new MemoryCache();
  const app = Fastify({
    ...(p.logger ? { loggerInstance: makeLogger(p.logger, p.logLevel ?? 'silent') as FastifyBaseLogger } : { logger: false }),
    bodyLimit: 1024 * 1024,
    trustProxy: false,
    requestIdHeader: false,
    ...(p.reqId
      ? {
          genReqId: (req: IncomingMessage) => {
            const given = req.headers['x-request-id'];
            return typeof given === 'string' && REQUEST_ID.test(given) ? given : uuidv7();
          },
        }
      : {}),
    ajv: { customOptions: { allErrors: true, removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  });
  app.addHook('onClose', async () => cache.close());
  app.removeContentTypeParser('text/plain');

  const secHeaders = p.helmet === 'static' ? staticHelmetHeaders(HELMET_OPTIONS) : undefined;
  if (p.syncHooks) {
    app.addHook('onRequest', (request, reply, done) => {
      if (secHeaders) reply.headers(secHeaders);
      if (p.reqId) reply.header('x-request-id', request.id);
      done();
    });
    if (p.metrics) {
      app.addHook('onResponse', (request, reply, done) => {
        metrics.httpDuration.observe(
          { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
          reply.elapsedTime / 1000,
        );
        done();
      });
    }
  } else {
    if (p.reqId) {
      app.addHook('onRequest', async (request, reply) => {
        reply.header('x-request-id', request.id);
      });
    }
    if (p.metrics) {
      app.addHook('onResponse', async (request, reply) => {
        const route = request.routeOptions.url ?? 'unmatched';
        metrics.httpDuration.observe({ method: request.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
      });
    }
    if (secHeaders) {
      app.addHook('onRequest', async (_request, reply) => {
        reply.headers(secHeaders);
      });
    }
  }
  if (p.problem) registerProblemHandlers(app, metrics);
  if (p.helmet === 'plugin') await app.register(fastifyHelmet, HELMET_OPTIONS);
  if (p.cors) {
    await app.register(cors, {
      origin: true,
      credentials: false,
      exposedHeaders: ['x-request-id', 'retry-after', 'location', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'],
      maxAge: 600,
    });
  }
  if (p.rateLimit) {
    await app.register(rateLimit, {
      global: true,
      max: 1_000_000,
      timeWindow: 1000,
      ...(p.rateLimit === 'counted-local' ? {} : { store: cacheRateLimitStore(cache) }),
    });
  }
  if (p.swagger) {
    await app.register(swagger, { openapi: { openapi: '3.0.3', info: { title: 'bench', version: '0' } } });
    await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  }
  const counted = p.rateLimit === 'counted' || p.rateLimit === 'counted-local';
  app.get(
    '/healthz',
    {
      config: counted ? {} : { rateLimit: false },
      ...(p.schema ? { schema: { response: { 200: Type.Object({ status: Type.Literal('ok') }) } } } : {}),
    },
    async () => ({ status: 'ok' as const }),
  );
  await app.ready();
  return app;
}

interface Measured {
  rps: number;
  p50: number;
  p99: number;
  cpu: number;
  elu: number;
  cpuUsPerReq: number;
}

const r1 = (n: number) => Math.round(n * 10) / 10;
const r2 = (n: number) => Math.round(n * 100) / 100;

async function measureVariant(loadgen: Loadgen, name: string, parts: Parts): Promise<Measured> {
  const app = await build(parts);
  try {
    const url = `${await app.listen({ port: 0, host: '127.0.0.1' })}/healthz`;
    if (warmupS > 0) await loadgen.run({ url, connections, durationS: warmupS });
    const cpu0 = process.cpuUsage();
    const elu0 = performance.eventLoopUtilization();
    const t0 = performance.now();
    const res = await loadgen.run({ url, connections, durationS, title: name });
    const wallUs = (performance.now() - t0) * 1000;
    const cpu = process.cpuUsage(cpu0);
    if (res.errors > 0 || res.non2xx > 0) throw new Error(`${name}: ${res.non2xx} non-2xx responses, ${res.errors} errors`);
    const cpuUs = cpu.user + cpu.system;
    return {
      rps: res.rps,
      p50: res.p50,
      p99: res.p99,
      cpu: r2(cpuUs / wallUs),
      elu: r2(performance.eventLoopUtilization(elu0).utilization),
      cpuUsPerReq: r1(cpuUs / Math.max(1, res.requests)),
    };
  } finally {
    await app.close();
  }
}

async function main(): Promise<number> {
  const only = args.only?.split(',').map((s) => s.trim());
  const variants = VARIANTS.filter((v) => v.name === 'bare' || !only || only.includes(v.name));
  for (const name of only ?? []) if (!VARIANTS.some((v) => v.name === name)) throw new Error(`no variant named ${name}`);
  const loadStart = os.loadavg()[0] ?? 0;
  console.log(
    `http-overhead-breakdown: ${os.cpus().length} cores, node ${process.version}, ${connections} connections, ${durationS} s per run, ${warmupS} s warm-up, ${rounds} round(s), load average ${loadStart.toFixed(2)}`,
  );
  const loadgen = await startLoadgen('child');
  try {
    const runs = new Map<string, Measured[]>(variants.map((v) => [v.name, []]));
    for (let round = 1; round <= rounds; round++) {
      for (const v of variants) {
        const m = await measureVariant(loadgen, v.name, v.parts);
        runs.get(v.name)?.push(m);
        const bare = runs.get('bare')?.[round - 1];
        const vs = bare ? `   ${((m.rps / bare.rps) * 100).toFixed(0).padStart(3)}% of bare rps, ${((bare.cpuUsPerReq / m.cpuUsPerReq) * 100).toFixed(0).padStart(3)}% by cpu/req` : '';
        console.log(
          `${(rounds > 1 ? `${v.name} #${round}` : v.name).padEnd(18)} ${m.rps.toFixed(1).padStart(9)} req/s   p50 ${m.p50.toFixed(2).padStart(5)} ms   p99 ${m.p99.toFixed(2).padStart(6)} ms   cpu ${m.cpu.toFixed(2)}   elu ${m.elu.toFixed(2)}   ${m.cpuUsPerReq.toFixed(1).padStart(6)} µs cpu/req${vs}`,
        );
      }
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const summary: Record<string, Measured & { vsBare: number; vsBareCpu: number }> = {};
    const bareRps = mean((runs.get('bare') ?? []).map((m) => m.rps));
    const bareCpu = mean((runs.get('bare') ?? []).map((m) => m.cpuUsPerReq));
    for (const [name, ms] of runs) {
      const rps = r1(mean(ms.map((m) => m.rps)));
      summary[name] = {
        rps,
        p50: r2(mean(ms.map((m) => m.p50))),
        p99: r2(mean(ms.map((m) => m.p99))),
        cpu: r2(mean(ms.map((m) => m.cpu))),
        elu: r2(mean(ms.map((m) => m.elu))),
        cpuUsPerReq: r1(mean(ms.map((m) => m.cpuUsPerReq))),
        vsBare: Math.round((rps / bareRps) * 1000) / 1000,
        vsBareCpu: Math.round((bareCpu / mean(ms.map((m) => m.cpuUsPerReq))) * 1000) / 1000,
      };
    }
    if (rounds > 1) {
      console.log(`mean over ${rounds} rounds:`);
      for (const [name, s] of Object.entries(summary)) {
        console.log(
          `${name.padEnd(18)} ${s.rps.toFixed(1).padStart(9)} req/s   ${s.cpuUsPerReq.toFixed(1).padStart(6)} µs cpu/req   ${(s.vsBare * 100).toFixed(0).padStart(3)}% of bare rps, ${(s.vsBareCpu * 100).toFixed(0).padStart(3)}% by cpu/req`,
        );
      }
    }
    console.log(
      JSON.stringify({
        bench: 'http-overhead-breakdown',
        date: new Date().toISOString(),
        node: process.version,
        cores: os.cpus().length,
        loadAvg: { start: Math.round(loadStart * 100) / 100, end: Math.round((os.loadavg()[0] ?? 0) * 100) / 100 },
        connections, durationS, warmupS, rounds, variants: summary }),
    );
    return 0;
  } finally {
    await loadgen.close();
  }
}

try {
  process.exitCode = await main();
} catch (err) {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
}
