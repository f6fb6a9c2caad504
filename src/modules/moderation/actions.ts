import { uuidv7 } from 'uuidv7';
import type { Deps } from '../../platform/deps.js';
import type { Tx } from '../../platform/db/index.js';
import { recordAudit } from '../admin/audit.js';
import './events.js';
import { moderationActions, type ModerationAction, type ModerationTargetType } from './tables.js';

export interface ActionInput {
  caseId: string | null;
  targetType: ModerationTargetType;
  targetId: string;
  authorId: string;
  action: ModerationAction;
  reason: string;
  category?: 'offensive' | 'spam' | 'other' | null;
  /** Null for an automatic decision. */
  moderatorId: string | null;
  previousState: string | null;
  details?: Record<string, unknown>;
}

/**
 * Every decision goes through here, inside the transaction that applies it: the decision row, the
 * audit log entry and the `moderation.actioned` event commit together or not at all.
 */
export async function recordAction(deps: Deps, tx: Tx, input: ActionInput): Promise<string> {
  const id = uuidv7();
  const automatic = input.moderatorId === null;
  await tx.insert(moderationActions).values({
    id,
    caseId: input.caseId,
    targetType: input.targetType,
    targetId: input.targetId,
    authorId: input.authorId,
    action: input.action,
    reason: input.reason,
    category: input.category ?? null,
    automatic,
    moderatorId: input.moderatorId,
    previousState: input.previousState,
    details: input.details ?? {},
  });
  await recordAudit(tx, {
    actorId: input.moderatorId,
    action: `moderation.${input.action}`,
    targetType: input.targetType,
    targetId: input.targetId,
    reason: input.reason,
    details: { actionId: id, caseId: input.caseId, automatic, category: input.category ?? null, previousState: input.previousState, ...input.details },
  });
  await deps.events.publish(
    'moderation.actioned',
    { actionId: id, targetType: input.targetType, targetId: input.targetId, authorId: input.authorId, action: input.action, reason: input.reason, automatic },
    { tx },
  );
  return id;
}
