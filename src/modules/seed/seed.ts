/**
 * A realistic synthetic data set for benchmarks and demos: `social-flow seed --users N --posts N`.
 *
 * - Users user_<n>, e-mail verified, all sharing one precomputed password hash (hashing 100k
 *   passwords with argon2 would take hours).
 * - Follows: each user's out-degree is Pareto-distributed in [10, 200]; each followee is drawn with
 *   probability proportional to 1 / rank^1.1 over a shuffled popularity ranking, so a few accounts
 *   get most followers (the most popular reaches a large share of all users).
 * - Posts: authors drawn by a second, flatter power law (1 / rank^0.7); ~30% replies to an earlier
 *   post (biased to recent ones); hashtags from a vocabulary with Zipf frequencies; likes per post
 *   heavy-tailed.
 * - Ids are UUIDv7 with timestamps increasing over the last 90 days, so id order is time order.
 * - Rows go in by `insert ... select * from unnest($1::type[], ...)`: one parameter per column,
 *   BATCH rows per statement, on PostgreSQL and PGlite alike. Counters (user_stats, like and
 *   reply counts) are computed with SQL at the end.
 * - Deterministic: the same --seed gives the same data (except the time origin, which is now).
 */
import type { Database } from '../../platform/db/index.js';
import { mulberry32 } from '../../ml/random.js';

export interface SeedOptions {
  users: number;
  posts: number;
  /** PRNG seed (default 42). */
  seed?: number;
  /** Run even if the database already has users. */
  force?: boolean;
  /** The one password hash every seeded account gets. */
  passwordHash: string;
  /** Rows per INSERT statement (default 5000). */
  batchRows?: number;
  /** Called after each batch: phase, rows of that phase done, rows of that phase planned, rows done overall. */
  onProgress?: (p: SeedProgress) => void;
}

export interface SeedProgress {
  phase: 'users' | 'follows' | 'posts' | 'hashtags' | 'likes' | 'counters';
  done: number;
  total: number;
  rowsDone: number;
}

export interface SeedResult {
  users: number;
  follows: number;
  posts: number;
  replies: number;
  hashtags: number;
  likes: number;
  rows: number;
  ms: number;
  rowsPerSecond: number;
}

export class SeedRefused extends Error {}

const DAY_MS = 86_400_000;
const SPAN_MS = 90 * DAY_MS;

/** mulberry32: small, fast, deterministic. */
export const prng = mulberry32;

/** Sampler of 0..n-1 with P(i) proportional to 1/(i+1)^s (inverse CDF by binary search). */
export function zipf(n: number, s: number, rnd: () => number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    sum += 1 / (i + 1) ** s;
    cdf[i] = sum;
  }
  return () => {
    const x = rnd() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

function shuffled(n: number, rnd: () => number): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** A UUIDv7 for time `ms` with PRNG bits (ids of increasing `ms` sort in time order). */
export function uuidv7At(ms: number, rnd: () => number): string {
  const b = new Array<number>(16);
  let t = Math.floor(ms);
  for (let i = 5; i >= 0; i--) {
    b[i] = t % 256;
    t = Math.floor(t / 256);
  }
  for (let i = 6; i < 16; i++) b[i] = Math.floor(rnd() * 256);
  b[6] = 0x70 | (b[6]! & 0x0f);
  b[8] = 0x80 | (b[8]! & 0x3f);
  const h = b.map((x) => HEX[x]!);
  return `${h.slice(0, 4).join('')}-${h.slice(4, 6).join('')}-${h.slice(6, 8).join('')}-${h.slice(8, 10).join('')}-${h.slice(10).join('')}`;
}

const WORDS =
  'the a of and to in is it that for on with this was at by we you my our new just today video watch look love great best first last time day night week music art travel food life work game play live show idea build code make learn share thanks finally really so very little big quick slow'.split(
    ' ',
  );
const TAG_ROOTS =
  'music art travel food photo dev js ts rust go cats dogs news tech design film books sport run gaming science space coffee nature city diy cooking fitness fashion retro anime jazz'.split(' ');

/** Hashtag vocabulary: roots, then root+number, in Zipf rank order. */
function tagVocabulary(size: number): string[] {
  const out: string[] = [...TAG_ROOTS];
  for (let i = 2; out.length < size; i++) for (const r of TAG_ROOTS) if (out.length < size) out.push(`${r}${i}x`);
  return out;
}

interface Column {
  name: string;
  type: string;
}

/** Batched `insert ... select * from unnest(...)`; several statements in flight on PostgreSQL. */
class Inserter {
  private inflight: Promise<unknown>[] = [];
  constructor(
    private readonly db: Database,
    private readonly parallel: number,
  ) {}

  async insert(table: string, cols: Column[], data: unknown[][]): Promise<void> {
    const text = `insert into ${table} (${cols.map((c) => c.name).join(', ')}) select * from unnest(${cols.map((c, i) => `$${i + 1}::${c.type}[]`).join(', ')})`;
    const p = this.db.query(text, data);
    // Handled here so a failure while not yet awaited is not an unhandled rejection; awaiting p still throws.
    p.catch(() => {});
    this.inflight.push(p);
    if (this.inflight.length >= this.parallel) await this.inflight.shift();
  }

  async drain(): Promise<void> {
    await Promise.all(this.inflight.splice(0));
  }
}

export async function seedDatabase(database: Database, opts: SeedOptions): Promise<SeedResult> {
  const t0 = performance.now();
  if (!Number.isInteger(opts.users) || opts.users < 2) throw new SeedRefused('--users must be an integer >= 2');
  if (!Number.isInteger(opts.posts) || opts.posts < 0) throw new SeedRefused('--posts must be an integer >= 0');
  const existing = Number((await database.query<{ n: string | number }>('select count(*) as n from users')).rows[0]?.n ?? 0);
  if (existing > 0 && !opts.force) throw new SeedRefused(`the database already has ${existing} users; pass --force to add the seed data anyway`);
  // Post search's RUM index (migration 0014, where the server has the extension), kept up row by
  // row, made a bulk load 2.3 times slower (200 000 posts: 51 s against 22 s) and wrote tens of KB
  // of WAL per post: it is dropped for the load and built once at the end, from its own definition.
  const { rows } = await database.query<{ def: string | null }>(`select pg_get_indexdef(to_regclass('posts_search_rum')) as def`);
  const rumIndex = rows[0]?.def ?? null;
  if (!rumIndex) return seedRows(database, opts, existing, t0);
  await database.query('drop index posts_search_rum');
  let result: SeedResult;
  try {
    result = await seedRows(database, opts, existing, t0);
  } finally {
    await database.query(rumIndex);
  }
  // The figures include the index build.
  const ms = performance.now() - t0;
  return { ...result, ms: Math.round(ms), rowsPerSecond: Math.round(result.rows / (ms / 1000)) };
}

async function seedRows(database: Database, opts: SeedOptions, existing: number, t0: number): Promise<SeedResult> {
  const nUsers = opts.users;
  const nPosts = opts.posts;
  const batch = opts.batchRows ?? 5000;
  const rnd = prng(opts.seed ?? 42);
  const report = opts.onProgress ?? (() => {});
  // With --force, numbering continues after the existing accounts so usernames stay unique.
  const base = existing;

  const ins = new Inserter(database, database.kind === 'postgres' ? 4 : 1);
  let rowsDone = 0;
  const now = Date.now();
  const start = now - SPAN_MS;

  // Users: created over the first two thirds of the span, ids in creation order.
  const userIds: string[] = new Array<string>(nUsers);
  const userCreated = new Float64Array(nUsers);
  const userSpan = (SPAN_MS * 2) / 3;
  for (let i = 0; i < nUsers; i += batch) {
    const n = Math.min(batch, nUsers - i);
    const ids: string[] = [];
    const names: string[] = [];
    const emails: string[] = [];
    const created: string[] = [];
    for (let k = 0; k < n; k++) {
      const u = i + k;
      const ms = start + (u / nUsers) * userSpan + rnd() * (userSpan / nUsers) * 0.9;
      userCreated[u] = ms;
      userIds[u] = uuidv7At(ms, rnd);
      ids.push(userIds[u]);
      names.push(`user_${base + u}`);
      emails.push(`user_${base + u}@seed.example`);
      created.push(new Date(ms).toISOString());
    }
    await ins.insert(
      'users',
      [
        { name: 'id', type: 'uuid' },
        { name: 'username', type: 'text' },
        { name: 'email', type: 'text' },
        { name: 'email_verified_at', type: 'timestamptz' },
        { name: 'created_at', type: 'timestamptz' },
        { name: 'updated_at', type: 'timestamptz' },
      ],
      [ids, names, emails, created, created, created],
    );
    rowsDone += n;
    report({ phase: 'users', done: i + n, total: nUsers, rowsDone });
  }
  await ins.drain();
  // One hash for everyone, set in one statement rather than shipped 5000 times per batch.
  await database.query('update users set password_hash = $1 where password_hash is null and email like $2', [opts.passwordHash, '%@seed.example']);

  // Follows: Pareto out-degree, Zipf-popular followees.
  const popularity = shuffled(nUsers, rnd); // popularity[rank] = user index
  const pickFollowee = zipf(nUsers, 1.1, rnd);
  const maxDegree = Math.min(200, nUsers - 1);
  const minDegree = Math.min(10, maxDegree);
  const degrees = new Uint16Array(nUsers);
  let plannedFollows = 0;
  for (let u = 0; u < nUsers; u++) {
    degrees[u] = Math.min(maxDegree, Math.floor(minDegree / Math.pow(1 - rnd(), 1 / 1.2)));
    plannedFollows += degrees[u]!;
  }
  let follows = 0;
  {
    let fa: string[] = [];
    let fb: string[] = [];
    let fc: string[] = [];
    const flush = async () => {
      if (!fa.length) return;
      await ins.insert(
        'follows',
        [
          { name: 'follower_id', type: 'uuid' },
          { name: 'followee_id', type: 'uuid' },
          { name: 'created_at', type: 'timestamptz' },
        ],
        [fa, fb, fc],
      );
      rowsDone += fa.length;
      report({ phase: 'follows', done: follows, total: plannedFollows, rowsDone });
      fa = [];
      fb = [];
      fc = [];
    };
    const chosen = new Set<number>();
    for (let u = 0; u < nUsers; u++) {
      chosen.clear();
      const want = degrees[u]!;
      for (let tries = 0; chosen.size < want && tries < want * 20; tries++) {
        const v = popularity[pickFollowee()]!;
        if (v !== u) chosen.add(v);
      }
      for (const v of chosen) {
        const after = Math.max(userCreated[u]!, userCreated[v]!);
        fa.push(userIds[u]!);
        fb.push(userIds[v]!);
        fc.push(new Date(after + rnd() * (now - after)).toISOString());
        follows++;
      }
      if (fa.length >= batch) await flush();
    }
    await flush();
    await ins.drain();
  }

  // Posts, hashtags, likes.
  const authorRank = shuffled(nUsers, rnd);
  const pickAuthor = zipf(nUsers, 0.7, rnd);
  const tags = tagVocabulary(Math.max(50, Math.min(5000, Math.ceil(nPosts / 200))));
  const pickTag = zipf(tags.length, 1.0, rnd);
  const pickWord = zipf(WORDS.length, 1.0, rnd);
  const postIds: string[] = new Array<string>(nPosts);
  const postRoot: (string | null)[] = new Array<string | null>(nPosts);
  let replies = 0;
  let hashtagRows = 0;
  let likeRows = 0;
  const postStart = start + SPAN_MS / 30;
  const postSpan = now - 60_000 - postStart;
  const likeChosen = new Set<number>();
  for (let i = 0; i < nPosts; i += batch) {
    const n = Math.min(batch, nPosts - i);
    const cols = { id: [] as string[], author: [] as string[], text: [] as string[], vis: [] as string[], replyTo: [] as (string | null)[], root: [] as (string | null)[], created: [] as string[] };
    const ht = { tag: [] as string[], post: [] as string[] };
    const lk = { user: [] as string[], target: [] as string[], created: [] as string[] };
    for (let k = 0; k < n; k++) {
      const p = i + k;
      const ms = postStart + (p / nPosts) * postSpan + rnd() * (postSpan / nPosts) * 0.9;
      const id = uuidv7At(ms, rnd);
      postIds[p] = id;
      const author = authorRank[pickAuthor()]!;
      let replyTo: string | null = null;
      let root: string | null = null;
      if (p > 0 && rnd() < 0.3) {
        // Mostly recent posts get replies: distance to the parent is heavy-tailed.
        const parent = Math.max(0, p - 1 - Math.floor(p * rnd() ** 4));
        replyTo = postIds[parent]!;
        root = postRoot[parent] ?? replyTo;
        replies++;
      }
      postRoot[p] = root;
      const words: string[] = [];
      const nWords = 3 + Math.floor(rnd() * 15);
      for (let w = 0; w < nWords; w++) words.push(WORDS[pickWord()]!);
      const nTags = rnd() < 0.4 ? 1 + Math.floor(rnd() * 3) : 0;
      const postTags = new Set<string>();
      for (let t = 0; t < nTags; t++) postTags.add(tags[pickTag()]!);
      for (const t of postTags) {
        words.push(`#${t}`);
        ht.tag.push(t);
        ht.post.push(id);
      }
      cols.id.push(id);
      cols.author.push(userIds[author]!);
      cols.text.push(words.join(' '));
      cols.vis.push(rnd() < 0.05 ? 'followers' : 'public');
      cols.replyTo.push(replyTo);
      cols.root.push(root);
      cols.created.push(new Date(ms).toISOString());
      // Likes: heavy-tailed per post (most get 0-2, a few get hundreds), from random users.
      const nLikes = Math.min(nUsers, 300, Math.floor(0.6 / Math.pow(1 - rnd(), 1 / 1.1)) - (rnd() < 0.3 ? 1 : 0));
      likeChosen.clear();
      for (let tries = 0; likeChosen.size < nLikes && tries < nLikes * 5; tries++) likeChosen.add(Math.floor(rnd() * nUsers));
      for (const u of likeChosen) {
        lk.user.push(userIds[u]!);
        lk.target.push(id);
        lk.created.push(new Date(ms + rnd() * (now - ms)).toISOString());
      }
    }
    await ins.insert(
      'posts',
      [
        { name: 'id', type: 'uuid' },
        { name: 'author_id', type: 'uuid' },
        { name: 'text', type: 'text' },
        { name: 'visibility', type: 'text' },
        { name: 'reply_to_id', type: 'uuid' },
        { name: 'root_id', type: 'uuid' },
        { name: 'created_at', type: 'timestamptz' },
      ],
      [cols.id, cols.author, cols.text, cols.vis, cols.replyTo, cols.root, cols.created],
    );
    // Children reference posts only through FKs in post_hashtags; wait for the posts to be in.
    await ins.drain();
    if (ht.tag.length) await ins.insert('post_hashtags', [{ name: 'tag', type: 'text' }, { name: 'post_id', type: 'uuid' }], [ht.tag, ht.post]);
    if (lk.user.length) {
      const types = lk.user.map(() => 'post');
      await ins.insert(
        'likes',
        [
          { name: 'user_id', type: 'uuid' },
          { name: 'target_type', type: 'text' },
          { name: 'target_id', type: 'uuid' },
          { name: 'created_at', type: 'timestamptz' },
        ],
        [lk.user, types, lk.target, lk.created],
      );
    }
    hashtagRows += ht.tag.length;
    likeRows += lk.user.length;
    rowsDone += n + ht.tag.length + lk.user.length;
    report({ phase: 'posts', done: i + n, total: nPosts, rowsDone });
  }
  await ins.drain();

  // Counters, in bulk, from the true counts.
  report({ phase: 'counters', done: 0, total: 3, rowsDone });
  await database.query(`
    insert into user_stats (user_id, followers, following, posts)
    select u.id, coalesce(a.n, 0), coalesce(b.n, 0), coalesce(c.n, 0)
    from users u
    left join (select followee_id as id, count(*)::int as n from follows group by followee_id) a on a.id = u.id
    left join (select follower_id as id, count(*)::int as n from follows group by follower_id) b on b.id = u.id
    left join (select author_id as id, count(*)::int as n from posts where deleted_at is null group by author_id) c on c.id = u.id
    on conflict (user_id) do update set followers = excluded.followers, following = excluded.following, posts = excluded.posts`);
  report({ phase: 'counters', done: 1, total: 3, rowsDone });
  await database.query(`
    update posts p set like_count = l.n
    from (select target_id, count(*)::int as n from likes where target_type = 'post' group by target_id) l
    where p.id = l.target_id and p.like_count <> l.n`);
  report({ phase: 'counters', done: 2, total: 3, rowsDone });
  await database.query(`
    update posts p set reply_count = r.n
    from (select reply_to_id, count(*)::int as n from posts where reply_to_id is not null and deleted_at is null group by reply_to_id) r
    where p.id = r.reply_to_id and p.reply_count <> r.n`);
  report({ phase: 'counters', done: 3, total: 3, rowsDone });
  // The counter updates above wrote new versions of most posts wherever there was room, scattering
  // the table; a live instance appends posts in id (time) order and updates mostly recent ones,
  // so its table stays close to id order. Put it back in that order, or every scan over recent posts
  // (search's newest matches, timeline rebuilds) reads a different page per row.
  await database.query('cluster posts using posts_pkey');
  await database.query('analyze');

  const ms = performance.now() - t0;
  const rows = nUsers + follows + nPosts + hashtagRows + likeRows;
  return { users: nUsers, follows, posts: nPosts, replies, hashtags: hashtagRows, likes: likeRows, rows, ms: Math.round(ms), rowsPerSecond: Math.round(rows / (ms / 1000)) };
}

/** A one-line textual progress bar (stderr); redraws in place on a terminal, else prints every 10%. */
export function progressBar(write: (s: string) => void, tty: boolean): (p: SeedProgress) => void {
  let lastPhase = '';
  let lastDecile = -1;
  return (p) => {
    const frac = p.total > 0 ? Math.min(1, p.done / p.total) : 1;
    const width = 30;
    const fill = Math.round(frac * width);
    const line = `${p.phase.padEnd(8)} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(frac * 100).toFixed(0).padStart(3)}% ${p.done}/${p.total}  (${p.rowsDone} rows)`;
    if (tty) {
      if (p.phase !== lastPhase && lastPhase) write('\n');
      write(`\r${line}`);
    } else {
      const decile = Math.floor(frac * 10);
      if (p.phase !== lastPhase || decile !== lastDecile) write(`${line}\n`);
      lastDecile = decile;
    }
    lastPhase = p.phase;
  };
}
