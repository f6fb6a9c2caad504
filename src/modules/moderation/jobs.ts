import type { Deps } from '../../platform/deps.js';
import { on, type EventSubscription } from '../../platform/events/index.js';
import { job, type JobDefinition } from '../../platform/jobs/index.js';
import '../comments/events.js';
import '../posts/events.js';
import '../videos/events.js';
import { scoreTarget } from './scoring.js';
import { scoreCommentSentiment } from './sentiment.js';
import { moderationServiceFor } from './service.js';
import { retrain } from './training.js';

declare module '../../platform/jobs/index.js' {
  interface JobPayloads {
    /** Scheduled: retrain the offensive and spam classifiers from moderators' labels and the seed data. */
    'moderation.retrain': { force?: boolean };
  }
}

/** Scoring runs on workers, after the write committed: the request pays only for the inline pre-check. */
export function moderationListeners(deps: Deps): EventSubscription[] {
  const targets = () => moderationServiceFor(deps).targets;
  const score = (type: 'post' | 'comment' | 'video', id: string, text: string) => (text.trim() === '' ? Promise.resolve() : scoreTarget(deps, targets(), type, id).then(() => {}));
  return [
    on({ event: 'post.created', subscriber: 'moderation', handler: (p) => score('post', p.postId, p.text) }),
    on({ event: 'post.edited', subscriber: 'moderation', handler: (p) => score('post', p.postId, p.text) }),
    on({ event: 'comment.created', subscriber: 'moderation', handler: (p) => score('comment', p.commentId, p.text) }),
    on({ event: 'comment.edited', subscriber: 'moderation', handler: (p) => score('comment', p.commentId, p.text) }),
    // Titles and descriptions: the job reads the current text, so a later edit is never scored stale.
    on({ event: 'video.created', subscriber: 'moderation', handler: (p) => score('video', p.videoId, p.text) }),
    on({ event: 'video.updated', subscriber: 'moderation', handler: (p) => (p.textChanged ? scoreTarget(deps, targets(), 'video', p.videoId).then(() => {}) : Promise.resolve()) }),
    on({ event: 'comment.created', subscriber: 'sentiment', handler: (p) => scoreCommentSentiment(deps, p) }),
    on({ event: 'comment.edited', subscriber: 'sentiment', handler: (p) => scoreCommentSentiment(deps, p) }),
  ];
}

export function moderationJobs(deps: Deps): JobDefinition[] {
  return [
    job({
      name: 'moderation.retrain',
      cron: deps.config.moderation.retrainCron,
      scheduleData: {},
      retryLimit: 1,
      // Training on a large seed set takes minutes, not the default expiry.
      expireInSeconds: 3600,
      handler: async (data) => {
        await retrain(deps, { force: data.force === true });
      },
    }),
  ];
}
