import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { desc } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordEngagement } from '../../src/modules/recommendations/engagement.js';
import { recommenderModels } from '../../src/modules/recommendations/tables.js';
import { closeDeps, createDeps } from '../../src/platform/deps.js';
import { createLogger } from '../../src/platform/logger.js';
import { testConfig } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { makePosts, makeUsers } from './support.js';

const repo = path.resolve(import.meta.dirname, '../..');
let dataDir: string;
let tdb: TestDatabase;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'sf-cli-ml-'));
  tdb = await createTestDatabase();
});
afterAll(async () => {
  await tdb?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['DATABASE_URL', 'REDIS_URL', 'DATA_DIR', 'NODE_OPTIONS', 'VITEST', 'VITEST_POOL_ID', 'VITEST_WORKER_ID']) delete env[k];
  Object.assign(env, { DATA_DIR: dataDir, SECRET_KEY: 'k'.repeat(40), LOG_LEVEL: 'warn' }, tdb.databaseUrl ? { DATABASE_URL: tdb.databaseUrl } : {}, process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {});
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['bin/social-flow.js', ...args], { cwd: repo, env, encoding: 'utf8', timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
    child.stdin?.end();
  });
}

/** Open the same database the CLI uses (embedded: DATA_DIR/db, so only while no CLI runs). */
async function withDeps<T>(fn: (deps: Awaited<ReturnType<typeof createDeps>>) => Promise<T>): Promise<T> {
  const config = testConfig(dataDir, tdb.databaseUrl, { SECRET_KEY: 'k'.repeat(40) });
  const deps = await createDeps(config, createLogger('silent'));
  try {
    return await fn(deps);
  } finally {
    await closeDeps(deps);
  }
}

describe('social-flow ml train recommender', () => {
  it('trains a version from the engagement log, shows progress, and stores the artefact', async () => {
    await withDeps(async (deps) => {
      const [creator, ...fans] = await makeUsers(deps, 6, 'cli');
      const items = await makePosts(deps, creator!, 4, 'cli post');
      await recordEngagement(
        deps.database.db,
        fans.flatMap((u) => items.map((itemId) => ({ userId: u, itemType: 'post' as const, itemId, kind: 'like' as const }))),
      );
    });
    const run = await cli(['ml', 'train', 'recommender']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/matrix factorisation\s+\[#+/);
    expect(run.stderr).toMatch(/recommender [0-9a-f-]{36} ready: 5 users, 4 items, 20 interactions/);
    await withDeps(async (deps) => {
      const [row] = await deps.database.db.select().from(recommenderModels).orderBy(desc(recommenderModels.id)).limit(1);
      expect(row!.state).toBe('ready');
      expect(await deps.storage.stat(row!.storageKey!)).not.toBeNull();
    });
  });

  it('an unknown model name is refused', async () => {
    const run = await cli(['ml', 'train', 'nonsense']);
    expect(run.code).not.toBe(0);
  });
});
