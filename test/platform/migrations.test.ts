import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { getTableConfig, type PgTable } from 'drizzle-orm/pg-core';
import { openDatabase, type Database } from '../../src/platform/db/index.js';
import * as schema from '../../src/schema.js';

/** Tables, columns and indexes as the catalog sees them: what "the same schema" means. */
async function describeSchema(db: Database) {
  const columns = await db.query<Record<string, string>>(
    `select table_name, column_name, data_type, is_nullable, coalesce(column_default, '') as column_default
       from information_schema.columns where table_schema = 'public' order by table_name, column_name`,
  );
  const indexes = await db.query<Record<string, string>>(`select tablename, indexname, indexdef from pg_indexes where schemaname = 'public' order by tablename, indexname`);
  const constraints = await db.query<Record<string, string>>(
    `select conrelid::regclass::text as tbl, conname, pg_get_constraintdef(oid) as def from pg_constraint
      where connamespace = 'public'::regnamespace and contype in ('p', 'u', 'f', 'c', 'x') order by 1, 2`,
  );
  const extensions = await db.query<{ extname: string }>(`select extname from pg_extension order by extname`);
  return { columns: columns.rows, indexes: indexes.rows, constraints: constraints.rows, extensions: extensions.rows.map((r) => r.extname) };
}

const declaredTables = (Object.values(schema) as unknown[])
  .filter((v): v is PgTable => typeof v === 'object' && v !== null && Symbol.for('drizzle:IsDrizzleTable') in v)
  .map((t) => getTableConfig(t).name)
  .sort();

describe('migrations', () => {
  it('apply to an empty embedded database, create every declared table and pg_trgm, and are idempotent', async () => {
    const db = await openDatabase({});
    try {
      await db.migrate();
      await db.migrate();
      const s = await describeSchema(db);
      expect([...new Set(s.columns.map((c) => c.table_name))].sort()).toEqual(declaredTables);
      expect(s.extensions).toContain('pg_trgm');
      const { rows } = await db.query<{ sim: number }>(`select similarity('social', 'socail') as sim`);
      expect(rows[0]?.sim).toBeGreaterThan(0.2);
    } finally {
      await db.close();
    }
  });

  if (process.env.DATABASE_URL) {
    it('produce the same tables, columns, indexes and constraints on PostgreSQL as on PGlite', async () => {
      const base = process.env.DATABASE_URL!;
      const name = `sf_t_mig_${randomBytes(4).toString('hex')}`;
      const admin = new pg.Client({ connectionString: base });
      await admin.connect();
      await admin.query(`create database ${name}`);
      const u = new URL(base);
      u.pathname = `/${name}`;
      const pgDb = await openDatabase({ databaseUrl: u.toString() });
      const lite = await openDatabase({});
      try {
        await Promise.all([pgDb.migrate(), lite.migrate()]);
        const [a, b] = await Promise.all([describeSchema(pgDb), describeSchema(lite)]);
        expect(a.columns.length).toBeGreaterThan(0);
        // The one planned difference: where the server offers RUM (PGlite never does), migration
        // 0014 adds it, posts.search_order and the index posts_search_rum for post search.
        const { rows } = await pgDb.query<{ n: number }>(`select count(*)::int as n from pg_available_extensions where name = 'rum'`);
        const rum = Number(rows[0]!.n) > 0;
        const rumParts = {
          columns: a.columns.filter((c) => c.table_name === 'posts' && c.column_name === 'search_order'),
          indexes: a.indexes.filter((i) => i.indexname === 'posts_search_rum'),
          extensions: a.extensions.filter((e) => e === 'rum'),
        };
        expect({ columns: rumParts.columns.length, indexes: rumParts.indexes.length, extensions: rumParts.extensions.length }).toEqual(rum ? { columns: 1, indexes: 1, extensions: 1 } : { columns: 0, indexes: 0, extensions: 0 });
        if (rum) expect(rumParts.indexes[0]!.indexdef).toContain('USING rum (search_vector rum_tsvector_addon_ops, search_order)');
        const withoutRum = {
          columns: a.columns.filter((c) => !rumParts.columns.includes(c)),
          indexes: a.indexes.filter((i) => !rumParts.indexes.includes(i)),
          constraints: a.constraints,
          extensions: a.extensions.filter((e) => e !== 'rum'),
        };
        expect(withoutRum).toEqual(b);
        const version = await pgDb.query<{ server_version_num: string }>('show server_version_num');
        expect(Number(version.rows[0]?.server_version_num)).toBeGreaterThanOrEqual(150000);
      } finally {
        await pgDb.close();
        await lite.close();
        await admin.query(`drop database if exists ${name} with (force)`);
        await admin.end();
      }
    });
  }
});
