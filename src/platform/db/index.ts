import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { sql, type SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import * as schema from '../../schema.js';

export type Schema = typeof schema;
/** The query builder both engines share: code written against it runs on PGlite and PostgreSQL. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
/** Either the database or an open transaction: what a service function takes when it may run inside one. */
export type Executor = Db | Tx;

export interface RawResult<T> {
  rows: T[];
}

export interface Database {
  kind: 'pglite' | 'postgres';
  db: Db;
  /** Parameterised raw SQL ($1, $2 ...) on the database (infrastructure: jobs, health). */
  query<T = Record<string, unknown>>(text: string, values?: unknown[]): Promise<RawResult<T>>;
  /**
   * A statement the hot read paths run on every request, by a unique `name` (one text per name).
   * PostgreSQL parses it once per connection and can reuse its plan (a generic plan after five
   * runs when that costs no more): planning a join of several tables costs the server as much as
   * running it. PGlite runs it as a plain query.
   */
  prepared<T = Record<string, unknown>>(name: string, text: string, values: unknown[]): Promise<RawResult<T>>;
  /** Several statements without parameters (pg-boss schema set-up). */
  exec(text: string): Promise<RawResult<Record<string, unknown>>>;
  /**
   * On PGlite a transaction holds the only connection: inside `fn`, use `tx` (and jobs.send with
   * `{ tx }`) only; a query on the outer database would wait for the transaction to end.
   */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** Apply every pending migration in `migrations/`. */
  migrate(): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const migrationsFolder = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../migrations');

/** Parameters as node-postgres would send them: undefined is NULL, a plain object is JSON. */
function toParam(v: unknown): unknown {
  if (v === undefined) return null;
  if (v !== null && typeof v === 'object' && !(v instanceof Date) && !Buffer.isBuffer(v) && !Array.isArray(v)) return JSON.stringify(v);
  return v;
}

const commitHooks = new WeakMap<object, (() => void)[]>();

/**
 * Run `fn` once `tx` has committed (not if it rolls back). Only for transactions opened with
 * `Database.transaction`; false for any other (a nested one, one opened on `db` directly), and
 * then the caller must cope without the hook.
 */
export function afterCommit(tx: Tx, fn: () => void): boolean {
  const hooks = commitHooks.get(tx);
  if (!hooks) return false;
  hooks.push(fn);
  return true;
}

async function runTransaction<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  const hooks: (() => void)[] = [];
  const result = await db.transaction(async (tx) => {
    commitHooks.set(tx, hooks);
    return fn(tx);
  });
  for (const hook of hooks) {
    try {
      hook();
    } catch {
      // A hook is a notification (wake a worker); its failure must not fail a committed transaction.
    }
  }
  return result;
}

/** Turn `$1`-style SQL text plus values into a drizzle SQL object, so raw SQL can run inside a drizzle transaction. */
export function rawToSql(text: string, values: readonly unknown[] = []): SQL {
  const parts = text.split(/\$(\d+)/);
  const chunks: SQL[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] ?? '';
    if (i % 2 === 0) {
      if (part) chunks.push(sql.raw(part));
    } else {
      // sql.param keeps an array one parameter (`= any($1::uuid[])`); sql`${array}` would spread it into a list.
      chunks.push(sql`${sql.param(toParam(values[Number(part) - 1]))}`);
    }
  }
  return sql.join(chunks);
}

/** Run raw SQL on a drizzle executor (database or transaction) and get `{ rows }` on both engines. */
export async function executeRaw<T = Record<string, unknown>>(ex: Executor, text: string, values: readonly unknown[] = []): Promise<RawResult<T>> {
  const res = (await ex.execute(rawToSql(text, values))) as unknown as { rows: T[] };
  return { rows: res.rows };
}

export interface OpenDatabaseOptions {
  databaseUrl?: string | undefined;
  /** Folder of the embedded database; ignored with databaseUrl. */
  pgliteDir?: string;
  /** Start PGlite from a dumped data dir (tests: one migrated template per run). */
  loadDataDir?: Blob;
  poolMax?: number;
  applicationName?: string;
}

export async function openDatabase(opts: OpenDatabaseOptions): Promise<Database> {
  if (opts.databaseUrl) return openPostgres(opts.databaseUrl, opts.poolMax ?? 10, opts.applicationName ?? 'social-flow');
  return openPglite(opts.pgliteDir, opts.loadDataDir);
}

export class DatabaseInUseError extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(`the embedded database in ${dir} is in use by process ${pid}; stop that process first (or set DATABASE_URL to share a PostgreSQL server between processes)`);
    this.name = 'DatabaseInUseError';
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The process holding the embedded database in `dir`, if one is alive. */
export function embeddedDatabaseHolder(dir: string): number | undefined {
  try {
    const pid = Number(readFileSync(path.join(dir, 'social-flow.pid'), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && pidAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * PGlite is one PostgreSQL backend inside this process: two processes opening the same folder
 * would corrupt it. A pid file refuses the second one; a stale file (its process died) is taken over.
 */
function lockDataDir(dir: string): () => void {
  const file = path.join(dir, 'social-flow.pid');
  for (let i = 0; i < 2; i++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = embeddedDatabaseHolder(dir);
      if (holder !== undefined && holder !== process.pid) throw new DatabaseInUseError(dir, holder);
      rmSync(file, { force: true });
    }
  }
  throw new Error(`could not lock ${dir}`);
}

/**
 * pg_trgm's similarity threshold, the bound of its `%` operator, set on every connection as it
 * opens (session level): search (modules/search) matches names, hashtags and typos with `%`. 0.3
 * is the extension's own default too; setting it keeps a server configured otherwise from changing
 * search results, without a transaction per search to SET LOCAL it.
 */
export const TRIGRAM_SIMILARITY = 0.3;
const SESSION_SETUP = `set pg_trgm.similarity_threshold = ${TRIGRAM_SIMILARITY}`;

async function openPglite(dir: string | undefined, loadDataDir: Blob | undefined): Promise<Database> {
  let unlock = () => {};
  if (dir) {
    mkdirSync(dir, { recursive: true });
    unlock = lockDataDir(dir);
  }
  let client: PGlite;
  try {
    client = await PGlite.create({ dataDir: dir, extensions: { pg_trgm }, loadDataDir });
  } catch (err) {
    unlock();
    throw err;
  }
  await client.exec(SESSION_SETUP);
  const db = drizzlePglite({ client, schema, casing: 'snake_case' }) as unknown as Db;
  return {
    kind: 'pglite',
    db,
    async query<T>(text: string, values?: unknown[]) {
      const res = await client.query<T>(text, values);
      return { rows: res.rows };
    },
    async prepared<T>(_name: string, text: string, values: unknown[]) {
      const res = await client.query<T>(text, values);
      return { rows: res.rows };
    },
    async exec(text: string) {
      const results = await client.exec(text);
      const last = results[results.length - 1];
      return { rows: (last?.rows ?? []) as Record<string, unknown>[] };
    },
    transaction: (fn) => runTransaction(db, fn),
    async migrate() {
      await migratePglite(db as never, { migrationsFolder });
    },
    async ping() {
      await client.query('select 1');
    },
    async close() {
      if (!client.closed) await client.close();
      unlock();
    },
  };
}

async function openPostgres(url: string, max: number, applicationName: string): Promise<Database> {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    application_name: applicationName,
    connectionTimeoutMillis: 5000,
    // Awaited by the pool before it hands a new connection out; a failure ends that connection.
    onConnect: async (client) => {
      await client.query(SESSION_SETUP);
    },
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  const db = drizzlePg({ client: pool, schema, casing: 'snake_case' }) as unknown as Db;
  let closed = false;
  return {
    kind: 'postgres',
    db,
    async query<T>(text: string, values?: unknown[]) {
      const res = await pool.query(text, values);
      return { rows: res.rows as T[] };
    },
    async prepared<T>(name: string, text: string, values: unknown[]) {
      const res = await pool.query({ name, text, values });
      return { rows: res.rows as T[] };
    },
    async exec(text: string) {
      const res = (await pool.query(text)) as pg.QueryResult | pg.QueryResult[];
      const last = Array.isArray(res) ? res[res.length - 1] : res;
      return { rows: (last?.rows ?? []) as Record<string, unknown>[] };
    },
    transaction: (fn) => runTransaction(db, fn),
    async migrate() {
      // Two processes starting at once must not both apply a migration: hold a session advisory lock.
      const lockClient = await pool.connect();
      try {
        await lockClient.query('select pg_advisory_lock(727274001)');
        await migratePg(db as never, { migrationsFolder });
      } finally {
        await lockClient.query('select pg_advisory_unlock(727274001)').catch(() => {});
        lockClient.release();
      }
    },
    async ping() {
      await pool.query('select 1');
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
