import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { CaseRow } from './cases.js';
import type { ActionRow, AppealRow, ReportRow, ScoreRow } from './service.js';
import { CASE_SOURCES, MODERATION_ACTIONS, MODERATION_TARGETS, REPORT_REASONS } from './tables.js';
import type { ModerationSubject } from './targets.js';

const Uuid = Type.String({ format: 'uuid' });
const NullableUuid = Type.Union([Uuid, Type.Null()]);
const DateTime = Type.String({ format: 'date-time' });
const NullableDateTime = Type.Union([DateTime, Type.Null()]);
const lit = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));

export const TargetTypeSchema = lit(MODERATION_TARGETS);
export const ReasonSchema = lit(REPORT_REASONS);
export const ActionKindSchema = lit(MODERATION_ACTIONS);
export const SourceSchema = lit(CASE_SOURCES);

export const Page = <T extends TSchema>(item: T, title: string) =>
  Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last' }) }, { title });

export const ReportSchema = Type.Object(
  { id: Uuid, caseId: Uuid, reporterId: Uuid, targetType: TargetTypeSchema, targetId: Uuid, reason: ReasonSchema, details: Type.Union([Type.String(), Type.Null()]), createdAt: DateTime },
  { title: 'ModerationReport' },
);

export const CaseSchema = Type.Object(
  {
    id: Uuid,
    targetType: TargetTypeSchema,
    targetId: Uuid,
    authorId: Uuid,
    status: lit(['open', 'resolved'] as const),
    source: SourceSchema,
    score: Type.Number({ description: 'Highest classifier score (offensive or spam) seen for the target, 0..1' }),
    reportCount: Type.Integer(),
    priority: Type.Number({ description: 'Queue order: score + 0.3 log2(1 + reports), appeals +0.2' }),
    assigneeId: NullableUuid,
    claimedAt: NullableDateTime,
    createdAt: DateTime,
    updatedAt: DateTime,
    resolvedAt: NullableDateTime,
  },
  { title: 'ModerationCase' },
);

export const ActionSchema = Type.Object(
  {
    id: Uuid,
    caseId: NullableUuid,
    targetType: TargetTypeSchema,
    targetId: Uuid,
    authorId: Uuid,
    action: ActionKindSchema,
    reason: Type.String(),
    category: Type.Union([lit(['offensive', 'spam', 'other'] as const), Type.Null()]),
    automatic: Type.Boolean({ description: 'Taken by the classifiers (moderatorId null); a moderator can reverse it with restore' }),
    moderatorId: NullableUuid,
    previousState: Type.Union([Type.String(), Type.Null()]),
    details: Type.Record(Type.String(), Type.Unknown()),
    createdAt: DateTime,
  },
  { title: 'ModerationAction' },
);

export const AppealSchema = Type.Object(
  { id: Uuid, actionId: Uuid, caseId: NullableUuid, authorId: Uuid, text: Type.String(), status: lit(['open', 'upheld', 'overturned'] as const), createdAt: DateTime, decidedAt: NullableDateTime },
  { title: 'ModerationAppeal' },
);

export const ScoresSchema = Type.Object(
  {
    offensive: Type.Number(),
    spam: Type.Number(),
    profanityTerms: Type.Integer(),
    decision: lit(['pass', 'review', 'hold'] as const),
    offensiveModel: Type.String({ description: 'Model version, or `lexicon` (no trained model yet)' }),
    spamModel: Type.String(),
    scoredAt: DateTime,
  },
  { title: 'ModerationScores' },
);

export const CaseDetailSchema = Type.Object(
  {
    case: CaseSchema,
    subject: Type.Union([
      Type.Object({
        authorId: Uuid,
        text: Type.String({ description: 'Plain text: show it escaped' }),
        state: lit(['visible', 'held', 'removed'] as const),
        context: Type.Optional(Type.Object({ targetType: Type.String(), targetId: Uuid })),
      }),
      Type.Null(),
    ]),
    scores: Type.Union([ScoresSchema, Type.Null()]),
    reports: Type.Array(ReportSchema),
    actions: Type.Array(ActionSchema),
    appeals: Type.Array(AppealSchema),
  },
  { title: 'ModerationCaseDetail' },
);

const iso = (d: Date | null) => d?.toISOString() ?? null;

export const presentCase = (c: CaseRow): Static<typeof CaseSchema> => ({
  ...c,
  claimedAt: iso(c.claimedAt),
  createdAt: c.createdAt.toISOString(),
  updatedAt: c.updatedAt.toISOString(),
  resolvedAt: iso(c.resolvedAt),
});
export const presentAction = (a: ActionRow): Static<typeof ActionSchema> => ({ ...a, createdAt: a.createdAt.toISOString() });
export const presentAppeal = (a: AppealRow): Static<typeof AppealSchema> => ({ ...a, createdAt: a.createdAt.toISOString(), decidedAt: iso(a.decidedAt) });
export const presentReport = (r: ReportRow): Static<typeof ReportSchema> => ({ ...r, createdAt: r.createdAt.toISOString() });

export function presentDetail(d: { case: CaseRow; subject: ModerationSubject | null; scores: ScoreRow | null; reports: ReportRow[]; actions: ActionRow[]; appeals: AppealRow[] }): Static<typeof CaseDetailSchema> {
  return {
    case: presentCase(d.case),
    subject: d.subject,
    scores: d.scores
      ? { offensive: d.scores.offensive, spam: d.scores.spam, profanityTerms: d.scores.profanityTerms, decision: d.scores.decision, offensiveModel: d.scores.offensiveModel, spamModel: d.scores.spamModel, scoredAt: d.scores.scoredAt.toISOString() }
      : null,
    reports: d.reports.map(presentReport),
    actions: d.actions.map(presentAction),
    appeals: d.appeals.map(presentAppeal),
  };
}
