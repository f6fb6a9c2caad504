import { eq } from 'drizzle-orm';
import type { ModerationTargetAdapter } from '../moderation/targets.js';
import { comments } from './tables.js';

/** Comments as something moderation scores, holds and removes. */
export function commentModerationTarget(): ModerationTargetAdapter {
  return {
    async load(ex, id) {
      const [c] = await ex.select().from(comments).where(eq(comments.id, id));
      if (!c || c.deletedAt !== null) return undefined;
      return { authorId: c.authorId, text: c.text, state: c.moderationState, context: { targetType: c.targetType, targetId: c.targetId } };
    },
    async setState(tx, id, state) {
      await tx.update(comments).set({ moderationState: state }).where(eq(comments.id, id));
    },
  };
}
