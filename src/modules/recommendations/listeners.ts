import type { Deps } from '../../platform/deps.js';
import { on, type EventSubscription } from '../../platform/events/index.js';
import '../comments/events.js';
import '../posts/events.js';
import '../reactions/events.js';
import '../videos/events.js';
import { recordEngagement, type Engagement } from './engagement.js';

/**
 * The engagement log is fed by the other modules' domain events, so no write path knows about
 * discovery. Each delivery writes rows keyed by its job id: a retried delivery inserts nothing twice.
 */
export function engagementListeners(deps: Deps): EventSubscription[] {
  const log = (e: Engagement) => recordEngagement(deps.database.db, [e]);
  const subscriber = 'engagement';
  return [
    // An author posting counts towards their hashtags' trends (never as taste: training skips `create`).
    on({ event: 'post.created', subscriber, handler: (p, ctx) => log({ id: ctx.id, userId: p.authorId, itemType: 'post', itemId: p.postId, creatorId: p.authorId, kind: 'create' }) }),
    on({ event: 'post.replied', subscriber, handler: (p, ctx) => log({ id: ctx.id, userId: p.authorId, itemType: 'post', itemId: p.parentId, creatorId: p.parentAuthorId, kind: 'comment' }) }),
    on({ event: 'post.reposted', subscriber, handler: (p, ctx) => log({ id: ctx.id, userId: p.userId, itemType: 'post', itemId: p.postId, creatorId: p.postAuthorId, kind: 'share' }) }),
    on({
      event: 'content.liked',
      subscriber,
      handler: async (p, ctx) => {
        if (p.targetType !== 'comment') await log({ id: ctx.id, userId: p.userId, itemType: p.targetType, itemId: p.targetId, creatorId: p.ownerId, kind: 'like' });
      },
    }),
    on({
      event: 'content.saved',
      subscriber,
      handler: async (p, ctx) => {
        if (p.targetType !== 'comment') await log({ id: ctx.id, userId: p.userId, itemType: p.targetType, itemId: p.targetId, creatorId: p.ownerId, kind: 'save' });
      },
    }),
    on({
      event: 'comment.created',
      subscriber,
      handler: (p, ctx) => log({ id: ctx.id, userId: p.authorId, itemType: p.targetType, itemId: p.targetId, creatorId: p.targetOwnerId, kind: 'comment' }),
    }),
    // The video's owner is looked up (creatorId left out): an owner watching their own video is no signal.
    on({ event: 'video.viewed', subscriber, handler: (p, ctx) => log({ id: ctx.id, userId: p.viewerId, itemType: 'video', itemId: p.videoId, kind: 'view', at: new Date(p.at) }) }),
    on({ event: 'video.completed', subscriber, handler: (p, ctx) => log({ id: ctx.id, userId: p.userId, itemType: 'video', itemId: p.videoId, kind: 'complete' }) }),
  ];
}
