import type { Deps } from '../../platform/deps.js';
import { job, type JobDefinition } from '../../platform/jobs/index.js';
import { recommendationsFor } from './service.js';
import { trainRecommender, TrainingBusy } from './trainer.js';

declare module '../../platform/jobs/index.js' {
  interface JobPayloads {
    /** Train a new recommender version from the engagement log; scheduled by RECOMMENDER_TRAIN_CRON. */
    'recommendations.train': Record<string, never>;
  }
}

export function recommendationsJobs(deps: Deps): JobDefinition[] {
  return [
    job({
      name: 'recommendations.train',
      cron: deps.config.discovery.recommenderTrainCron,
      scheduleData: {},
      retryLimit: 1,
      expireInSeconds: 60 * 60,
      concurrency: 1,
      handler: async () => {
        try {
          const row = await trainRecommender(deps);
          deps.logger.info({ modelId: row.id, users: row.users, items: row.items, interactions: row.interactions }, 'recommender trained');
          await recommendationsFor(deps).models.refresh();
        } catch (err) {
          // Someone else (the CLI, another worker) is training right now: this run has nothing to add.
          if (err instanceof TrainingBusy) return;
          throw err;
        }
      },
    }),
  ];
}
