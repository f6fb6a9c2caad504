import { likesPerTarget, reconcileCounter } from '../../platform/db/counters.js';
import { and, eq, sql } from 'drizzle-orm';
import type { CommentTargetAdapter } from '../comments/service.js';
import type { ReactionTargetAdapter } from '../reactions/service.js';
import { visibleVideoRows } from './rules.js';
import { videoNotFound, videosServiceFor } from './service.js';
import type { Deps } from '../../platform/deps.js';
import { videos } from './tables.js';

/** Videos as something to like and save ("watch later"): visibility by the video rules, like_count moved in the like's transaction. */
export function videoReactionTarget(deps: Deps): ReactionTargetAdapter {
  return {
    // Saved videos as the saver may see them now ('direct': an unlisted one saved by link stays listed for them).
    present: (viewerId, ids) => videosServiceFor(deps).present(viewerId, ids, 'direct'),
    async assertReactable(tx, userId, id) {
      const v = (await visibleVideoRows(tx, userId, [id], 'direct')).get(id);
      if (!v) throw videoNotFound();
      return v.video.ownerId;
    },
    async adjustLikes(tx, id, delta) {
      const [row] = await tx
        .update(videos)
        .set({ likeCount: sql`greatest(0, ${videos.likeCount} + ${delta})` })
        .where(eq(videos.id, id))
        .returning({ n: videos.likeCount });
      return row?.n;
    },
    async likeCount(ex, id) {
      const [row] = await ex.select({ n: videos.likeCount }).from(videos).where(eq(videos.id, id));
      return row?.n;
    },
    async reconcileLikes(db) {
      return reconcileCounter(db, { table: 'videos', column: 'like_count', counts: likesPerTarget('video') });
    },
  };
}

/** Videos as comment targets: the video rules decide who may read and comment; the owner pins and moderates. */
export function videoCommentTarget(): CommentTargetAdapter {
  return {
    async assertVisible(ex, viewerId, id) {
      const hit = (await visibleVideoRows(ex, viewerId, [id], 'direct')).get(id);
      if (!hit) throw videoNotFound();
      return { ownerId: hit.video.ownerId };
    },
    async ownerOf(ex, id, lock = false) {
      const q = ex.select({ ownerId: videos.ownerId }).from(videos).where(eq(videos.id, id));
      const [v] = lock ? await q.for('update') : await q;
      return v?.ownerId;
    },
    async adjustComments(tx, id, delta) {
      await tx
        .update(videos)
        .set({ commentCount: sql`greatest(0, ${videos.commentCount} + ${delta})` })
        .where(and(eq(videos.id, id)));
    },
  };
}
