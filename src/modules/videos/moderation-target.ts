import { eq } from 'drizzle-orm';
import type { Deps } from '../../platform/deps.js';
import type { ModerationTargetAdapter } from '../moderation/targets.js';
import { isAnnounceable, visibleVideoRows } from './rules.js';
import { moderatedText } from './service.js';
import { videos } from './tables.js';

/**
 * Videos as something moderation scores, reports and acts on: the title and description are the
 * text; hold / remove / restore set videos.moderation_state, age_restrict sets the moderator's
 * restriction (the creator's own flag is theirs). Who may report one is decided by the video rules.
 */
export function videoModerationTarget(deps: Pick<Deps, 'events'>): ModerationTargetAdapter {
  return {
    async load(ex, id) {
      const [v] = await ex
        .select({ ownerId: videos.ownerId, title: videos.title, description: videos.description, state: videos.moderationState, deletedAt: videos.deletedAt })
        .from(videos)
        .where(eq(videos.id, id));
      if (!v || v.deletedAt !== null) return undefined;
      return { authorId: v.ownerId, text: moderatedText(v.title, v.description), state: v.state };
    },
    async visibleTo(ex, viewerId, id) {
      return (await visibleVideoRows(ex, viewerId, [id], 'direct')).has(id);
    },
    async setState(tx, id, state) {
      const [before] = await tx.select().from(videos).where(eq(videos.id, id)).for('update');
      await tx.update(videos).set({ moderationState: state }).where(eq(videos.id, id));
      // A held video that a moderator lets through is announced to followers now (it was not when it was published).
      if (before && !isAnnounceable(before) && isAnnounceable({ ...before, moderationState: state })) {
        await deps.events.publish('video.published', { videoId: id, ownerId: before.ownerId, visibility: before.visibility }, { tx });
      }
    },
    async setAgeRestricted(tx, id, restricted) {
      await tx.update(videos).set({ moderationAgeRestricted: restricted }).where(eq(videos.id, id));
    },
  };
}
