import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { instanceSettings } from '../../src/platform/db/tables.js';
import { Jobs } from '../../src/platform/jobs/index.js';
import { createLogger } from '../../src/platform/logger.js';
import { createTestEnv, type TestEnv } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { pollUntil } from '../support/poll.js';

declare module '../../src/platform/jobs/index.js' {
  interface JobPayloads {
    'test.record': { tag: string };
    'test.always_fails': { tag: string };
    'test.slow': { ms: number };
  }
}

const waitFor = pollUntil;

describe('jobs on pg-boss', () => {
  let env: TestEnv;
  let jobs: Jobs;
  const ran: string[] = [];
  const failures: number[] = [];

  beforeAll(async () => {
    env = await createTestEnv();
    // Definitions are fixed at start(): these test jobs get a Jobs instance of their own on the same database.
    jobs = new Jobs(env.deps.database, createLogger('silent'), { concurrency: 1, retryLimit: 0, retryDelaySeconds: 1, pollingIntervalSeconds: 0.5 });
    jobs.define({ name: 'test.record', handler: async (d) => void ran.push(d.tag), retryLimit: 0 });
    jobs.define({
      name: 'test.always_fails',
      retryLimit: 2,
      retryDelaySeconds: 1,
      handler: async (_d, ctx) => {
        failures.push(ctx.retryCount);
        throw new Error('this job cannot succeed');
      },
    });
    await jobs.start();
    await jobs.work();
  });
  afterAll(async () => {
    await jobs?.stop(1000);
    await env?.close();
  });

  it('a job enqueued in a transaction that rolls back never runs; a committed one does', async () => {
    await expect(
      env.deps.database.transaction(async (tx) => {
        await tx.insert(instanceSettings).values({ key: 'rolled.back', value: 1 });
        await jobs.send('test.record', { tag: 'rolled-back' }, { tx });
        throw new Error('abort the transaction');
      }),
    ).rejects.toThrow('abort the transaction');
    await env.deps.database.transaction(async (tx) => {
      await tx.insert(instanceSettings).values({ key: 'committed', value: 1 });
      await jobs.send('test.record', { tag: 'committed' }, { tx });
    });
    await waitFor(() => ran.includes('committed'), 'the committed job');
    // The committed job ran after the rolled-back one would have: had it existed, it would be here by now.
    await jobs.send('test.record', { tag: 'marker' });
    await waitFor(() => ran.includes('marker'), 'the marker job');
    expect(ran).not.toContain('rolled-back');
    const { rows } = await env.deps.database.query<{ n: number }>("select count(*)::int as n from pgboss.job where data->>'tag' = 'rolled-back'");
    expect(rows[0]?.n).toBe(0);
  });

  it('retries with back-off, then moves a job that keeps failing to the dead-letter queue', async () => {
    const id = await jobs.send('test.always_fails', { tag: 'doomed' });
    expect(id).not.toBe('');
    const dead = await waitFor(async () => {
      const d = await jobs.deadLetters('test.always_fails');
      return d.length ? d : null;
    }, 'the dead letter');
    expect(failures).toEqual([0, 1, 2]);
    expect(dead[0]?.data).toEqual({ tag: 'doomed' });
    const counts = await jobs.counts();
    expect(counts['test.always_fails']?.failed).toBe(1);
    expect(counts['test.always_fails']?.dead).toBe(1);
    // The delays doubled: the third attempt came at least 1 s + 2 s after the first.
    const { rows } = await env.deps.database.query<{ retry_backoff: boolean; retry_delay: number }>(
      "select retry_backoff, retry_delay from pgboss.job where name = 'test_always_fails'",
    );
    expect(rows[0]).toEqual({ retry_backoff: true, retry_delay: 1 });
  });
});

describe('waking idle workers', () => {
  let env: TestEnv;
  let worker: Jobs;
  let sender: Jobs;
  const ran = new Map<string, number>();

  beforeAll(async () => {
    env = await createTestEnv();
    // Idle slots poll once a minute: a job that runs within seconds was woken, not found by a poll.
    const opts = { concurrency: 1, retryLimit: 0, retryDelaySeconds: 1, pollingIntervalSeconds: 60, wake: env.deps.cache.pubsub };
    worker = new Jobs(env.deps.database, createLogger('silent'), opts);
    // A second instance that only sends: an API process (over Redis on the PostgreSQL column).
    sender = new Jobs(env.deps.database, createLogger('silent'), opts);
    for (const jobs of [worker, sender]) jobs.define({ name: 'test.record', handler: async (d) => void ran.set(d.tag, Date.now()), retryLimit: 0 });
    await worker.start();
    await sender.start();
    await worker.work();
    // Let every slot make its first (empty) fetch and fall asleep.
    await new Promise((r) => setTimeout(r, 1500));
  });
  afterAll(async () => {
    await sender?.stop(1000);
    await worker?.stop(1000);
    await env?.close();
  });

  it('a job sent directly, in a committed transaction, or by another process runs at once', async () => {
    // One at a time: each must be woken by its own send.
    await worker.send('test.record', { tag: 'direct' });
    await waitFor(() => ran.has('direct'), 'the job sent directly', { timeoutMs: 10_000 });
    await env.deps.database.transaction(async (tx) => {
      await worker.send('test.record', { tag: 'in-tx' }, { tx });
      // Not before the commit: a wake now would find nothing and the slot would sleep a minute.
      await new Promise((r) => setTimeout(r, 300));
    });
    await waitFor(() => ran.has('in-tx'), 'the job sent in a transaction', { timeoutMs: 10_000 });
    await sender.send('test.record', { tag: 'other-process' });
    await waitFor(() => ran.has('other-process'), 'the job sent by another instance', { timeoutMs: 10_000 });
    await sender.sendMany('test.record', [{ tag: 'many-1' }, { tag: 'many-2' }]);
    await waitFor(() => ran.has('many-1') && ran.has('many-2'), 'the jobs sent together', { timeoutMs: 10_000 });
  });
});

describe('graceful shutdown of a worker', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv();
  });
  afterAll(async () => env?.close());

  async function slowWorker(events: string[]) {
    const jobs = new Jobs(env.deps.database, createLogger('silent'), { concurrency: 1, retryLimit: 3, retryDelaySeconds: 1, pollingIntervalSeconds: 0.5 });
    jobs.define({
      name: 'test.slow',
      handler: async (d, ctx) => {
        events.push('start');
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(resolve, d.ms);
          ctx.signal.addEventListener('abort', () => {
            clearTimeout(t);
            events.push('aborted');
            reject(new Error('aborted'));
          });
        });
        events.push('done');
      },
    });
    await jobs.start();
    await jobs.work();
    return jobs;
  }

  const stateOf = async (id: string) =>
    (await env.deps.database.query<{ state: string }>('select state from pgboss.job where id = $1', [id])).rows[0]?.state;

  it('lets a running job finish within the grace period', async () => {
    const events: string[] = [];
    const jobs = await slowWorker(events);
    const id = await jobs.send('test.slow', { ms: 800 });
    await waitFor(() => events.includes('start'), 'the job to start');
    await jobs.stop(10_000);
    expect(events).toEqual(['start', 'done']);
    expect(await stateOf(id)).toBe('completed');
  });

  it('hands a job that outlasts the grace period back to the queue for another worker', async () => {
    const events: string[] = [];
    const jobs = await slowWorker(events);
    const id = await jobs.send('test.slow', { ms: 60_000 });
    await waitFor(() => events.includes('start'), 'the job to start');
    await jobs.stop(300);
    expect(events).toEqual(['start', 'aborted']);
    expect(await stateOf(id)).toBe('retry');
  });
});

describe('a worker killed with SIGKILL mid-job', () => {
  let dataDir: string;
  let tdb: TestDatabase;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'sf-crash-'));
    tdb = await createTestDatabase();
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await tdb.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  function child(mode: 'hang' | 'run', out: string, extra: string[]): ChildProcess {
    const template = tdb.databaseUrl ? '' : inject('pgliteTemplateFile');
    const c = spawn(process.execPath, ['--import', 'tsx', 'test/support/job-child.ts', mode, dataDir, tdb.databaseUrl ?? '', out, mode === 'hang' ? template : '', ...extra], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    children.push(c);
    return c;
  }

  it('runs the job again after a restart', async () => {
    const out = path.join(dataDir, 'attempts.log');
    const lines = () => (existsSync(out) ? readFileSync(out, 'utf8') : '');
    const first = child('hang', out, ['send']);
    await waitFor(() => lines().includes('hang start 7'), 'the first attempt to start', { timeoutMs: 60_000 });
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    expect(lines()).not.toContain('done 7');

    child('run', out, []);
    await waitFor(() => lines().includes('run done 7'), 'the job to run again after restart', { timeoutMs: 60_000 });
    expect(lines()).toMatch(/run start 7 attempt=[1-9]/);
  });
});
