import { eq } from 'drizzle-orm';
import type { ModerationTargetAdapter } from '../moderation/targets.js';
import { posts } from './tables.js';

/** Posts as something moderation scores, holds and removes: the posts module owns its moderation_state column. */
export function postModerationTarget(): ModerationTargetAdapter {
  return {
    async load(ex, id) {
      const [p] = await ex.select({ authorId: posts.authorId, text: posts.text, state: posts.moderationState, deletedAt: posts.deletedAt }).from(posts).where(eq(posts.id, id));
      if (!p || p.deletedAt !== null) return undefined;
      return { authorId: p.authorId, text: p.text, state: p.state };
    },
    async setState(tx, id, state) {
      await tx.update(posts).set({ moderationState: state }).where(eq(posts.id, id));
    },
  };
}
