import { eq, sql } from 'drizzle-orm';
import { AppError } from '../../platform/errors.js';
import type { ReactionTargetAdapter } from '../reactions/service.js';
import { reconcilePostLikes } from '../reactions/service.js';
import { postNotFound } from './reader.js';
import type { PostsServices } from './service.js';
import { posts } from './tables.js';

/** Posts as something to like and save: the posts module owns its counter and its visibility rules. */
export function postReactionTarget({ hydrator }: PostsServices): ReactionTargetAdapter {
  return {
    async assertReactable(tx, userId, id) {
      const p = await hydrator.visibleRow(tx, userId, id, 'direct');
      if (!p) throw postNotFound();
      // A repost has no content of its own: reactions go to the post it reposts (repostOf.id).
      if (p.repostOfId) throw new AppError(422, 'posts.is_repost', 'react to the reposted post (repostOf.id), not to the repost');
      return p.authorId;
    },
    async adjustLikes(tx, id, delta) {
      const [row] = await tx
        .update(posts)
        .set({ likeCount: sql`greatest(0, ${posts.likeCount} + ${delta})` })
        .where(eq(posts.id, id))
        .returning({ n: posts.likeCount });
      return row?.n;
    },
    async likeCount(ex, id) {
      const [row] = await ex.select({ n: posts.likeCount }).from(posts).where(eq(posts.id, id));
      return row?.n;
    },
    reconcileLikes: reconcilePostLikes,
    present: (viewerId, ids) => hydrator.present(viewerId, ids, 'direct'),
  };
}
