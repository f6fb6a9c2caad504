/**
 * Search latency on a seeded, power-law data set.
 *
 *   npx tsx bench/search.ts [--users 10000] [--posts 200000] [--duration 10] [--connections 16]
 *                           [--warmup 2] [--seed 42] [--db-name sf_bench_search] [--search-cache 10]
 *                           [--mix 2000] [--profile]
 *
 * Method
 * - A fresh database: the embedded one in memory by default; with DATABASE_URL set, a new
 *   PostgreSQL database created through that (admin) connection and dropped at the end
 *   (`--db-name` keeps it and reuses it when it exists, so a 1M-post set is seeded once).
 * - Seeded with src/modules/seed/seed.ts (`social-flow seed`): its post text draws from a
 *   60-word vocabulary, so a common word ("video") matches a large share of all posts: the hard case.
 * - The app in this process, api role, LOG_LEVEL silent; autocannon in a child process at
 *   --connections, one run per query below (anonymous viewer), after a warm-up.
 * - `--search-cache` is the app's SEARCH_CACHE_SECONDS (default: the app's default, 10): how long a
 *   relevance ranking is reused. With it on, a query repeated for the whole run is ranked about once
 *   per period, so the figures are those of popular queries; `--search-cache 0` ranks every request
 *   (the cost of a query nobody asked for in the last period).
 * - Each query is asked once before its run and the number of results on its first page printed,
 *   so a query that finds nothing where it should (an empty vocabulary: no typo correction) shows.
 * - Then a mixed run (`--mix N`, default 2 000, 0 = none): N distinct queries of every kind above
 *   (words and word pairs from the seeded vocabulary, typos made by swapping two letters, people,
 *   hashtag and as-you-type prefixes, `all` searches), asked with Zipf popularity (the k-th most
 *   popular query k times less often than the first; seeded, so runs compare), each request the
 *   next of a 50 000-long sequence. A popular query finds its answer reused, a rare one pays the
 *   ranking: the figure between the repeated-query runs and --search-cache 0. Reported apart from
 *   the worst p99 of the fixed queries. `--profile` first asks each distinct query once, one at a
 *   time, and prints p50/p90/max per kind: which kinds make the mixed run's tail. The mixed run
 *   also prints the app process's CPU time as a share of one core (near 100%: the process is the bound).
 * - Says whether post search has its RUM index (PostgreSQL with the rum extension: migration 0014).
 * - Prints req/s, p50 and p99 per query, and one JSON line with every figure and the worst p99.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { hashPassword } from '../src/modules/auth/crypto.js';
import { rebuildTerms } from '../src/modules/search/terms.js';
import { prng, progressBar, seedDatabase, zipf } from '../src/modules/seed/seed.js';
import { createLogger } from '../src/platform/logger.js';
import { startServer, type RunningServer } from '../src/server.js';
import { freshDatabase, keptDatabaseSecret } from './support/kept-db.js';
import { startLoadgen, type LoadResult, type Loadgen } from './support/loadgen.js';

const { values: args } = parseArgs({
  options: {
    users: { type: 'string', default: '10000' },
    posts: { type: 'string', default: '200000' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '16' },
    warmup: { type: 'string', default: '2' },
    seed: { type: 'string', default: '42' },
    'db-name': { type: 'string' },
    'search-cache': { type: 'string' },
    /** Distinct queries in the mixed run (0: no mixed run). */
    mix: { type: 'string', default: '2000' },
    /** Before the mixed run, ask each distinct query once, one at a time, and print latency per kind. */
    profile: { type: 'boolean', default: false },
  },
  strict: true,
});
const nUsers = Number(args.users);
const nPosts = Number(args.posts);
const durationS = Number(args.duration);
const connections = Number(args.connections);
const warmupS = Number(args.warmup);
const say = (msg: string) => process.stderr.write(`bench/search: ${msg}\n`);

const QUERIES: [string, string][] = [
  ['common word, relevance', '/api/v1/search?type=posts&q=video'],
  ['common word, newest first', '/api/v1/search?type=posts&q=video&sort=recent'],
  ['typo', '/api/v1/search?type=posts&q=vidoe'],
  ['two words', '/api/v1/search?type=posts&q=cooking%20travel'],
  ['rare word (no match)', '/api/v1/search?type=posts&q=xylophone'],
  ['people', '/api/v1/search?type=users&q=user_123'],
  ['hashtags', '/api/v1/search?type=hashtags&q=musi'],
  ['all kinds', '/api/v1/search?q=music'],
  ['suggest', '/api/v1/search/suggest?q=mus'],
];

async function main(): Promise<void> {
  for (const [k, v] of [
    ['users', nUsers],
    ['posts', nPosts],
    ['duration', durationS],
    ['connections', connections],
  ] as const)
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${k} must be a positive integer`);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sf-bench-search-'));
  const db = await freshDatabase(args['db-name']);
  let server: RunningServer | undefined;
  let loadgen: Loadgen | undefined;
  try {
    const loadAvg = Math.round((os.loadavg()[0] ?? 0) * 100) / 100;
    console.log(`search: ${os.cpus().length} cores (shared with other work: figures are indicative), node ${process.version}, ${nUsers} users, ${nPosts} posts, ${connections} connections, ${durationS} s per query, load average ${loadAvg}`);
    const config = loadConfig(
      { NODE_ENV: 'production', DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', RATE_LIMIT_MAX: '1000000', RATE_LIMIT_WINDOW_MS: '1000', DATABASE_URL: db.url, REDIS_URL: process.env.REDIS_URL, SECRET_KEY: keptDatabaseSecret(args['db-name']), SEARCH_CACHE_SECONDS: args['search-cache'] },
      { persistSecret: false },
    );
    server = await startServer(config, createLogger('silent'), ['api'], { pgliteInMemory: true, cacheKeyPrefix: `sf-bench:${randomBytes(4).toString('hex')}:`, onProgress: () => {} });
    const deps = server.deps;
    say(`app on ${server.url} (database: ${deps.database.kind}); ${db.kept ? 'reusing the kept database' : 'seeding'}`);
    if (!db.kept) {
      const seeded = await seedDatabase(deps.database, {
        users: nUsers,
        posts: nPosts,
        seed: Number(args.seed),
        passwordHash: await hashPassword('bench password 42', config.auth.argon2),
        onProgress: progressBar((s) => process.stderr.write(s), process.stderr.isTTY === true),
      });
      if (process.stderr.isTTY) process.stderr.write('\n');
      console.log(`seeded ${seeded.rows} rows in ${(seeded.ms / 1000).toFixed(1)} s`);
      await deps.database.query('analyze');
    }
    // The seeder bulk-inserts (no domain events): build the search vocabularies as the nightly job
    // would. A kept database may hold a few terms learnt from posts made since (bench/feed posts
    // some), which is not a vocabulary of the seeded posts: rebuild unless a common word is counted.
    const { rows: vocab } = await deps.database.query<{ n: number }>('select count(*)::int as n from search_terms where docs >= 100');
    if (Number(vocab[0]!.n) === 0) {
      const t0 = performance.now();
      const terms = await rebuildTerms(deps.database.db);
      console.log(`search vocabulary rebuilt: ${terms} terms in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    const { rows } = await deps.database.query<{ n: number }>('select count(*)::int as n from posts');
    console.log(`posts in the database: ${rows[0]!.n}`);
    loadgen = await startLoadgen('child');
    console.log(`search cache: ${deps.config.searchCacheSeconds} s`);
    // Post search's RUM plan exists only where the server has the extension (migration 0014).
    const { rows: rumRows } = await deps.database.query<{ rum: boolean }>(`select to_regclass('posts_search_rum') is not null as rum`);
    const rum = rumRows[0]?.rum === true;
    console.log(`post search RUM index: ${rum ? 'yes' : 'no (install postgresql-<major>-rum before migrating for the RUM plan; docs/operations.md)'}`);
    const results: Record<string, { rps: number; p50: number; p99: number; requests: number; found: number }> = {};
    for (const [title, url] of QUERIES) {
      const req = { title, url: `${server.url}${url}`, connections, durationS };
      // Items on the first page, over every list the answer has (posts, users, hashtags, videos).
      const body = (await (await fetch(req.url)).json()) as Record<string, { items?: unknown[] } | unknown[]>;
      const found = Object.values(body).reduce((n, v) => n + (Array.isArray(v) ? v.length : (v.items?.length ?? 0)), 0);
      if (warmupS > 0) await loadgen.run({ ...req, durationS: warmupS });
      const res: LoadResult = await loadgen.run(req);
      if (res.errors > 0 || res.non2xx > 0) throw new Error(`${title}: ${res.non2xx} non-2xx and ${res.errors} errors`);
      console.log(`${title.padEnd(28)} ${res.rps.toFixed(1).padStart(8)} req/s   p50 ${res.p50.toFixed(1).padStart(7)} ms   p99 ${res.p99.toFixed(1).padStart(7)} ms   ${String(found).padStart(3)} found   ${url}`);
      results[title] = { rps: res.rps, p50: res.p50, p99: res.p99, requests: res.requests, found };
    }
    const worstP99 = Math.max(...Object.values(results).map((r) => r.p99));
    console.log(`worst p99 ${worstP99} ms (target < 50 ms at 16 connections over 1M posts on PostgreSQL)`);
    let mix: { queries: number; rps: number; p50: number; p90: number; p99: number; requests: number; appCpu: number } | undefined;
    const nMix = Number(args.mix);
    if (nMix > 0) {
      const { rows: words } = await deps.database.query<{ term: string }>('select term from search_terms where docs >= 100 and length(term) >= 4 order by docs desc, term limit 200');
      const { rows: tags } = await deps.database.query<{ tag: string }>('select tag from search_hashtags where posts > 0 and length(tag) >= 4 order by posts desc, tag limit 200');
      const { rows: names } = await deps.database.query<{ username: string }>('select username from users order by id limit 5000');
      const { paths, kinds } = mixedQueries(nMix, words.map((r) => r.term), tags.map((r) => r.tag), names.map((r) => r.username), Number(args.seed));
      if (args.profile) await profileKinds(`${server.url}`, kinds);
      const req = { title: 'mix', url: `${server.url}/`, connections, durationS, paths };
      if (warmupS > 0) await loadgen.run({ ...req, durationS: warmupS });
      // The app's CPU time over the run (this process: the load generator is a child), as a share
      // of one core: near 100% means the single app process, not the database, is the bound.
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const res = await loadgen.run(req);
      const cpu = process.cpuUsage(cpu0);
      const appCpu = Math.round(((cpu.user + cpu.system) / 1000 / (performance.now() - t0)) * 100);
      if (res.errors > 0 || res.non2xx > 0) throw new Error(`mix: ${res.non2xx} non-2xx and ${res.errors} errors`);
      mix = { queries: nMix, rps: res.rps, p50: res.p50, p90: res.p90, p99: res.p99, requests: res.requests, appCpu };
      console.log(`mix of ${nMix} distinct queries, Zipf popularity: ${res.rps.toFixed(1)} req/s   p50 ${res.p50.toFixed(1)} ms   p90 ${res.p90.toFixed(1)} ms   p99 ${res.p99.toFixed(1)} ms   app process CPU ${appCpu}% of one core`);
    }
    console.log(JSON.stringify({ bench: 'search', date: new Date().toISOString(), cores: os.cpus().length, loadAvg, database: deps.database.kind, rum, users: nUsers, posts: rows[0]!.n, connections, durationS, searchCacheSeconds: deps.config.searchCacheSeconds, results, worstP99, mix }));
  } finally {
    await loadgen?.close().catch(() => {});
    await server?.stop().catch(() => {});
    await db.drop().catch((err: unknown) => say(`dropping the bench database failed: ${String(err)}`));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * `--profile`: every distinct query asked once, one request at a time (no queueing, so each figure
 * is that query's own cost; with the cache on, the first ask of each is a miss), summarised per kind.
 */
async function profileKinds(base: string, kinds: Map<string, string>): Promise<void> {
  const byKind = new Map<string, number[]>();
  const all: [number, string][] = [];
  for (const [p, kind] of kinds) {
    const t0 = performance.now();
    const res = await fetch(`${base}${p}`);
    await res.arrayBuffer();
    const ms = performance.now() - t0;
    if (!res.ok) throw new Error(`${p}: ${res.status}`);
    let list = byKind.get(kind);
    if (!list) byKind.set(kind, (list = []));
    list.push(ms);
    all.push([ms, p]);
  }
  const q = (xs: number[], f: number) => xs[Math.min(xs.length - 1, Math.floor(f * xs.length))]!;
  for (const [kind, xs] of byKind) {
    xs.sort((a, b) => a - b);
    console.log(`profile ${kind.padEnd(22)} ${String(xs.length).padStart(5)} queries   p50 ${q(xs, 0.5).toFixed(1).padStart(6)} ms   p90 ${q(xs, 0.9).toFixed(1).padStart(6)} ms   max ${xs.at(-1)!.toFixed(1).padStart(6)} ms`);
  }
  all.sort((a, b) => b[0] - a[0]);
  for (const [ms, p] of all.slice(0, 12)) console.log(`profile slowest ${ms.toFixed(1).padStart(7)} ms   ${decodeURIComponent(p)}`);
}

/**
 * `n` distinct search paths of every kind the fixed runs ask (with the kind of each), then a
 * 50 000-long sequence of them drawn with Zipf popularity (weight 1/rank).
 */
function mixedQueries(n: number, words: string[], tags: string[], names: string[], seed: number): { paths: string[]; kinds: Map<string, string> } {
  const rnd = prng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const typo = (w: string) => {
    const i = 1 + Math.floor(rnd() * (w.length - 2));
    return w.slice(0, i) + w[i + 1] + w[i] + w.slice(i + 2);
  };
  const q = encodeURIComponent;
  const makers: [string, () => string][] = [
    ['word', () => `/api/v1/search?type=posts&q=${q(pick(words))}`],
    ['word', () => `/api/v1/search?type=posts&q=${q(pick(words))}`],
    ['two words', () => `/api/v1/search?type=posts&q=${q(`${pick(words)} ${pick(words)}`)}`],
    ['typo', () => `/api/v1/search?type=posts&q=${q(typo(pick(words)))}`],
    ['word, newest first', () => `/api/v1/search?type=posts&q=${q(pick(words))}&sort=recent`],
    ['all kinds', () => `/api/v1/search?q=${q(pick(words))}`],
    ['people prefix', () => `/api/v1/search?type=users&q=${q(pick(names).slice(0, 4 + Math.floor(rnd() * 4)))}`],
    ['hashtag prefix', () => `/api/v1/search?type=hashtags&q=${q(pick(tags).slice(0, 3 + Math.floor(rnd() * 3)))}`],
    ['suggest', () => `/api/v1/search/suggest?q=${q(pick(words).slice(0, 3 + Math.floor(rnd() * 3)))}`],
  ];
  const kinds = new Map<string, string>();
  for (let tries = 0; kinds.size < n && tries < n * 50; tries++) {
    const [kind, make] = pick(makers);
    const p = make();
    if (!kinds.has(p)) kinds.set(p, kind);
  }
  const list = [...kinds.keys()];
  const next = zipf(list.length, 1, rnd);
  const paths: string[] = [];
  for (let i = 0; i < 50_000; i++) paths.push(list[next()]!);
  return { paths, kinds };
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
