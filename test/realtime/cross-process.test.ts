import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/app.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import type { Config } from '../../src/config.js';
import { createLogger } from '../../src/platform/logger.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { createTestEnv, testConfig, type TestEnv } from '../support/app.js';
import { httpClient, signUp } from '../support/auth.js';
import { WsClient } from './ws-client.js';

const shared = Boolean(process.env.DATABASE_URL && process.env.REDIS_URL);

/**
 * An action through one server reaches a WebSocket on another. On PostgreSQL + Redis the second
 * server is a separate OS process (API role only) sharing the database and Redis: delivery goes
 * through Redis pub/sub. The embedded column cannot share a PGlite database between processes,
 * so there the same scenario runs on two app instances (two ports) of one process, which share
 * only the in-process pub/sub.
 */
if (shared) describe('two app processes on PostgreSQL + Redis (needs DATABASE_URL and REDIS_URL)', () => {
  let a: RunningServer & { url: string; config: Config };
  let child: ChildProcess;
  let bUrl: string;
  let tdb: TestDatabase;
  let dataDir: string;

  beforeAll(async () => {
    tdb = await createTestDatabase();
    const secret = randomBytes(32).toString('hex');
    const prefix = `sft:${randomBytes(4).toString('hex')}:`;
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'sf-procs-'));
    const config = testConfig(path.join(dataDir, 'a'), tdb.databaseUrl, { SECRET_KEY: secret });
    const started = await startServer(config, createLogger(config.logLevel), ['api', 'worker'], { migrate: false, cacheKeyPrefix: prefix, jobPollingIntervalSeconds: 0.5, onProgress: () => {} });
    a = { ...started, url: started.url!, config };
    child = spawn(process.execPath, ['--import', 'tsx', 'test/realtime/server-child.ts'], {
      env: { ...process.env, DATABASE_URL: tdb.databaseUrl, SECRET_KEY: secret, CACHE_PREFIX: prefix, DATA_DIR: path.join(dataDir, 'b') },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    bUrl = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening (\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`process B exited with ${code}`)));
    });
  });
  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    await a?.stop();
    await tdb?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('a follow made through process A reaches a WebSocket connected to process B', async () => {
    expect(new URL(bUrl).port).not.toBe(new URL(a.url).port);
    const call = httpClient(a.url);
    const [alice, bob] = [await signUp(call, a.config.dataDir), await signUp(call, a.config.dataDir)];
    const ws = await WsClient.authed(bUrl, alice.accessToken);
    try {
      expect((await call('POST', `/api/v1/users/${alice.username}/follow`, { token: bob.accessToken })).status).toBeLessThan(300);
      const m = await ws.next((x) => x.type === 'notification');
      expect(m.data).toMatchObject({ type: 'follow', actors: [{ id: bob.id }] });
    } finally {
      ws.close();
    }
  });
});

else describe('two app instances of one process (embedded column: a PGlite database cannot be shared between processes)', () => {
  let env: TestEnv;
  let second: App;
  let aUrl: string;
  let bUrl: string;

  beforeAll(async () => {
    env = await createTestEnv();
    second = await buildApp(env.deps);
    const listen = async (app: App) => {
      await app.listen({ port: 0, host: '127.0.0.1' });
      return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    };
    aUrl = await listen(env.app);
    bUrl = await listen(second);
  });
  afterAll(async () => {
    await second?.close();
    await env?.close();
  });

  it('a follow made through instance A reaches a WebSocket connected to instance B', async () => {
    const call = httpClient(aUrl);
    const [alice, bob] = [await signUp(call, env.dataDir), await signUp(call, env.dataDir)];
    const ws = await WsClient.authed(bUrl, alice.accessToken);
    try {
      expect((await call('POST', `/api/v1/users/${alice.username}/follow`, { token: bob.accessToken })).status).toBeLessThan(300);
      const m = await ws.next((x) => x.type === 'notification');
      expect(m.data).toMatchObject({ type: 'follow', actors: [{ id: bob.id }] });
    } finally {
      ws.close();
    }
  });
});
