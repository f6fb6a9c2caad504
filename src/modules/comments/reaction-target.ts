import type { Deps } from '../../platform/deps.js';
import type { ReactionTargetAdapter } from '../reactions/service.js';
import { adjustCommentLikes, commentLikeCount, commentNotFound, commentsServiceFor, reconcileCommentLikes } from './service.js';

/** Comments as something to like: visible under the comment rules (and its target's), counter kept here. */
export function commentReactionTarget(deps: Deps): ReactionTargetAdapter {
  const comments = commentsServiceFor(deps);
  return {
    async assertReactable(tx, userId, id) {
      const c = await comments.visibleRow(tx, userId, id);
      if (!c) throw commentNotFound();
      return c.authorId;
    },
    adjustLikes: adjustCommentLikes,
    likeCount: commentLikeCount,
    reconcileLikes: reconcileCommentLikes,
  };
}
