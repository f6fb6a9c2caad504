import { and, eq } from 'drizzle-orm';
import type { ModerationConfig } from '../../config.js';
import type { Deps } from '../../platform/deps.js';
import { profanityHits, spamHits } from '../../ml/text/lexicon.js';
import { shareText } from '../../ml/text/pipeline.js';
import { recordAction } from './actions.js';
import { openCase } from './cases.js';
import { modelStoreFor } from './models.js';
import { moderationCases, moderationScores, type ModerationTargetType } from './tables.js';
import type { ModerationTargets } from './targets.js';

export interface TextScores {
  offensive: number;
  spam: number;
  profanityTerms: number;
  /** Model version, or `lexicon` for the fallback. */
  offensiveModel: string;
  spamModel: string;
}

export type Decision = 'pass' | 'review' | 'hold';

/**
 * Lexicon fallback probabilities, used until a model is trained: two or more distinct profane terms
 * count as near-certain (held at the default thresholds), one as borderline (review).
 */
function lexiconOffensive(terms: number): number {
  return terms >= 2 ? 0.95 : terms === 1 ? 0.7 : 0.05;
}
function lexiconSpam(phrases: number): number {
  return phrases >= 3 ? 0.92 : phrases === 2 ? 0.7 : 0.05;
}

export async function scoreText(deps: Deps, text: string): Promise<TextScores> {
  const store = modelStoreFor(deps);
  const [off, spam] = await Promise.all([store.classifier('offensive'), store.classifier('spam')]);
  const shared = shareText(text);
  const normalised = shared.normalised;
  const profanityTerms = profanityHits(text, normalised);
  return {
    offensive: off ? (off.predict(text, shared).probabilities[1] ?? 0) : lexiconOffensive(profanityTerms),
    spam: spam ? (spam.predict(text, shared).probabilities[1] ?? 0) : lexiconSpam(spamHits(normalised)),
    profanityTerms,
    offensiveModel: off?.version ?? 'lexicon',
    spamModel: spam?.version ?? 'lexicon',
  };
}

export function decide(s: TextScores, cfg: ModerationConfig): Decision {
  const top = Math.max(s.offensive, s.spam);
  if (top >= cfg.holdThreshold) return 'hold';
  if (top >= cfg.reviewThreshold) return 'review';
  return 'pass';
}

function describe(s: TextScores, decision: Decision, prechecked: boolean): string {
  const why = `offensive ${s.offensive.toFixed(2)} (${s.offensiveModel}), spam ${s.spam.toFixed(2)} (${s.spamModel}), ${s.profanityTerms} profane term(s)`;
  return prechecked && decision !== 'hold' ? `automatic: held by the pre-check (${why}); waiting for a moderator` : `automatic ${decision}: ${why}`;
}

/**
 * The moderation job for one piece of content: score it, store the scores, and act on the decision.
 * hold: the content is hidden (author and moderators still see it), a decision is recorded and a
 * case opened; review: a case is opened, the content stays up; pass: nothing but the scores. Content
 * the inline pre-check held stays held and gets its recorded decision and case here: only a
 * moderator releases it. Re-running the job (a retry) records nothing twice.
 */
export async function scoreTarget(deps: Deps, targets: ModerationTargets, targetType: ModerationTargetType, targetId: string): Promise<Decision | undefined> {
  const adapter = targets[targetType];
  if (!adapter) return undefined;
  const first = await adapter.load(deps.database.db, targetId);
  if (!first || first.state === 'removed' || first.text.trim() === '') return undefined;
  const scores = await scoreText(deps, first.text);
  const decision = decide(scores, deps.config.moderation);
  await deps.database.transaction(async (tx) => {
    const subject = await adapter.load(tx, targetId);
    if (!subject || subject.state === 'removed') return;
    const row = { offensive: scores.offensive, spam: scores.spam, profanityTerms: scores.profanityTerms, decision, offensiveModel: scores.offensiveModel, spamModel: scores.spamModel, scoredAt: new Date() };
    await tx
      .insert(moderationScores)
      .values({ targetType, targetId, ...row })
      .onConflictDoUpdate({ target: [moderationScores.targetType, moderationScores.targetId], set: row });
    const score = Math.max(scores.offensive, scores.spam);
    const prechecked = subject.state === 'held';
    if (decision === 'hold' || prechecked) {
      const [open] = await tx
        .select({ id: moderationCases.id })
        .from(moderationCases)
        .where(and(eq(moderationCases.targetType, targetType), eq(moderationCases.targetId, targetId), eq(moderationCases.status, 'open')));
      // Already held with a case waiting: only the case's score moves.
      if (prechecked && open) {
        await openCase(tx, { targetType, targetId, authorId: subject.authorId, source: 'automatic', score });
        return;
      }
      const c = await openCase(tx, { targetType, targetId, authorId: subject.authorId, source: 'automatic', score });
      if (!prechecked) await adapter.setState!(tx, targetId, 'held');
      await recordAction(deps, tx, {
        caseId: c.id,
        targetType,
        targetId,
        authorId: subject.authorId,
        action: 'hold',
        reason: describe(scores, decision, prechecked),
        moderatorId: null,
        previousState: prechecked ? 'visible' : subject.state,
        details: { scores, decision, prechecked },
      });
    } else if (decision === 'review') {
      await openCase(tx, { targetType, targetId, authorId: subject.authorId, source: 'automatic', score });
    }
  });
  return decision;
}
