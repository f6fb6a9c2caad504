import { and, eq, sql } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import type { Tx } from '../../platform/db/index.js';
import { moderationCases, type CaseSource, type ModerationTargetType } from './tables.js';

export type CaseRow = typeof moderationCases.$inferSelect;

/**
 * Queue order: the model's score (0..1) plus report volume on a log scale (ten reports weigh about
 * as much as a certain model verdict), and appeals a little ahead since someone is waiting on them.
 */
export function priorityOf(score: number, reportCount: number, source: CaseSource): number {
  return score + 0.3 * Math.log2(1 + reportCount) + (source === 'appeal' ? 0.2 : 0);
}

export interface CaseInput {
  targetType: ModerationTargetType;
  targetId: string;
  authorId: string;
  source: CaseSource;
  /** A new model score for the target (the case keeps the highest). */
  score?: number;
  addReport?: boolean;
}

/**
 * The open case of a target, created when there is none. The open-case unique index makes two
 * concurrent reports on the same target meet on the same row (the loser's insert does nothing and
 * it then updates the winner's row).
 */
export async function openCase(tx: Tx, input: CaseInput): Promise<CaseRow> {
  const now = new Date();
  await tx
    .insert(moderationCases)
    .values({
      id: uuidv7(),
      targetType: input.targetType,
      targetId: input.targetId,
      authorId: input.authorId,
      source: input.source,
      createdAt: now,
      updatedAt: now,
    })
    .onConflictDoNothing();
  const [current] = await tx
    .select()
    .from(moderationCases)
    .where(and(eq(moderationCases.targetType, input.targetType), eq(moderationCases.targetId, input.targetId), eq(moderationCases.status, 'open')))
    .for('update');
  const c = current!;
  const score = Math.max(c.score, input.score ?? 0);
  const reportCount = c.reportCount + (input.addReport ? 1 : 0);
  // An appeal on a target already in the queue marks the case as an appeal: it is what waits longest.
  const source = input.source === 'appeal' ? 'appeal' : c.source;
  const [updated] = await tx
    .update(moderationCases)
    .set({ score, reportCount, source, priority: priorityOf(score, reportCount, source), updatedAt: now })
    .where(eq(moderationCases.id, c.id))
    .returning();
  return updated!;
}

export async function resolveCase(tx: Tx, id: string): Promise<void> {
  await tx
    .update(moderationCases)
    .set({ status: 'resolved', resolvedAt: new Date(), updatedAt: new Date() })
    .where(and(eq(moderationCases.id, id), eq(moderationCases.status, 'open')));
}

/** Used by claim: row-lock a case so two moderators claiming at once take turns. */
export async function lockCase(tx: Tx, id: string): Promise<CaseRow | undefined> {
  const [c] = await tx.select().from(moderationCases).where(eq(moderationCases.id, id)).for('update');
  return c;
}

export const caseOrder = sql`${moderationCases.priority} desc, ${moderationCases.id} desc`;
