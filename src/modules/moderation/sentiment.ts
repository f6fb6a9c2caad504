import { and, eq, sql } from 'drizzle-orm';
import type { Deps } from '../../platform/deps.js';
import { notFound } from '../../platform/errors.js';
import { vaderClass, vaderScores } from '../../ml/text/lexicon.js';
import { comments } from '../comments/tables.js';
import { isStaff } from '../posts/rules.js';
import { users } from '../users/tables.js';
import { modelStoreFor } from './models.js';
import { commentSentiments, type ModerationTargetType } from './tables.js';
import type { ModerationTargets } from './targets.js';

const LABELS = ['negative', 'neutral', 'positive'] as const;

/**
 * Sentiment of one text: the trained three-class model when one is active (training activates it
 * only when it beat the VADER lexicon on the same cross-validation folds), else VADER.
 */
export async function sentimentOf(deps: Deps, text: string): Promise<{ label: (typeof LABELS)[number]; score: number; model: string }> {
  const model = await modelStoreFor(deps).classifier('sentiment');
  if (model) {
    const p = model.predict(text);
    return { label: LABELS[p.index] ?? 'neutral', score: (p.probabilities[2] ?? 0) - (p.probabilities[0] ?? 0), model: model.version };
  }
  const compound = vaderScores(text).compound;
  return { label: LABELS[vaderClass(compound)], score: compound, model: 'vader' };
}

export async function scoreCommentSentiment(deps: Deps, c: { commentId: string; targetType: string; targetId: string; text: string }): Promise<void> {
  const s = await sentimentOf(deps, c.text);
  const row = { label: s.label, score: s.score, model: s.model, scoredAt: new Date() };
  await deps.database.db
    .insert(commentSentiments)
    .values({ commentId: c.commentId, targetType: c.targetType, targetId: c.targetId, ...row })
    .onConflictDoUpdate({ target: commentSentiments.commentId, set: row });
}

export interface SentimentAggregate {
  targetType: ModerationTargetType;
  targetId: string;
  comments: number;
  negative: number;
  neutral: number;
  positive: number;
  /** Mean of the per-comment scores (-1 all negative .. 1 all positive); null with no comments. */
  meanScore: number | null;
  models: string[];
}

/**
 * The sentiment of the live, visible comments on a post or video, for its owner (and staff); anyone
 * else gets 404, as for content they cannot manage.
 */
export async function sentimentAggregate(deps: Deps, targets: ModerationTargets, viewer: { userId: string }, targetType: 'post' | 'video', targetId: string): Promise<SentimentAggregate> {
  const gone = () => notFound('moderation.target_not_found', 'no such content, or it is not yours');
  const adapter = targets[targetType];
  const subject = adapter ? await adapter.load(deps.database.db, targetId) : undefined;
  if (!subject) throw gone();
  if (subject.authorId !== viewer.userId) {
    const [u] = await deps.database.db.select({ role: users.role }).from(users).where(eq(users.id, viewer.userId));
    if (!isStaff(u?.role)) throw gone();
  }
  const rows = await deps.database.db
    .select({ label: commentSentiments.label, n: sql<number>`count(*)::int`, sum: sql<number>`coalesce(sum(${commentSentiments.score}), 0)::float8`, models: sql<string[]>`array_agg(distinct ${commentSentiments.model})` })
    .from(commentSentiments)
    .innerJoin(comments, eq(comments.id, commentSentiments.commentId))
    .where(and(eq(commentSentiments.targetType, targetType), eq(commentSentiments.targetId, targetId), sql`${comments.deletedAt} is null`, eq(comments.moderationState, 'visible')))
    .groupBy(commentSentiments.label);
  const out: SentimentAggregate = { targetType, targetId, comments: 0, negative: 0, neutral: 0, positive: 0, meanScore: null, models: [] };
  let sum = 0;
  const models = new Set<string>();
  for (const r of rows) {
    out[r.label] = r.n;
    out.comments += r.n;
    sum += r.sum;
    for (const m of r.models) models.add(m);
  }
  out.meanScore = out.comments ? Math.round((sum / out.comments) * 1000) / 1000 : null;
  out.models = [...models].sort();
  return out;
}
