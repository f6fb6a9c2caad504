import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * The SECRET_KEY of a bench app over a kept database (--db-name): derived from the database name,
 * so every bench that reuses the same seeded database (bench/feed, bench/search) can open the
 * signing keys sealed by whichever seeded it. Undefined without a kept database (a fresh secret).
 */
export function keptDatabaseSecret(dbName: string | undefined): string | undefined {
  return dbName ? `bench-only-secret-${dbName}-0123456789abcdef` : undefined;
}

/**
 * A fresh PostgreSQL database through the admin connection in DATABASE_URL (sf_bench_<random>,
 * dropped by `drop()`), or `keep` itself, created once and reused by later runs; nothing (url
 * undefined: the embedded column) without DATABASE_URL.
 */
export async function freshDatabase(keep: string | undefined): Promise<{ url: string | undefined; kept: boolean; drop(): Promise<void> }> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) return { url: undefined, kept: false, drop: async () => {} };
  if (keep !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(keep)) throw new Error('--db-name must be a lower-case SQL identifier');
  const name = keep ?? `sf_bench_${randomBytes(5).toString('hex')}`;
  const run = async (text: string) => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    return c.query(text).finally(() => c.end());
  };
  const exists = keep !== undefined && (await run(`select 1 from pg_database where datname = '${name}'`)).rowCount === 1;
  if (!exists) await run(`create database ${name}`);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return { url: u.toString(), kept: exists, drop: keep ? async () => {} : async () => void (await run(`drop database if exists ${name} with (force)`)) };
}
