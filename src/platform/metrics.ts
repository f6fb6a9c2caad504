import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { JobStateCounts } from './jobs/index.js';

/** One registry per app instance (never prom-client's global one): tests run many apps in one process. */
export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  httpErrors: Counter<'code'>;
}

export function createMetrics(opts: { jobCounts?: () => Promise<JobStateCounts>; defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route template, method and status',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const httpErrors = new Counter({
    name: 'http_errors_total',
    help: 'Error responses by problem code',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const jobCounts = opts.jobCounts;
  if (jobCounts) {
    new Gauge({
      name: 'jobs',
      help: 'Background jobs by queue and state (dead = in the dead-letter queue)',
      labelNames: ['queue', 'state'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        const counts = await jobCounts();
        for (const [queue, states] of Object.entries(counts)) {
          for (const [state, n] of Object.entries(states)) this.set({ queue, state }, n);
        }
      },
    });
  }
  return { registry, httpDuration, httpErrors };
}
