import PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import type { PubSub } from '../cache/types.js';
import { afterCommit, executeRaw, type Database, type Tx } from '../db/index.js';

/**
 * Typed job names and payloads. Each module adds its own jobs by declaration merging in its
 * `jobs.ts` (PeerTube's CreateJobArgument map):
 *
 *   declare module '../../platform/jobs/index.js' {
 *     interface JobPayloads { 'videos.transcode': { videoId: string } }
 *   }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface JobPayloads {}

export type JobName = keyof JobPayloads & string;

export interface JobContext {
  id: string;
  name: string;
  /** 0 on the first attempt. */
  retryCount: number;
  /** Aborted when the worker is shutting down and the grace period ran out. */
  signal: AbortSignal;
}

export type JobHandler<N extends JobName> = (data: JobPayloads[N], ctx: JobContext) => Promise<void>;

export interface JobDefinition<N extends JobName = JobName> {
  name: N;
  handler: JobHandler<N>;
  /** Attempts after the first. Default from config (JOB_RETRY_LIMIT). */
  retryLimit?: number;
  /** Seconds before the first retry; doubled each time (exponential back-off). */
  retryDelaySeconds?: number;
  /** A job still active after this long is taken as lost (its worker died) and retried. */
  expireInSeconds?: number;
  /** Parallel jobs of this kind per worker process. Default from config (JOB_CONCURRENCY). */
  concurrency?: number;
  /** Run on a schedule (cron, UTC), with `scheduleData` as payload; pg-boss makes sure one process sends it. */
  cron?: string;
  scheduleData?: JobPayloads[N];
}

/** Keeps a definition's payload type checked while it joins a list of definitions of other jobs. */
export function job<N extends JobName>(def: JobDefinition<N>): JobDefinition {
  return def as unknown as JobDefinition;
}

export interface SendOptions {
  /** Enqueue inside the caller's transaction: the job exists only if the transaction commits. */
  tx?: Tx;
  startAfter?: Date | number;
  /** At most one queued job per key (e.g. one reconcile per user). */
  singletonKey?: string;
  priority?: number;
}

export interface JobsOptions {
  concurrency: number;
  retryLimit: number;
  retryDelaySeconds: number;
  /**
   * How often an idle worker slot looks for work without being woken (default 5 s). Jobs sent
   * through `send`/`sendMany` wake the slots of their queue at once (across processes through
   * `wake`), so this bounds only the delay of retries, delayed and scheduled jobs.
   */
  pollingIntervalSeconds?: number;
  maintenanceIntervalSeconds?: number;
  /** False: cron definitions are not scheduled (and earlier schedules are removed); tests only. */
  schedules?: boolean;
  /** Pub/sub that carries wake-ups to the worker processes (the cache platform's). */
  wake?: PubSub;
}

/** Channel of wake-ups: the message is the queue name. */
const WAKE_CHANNEL = 'jobs:wake';
/** Used when a job was sent in a transaction whose commit cannot be observed. */
const WAKE_FALLBACK_MS = 100;

export type JobStateCounts = Record<string, Record<'created' | 'retry' | 'active' | 'completed' | 'cancelled' | 'failed' | 'dead', number>>;

/** pg-boss accepts only word characters in queue names; ours read `module.action`. */
export const queueName = (name: string) => name.replace(/[^A-Za-z0-9_]/g, '_');
export const deadLetterQueue = (name: string) => `${queueName(name)}__dead`;

/**
 * Background jobs on pg-boss, in the same database as everything else (PGlite or PostgreSQL).
 * Every process defines every job (so any process can enqueue); only worker processes call work().
 */
export class Jobs {
  private boss: PgBoss;
  private defs = new Map<string, JobDefinition>();
  private active = new Map<string, { queue: string; controller: AbortController }>();
  private started = false;
  private working = false;
  /** Set once stop() has finished: pg-boss's fire-and-forget complete()/fail() calls are dropped from then on. */
  private closed = false;
  /** Worker ids of this process's slots, by queue. */
  private slots = new Map<string, string[]>();
  private pendingWake = new Set<string>();
  private stopWake: (() => Promise<void>) | undefined;

  constructor(
    private database: Database,
    private logger: Logger,
    private opts: JobsOptions,
  ) {
    this.boss = new PgBoss({
      db: {
        executeSql: (text: string, values?: unknown[]) => {
          // pg-boss completes or fails a job without awaiting it; one whose handler settles after
          // stop() (an aborted transcode, say) would query a closed pool and reject unhandled. Such
          // a job stays active and maintenance retries it once it expires, as after a killed worker.
          // No `rows` at all: pg-boss reads that as nothing fetched and nothing affected.
          if (this.closed) return Promise.resolve({} as { rows: unknown[] });
          return values && values.length ? database.query(text, values) : database.exec(text);
        },
      },
      schema: 'pgboss',
      // Expired (lost) jobs and retention are handled by maintenance; a short interval bounds how
      // long a job of a killed worker waits before it runs again.
      maintenanceIntervalSeconds: opts.maintenanceIntervalSeconds ?? 30,
      archiveCompletedAfterSeconds: 3600,
    } as PgBoss.ConstructorOptions);
    this.boss.on('error', (err: Error) => this.logger.error({ err }, 'job queue error'));
  }

  define<N extends JobName>(def: JobDefinition<N>): void {
    if (this.started) throw new Error(`job ${def.name} defined after start()`);
    this.defs.set(def.name, def as unknown as JobDefinition);
  }

  /** Install pg-boss's schema (first run) and create every defined queue with its dead-letter queue. */
  async start(): Promise<void> {
    if (this.started) return;
    this.closed = false;
    await this.boss.start();
    this.started = true;
    for (const def of this.defs.values()) {
      const name = queueName(def.name);
      const dead = deadLetterQueue(def.name);
      const options = {
        retryLimit: def.retryLimit ?? this.opts.retryLimit,
        retryDelay: def.retryDelaySeconds ?? this.opts.retryDelaySeconds,
        retryBackoff: true,
        expireInSeconds: def.expireInSeconds ?? 15 * 60,
        deadLetter: dead,
      };
      if (!(await this.boss.getQueue(dead))) await this.boss.createQueue(dead, { name: dead, retryLimit: 0 });
      if (await this.boss.getQueue(name)) await this.boss.updateQueue(name, { name, ...options });
      else await this.boss.createQueue(name, { name, ...options });
      if (def.cron) {
        // Tests that send scheduled jobs themselves turn schedules off (a tick between two steps races them).
        if (this.opts.schedules === false) await this.boss.unschedule(name);
        else await this.boss.schedule(name, def.cron, (def.scheduleData ?? {}) as object, { tz: 'UTC' });
      }
    }
  }

  private assertSendable(name: string): void {
    if (!this.defs.has(name)) throw new Error(`unknown job ${name}`);
    if (this.closed) throw new Error(`job queue stopped: cannot send ${name}`);
  }

  async send<N extends JobName>(name: N, data: JobPayloads[N], options: SendOptions = {}): Promise<string> {
    this.assertSendable(name);
    const { tx, ...rest } = options;
    const sendOptions: PgBoss.SendOptions = {};
    if (rest.startAfter !== undefined) sendOptions.startAfter = rest.startAfter instanceof Date ? rest.startAfter : rest.startAfter;
    if (rest.singletonKey !== undefined) sendOptions.singletonKey = rest.singletonKey;
    if (rest.priority !== undefined) sendOptions.priority = rest.priority;
    if (tx) sendOptions.db = { executeSql: (text: string, values: unknown[]) => executeRaw(tx, text, values) };
    const id = await this.boss.send(queueName(name), data as object, sendOptions);
    if (id) this.wakeAfter(queueName(name), tx);
    // null means a singleton job with this key is already queued: report the existing one's absence honestly.
    return id ?? '';
  }

  /**
   * Enqueue many jobs of one kind in one statement (pg-boss insert): the queue's retry and
   * dead-letter policy apply as with send(). For fan-outs that queue hundreds of pages at once.
   */
  async sendMany<N extends JobName>(name: N, data: JobPayloads[N][], options: Pick<SendOptions, 'tx' | 'priority'> = {}): Promise<void> {
    this.assertSendable(name);
    if (data.length === 0) return;
    const queue = queueName(name);
    const insertOptions: PgBoss.InsertOptions = {};
    if (options.tx) {
      const tx = options.tx;
      insertOptions.db = { executeSql: (text: string, values: unknown[]) => executeRaw(tx, text, values) };
    }
    await this.boss.insert(
      data.map((d) => ({ name: queue, data: d as object, ...(options.priority !== undefined ? { priority: options.priority } : {}) })),
      insertOptions,
    );
    this.wakeAfter(queue, options.tx);
  }

  /** Wake the queue's workers once the job is visible: now, or when `tx` has committed. */
  private wakeAfter(queue: string, tx: Tx | undefined): void {
    if (!tx) return this.wake(queue);
    if (!afterCommit(tx, () => this.wake(queue))) setTimeout(() => this.wake(queue), WAKE_FALLBACK_MS).unref();
  }

  /** Wake-ups of one tick leave together, one message per queue. */
  private wake(queue: string): void {
    if (this.closed) return;
    if (this.pendingWake.size === 0) {
      setImmediate(() => {
        const queues = [...this.pendingWake];
        this.pendingWake.clear();
        if (this.closed) return;
        if (this.opts.wake) {
          this.opts.wake.publishMany(queues.map((q) => ({ channel: WAKE_CHANNEL, message: q }))).catch((err: unknown) => this.logger.warn({ err }, 'could not wake job workers; they find the jobs at their next poll'));
        } else {
          for (const q of queues) this.notifyLocal(q);
        }
      });
    }
    this.pendingWake.add(queue);
  }

  private notifyLocal(queue: string): void {
    for (const id of this.slots.get(queue) ?? []) this.boss.notifyWorker(id);
  }

  /** Start consuming every defined queue in this process (worker role). */
  async work(): Promise<void> {
    if (this.working) return;
    this.working = true;
    if (this.opts.wake) this.stopWake = await this.opts.wake.subscribe(WAKE_CHANNEL, (queue) => this.notifyLocal(queue));
    for (const def of this.defs.values()) {
      const queue = queueName(def.name);
      const concurrency = def.concurrency ?? this.opts.concurrency;
      for (let i = 0; i < concurrency; i++) {
        const slot: { workerId?: string } = {};
        slot.workerId = await this.boss.work(queue, { batchSize: 1, includeMetadata: true, pollingIntervalSeconds: this.opts.pollingIntervalSeconds ?? 5 }, async (batch) => {
          try {
            for (const job of batch) await this.runOne(def, queue, job);
          } finally {
            // pg-boss sleeps out the rest of the polling interval even after a job, which capped
            // every worker slot at one job per interval (a 100-page fan-out crawled). A slot that
            // just ran a job looks for the next one at once; an empty fetch still sleeps.
            if (batch.length > 0 && slot.workerId) this.boss.notifyWorker(slot.workerId);
          }
        });
        this.slots.set(queue, [...(this.slots.get(queue) ?? []), slot.workerId]);
      }
    }
  }

  private async runOne(def: JobDefinition, queue: string, job: PgBoss.JobWithMetadata<unknown>): Promise<void> {
    const controller = new AbortController();
    this.active.set(job.id, { queue, controller });
    const log = this.logger.child({ job: def.name, jobId: job.id, attempt: job.retryCount + 1 });
    const t0 = performance.now();
    try {
      await def.handler(job.data as never, { id: job.id, name: def.name, retryCount: job.retryCount, signal: controller.signal });
      log.info({ ms: Math.round(performance.now() - t0) }, 'job done');
    } catch (err) {
      const last = job.retryCount >= job.retryLimit;
      log.warn({ err, ms: Math.round(performance.now() - t0) }, last ? 'job failed; moved to dead-letter queue' : 'job failed; will retry');
      throw err;
    } finally {
      this.active.delete(job.id);
    }
  }

  /** Job counts by queue and state, for /metrics and the admin. */
  async counts(): Promise<JobStateCounts> {
    const { rows } = await this.database.query<{ name: string; state: string; n: string | number }>(
      'select name, state, count(*) as n from pgboss.job group by name, state',
    );
    const out: JobStateCounts = {};
    const blank = () => ({ created: 0, retry: 0, active: 0, completed: 0, cancelled: 0, failed: 0, dead: 0 });
    for (const def of this.defs.values()) out[def.name] = blank();
    const byQueue = new Map([...this.defs.keys()].map((n) => [queueName(n), n]));
    const byDead = new Map([...this.defs.keys()].map((n) => [deadLetterQueue(n), n]));
    for (const r of rows) {
      const live = byQueue.get(r.name);
      const dead = byDead.get(r.name);
      if (live) out[live]![r.state as 'created'] = Number(r.n);
      else if (dead && r.state !== 'completed') out[dead]!.dead += Number(r.n);
    }
    return out;
  }

  /** Jobs that exhausted their retries, with the error that ended them (admin / operations). */
  async deadLetters(name: JobName, limit = 50): Promise<{ id: string; data: unknown; createdOn: Date }[]> {
    const { rows } = await this.database.query<{ id: string; data: unknown; created_on: Date }>(
      'select id, data, created_on from pgboss.job where name = $1 order by created_on desc limit $2',
      [deadLetterQueue(name), limit],
    );
    return rows.map((r) => ({ id: r.id, data: r.data, createdOn: r.created_on }));
  }

  /** Wait until no job runs in this process, or `ms` have passed. */
  private async drained(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.active.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }

  /**
   * Stop fetching; give running jobs `timeoutMs` to finish; any still running after that are
   * aborted and failed back to the queue so another worker retries them.
   */
  async stop(timeoutMs: number): Promise<void> {
    if (!this.started) return;
    const pending = [...this.active.entries()];
    if (this.working) {
      await this.stopWake?.().catch(() => {});
      this.stopWake = undefined;
      this.slots.clear();
      for (const def of this.defs.values()) await this.boss.offWork(queueName(def.name)).catch(() => {});
    }
    await this.drained(timeoutMs);
    const unfinished = this.active.size;
    for (const [id, { queue, controller }] of this.active) {
      controller.abort();
      await this.boss.fail(queue, id, { message: 'worker shut down before the job finished' }).catch(() => {});
    }
    // Aborted handlers get a moment to unwind so pg-boss's own bookkeeping for them runs while the
    // database is still open.
    await this.drained(2000);
    await new Promise((r) => setImmediate(r));
    if (pending.length || unfinished) this.logger.info({ unfinished }, 'job workers stopped');
    await this.boss.stop({ graceful: false, close: false, wait: true, timeout: 1000 });
    this.started = false;
    this.working = false;
    this.closed = true;
  }
}
