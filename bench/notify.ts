/**
 * Notification fan-out and WebSocket delivery.
 *
 *   npx tsx bench/notify.ts [--followers 100000] [--clients 1000] [--events 5] [--part all|fanout|ws]
 *
 * Method
 * - A fresh database: with DATABASE_URL, a new PostgreSQL database sf_bench_<random> made through
 *   that (admin) connection and dropped at the end; otherwise the embedded one in memory. REDIS_URL
 *   set: pub/sub through Redis, else in-process.
 * - The app in this process with the api and worker roles (one worker process, JOB_CONCURRENCY 2,
 *   fan-out pages at concurrency 4), LOG_LEVEL silent, NODE_ENV production.
 * - Fan-out: one creator and --followers accounts following it (bulk SQL inserts). The clock starts
 *   when `video.published` is published (as the videos module does) and stops when a polling query
 *   (every 50 ms) counts one stored notification per follower: it covers the listener job, the
 *   plan job, every page job and their queueing, on the database the run uses.
 * - WebSocket: --clients accounts each get a session and one socket to /api/v1/stream, opened and
 *   authenticated by a child process (so the clients do not share this process's CPU with the
 *   server). Then --events rounds, each one notification-shaped message to every client's user
 *   channel through the realtime publish path (pub/sub -> hub -> socket), as fast as this process
 *   can publish them. Latency: from just before the publish call to arrival in the client process
 *   (both read performance.timeOrigin + now on one machine's clock). It is the realtime leg only;
 *   storing the notification happens before, in the listener job.
 * - The last line is one JSON object with every figure.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { inArray } from 'drizzle-orm';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { publishRealtime, userChannel } from '../src/modules/realtime/publish.js';
import { servicesFor } from '../src/modules/services.js';
import { users } from '../src/modules/users/tables.js';
import { createLogger } from '../src/platform/logger.js';
import { startServer, type RunningServer } from '../src/server.js';

const { values: args } = parseArgs({
  options: {
    followers: { type: 'string', default: '100000' },
    clients: { type: 'string', default: '1000' },
    events: { type: 'string', default: '5' },
    part: { type: 'string', default: 'all' },
  },
  strict: true,
});
const nFollowers = Number(args.followers);
const nClients = Number(args.clients);
const nEvents = Number(args.events);
for (const [k, v] of [
  ['followers', nFollowers],
  ['clients', nClients],
  ['events', nEvents],
] as const) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${k} must be a positive integer`);
}
if (!['all', 'fanout', 'ws'].includes(args.part!)) throw new Error('--part must be all, fanout or ws');
const doFanout = args.part !== 'ws';
const doWs = args.part !== 'fanout';

const r1 = (n: number) => Math.round(n * 10) / 10;
const r2 = (n: number) => Math.round(n * 100) / 100;
const pct = (xs: number[], p: number) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : NaN;
};
const say = (msg: string) => process.stderr.write(`bench/notify: ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freshDatabase(): Promise<{ url: string | undefined; drop(): Promise<void> }> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) return { url: undefined, drop: async () => {} };
  const name = `sf_bench_${randomBytes(5).toString('hex')}`;
  const run = async (text: string) => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    await c.query(text).finally(() => c.end());
  };
  await run(`create database ${name}`);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return { url: u.toString(), drop: () => run(`drop database if exists ${name} with (force)`) };
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sf-bench-notify-'));
  const db = await freshDatabase();
  let server: RunningServer | undefined;
  const figures: Record<string, unknown> = {};
  try {
    const loadAvg = r2(os.loadavg()[0] ?? 0);
    console.log(`notify: ${os.cpus().length} cores, node ${process.version}, load average ${loadAvg.toFixed(2)} (shared machine: other work runs beside this)`);
    const config = loadConfig(
      { NODE_ENV: 'production', DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent', RATE_LIMIT_MAX: '1000000', DATABASE_URL: db.url, REDIS_URL: process.env.REDIS_URL },
      { persistSecret: false },
    );
    server = await startServer(config, createLogger(config.logLevel), ['api', 'worker'], {
      pgliteInMemory: true,
      cacheKeyPrefix: `sf-bench:${randomBytes(4).toString('hex')}:`,
      onProgress: () => {},
    });
    const deps = server.deps;
    const database = deps.database;
    figures.database = database.kind;
    figures.cache = deps.cache.kind;
    figures.loadAverage = loadAvg;
    say(`app on ${server.url} (database: ${database.kind}, cache: ${deps.cache.kind})`);

    if (doFanout) {
      const t0 = performance.now();
      const { rows: creatorRows } = await database.query<{ id: string }>(
        `insert into users (id, username, email, email_verified_at) values (gen_random_uuid(), 'bench_creator', 'bench_creator@example.test', now()) returning id`,
      );
      const creatorId = creatorRows[0]!.id;
      await database.query(
        `insert into users (id, username, email, email_verified_at) select gen_random_uuid(), 'bench_f' || g, 'bench_f' || g || '@example.test', now() from generate_series(1, $1::int) g`,
        [nFollowers],
      );
      await database.query(`insert into follows (follower_id, followee_id) select id, $1::uuid from users where username like 'bench_f%'`, [creatorId]);
      // Statistics as a live database has them (autovacuum analyzes a table after bulk changes);
      // without them the planner guesses a few rows per creator and sorts all 100k per page.
      await database.exec('analyze users; analyze follows');
      console.log(`setup: ${nFollowers} followers in ${r1((performance.now() - t0) / 1000)} s`);

      // A published public video (what the transcode leaves): the fan-out checks the video itself.
      const videoId = '01936a3e-b0b0-7000-8000-000000000001';
      await database.query(`insert into videos (id, owner_id, title, status, visibility, published_at) values ($1, $2, 'bench video', 'ready', 'public', now())`, [videoId, creatorId]);
      const count = async () => Number((await database.query<{ n: string }>('select count(*) as n from notifications where subject_id = $1', [videoId])).rows[0]!.n);
      const start = performance.now();
      await deps.events.publish('video.published', { videoId, ownerId: creatorId, visibility: 'public' });
      let stored = 0;
      let last = -1;
      for (;;) {
        stored = await count();
        if (stored >= nFollowers) break;
        if (stored !== last && process.stderr.isTTY) process.stderr.write(`\r  stored ${stored} / ${nFollowers}`);
        last = stored;
        if (performance.now() - start > 600_000) throw new Error(`fan-out did not finish in 10 minutes (${stored} stored)`);
        await sleep(50);
      }
      const seconds = (performance.now() - start) / 1000;
      if (process.stderr.isTTY) process.stderr.write('\n');
      const pages = Math.ceil(nFollowers / config.notifications.fanoutBatchSize);
      console.log(`fan-out: ${stored} notifications stored in ${r2(seconds)} s (${Math.round(stored / seconds)} rows/s, ${pages} pages of ${config.notifications.fanoutBatchSize}) on ${database.kind}`);
      Object.assign(figures, { followers: nFollowers, fanoutSeconds: r2(seconds), fanoutRowsPerSecond: Math.round(stored / seconds), fanoutPages: pages });
    }

    if (doWs) {
      const t0 = performance.now();
      await database.query(
        `insert into users (id, username, email, email_verified_at) select gen_random_uuid(), 'bench_ws' || g, 'bench_ws' || g || '@example.test', now() from generate_series(1, $1::int) g`,
        [nClients],
      );
      const { rows: ids } = await database.query<{ id: string }>(`select id from users where username like 'bench_ws%'`);
      const rows = await database.db.select().from(users).where(inArray(users.id, ids.map((r) => r.id)));
      const { auth } = servicesFor(deps);
      const tokens: string[] = [];
      for (const u of rows) tokens.push((await auth.startSession(u, 'password', { ip: '127.0.0.1', userAgent: 'bench/notify' })).accessToken);
      say(`${tokens.length} sessions in ${r1((performance.now() - t0) / 1000)} s; connecting`);

      const child = spawn(process.execPath, ['--import', 'tsx', 'bench/support/ws-clients.ts', `${server.url!.replace(/^http/, 'ws')}/api/v1/stream`], { stdio: ['pipe', 'pipe', 'inherit'] });
      const out = createInterface({ input: child.stdout! });
      const lines = out[Symbol.asyncIterator]();
      const nextLine = async () => {
        const r = await lines.next();
        if (r.done) throw new Error('the client process ended early');
        return r.value;
      };
      const c0 = performance.now();
      child.stdin!.write(JSON.stringify({ tokens }) + '\n');
      const ready = await nextLine();
      console.log(`websocket: ${ready.split(' ')[1]} clients connected and authenticated in ${r1((performance.now() - c0) / 1000)} s`);

      const now = () => performance.timeOrigin + performance.now();
      const userIds = rows.map((u) => u.id);
      const b0 = performance.now();
      for (let e = 0; e < nEvents; e++) {
        await Promise.all(userIds.map((id) => publishRealtime(deps, userChannel(id), { type: 'notification', data: { id: `bench-${e}`, type: 'like', sentAt: now() } })));
      }
      const publishSeconds = (performance.now() - b0) / 1000;
      const expected = nEvents * userIds.length;
      // Let the last messages land, then ask for the figures.
      await sleep(1500);
      child.stdin!.write(JSON.stringify({ report: true }) + '\n');
      const report = JSON.parse(await nextLine()) as { received: number; latencies: number[] };
      const l = report.latencies;
      console.log(
        `burst: ${expected} messages (${nEvents} per client) published in ${r2(publishSeconds)} s; received ${report.received}; latency p50 ${r1(pct(l, 50))} ms, p99 ${r1(pct(l, 99))} ms, max ${r1(pct(l, 100))} ms`,
      );
      Object.assign(figures, {
        clients: userIds.length,
        burstMessages: expected,
        received: report.received,
        latencyP50Ms: r1(pct(l, 50)),
        latencyP99Ms: r1(pct(l, 99)),
        latencyMaxMs: r1(pct(l, 100)),
      });
    }
    console.log(JSON.stringify(figures));
  } finally {
    await server?.stop().catch(() => {});
    await db.drop().catch((err: unknown) => say(`dropping the bench database failed: ${String(err)}`));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
