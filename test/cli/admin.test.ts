import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { users } from '../../src/modules/users/tables.js';
import { closeDeps, createDeps, type Deps } from '../../src/platform/deps.js';
import { createLogger } from '../../src/platform/logger.js';
import { testConfig } from '../support/app.js';
import { injectClient } from '../support/auth.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

const repo = path.resolve(import.meta.dirname, '../..');
const PASSWORD = 'a long admin passphrase 2026!';
// Shared by the CLI and the app opened afterwards: signing keys made by `rotate-keys` are sealed with it.
const SECRET_KEY = randomBytes(32).toString('hex');

let dataDir: string;
let tdb: TestDatabase;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'sf-cli-admin-'));
  // On PostgreSQL the child gets a database of its own; embedded, it creates one in DATA_DIR.
  tdb = await createTestDatabase();
});
afterAll(async () => {
  await tdb?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `node bin/social-flow.js ...` as an operator would run it, stdin not a terminal. */
function cli(args: string[], extra: Record<string, string> = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['DATABASE_URL', 'REDIS_URL', 'DATA_DIR', 'NODE_OPTIONS', 'VITEST', 'VITEST_POOL_ID', 'VITEST_WORKER_ID', 'SOCIAL_FLOW_ADMIN_PASSWORD']) delete env[k];
  Object.assign(env, { DATA_DIR: dataDir, SECRET_KEY, LOG_LEVEL: 'warn' }, tdb.databaseUrl ? { DATABASE_URL: tdb.databaseUrl } : {}, process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}, extra);
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['bin/social-flow.js', ...args], { cwd: repo, env, encoding: 'utf8', timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
    child.stdin?.end();
  });
}

/** The server's view of the same data dir or database, opened after the CLI has exited. */
async function withApp<T>(fn: (deps: Deps, call: ReturnType<typeof injectClient>) => Promise<T>): Promise<T> {
  const config = testConfig(dataDir, tdb.databaseUrl, { SECRET_KEY });
  const deps = await createDeps(config, createLogger('silent'), { cacheKeyPrefix: `sft:${randomBytes(4).toString('hex')}:` });
  const app = await buildApp(deps);
  try {
    return await fn(deps, injectClient(app));
  } finally {
    await app.close();
    await closeDeps(deps);
  }
}

const lines = (s: string) => s.split('\n').filter(Boolean);

describe('social-flow admin', () => {
  let rotatedKid: string;

  it('create makes a verified admin from SOCIAL_FLOW_ADMIN_PASSWORD, prints one line and never the password', async () => {
    const run = await cli(['admin', 'create', '--email', 'Root@Example.test', '--username', 'root_admin'], { SOCIAL_FLOW_ADMIN_PASSWORD: PASSWORD });
    expect(run.code, run.stderr).toBe(0);
    expect(lines(run.stdout)).toEqual([expect.stringMatching(/^admin root_admin created \(id [0-9a-f-]{36}\); sign in with root@example\.test$/)]);
    expect(run.stdout + run.stderr).not.toContain(PASSWORD);

    const again = await cli(['admin', 'create', '--email', 'root@example.test', '--username', 'root_admin'], { SOCIAL_FLOW_ADMIN_PASSWORD: PASSWORD });
    expect(again.code, again.stderr).toBe(0);
    expect(lines(again.stdout)).toEqual([expect.stringMatching(/already an admin; nothing changed/)]);
  }, 180_000);

  it('failures are one line on stderr and exit 1', async () => {
    const weak = await cli(['admin', 'create', '--email', 'two@example.test', '--username', 'second_admin', '--password', 'password1']);
    expect(weak.code).toBe(1);
    expect(weak.stdout).toBe('');
    expect(lines(weak.stderr)).toEqual([expect.stringMatching(/^social-flow: admin create failed: password/)]);
    expect(weak.stderr).not.toContain('password1');

    const noPassword = await cli(['admin', 'create', '--email', 'two@example.test', '--username', 'second_admin']);
    expect(noPassword.code).toBe(1);
    expect(lines(noPassword.stderr)).toEqual([expect.stringMatching(/SOCIAL_FLOW_ADMIN_PASSWORD/)]);

    // The username exists with another address: promoting it could hand power to a stranger.
    const mismatch = await cli(['admin', 'create', '--email', 'someone-else@example.test', '--username', 'root_admin'], { SOCIAL_FLOW_ADMIN_PASSWORD: PASSWORD });
    expect(mismatch.code).toBe(1);
    expect(lines(mismatch.stderr)).toEqual([expect.stringMatching(/admin create failed: username root_admin is taken by an account with another email/)]);
  }, 180_000);

  it('rotate-keys makes a new signing key', async () => {
    const run = await cli(['admin', 'rotate-keys']);
    expect(run.code, run.stderr).toBe(0);
    const m = /^new signing key ([0-9a-f-]{36});/.exec(run.stdout);
    expect(m).not.toBeNull();
    rotatedKid = m![1]!;
  }, 240_000);

  it('the server then lets the admin sign in and shows what the CLI did in the audit log', async () => {
    await withApp(async (_deps, call) => {
      const login = await call('POST', '/api/v1/auth/login', { body: { login: 'root_admin', password: PASSWORD } });
      expect(login.status, JSON.stringify(login.body)).toBe(200);
      expect(login.body.user).toMatchObject({ username: 'root_admin', email: 'root@example.test', role: 'admin', emailVerified: true, state: 'active' });
      const token = login.body.accessToken as string;
      const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as { kid: string };
      expect(header.kid).toBe(rotatedKid);

      const log = await call('GET', '/api/v1/admin/audit-log', { token });
      expect(log.status).toBe(200);
      const items = log.body.items as { action: string; actorId: string | null; targetId: string }[];
      expect(items.map((i) => i.action)).toEqual(['keys.rotate', 'admin.create']);
      expect(items.every((i) => i.actorId === null)).toBe(true);
      expect(items[0]!.targetId).toBe(rotatedKid);
      expect(items[1]!.targetId).toBe((login.body.user as { id: string }).id);
    });
  }, 240_000);

  it('create promotes an existing account named by its username and email, keeping its password', async () => {
    const id = uuidv7();
    await withApp(async (deps) => {
      await deps.database.db.insert(users).values({ id, username: 'later_mod', email: 'later@example.test', role: 'moderator', emailVerifiedAt: new Date() });
    });
    const run = await cli(['admin', 'create', '--email', 'later@example.test', '--username', 'Later_Mod'], { SOCIAL_FLOW_ADMIN_PASSWORD: PASSWORD });
    expect(run.code, run.stderr).toBe(0);
    expect(lines(run.stdout)).toEqual([`existing account later_mod (id ${id}) is now an admin; its password is unchanged`]);
    await withApp(async (deps) => {
      const [u] = await deps.database.db.select().from(users).where(eq(users.id, id));
      expect(u).toMatchObject({ role: 'admin', passwordHash: null });
    });
  }, 180_000);
});
