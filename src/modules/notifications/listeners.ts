import type { Deps } from '../../platform/deps.js';
import { on, type EventSubscription } from '../../platform/events/index.js';
import '../comments/events.js';
import '../graph/events.js';
import '../moderation/events.js';
import '../posts/events.js';
import '../reactions/events.js';
import '../videos/events.js';
import { fansOut } from './fanout.js';
import { notificationServicesFor } from './services.js';
import type { SubjectType } from './types.js';

const subscriber = 'notifications';

/** Each domain event that tells someone something, turned into a delivery (rules applied there). */
export function notificationListeners(deps: Deps): EventSubscription[] {
  const { notifications: n } = notificationServicesFor(deps);
  const deliver = n.deliver.bind(n);
  return [
    on({
      event: 'user.followed',
      subscriber,
      // A follow made by approving a request tells the requester; a direct follow tells the followee.
      handler: async (e) =>
        void (e.approved
          ? await deliver({ recipientId: e.followerId, type: 'follow_accepted', actorId: e.followeeId, subject: { type: 'user', id: e.followeeId }, dedupeKey: `follow_accepted:${e.followeeId}` })
          : await deliver({ recipientId: e.followeeId, type: 'follow', actorId: e.followerId, groupKey: 'follow' })),
    }),
    on({
      event: 'follow.requested',
      subscriber,
      handler: async (e) => void (await deliver({ recipientId: e.targetId, type: 'follow_request', actorId: e.requesterId, subject: { type: 'user', id: e.requesterId } })),
    }),
    on({
      event: 'content.liked',
      subscriber,
      handler: async (e) =>
        void (await deliver({ recipientId: e.ownerId, type: 'like', actorId: e.userId, subject: { type: e.targetType as SubjectType, id: e.targetId }, groupKey: `like:${e.targetType}:${e.targetId}` })),
    }),
    on({
      event: 'post.reposted',
      subscriber,
      handler: async (e) => void (await deliver({ recipientId: e.postAuthorId, type: 'repost', actorId: e.userId, subject: { type: 'post', id: e.postId }, groupKey: `repost:post:${e.postId}` })),
    }),
    on({
      event: 'post.replied',
      subscriber,
      handler: async (e) =>
        void (await deliver({ recipientId: e.parentAuthorId, type: 'reply', actorId: e.authorId, subject: { type: 'post', id: e.postId }, data: { parentId: e.parentId }, dedupeKey: `reply:${e.postId}` })),
    }),
    on({
      event: 'post.quoted',
      subscriber,
      handler: async (e) =>
        void (await deliver({ recipientId: e.quotedAuthorId, type: 'quote', actorId: e.authorId, subject: { type: 'post', id: e.postId }, data: { quotedId: e.quotedId }, dedupeKey: `quote:${e.postId}` })),
    }),
    on({
      event: 'user.mentioned',
      subscriber,
      handler: async (e) => void (await deliver({ recipientId: e.userId, type: 'mention', actorId: e.authorId, subject: { type: 'post', id: e.postId }, dedupeKey: `mention:${e.postId}` })),
    }),
    on({
      event: 'comment.created',
      subscriber,
      handler: async (e) => {
        const data = { [`${e.targetType}Id`]: e.targetId, commentId: e.commentId };
        // The parent's author hears of the reply; the target's owner of the comment (once, if both).
        if (e.parentAuthorId) {
          await deliver({ recipientId: e.parentAuthorId, type: 'comment_reply', actorId: e.authorId, subject: { type: 'comment', id: e.commentId }, data, dedupeKey: `comment_reply:${e.commentId}` });
        }
        if (e.targetOwnerId !== e.parentAuthorId) {
          await deliver({ recipientId: e.targetOwnerId, type: 'comment', actorId: e.authorId, subject: { type: e.targetType, id: e.targetId }, data, groupKey: `comment:${e.targetType}:${e.targetId}` });
        }
      },
    }),
    on({
      event: 'video.published',
      subscriber,
      handler: async (e) => {
        if (fansOut(e.visibility)) await deps.jobs.send('notifications.fanout-plan', { videoId: e.videoId, ownerId: e.ownerId });
      },
    }),
    on({
      event: 'video.ready',
      subscriber,
      handler: async (e) => void (await deliver({ recipientId: e.ownerId, type: 'video_ready', actorId: null, subject: { type: 'video', id: e.videoId }, dedupeKey: `video_ready:${e.videoId}` })),
    }),
    on({
      event: 'video.failed',
      subscriber,
      handler: async (e) =>
        void (await deliver({ recipientId: e.ownerId, type: 'video_failed', actorId: null, subject: { type: 'video', id: e.videoId }, data: { reason: e.reason }, dedupeKey: `video_failed:${e.videoId}` })),
    }),
    on({
      event: 'moderation.actioned',
      subscriber,
      // The moderator stays anonymous, and the author must hear of it even when the content is now hidden.
      handler: async (e) =>
        void (await deliver({
          recipientId: e.authorId,
          type: 'moderation',
          actorId: null,
          subject: e.targetType === 'chat_message' ? null : { type: e.targetType, id: e.targetId },
          checkSubject: false,
          data: { action: e.action, reason: e.reason, targetType: e.targetType, targetId: e.targetId },
          dedupeKey: `moderation:${e.actionId}`,
        })),
    }),
    on({ event: 'post.deleted', subscriber, handler: async (e) => n.removeBySubject('post', e.postId) }),
    on({ event: 'comment.deleted', subscriber, handler: async (e) => n.removeBySubject('comment', e.commentId) }),
    on({ event: 'user.blocked', subscriber, handler: async (e) => n.forgetBetween(e.blockerId, e.blockedId) }),
  ];
}
