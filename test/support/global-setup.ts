import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { openDatabase } from '../../src/platform/db/index.js';
import { Jobs } from '../../src/platform/jobs/index.js';
import { createLogger } from '../../src/platform/logger.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** File holding a dumped, migrated PGlite data dir: each test file loads a copy. */
    pgliteTemplateFile: string;
    /** With DATABASE_URL: a migrated template database each test file clones. */
    pgTemplateDb: string;
  }
}

let tmp: string | undefined;
let pgTemplate: string | undefined;

/** The migrated schema plus pg-boss's own tables, built once per run (PGlite takes seconds to start). */
async function prepare(databaseUrl: string | undefined) {
  const database = await openDatabase({ databaseUrl });
  await database.migrate();
  const jobs = new Jobs(database, createLogger('silent'), { concurrency: 1, retryLimit: 0, retryDelaySeconds: 1 });
  await jobs.start();
  await jobs.stop(1000);
  return database;
}

export async function setup(project: TestProject): Promise<void> {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'sf-test-'));
  const database = await prepare(undefined);
  const client = (database as unknown as { db: { $client: { dumpDataDir(c: 'none'): Promise<Blob> } } }).db.$client;
  const blob = await client.dumpDataDir('none');
  await database.close();
  const file = path.join(tmp, 'pglite-template.tar');
  writeFileSync(file, Buffer.from(await blob.arrayBuffer()));
  project.provide('pgliteTemplateFile', file);

  const url = process.env.DATABASE_URL;
  if (url) {
    pgTemplate = `sf_tpl_${process.pid}_${Date.now().toString(36)}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`create database ${pgTemplate}`);
    await admin.end();
    const u = new URL(url);
    u.pathname = `/${pgTemplate}`;
    const tpl = await prepare(u.toString());
    await tpl.close();
    project.provide('pgTemplateDb', pgTemplate);
  } else {
    project.provide('pgTemplateDb', '');
  }
}

export async function teardown(): Promise<void> {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  const url = process.env.DATABASE_URL;
  if (url && pgTemplate) {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    // This run's databases that test files could not drop (a crashed file) go too; other runs'
    // databases (another checkout testing at the same time) are left alone.
    const mine = pgTemplate.replace(/^sf_tpl_/, 'sf_t_') + '\\_%';
    const { rows } = await admin.query<{ datname: string }>('select datname from pg_database where datname like $1 or datname = $2', [mine, pgTemplate]);
    for (const r of rows) await admin.query(`drop database if exists ${r.datname} with (force)`);
    await admin.end();
  }
}
