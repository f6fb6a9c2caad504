/**
 * Sign-in and token verification cost.
 *
 *   npx tsx bench/auth.ts [--duration 10] [--connections 16] [--warmup 2]
 *
 * Method
 * - The full app on its embedded defaults (PGlite in memory, in-process cache, or Redis when
 *   REDIS_URL is set) in this process, api role only, LOG_LEVEL silent, NODE_ENV production,
 *   rate limits raised so they never reject. One verified account is created directly in the
 *   database (argon2id at the production cost: 19 MiB, 2 iterations).
 * - Load comes from autocannon in a child process (bench/support/loadgen.ts), keep-alive
 *   connections, one request in flight each.
 * - Runs, in order: POST /api/v1/auth/login (full password check, session row, token pair) at
 *   --connections; then GET /api/v1/instance anonymous and the same with `Authorization: Bearer`
 *   (the only difference is the guard: EdDSA verification plus the session/account lookups through
 *   the cache), then GET /api/v1/me (token + a user row + presenting it), then GET /healthz.
 * - verifyCostUs = cpu µs per request of the authenticated /instance minus the anonymous one: what
 *   checking a token costs this process per request.
 * - The last line is one JSON object with every figure.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { uuidv7 } from 'uuidv7';
import { loadConfig } from '../src/config.js';
import { hashPassword } from '../src/modules/auth/crypto.js';
import { users } from '../src/modules/users/tables.js';
import { createLogger } from '../src/platform/logger.js';
import { startServer, type RunningServer } from '../src/server.js';
import { startLoadgen, type LoadRequest, type LoadResult, type Loadgen } from './support/loadgen.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '16' },
    warmup: { type: 'string', default: '2' },
  },
  strict: true,
});
const durationS = Number(args.duration);
const connections = Number(args.connections);
const warmupS = Number(args.warmup);
for (const [k, v, min] of [['duration', durationS, 1], ['connections', connections, 1], ['warmup', warmupS, 0]] as const) {
  if (!Number.isInteger(v) || v < min) throw new Error(`--${k} must be an integer >= ${min}`);
}

const r1 = (n: number) => Math.round(n * 10) / 10;
const r2 = (n: number) => Math.round(n * 100) / 100;

interface Measured extends LoadResult {
  cpuUsPerReq: number;
}

async function measure(loadgen: Loadgen, req: LoadRequest): Promise<Measured> {
  const cpu0 = process.cpuUsage();
  const res = await loadgen.run(req);
  const cpu = process.cpuUsage(cpu0);
  if (res.errors > 0 || res.non2xx > 0) throw new Error(`${req.title}: ${res.non2xx} non-2xx and ${res.errors} errors: figures would be meaningless`);
  const m = { ...res, cpuUsPerReq: r1((cpu.user + cpu.system) / Math.max(1, res.requests)) };
  console.log(`${(req.title ?? req.url).padEnd(34)} ${m.rps.toFixed(1).padStart(9)} req/s   p50 ${m.p50.toFixed(2).padStart(7)} ms   p99 ${m.p99.toFixed(2).padStart(7)} ms   ${m.cpuUsPerReq.toFixed(1).padStart(7)} µs cpu/req`);
  return m;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sf-bench-auth-'));
  let server: RunningServer | undefined;
  let loadgen: Loadgen | undefined;
  try {
    console.log(`auth: ${os.cpus().length} cores, node ${process.version}, ${connections} connections, ${durationS} s per run, load average ${(os.loadavg()[0] ?? 0).toFixed(2)}`);
    const config = loadConfig(
      { NODE_ENV: 'production', DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', RATE_LIMIT_MAX: '1000000', RATE_LIMIT_WINDOW_MS: '1000', REDIS_URL: process.env.REDIS_URL },
      { persistSecret: false },
    );
    server = await startServer(config, createLogger('silent'), ['api'], { pgliteInMemory: true, cacheKeyPrefix: `sf-bench:${randomBytes(4).toString('hex')}:`, onProgress: () => {} });
    const base = server.url!;
    const password = 'bench password that is long enough 42';
    await server.deps.database.db.insert(users).values({ id: uuidv7(), username: 'bench_user', email: 'bench@example.test', emailVerifiedAt: new Date(), passwordHash: await hashPassword(password, config.auth.argon2) });
    const loginBody = JSON.stringify({ login: 'bench_user', password });
    const json = { 'content-type': 'application/json' };
    const first = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: json, body: loginBody });
    const { accessToken } = (await first.json()) as { accessToken: string };
    const bearer = { authorization: `Bearer ${accessToken}` };
    loadgen = await startLoadgen('child');
    console.log(`app on ${base} (cache: ${server.deps.cache.kind}, database: ${server.deps.database.kind})`);

    const runs: Record<string, LoadRequest> = {
      login: { title: 'POST /api/v1/auth/login', url: `${base}/api/v1/auth/login`, method: 'POST', headers: json, body: loginBody, connections, durationS },
      instanceAnon: { title: 'GET /api/v1/instance (anonymous)', url: `${base}/api/v1/instance`, connections, durationS },
      instanceAuthed: { title: 'GET /api/v1/instance (Bearer)', url: `${base}/api/v1/instance`, headers: bearer, connections, durationS },
      me: { title: 'GET /api/v1/me (Bearer)', url: `${base}/api/v1/me`, headers: bearer, connections, durationS },
      healthz: { title: 'GET /healthz', url: `${base}/healthz`, connections, durationS },
    };
    const out: Record<string, Measured> = {};
    for (const [key, req] of Object.entries(runs)) {
      if (warmupS > 0) await loadgen.run({ ...req, durationS: warmupS, title: `warm-up ${req.title}` });
      out[key] = await measure(loadgen, req);
    }
    const verifyCostUs = r1(out.instanceAuthed!.cpuUsPerReq - out.instanceAnon!.cpuUsPerReq);
    console.log(`token verification adds ${verifyCostUs} µs cpu per request; /me costs ${r2(out.healthz!.rps / out.me!.rps)}x a /healthz request`);
    const pick = (m: Measured) => ({ rps: m.rps, p50: m.p50, p99: m.p99, cpuUsPerReq: m.cpuUsPerReq, requests: m.requests });
    console.log(
      JSON.stringify({
        bench: 'auth',
        connections,
        durationS,
        cache: server.deps.cache.kind,
        database: server.deps.database.kind,
        login: pick(out.login!),
        instanceAnon: pick(out.instanceAnon!),
        instanceAuthed: pick(out.instanceAuthed!),
        me: pick(out.me!),
        healthz: pick(out.healthz!),
        verifyCostUs,
      }),
    );
  } finally {
    await loadgen?.close().catch(() => {});
    await server?.stop().catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
