/**
 * HTTP overhead of the Social Flow pipeline: what does a request cost in the full app compared to a
 * bare Fastify route that does the same work?
 *
 *   npx tsx bench/http-overhead.ts [--duration 10] [--connections 32] [--warmup 2] [--rounds 1]
 *                                  [--loadgen child|inline] [--no-limited] [--log-level silent]
 *
 * Method
 * - One process starts both servers on 127.0.0.1, ephemeral ports:
 *   - full: the real app via startServer(config, logger, ['api']) — embedded defaults (PGlite in
 *     memory, in-process cache, local storage in a temporary DATA_DIR), job queue started as in
 *     production, NODE_ENV=production, LOG_LEVEL=silent (`--log-level info` measures the production
 *     default instead, log lines written synchronously to /dev/null). RATE_LIMIT_MAX=1000000 per
 *     1 s window so the limiter runs on every limited route but never rejects. With REDIS_URL set in
 *     the environment the cache (and so the rate-limit counters) lives in Redis, under a random key
 *     prefix; the database stays embedded.
 *   - bare: Fastify 5 with no plugins and `logger: false`, one route GET /healthz -> {status:'ok'}.
 *   Both servers share the same event loop, so background work of the full app (pg-boss polling,
 *   cache sweeps, metrics) is charged to both equally and the comparison stays fair.
 * - The load generator (autocannon, programmatic API) runs in a child process by default, so it
 *   does not compete with the servers for their event loop; on a 2-core machine the servers get one
 *   core and autocannon the other. `--loadgen inline` runs it in this process instead, to show the skew
 *   (the cpu figures then include autocannon's own).
 * - Each target is warmed up (`--warmup` seconds of load, discarded), then measured for `--duration`
 *   seconds with `--connections` keep-alive connections, one request in flight per connection. With
 *   `--rounds N` the targets are measured in turn N times (full, bare, full, bare...) and averaged,
 *   which spreads slow drift (thermal, noisy neighbours) over both.
 * - Targets: full GET /healthz, bare GET /healthz, and (unless --no-limited) full GET /api/v1/instance,
 *   a route the rate limiter counts (/healthz is exempt: config.rateLimit false), to show what the
 *   limiter adds.
 * - Figures: rps = autocannon's mean of per-second request counts; p50/p99 = latency in ms;
 *   cpu = this process's CPU time over wall time during the run (1.0 = one core busy);
 *   elu = event-loop utilisation of the servers' loop; cpuUsPerReq = this process's CPU time (user +
 *   system, so kernel socket work included) divided by the requests served in the run. ratio = full
 *   rps / bare rps on /healthz; cpuRatio = bare cpuUsPerReq / full cpuUsPerReq, the same ratio
 *   estimated from CPU cost, which moves much less than rps when other programs load the machine
 *   (the 1-min load average is printed, with a warning when other work seems to share the machine).
 *   The target is ratio >= 0.8; missing it is reported, not an error (exit 0).
 * - The last line of output is one JSON object with every figure.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import Fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/platform/logger.js';
import { startServer, type RunningServer } from '../src/server.js';
import { startLoadgen, type LoadResult, type Loadgen, type LoadgenMode } from './support/loadgen.js';

const TARGET_RATIO = 0.8;

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '1' },
    loadgen: { type: 'string', default: 'child' },
    'no-limited': { type: 'boolean', default: false },
    'log-level': { type: 'string', default: 'silent' },
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
if (args.loadgen !== 'child' && args.loadgen !== 'inline') throw new Error(`--loadgen must be child or inline, got ${args.loadgen}`);
const loadgenMode: LoadgenMode = args.loadgen;
const withLimited = !args['no-limited'];
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const logLevel = LOG_LEVELS.find((l) => l === args['log-level']);
if (!logLevel) throw new Error(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got ${args['log-level']}`);

interface Measured extends LoadResult {
  cpu: number;
  elu: number;
  cpuUsPerReq: number;
}

interface Summary {
  rps: number;
  p50: number;
  p99: number;
  cpu: number;
  elu: number;
  cpuUsPerReq: number;
  requests: number;
  rounds: Measured[];
}

const r1 = (n: number) => Math.round(n * 10) / 10;
const r2 = (n: number) => Math.round(n * 100) / 100;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function summarise(runs: Measured[]): Summary {
  return {
    rps: r1(mean(runs.map((r) => r.rps))),
    p50: r2(mean(runs.map((r) => r.p50))),
    p99: r2(mean(runs.map((r) => r.p99))),
    cpu: r2(mean(runs.map((r) => r.cpu))),
    elu: r2(mean(runs.map((r) => r.elu))),
    cpuUsPerReq: r1(mean(runs.map((r) => r.cpuUsPerReq))),
    requests: runs.reduce((a, r) => a + r.requests, 0),
    rounds: runs,
  };
}

async function startBare(): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify({ logger: false });
  app.get('/healthz', async () => ({ status: 'ok' }));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url };
}

async function measure(loadgen: Loadgen, title: string, url: string): Promise<Measured> {
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  const res = await loadgen.run({ url, connections, durationS, title });
  const wallUs = (performance.now() - t0) * 1000;
  const cpu = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0).utilization;
  if (res.errors > 0 || res.non2xx > 0) {
    throw new Error(`${title}: ${res.non2xx} non-2xx responses and ${res.errors} errors (${res.timeouts} timeouts); the figures would be meaningless`);
  }
  const cpuUs = cpu.user + cpu.system;
  return { ...res, cpu: r2(cpuUs / wallUs), elu: r2(elu), cpuUsPerReq: r1(cpuUs / Math.max(1, res.requests)) };
}

function line(title: string, m: { rps: number; p50: number; p99: number; cpu: number; elu: number; cpuUsPerReq: number }): string {
  return `${title.padEnd(28)} ${m.rps.toFixed(1).padStart(9)} req/s   p50 ${m.p50.toFixed(2).padStart(6)} ms   p99 ${m.p99.toFixed(2).padStart(6)} ms   cpu ${m.cpu.toFixed(2)}   elu ${m.elu.toFixed(2)}   ${m.cpuUsPerReq.toFixed(1).padStart(6)} µs cpu/req`;
}

async function main(): Promise<number> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sf-bench-'));
  let full: RunningServer | undefined;
  let bare: { app: FastifyInstance; url: string } | undefined;
  let loadgen: Loadgen | undefined;
  const cleanup = async () => {
    await loadgen?.close().catch(() => {});
    await bare?.app.close().catch(() => {});
    await full?.stop().catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
  };
  const onSignal = () => {
    console.error('interrupted; shutting down');
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const loadStart = os.loadavg()[0] ?? 0;
  try {
    console.log(
      `http-overhead: ${os.cpus().length} cores, node ${process.version}, ${connections} connections, ${durationS} s per run, ${warmupS} s warm-up, ${rounds} round(s), load generator: ${loadgenMode}, log level ${logLevel}, load average ${loadStart.toFixed(2)}`,
    );
    const config = loadConfig(
      {
        NODE_ENV: 'production',
        DATA_DIR: dataDir,
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: logLevel,
        RATE_LIMIT_MAX: '1000000',
        RATE_LIMIT_WINDOW_MS: '1000',
        // Redis, when the caller sets REDIS_URL, carries the cache (and so the rate-limit counters).
        REDIS_URL: process.env.REDIS_URL,
      },
      { persistSecret: false },
    );
    const t0 = performance.now();
    // Log lines (with --log-level above silent) are written synchronously to /dev/null, like pino's default stdout.
    const logger = logLevel === 'silent' ? createLogger(logLevel) : createLogger(logLevel, pino.destination({ dest: '/dev/null', sync: true }));
    const cacheKeyPrefix = `sf-bench:${randomBytes(4).toString('hex')}:`;
    full = await startServer(config, logger, ['api'], { pgliteInMemory: true, cacheKeyPrefix, onProgress: () => {} });
    if (!full.url) throw new Error('the api role did not start');
    bare = await startBare();
    loadgen = await startLoadgen(loadgenMode);
    console.log(
      `full app on ${full.url} (started in ${Math.round(performance.now() - t0)} ms, cache: ${full.deps.cache.kind}), bare Fastify on ${bare.url}`,
    );

    const targets: { key: 'full' | 'bare' | 'fullLimited'; title: string; url: string }[] = [
      { key: 'full', title: 'full  GET /healthz', url: `${full.url}/healthz` },
      { key: 'bare', title: 'bare  GET /healthz', url: `${bare.url}/healthz` },
    ];
    if (withLimited) targets.push({ key: 'fullLimited', title: 'full  GET /api/v1/instance', url: `${full.url}/api/v1/instance` });

    if (warmupS > 0) {
      for (const t of targets) {
        const w = await loadgen.run({ url: t.url, connections, durationS: warmupS, title: `warm-up ${t.title}` });
        if (w.errors > 0 || w.non2xx > 0) throw new Error(`warm-up of ${t.title}: ${w.non2xx} non-2xx, ${w.errors} errors`);
        console.log(`warm-up ${t.title}: ${w.rps.toFixed(0)} req/s`);
      }
    }

    const runs = new Map<string, Measured[]>(targets.map((t) => [t.key, []]));
    for (let round = 1; round <= rounds; round++) {
      for (const t of targets) {
        const m = await measure(loadgen, t.title, t.url);
        runs.get(t.key)?.push(m);
        console.log(line(rounds > 1 ? `${t.title} #${round}` : t.title, m));
      }
    }

    const fullS = summarise(runs.get('full') ?? []);
    const bareS = summarise(runs.get('bare') ?? []);
    const limitedS = withLimited ? summarise(runs.get('fullLimited') ?? []) : undefined;
    const ratio = Math.round((fullS.rps / bareS.rps) * 1000) / 1000;
    const limitedRatio = limitedS ? Math.round((limitedS.rps / bareS.rps) * 1000) / 1000 : undefined;
    const cpuRatio = Math.round((bareS.cpuUsPerReq / fullS.cpuUsPerReq) * 1000) / 1000;
    const met = ratio >= TARGET_RATIO;

    if (rounds > 1) {
      console.log(`mean over ${rounds} rounds:`);
      console.log(line('full  GET /healthz', fullS));
      console.log(line('bare  GET /healthz', bareS));
      if (limitedS) console.log(line('full  GET /api/v1/instance', limitedS));
    }
    console.log(`ratio full/bare (GET /healthz): ${ratio.toFixed(3)} — target >= ${TARGET_RATIO}: ${met ? 'met' : 'NOT met'}`);
    console.log(`CPU cost per request: full ${fullS.cpuUsPerReq} µs, bare ${bareS.cpuUsPerReq} µs (bare/full ${cpuRatio.toFixed(3)}: the throughput ratio to expect when the servers are CPU-bound)`);
    if (limitedRatio !== undefined) console.log(`ratio full rate-limited route/bare: ${limitedRatio.toFixed(3)} (information only)`);
    // This bench alone keeps about two cores busy (servers + load generator); more than that means other work.
    const loadEnd = os.loadavg()[0] ?? 0;
    if (loadStart > 1 || loadEnd > 2.5) {
      console.log(`warning: other work shared the machine (1-min load average ${loadStart.toFixed(2)} at start, ${loadEnd.toFixed(2)} at end); rps figures are noisy, cpu/req less so`);
    }

    const brief = (s: Summary) => ({ rps: s.rps, p50: s.p50, p99: s.p99, cpu: s.cpu, elu: s.elu, cpuUsPerReq: s.cpuUsPerReq, requests: s.requests });
    const figures = {
      bench: 'http-overhead',
      date: new Date().toISOString(),
      node: process.version,
      cores: os.cpus().length,
      loadgen: loadgenMode,
      logLevel,
      cache: full.deps.cache.kind,
      loadAvg: { start: r2(loadStart), end: r2(loadEnd) },
      connections,
      durationS,
      warmupS,
      rounds,
      full: brief(fullS),
      bare: brief(bareS),
      ...(limitedS ? { fullLimited: brief(limitedS), limitedRatio } : {}),
      ratio,
      cpuRatio,
      target: TARGET_RATIO,
      met,
    };
    await cleanup();
    console.log(JSON.stringify(figures));
    return 0;
  } catch (err) {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    await cleanup();
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

process.exitCode = await main();
