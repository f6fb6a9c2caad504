import { eq } from 'drizzle-orm';
import { effectiveState } from '../auth/session-state.js';
import { users } from '../users/tables.js';
import type { ModerationTargetAdapter } from './targets.js';

/**
 * Accounts as a moderation target: reported for what they are (name, bio), acted on by warning or
 * suspending (through the admin service). Their "state" is held while suspended.
 */
export function userModerationTarget(): ModerationTargetAdapter {
  return {
    async load(ex, id) {
      const [u] = await ex.select().from(users).where(eq(users.id, id));
      if (!u || u.state === 'deleted') return undefined;
      const state = effectiveState(u.state, u.suspendedUntil) === 'suspended' ? 'held' : 'visible';
      return { authorId: u.id, text: [u.displayName, u.bio].filter(Boolean).join('\n'), state };
    },
  };
}
