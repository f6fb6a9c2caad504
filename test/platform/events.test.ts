import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instanceSettings } from '../../src/platform/db/tables.js';
import { Events, on } from '../../src/platform/events/index.js';
import { Jobs } from '../../src/platform/jobs/index.js';
import { createLogger } from '../../src/platform/logger.js';
import { createTestEnv, type TestEnv } from '../support/app.js';
import { pollUntil } from '../support/poll.js';

declare module '../../src/platform/events/index.js' {
  interface DomainEvents {
    'test.happened': { tag: string };
    'test.unheard': { tag: string };
  }
}

const waitFor = pollUntil;

describe('domain events on the job queue', () => {
  let env: TestEnv;
  let jobs: Jobs;
  let events: Events;
  const heardByA: string[] = [];
  const heardByB: string[] = [];
  let bFailures = 0;

  beforeAll(async () => {
    env = await createTestEnv();
    jobs = new Jobs(env.deps.database, createLogger('silent'), { concurrency: 1, retryLimit: 0, retryDelaySeconds: 1, pollingIntervalSeconds: 0.5 });
    events = new Events(jobs);
    events.subscribe(on({ event: 'test.happened', subscriber: 'a', handler: async (p) => void heardByA.push(p.tag) }));
    events.subscribe(
      on({
        event: 'test.happened',
        subscriber: 'b',
        retryLimit: 2,
        retryDelaySeconds: 1,
        handler: async (p) => {
          // B fails once: its retry must not make A hear the event twice.
          if (p.tag === 'flaky' && bFailures++ === 0) throw new Error('first attempt fails');
          heardByB.push(p.tag);
        },
      }),
    );
    await jobs.start();
    await jobs.work();
  });
  afterAll(async () => {
    await jobs?.stop(1000);
    await env?.close();
  });

  it('every listener hears a committed event once; an event of a rolled-back transaction is never heard', async () => {
    await expect(
      env.deps.database.transaction(async (tx) => {
        await tx.insert(instanceSettings).values({ key: 'ev.rolled', value: 1 });
        await events.publish('test.happened', { tag: 'rolled-back' }, { tx });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    await env.deps.database.transaction(async (tx) => {
      await tx.insert(instanceSettings).values({ key: 'ev.committed', value: 1 });
      await events.publish('test.happened', { tag: 'committed' }, { tx });
    });
    await events.publish('test.happened', { tag: 'flaky' });
    await waitFor(() => heardByA.includes('flaky') && heardByB.includes('flaky') && heardByB.includes('committed'), 'both listeners');
    expect(heardByA.sort()).toEqual(['committed', 'flaky']);
    expect(heardByB.sort()).toEqual(['committed', 'flaky']);
    expect(bFailures).toBe(2);
    const { rows } = await env.deps.database.query<{ n: number }>("select count(*)::int as n from pgboss.job where data->>'tag' = 'rolled-back'");
    expect(rows[0]?.n).toBe(0);
  });

  it('an event nobody listens to enqueues nothing, and a listener cannot register twice', async () => {
    const before = await env.deps.database.query<{ n: number }>('select count(*)::int as n from pgboss.job');
    await events.publish('test.unheard', { tag: 'x' });
    const after = await env.deps.database.query<{ n: number }>('select count(*)::int as n from pgboss.job');
    expect(after.rows[0]?.n).toBe(before.rows[0]?.n);
    expect(events.listenersOf('test.happened')).toEqual(['on.test.happened.a', 'on.test.happened.b']);
    expect(() => events.subscribe(on({ event: 'test.happened', subscriber: 'a', handler: async () => {} }))).toThrow(/already listens/);
  });
});
