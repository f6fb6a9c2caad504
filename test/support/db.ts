import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

export interface TestDatabase {
  /** Set on PostgreSQL runs: a fresh database cloned from the migrated template. */
  databaseUrl: string | undefined;
  /** Set on embedded runs: the migrated PGlite data dir to load. */
  pgliteTemplate: Blob | undefined;
  drop(): Promise<void>;
}

let templateBytes: Buffer | undefined;

/**
 * A migrated database of its own for the caller: a PGlite copy of the run's template, or on
 * PostgreSQL (DATABASE_URL set) a new database made from the template database.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const base = process.env.DATABASE_URL;
  if (!base) {
    templateBytes ??= readFileSync(inject('pgliteTemplateFile'));
    return { databaseUrl: undefined, pgliteTemplate: new Blob([templateBytes]), drop: async () => {} };
  }
  // Named after the run's template so a run's teardown only drops its own databases (runs from
  // several checkouts can share one PostgreSQL).
  const name = `${inject('pgTemplateDb').replace(/^sf_tpl_/, 'sf_t_')}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`create database ${name} template ${inject('pgTemplateDb')}`);
  } finally {
    await admin.end();
  }
  const u = new URL(base);
  u.pathname = `/${name}`;
  return {
    databaseUrl: u.toString(),
    pgliteTemplate: undefined,
    async drop() {
      const a = new pg.Client({ connectionString: base });
      await a.connect();
      await a.query(`drop database if exists ${name} with (force)`).finally(() => a.end());
    },
  };
}
