/**
 * Home feed cost on a seeded, power-law data set.
 *
 *   npx tsx bench/feed.ts [--users 2000] [--posts 20000] [--duration 10] [--connections 32] [--fanout on|off]
 *                         [--warmup 3] [--tokens 500] [--seed 42] [--db-name sf_bench_keep] [--api-processes N]
 *
 * Method
 * - A fresh database: the embedded one in memory by default; with DATABASE_URL set, a new
 *   PostgreSQL database sf_bench_<random> created through that (admin) connection and dropped at
 *   the end. REDIS_URL set: timelines live in Redis, else in the in-process cache.
 *   DATABASE_POOL_MAX is passed on to the app (its connections per process; default 10).
 * - Seeded with src/modules/seed/seed.ts (same generator as `social-flow seed`).
 * - The app in this process with the api and worker roles, LOG_LEVEL silent, NODE_ENV production,
 *   rate limits out of the way. `--fanout off` swaps in a FeedService with fanoutMaxFollowers 0:
 *   every followed author is merged at read time, nothing is pushed on write.
 * - Access tokens are minted (AuthService.startSession) for --tokens random users; autocannon (in a
 *   child process) rotates them per request, so each request is a different viewer's home feed.
 * - Runs: each viewer's first page once, 4 at a time (cold timelines: the rebuild cost, reported
 *   apart), a --warmup of GET /api/v1/feed/home?limit=20, the measured run (steady state), then a
 *   bare Fastify route (one JSON object) on its own server in this process at the same
 *   connections: the ratio feed/bare is the throughput target. Last, the largest feed page of the
 *   cold run, already serialized, sent by a route of that server that does nothing else: the
 *   ceiling of any feed implementation on this machine (bytes on the wire and the load generator's
 *   parsing alone), printed as its own ratio to bare, with the median page size.
 * - `--api-processes N` (PostgreSQL + Redis only): the measured run is served by N separate
 *   `social-flow api` processes (bin/social-flow.js, the production layout of docs/operations.md)
 *   on the same database and Redis key prefix, each driven by its own load generator with
 *   connections/N connections; figures are summed (req/s) or the worst of the N (latencies).
 *   Without it the app in this process serves it. Either way the app's CPU time per feed page is
 *   printed (this process's, or the N processes' from /proc): the figure that moves least with
 *   other load on the machine.
 * - Posting: 5 posts as the most-followed account (POST /api/v1/posts, time to 201), and for each
 *   the time until its feed.fanout job is completed (polled in pgboss.job every 5 ms).
 * - The last line is one JSON object with every figure.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Fastify, { type FastifyInstance } from 'fastify';
import { loadConfig } from '../src/config.js';
import { hashPassword } from '../src/modules/auth/crypto.js';
import { FeedService, useFeedService, feedServiceFor } from '../src/modules/feed/service.js';
import { seedDatabase, progressBar } from '../src/modules/seed/seed.js';
import { servicesFor } from '../src/modules/services.js';
import type { UserRow } from '../src/modules/users/tables.js';
import { users } from '../src/modules/users/tables.js';
import { createLogger } from '../src/platform/logger.js';
import { startServer, type RunningServer } from '../src/server.js';
import { inArray } from 'drizzle-orm';
import { freshDatabase, keptDatabaseSecret } from './support/kept-db.js';
import { startApiProcesses, type ApiProcesses } from './support/api-processes.js';
import { startLoadgen, type LoadRequest, type LoadResult, type Loadgen } from './support/loadgen.js';

const { values: args } = parseArgs({
  options: {
    users: { type: 'string', default: '2000' },
    posts: { type: 'string', default: '20000' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    fanout: { type: 'string', default: 'on' },
    warmup: { type: 'string', default: '3' },
    tokens: { type: 'string', default: '500' },
    seed: { type: 'string', default: '42' },
    /** Keep the seeded PostgreSQL database under this name and reuse it on the next run (seeding 1M posts takes minutes). */
    'db-name': { type: 'string' },
    /** Serve the measured run from this many separate `social-flow api` processes (0: the app in this process). */
    'api-processes': { type: 'string', default: '0' },
  },
  strict: true,
});
const nUsers = Number(args.users);
const nPosts = Number(args.posts);
const durationS = Number(args.duration);
const connections = Number(args.connections);
const warmupS = Number(args.warmup);
const nTokens = Number(args.tokens);
const seed = Number(args.seed);
const apiProcesses = Number(args['api-processes']);
for (const [k, v, min] of [
  ['users', nUsers, 2],
  ['posts', nPosts, 1],
  ['duration', durationS, 1],
  ['connections', connections, 1],
  ['warmup', warmupS, 0],
  ['tokens', nTokens, 1],
  ['seed', seed, 0],
  ['api-processes', apiProcesses, 0],
] as const) {
  if (!Number.isInteger(v) || v < min) throw new Error(`--${k} must be an integer >= ${min}`);
}
if (args.fanout !== 'on' && args.fanout !== 'off') throw new Error('--fanout must be on or off');
const fanout = args.fanout === 'on';
if (apiProcesses > 0 && !(process.env.DATABASE_URL && process.env.REDIS_URL)) throw new Error('--api-processes needs DATABASE_URL and REDIS_URL (processes share the database and the timelines)');
if (apiProcesses > 0 && !fanout) throw new Error('--api-processes runs the stock FeedService: use it with --fanout on');

const r1 = (n: number) => Math.round(n * 10) / 10;
const r2 = (n: number) => Math.round(n * 100) / 100;
const median = (xs: number[]) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length ? (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2 : NaN;
};
const say = (msg: string) => process.stderr.write(`bench/feed: ${msg}\n`);

function show(res: LoadResult): void {
  console.log(`${(res.title ?? res.url).padEnd(40)} ${res.rps.toFixed(1).padStart(9)} req/s   p50 ${res.p50.toFixed(2).padStart(7)} ms   p99 ${res.p99.toFixed(2).padStart(7)} ms`);
}

async function measure(loadgen: Loadgen, req: LoadRequest): Promise<LoadResult> {
  const res = await loadgen.run(req);
  if (res.errors > 0 || res.non2xx > 0) throw new Error(`${req.title}: ${res.non2xx} non-2xx and ${res.errors} errors: figures would be meaningless`);
  show(res);
  return res;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sf-bench-feed-'));
  const db = await freshDatabase(args['db-name']);
  let server: RunningServer | undefined;
  let bare: FastifyInstance | undefined;
  let loadgen: Loadgen | undefined;
  let api: ApiProcesses | undefined;
  const extraLoadgens: Loadgen[] = [];
  try {
    const loadAvg = r2(os.loadavg()[0] ?? 0);
    console.log(
      `feed: ${os.cpus().length} cores, node ${process.version}, ${nUsers} users, ${nPosts} posts, fan-out ${args.fanout}, ${connections} connections, ${durationS} s per run, load average ${loadAvg.toFixed(2)}`,
    );
    // What this process's app and any --api-processes share: one instance's settings.
    const appEnv = {
      NODE_ENV: 'production',
      LOG_LEVEL: 'silent',
      RATE_LIMIT_MAX: '1000000',
      RATE_LIMIT_WINDOW_MS: '1000',
      DATABASE_URL: db.url,
      REDIS_URL: process.env.REDIS_URL,
      DATABASE_POOL_MAX: process.env.DATABASE_POOL_MAX,
    };
    const config = loadConfig(
      {
        ...appEnv,
        DATA_DIR: dataDir,
        PORT: '0',
        HOST: '127.0.0.1',
        // A kept database holds signing keys sealed with this secret: it must be the same next run.
        SECRET_KEY: keptDatabaseSecret(args['db-name']),
      },
      { persistSecret: false },
    );
    const cacheKeyPrefix = `sf-bench:${randomBytes(4).toString('hex')}:`;
    server = await startServer(config, createLogger('silent'), ['api', 'worker'], {
      pgliteInMemory: true,
      cacheKeyPrefix,
      onProgress: () => {},
    });
    const deps = server.deps;
    const base = server.url!;
    if (!fanout) useFeedService(deps, new FeedService(deps, { fanoutMaxFollowers: 0 }));
    const maxFollowers = feedServiceFor(deps).maxFollowers;
    say(`app on ${base} (database: ${deps.database.kind}${db.url ? ` ${new URL(db.url).pathname.slice(1)}` : ''}, cache: ${deps.cache.kind}); seeding`);

    const { rows: already } = await deps.database.query<{ n: number }>('select count(*)::int as n from users');
    if (db.kept && (already[0]?.n ?? 0) > 0) say(`reusing the seeded database (${already[0]!.n} users); --users/--posts/--seed are those it was seeded with`);
    const seeded = db.kept && (already[0]?.n ?? 0) > 0 ? { rows: 0, follows: 0, likes: 0, ms: 0, rowsPerSecond: 0 } : await seedDatabase(deps.database, {
      users: nUsers,
      posts: nPosts,
      seed,
      passwordHash: await hashPassword('bench password 42', config.auth.argon2),
      onProgress: progressBar((s) => process.stderr.write(s), process.stderr.isTTY === true),
    });
    if (process.stderr.isTTY) process.stderr.write('\n');
    console.log(`seeded ${seeded.rows} rows (${seeded.follows} follows, ${seeded.likes} likes) in ${r1(seeded.ms / 1000)} s, ${seeded.rowsPerSecond} rows/s`);

    // Viewers: a deterministic sample of accounts; one session each.
    const { rows: sample } = await deps.database.query<{ id: string }>('select id from users order by md5(id::text || $1) limit $2', [String(seed), nTokens]);
    const { rows: topRows } = await deps.database.query<{ user_id: string; followers: number }>('select user_id, followers from user_stats order by followers desc limit 1');
    const top = topRows[0]!;
    const { rows: medRows } = await deps.database.query<{ m: number }>('select percentile_cont(0.5) within group (order by followers) as m from user_stats');
    const { rows: followRows } = await deps.database.query<{ m: number }>('select avg(following)::float as m from user_stats');
    const rowsById = new Map(
      (await deps.database.db.select().from(users).where(inArray(users.id, [...sample.map((r) => r.id), top.user_id]))).map((u) => [u.id, u] as [string, UserRow]),
    );
    const { auth } = servicesFor(deps);
    const ctx = { ip: '127.0.0.1', userAgent: 'bench/feed' };
    const tokens: string[] = [];
    for (const r of sample) tokens.push((await auth.startSession(rowsById.get(r.id)!, 'password', ctx)).accessToken);
    const topToken = (await auth.startSession(rowsById.get(top.user_id)!, 'password', ctx)).accessToken;
    console.log(
      `most-followed account: ${top.followers} followers (median ${Number(medRows[0]?.m ?? 0)}, mean following ${r1(Number(followRows[0]?.m ?? 0))}); fan-out threshold ${maxFollowers}; ${tokens.length} viewers`,
    );

    bare = Fastify({ logger: false });
    bare.get('/bare', async () => ({ ok: true, items: [] }));
    let fixedPage = Buffer.alloc(0);
    bare.get('/page', async (_req, reply) => reply.type('application/json; charset=utf-8').send(fixedPage));
    const bareUrl = await bare.listen({ port: 0, host: '127.0.0.1' });

    loadgen = await startLoadgen('child');
    const feedReq: LoadRequest = { title: `GET /feed/home?limit=20 (fan-out ${args.fanout})`, url: `${base}/api/v1/feed/home?limit=20`, tokens, connections, durationS };
    const bareReq: LoadRequest = { title: 'GET /bare (Fastify, no app)', url: `${bareUrl}/bare`, connections, durationS };
    // Every viewer's first page, 4 at a time: the timelines are cold (fresh cache prefix), so
    // this is the rebuild cost, reported on its own; the measured run is then the steady state.
    const cold: number[] = [];
    const pageBytes: number[] = [];
    let samplePage = '';
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < tokens.length) {
          const token = tokens[next++]!;
          const t0 = performance.now();
          const res = await fetch(`${base}/api/v1/feed/home?limit=20`, { headers: { authorization: `Bearer ${token}` } });
          const body = await res.text();
          if (res.status !== 200) throw new Error(`GET /feed/home: ${res.status}`);
          cold.push(performance.now() - t0);
          pageBytes.push(Buffer.byteLength(body));
          if (Buffer.byteLength(body) > Buffer.byteLength(samplePage)) samplePage = body;
        }
      }),
    );
    const coldSorted = cold.slice().sort((a, b) => a - b);
    const coldP99 = coldSorted[Math.min(coldSorted.length - 1, Math.floor(coldSorted.length * 0.99))]!;
    console.log(`first page of each of ${tokens.length} viewers (cold timeline, rebuilt), 4 at a time: p50 ${r1(median(cold))} ms, p99 ${r1(coldP99)} ms`);
    const medianPageBytes = Math.round(median(pageBytes));
    // The ceiling of any feed implementation on this machine: the largest page just served, already
    // serialized, sent by Fastify with no work at all.
    fixedPage = Buffer.from(samplePage);
    console.log(`feed page bytes: median ${medianPageBytes}, largest ${fixedPage.length}`);
    let feed: LoadResult;
    if (apiProcesses === 0) {
      const appCpuMs = () => {
        const u = process.cpuUsage();
        return (u.user + u.system) / 1000;
      };
      if (warmupS > 0) await loadgen.run({ ...feedReq, durationS: warmupS, title: 'warm-up feed' });
      const cpu0 = appCpuMs();
      feed = await measure(loadgen, feedReq);
      feed.cpuUsPerReq = r1(((appCpuMs() - cpu0) * 1000) / Math.max(feed.requests, 1));
    } else {
      api = await startApiProcesses(apiProcesses, {
        ...appEnv,
        SECRET_KEY: config.secretKey,
        // Tokens name their issuer (PUBLIC_URL): every process of one instance has the same.
        PUBLIC_URL: config.publicUrl,
        REDIS_KEY_PREFIX: cacheKeyPrefix,
      });
      say(`${apiProcesses} API processes ready: ${api.processes.map((p) => p.url).join(', ')}`);
      const appCpuMs = api.cpuMs;
      while (extraLoadgens.length < apiProcesses - 1) extraLoadgens.push(await startLoadgen('child'));
      const gens = [loadgen, ...extraLoadgens];
      const per = api.processes.map((p, i) => ({
        ...feedReq,
        url: `${p.url}/api/v1/feed/home?limit=20`,
        connections: Math.max(1, Math.round(connections / apiProcesses)),
        title: `${feedReq.title} [process ${i + 1}/${apiProcesses}]`,
      }));
      if (warmupS > 0) await Promise.all(per.map((r, i) => gens[i]!.run({ ...r, durationS: warmupS })));
      const cpu0 = appCpuMs();
      const parts = await Promise.all(per.map((r, i) => measure(gens[i]!, r)));
      const requests = parts.reduce((n, r) => n + r.requests, 0);
      feed = {
        ...parts[0]!,
        title: `${feedReq.title}, ${apiProcesses} API processes`,
        rps: r1(parts.reduce((n, r) => n + r.rps, 0)),
        rpsTotal: r1(parts.reduce((n, r) => n + r.rpsTotal, 0)),
        requests,
        p50: Math.max(...parts.map((r) => r.p50)),
        p90: Math.max(...parts.map((r) => r.p90)),
        p99: Math.max(...parts.map((r) => r.p99)),
        cpuUsPerReq: r1(((appCpuMs() - cpu0) * 1000) / Math.max(requests, 1)),
      };
      show(feed);
    }
    console.log(`app CPU per feed page: ${feed.cpuUsPerReq} µs (${apiProcesses === 0 ? 'this process, which also runs the worker role' : `${apiProcesses} API processes`})`);
    if (warmupS > 0) await loadgen.run({ ...bareReq, durationS: warmupS, title: 'warm-up bare' });
    const bareRes = await measure(loadgen, bareReq);
    const ratio = Number((feed.rps / bareRes.rps).toPrecision(3));
    console.log(`feed throughput = ${ratio} x bare Fastify`);
    const pageReq: LoadRequest = { title: `GET /page (a served feed page, ${fixedPage.length} bytes, no work)`, url: `${bareUrl}/page`, connections, durationS };
    if (warmupS > 0) await loadgen.run({ ...pageReq, durationS: warmupS, title: 'warm-up page' });
    const pageRes = await measure(loadgen, pageReq);
    const pageRatio = Number((pageRes.rps / bareRes.rps).toPrecision(3));
    console.log(`sending a fixed page of that size = ${pageRatio} x bare Fastify (the ceiling for any feed here)`);

    // Posting as the most-followed account, and the fan-out job behind it.
    const postMs: number[] = [];
    const fanoutMs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const res = await fetch(`${base}/api/v1/posts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${topToken}` },
        body: JSON.stringify({ text: `bench post ${i} #benchmark` }),
      });
      const t1 = performance.now();
      if (res.status !== 201) throw new Error(`POST /api/v1/posts: ${res.status} ${await res.text()}`);
      const { id } = (await res.json()) as { id: string };
      postMs.push(r2(t1 - t0));
      for (;;) {
        const { rows } = await deps.database.query<{ state: string }>("select state from pgboss.job where name = 'feed_fanout' and data->>'postId' = $1", [id]);
        const state = rows[0]?.state;
        if (state === 'completed') break;
        if (state === 'failed' || performance.now() - t0 > 120_000) throw new Error(`fan-out job of ${id}: ${state ?? 'missing'}`);
        await new Promise((r) => setTimeout(r, 5));
      }
      fanoutMs.push(r1(performance.now() - t0));
    }
    const warm = await deps.database.query<{ n: number }>('select count(*)::int as n from follows where followee_id = $1 and follower_id = any($2::uuid[])', [top.user_id, sample.map((r) => r.id)]);
    console.log(
      `POST /api/v1/posts as the most-followed account: median ${r2(median(postMs))} ms (max ${Math.max(...postMs)}); fan-out job done after median ${r1(median(fanoutMs))} ms (max ${Math.max(...fanoutMs)}); ` +
        `${top.followers >= maxFollowers ? 'above the threshold: merged at read time' : `pushed to the built timelines among ${top.followers} followers (${warm.rows[0]?.n ?? 0} of them built by the run)`}`,
    );
    const pick = (m: LoadResult) => ({ rps: m.rps, p50: m.p50, p90: m.p90, p99: m.p99, requests: m.requests, ...(m.cpuUsPerReq !== undefined ? { cpuUsPerReq: m.cpuUsPerReq } : {}) });
    console.log(
      JSON.stringify({
        bench: 'feed',
        date: new Date().toISOString(),
        cores: os.cpus().length,
        loadAvg,
        database: deps.database.kind,
        cache: deps.cache.kind,
        users: nUsers,
        posts: nPosts,
        follows: seeded.follows,
        seedS: r1(seeded.ms / 1000),
        seedRowsPerS: seeded.rowsPerSecond,
        topFollowers: top.followers,
        fanout: args.fanout,
        apiProcesses,
        fanoutMaxFollowers: maxFollowers,
        connections,
        durationS,
        viewers: tokens.length,
        coldFirstPageMs: { p50: r1(median(cold)), p99: r1(coldP99) },
        feed: pick(feed),
        bare: pick(bareRes),
        ratio,
        pageBytes: { median: medianPageBytes, largest: fixedPage.length },
        fixedPage: pick(pageRes),
        fixedPageRatio: pageRatio,
        postMs: r2(median(postMs)),
        postMsMax: Math.max(...postMs),
        postMsEach: postMs,
        fanoutDoneMs: r1(median(fanoutMs)),
        fanoutDoneMsMax: Math.max(...fanoutMs),
      }),
    );
  } finally {
    await loadgen?.close().catch(() => {});
    await Promise.all(extraLoadgens.map((g) => g.close().catch(() => {})));
    await api?.stop().catch(() => {});
    await bare?.close().catch(() => {});
    await server?.stop().catch(() => {});
    await db.drop().catch((err: unknown) => say(`dropping the bench database failed: ${String(err)}`));
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
