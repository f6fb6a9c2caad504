import type { Deps } from '../../platform/deps.js';
import { on, type EventSubscription } from '../../platform/events/index.js';
import '../comments/events.js';
import { publishRealtime } from './publish.js';

const subscriber = 'realtime';

/** Channel events other modules' domain events feed (each runs as a job, then pub/sub to sockets). */
export function realtimeListeners(deps: Deps): EventSubscription[] {
  return [
    on({
      event: 'comment.created',
      subscriber,
      handler: async (e) => {
        if (e.targetType !== 'post') return;
        const channel = `post:${e.targetId}:comments`;
        const data = { id: e.commentId, postId: e.targetId, authorId: e.authorId, parentId: e.parentId, text: e.text };
        await publishRealtime(deps, channel, { type: 'comment', channel, data }, e.authorId);
      },
    }),
    on({
      event: 'comment.deleted',
      subscriber,
      handler: async (e) => {
        if (e.targetType !== 'post') return;
        const channel = `post:${e.targetId}:comments`;
        await publishRealtime(deps, channel, { type: 'comment_deleted', channel, data: { id: e.commentId, postId: e.targetId } }, null);
      },
    }),
  ];
}
