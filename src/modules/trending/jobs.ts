import type { Deps } from '../../platform/deps.js';
import { job, type JobDefinition } from '../../platform/jobs/index.js';
import { trendingServiceFor } from './service.js';

declare module '../../platform/jobs/index.js' {
  interface JobPayloads {
    /** Recompute every trending list (kinds x windows); scheduled by TRENDING_CRON. */
    'trending.compute': Record<string, never>;
  }
}

export function trendingJobs(deps: Deps): JobDefinition[] {
  return [
    job({
      name: 'trending.compute',
      cron: deps.config.discovery.trendingCron,
      scheduleData: {},
      retryLimit: 1,
      // Lists are replaced whole, so a run that overlaps or repeats another is harmless.
      handler: async () => {
        const t0 = performance.now();
        await trendingServiceFor(deps).refreshAll();
        deps.logger.debug({ ms: Math.round(performance.now() - t0) }, 'trending lists computed');
      },
    }),
  ];
}
