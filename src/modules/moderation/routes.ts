import { Type } from '@sinclair/typebox';
import { problemResponses } from '../../platform/http/problem.js';
import { CURSOR_PATTERN } from '../admin/cursor.js';
import type { Actor } from '../admin/service.js';
import type { ModuleRoutes } from '../types.js';
import { modelStoreFor } from './models.js';
import {
  ActionKindSchema,
  ActionSchema,
  AppealSchema,
  CaseDetailSchema,
  CaseSchema,
  Page,
  presentAction,
  presentAppeal,
  presentCase,
  presentDetail,
  ReasonSchema,
  SourceSchema,
  TargetTypeSchema,
} from './present.js';
import { sentimentAggregate } from './sentiment.js';
import { DETAILS_MAX, moderationServiceFor, REASON_MAX } from './service.js';

const Uuid = Type.String({ format: 'uuid' });
const IdParams = Type.Object({ id: Uuid });
const Limit = Type.Integer({ minimum: 1, maximum: 100, default: 20 });
const Cursor = Type.String({ pattern: CURSOR_PATTERN, maxLength: 128, description: 'nextCursor of the previous page' });
const QueueCursor = Type.String({ pattern: '^[A-Za-z0-9_-]{1,128}$', description: 'nextCursor of the previous page' });
const Category = Type.Union([Type.Literal('offensive'), Type.Literal('spam'), Type.Literal('other')], {
  description: 'What the content was; with remove/hold/suspend it becomes a training label for that classifier',
});

const ModelSchema = Type.Object(
  {
    task: Type.String(),
    version: Type.String(),
    score: Type.Number({ description: 'Cross-validated headline figure: offensive macro-F1, spam accuracy, sentiment macro-recall' }),
    rows: Type.Integer(),
    active: Type.Boolean(),
    note: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { title: 'MlModel' },
);

const SentimentSchema = Type.Object(
  {
    targetType: Type.String(),
    targetId: Uuid,
    comments: Type.Integer(),
    negative: Type.Integer(),
    neutral: Type.Integer(),
    positive: Type.Integer(),
    meanScore: Type.Union([Type.Number(), Type.Null()], { description: '-1 (all negative) .. 1 (all positive); null with no comments' }),
    models: Type.Array(Type.String(), { description: 'Model versions that scored these comments (`vader` for the lexicon)' }),
  },
  { title: 'CommentSentiment' },
);

export const moderationRoutes: ModuleRoutes = async (app, { deps }) => {
  const svc = moderationServiceFor(deps);
  const tags = ['moderation'];
  const security = [{ bearerAuth: [] }];
  const actorOf = (req: { auth: { userId: string; role: Actor['role'] } | null }): Actor => ({ userId: req.auth!.userId, role: req.auth!.role });

  app.post(
    '/reports',
    {
      config: { auth: 'required' },
      schema: {
        tags,
        summary: 'Report a post, comment, video, account or chat message',
        description:
          'One report per person per open case (409 after that). The target goes to the moderators\' queue, ordered by classifier score and report volume. Targets whose module is not installed yet answer 422 moderation.unsupported_target.',
        security,
        body: Type.Object(
          { targetType: TargetTypeSchema, targetId: Uuid, reason: ReasonSchema, details: Type.Optional(Type.String({ maxLength: DETAILS_MAX })) },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ id: Uuid, caseId: Uuid }, { title: 'ReportCreated' }), ...problemResponses(400, 401, 404, 409, 422) },
      },
    },
    async (req, reply) => reply.code(201).send(await svc.report(req.auth!.userId, req.body)),
  );

  app.get(
    '/moderation/queue',
    {
      config: { permission: 'moderation.review' },
      schema: {
        tags,
        summary: 'The moderation queue (moderators and admins)',
        description: 'Highest priority first: classifier score plus report volume, appeals ahead. Filters: status, targetType, source, assignee (me, none or an id), minScore.',
        security,
        querystring: Type.Object(
          {
            status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('resolved')], { default: 'open' })),
            targetType: Type.Optional(TargetTypeSchema),
            source: Type.Optional(SourceSchema),
            assignee: Type.Optional(Type.Union([Type.Literal('me'), Type.Literal('none'), Uuid])),
            minScore: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
            limit: Type.Optional(Limit),
            cursor: Type.Optional(QueueCursor),
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(CaseSchema, 'ModerationCasePage'), ...problemResponses(400, 401, 403) },
      },
    },
    async (req) => {
      const { items, nextCursor } = await svc.queue(req.auth!.userId, { ...req.query, status: req.query.status ?? 'open', limit: req.query.limit ?? 20 });
      return { items: items.map(presentCase), nextCursor };
    },
  );

  app.get(
    '/moderation/cases/:id',
    {
      config: { permission: 'moderation.review' },
      schema: { tags, summary: 'One case: the content, its scores, reports, decisions and appeals', security, params: IdParams, response: { 200: CaseDetailSchema, ...problemResponses(400, 401, 403, 404) } },
    },
    async (req) => presentDetail(await svc.caseDetail(req.params.id)),
  );

  app.post(
    '/moderation/cases/:id/claim',
    {
      config: { permission: 'moderation.act' },
      schema: {
        tags,
        summary: 'Claim a case',
        description: '409 when another moderator holds it; `?force=true` (admins) takes it over.',
        security,
        params: IdParams,
        querystring: Type.Object({ force: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
        response: { 200: CaseSchema, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (req) => presentCase(await svc.claim(req.auth!.userId, req.params.id, req.query.force === true && req.auth!.role === 'admin')),
  );

  app.post(
    '/moderation/cases/:id/assign',
    {
      config: { permission: 'moderation.act' },
      schema: {
        tags,
        summary: 'Assign a case to a moderator or admin, or unassign it (null)',
        security,
        params: IdParams,
        body: Type.Object({ assigneeId: Type.Union([Uuid, Type.Null()]) }, { additionalProperties: false }),
        response: { 200: CaseSchema, ...problemResponses(400, 401, 403, 404, 409, 422) },
      },
    },
    async (req) => presentCase(await svc.assign(req.params.id, req.body.assigneeId)),
  );

  app.post(
    '/moderation/actions',
    {
      config: { permission: 'moderation.act' },
      schema: {
        tags,
        summary: 'Act on content or an account (moderators and admins)',
        description:
          'remove / restore / hold change the content state (restore on an account lifts its suspension); warn changes nothing but tells the author; age_restrict needs a target with an age gate (videos); suspend suspends the author (only accounts ranked below you). Resolves the open case of the target, decides its open appeal (restore overturns, anything else upholds), writes the audit log and notifies the author.',
        security,
        body: Type.Object(
          {
            targetType: TargetTypeSchema,
            targetId: Uuid,
            action: ActionKindSchema,
            reason: Type.String({ minLength: 1, maxLength: REASON_MAX }),
            category: Type.Optional(Category),
            until: Type.Optional(Type.String({ format: 'date-time', description: 'suspend only: when it ends (default: until restored)' })),
          },
          { additionalProperties: false },
        ),
        response: { 201: ActionSchema, ...problemResponses(400, 401, 403, 404, 409, 422) },
      },
    },
    async (req, reply) => reply.code(201).send(presentAction(await svc.act(actorOf(req), req.body))),
  );

  app.get(
    '/moderation/actions',
    {
      config: { permission: 'moderation.review' },
      schema: {
        tags,
        summary: 'Decisions, newest first: filter by target or automatic=true to review what the classifiers did',
        security,
        querystring: Type.Object(
          { targetType: Type.Optional(TargetTypeSchema), targetId: Type.Optional(Uuid), automatic: Type.Optional(Type.Boolean()), limit: Type.Optional(Limit), cursor: Type.Optional(Cursor) },
          { additionalProperties: false },
        ),
        response: { 200: Page(ActionSchema, 'ModerationActionPage'), ...problemResponses(400, 401, 403) },
      },
    },
    async (req) => {
      const { items, nextCursor } = await svc.actions({ ...req.query, limit: req.query.limit ?? 20 });
      return { items: items.map(presentAction), nextCursor };
    },
  );

  app.get(
    '/moderation/me/actions',
    {
      config: { auth: 'required' },
      schema: {
        tags,
        summary: 'Decisions about my content and account (each can be appealed once)',
        security,
        querystring: Type.Object({ limit: Type.Optional(Limit), cursor: Type.Optional(Cursor) }, { additionalProperties: false }),
        response: { 200: Page(ActionSchema, 'MyModerationActionPage'), ...problemResponses(400, 401) },
      },
    },
    async (req) => {
      const { items, nextCursor } = await svc.myActions(req.auth!.userId, { ...req.query, limit: req.query.limit ?? 20 });
      return { items: items.map(presentAction), nextCursor };
    },
  );

  app.post(
    '/moderation/appeals',
    {
      config: { auth: 'required' },
      schema: {
        tags,
        summary: 'Appeal a decision about my content or account (once per decision)',
        description: 'The target goes back to the queue as an appeal. 404 for a decision about someone else, 409 for a second appeal, 422 for a restore.',
        security,
        body: Type.Object({ actionId: Uuid, text: Type.String({ minLength: 1, maxLength: DETAILS_MAX }) }, { additionalProperties: false }),
        response: { 201: AppealSchema, ...problemResponses(400, 401, 404, 409, 422) },
      },
    },
    async (req, reply) => reply.code(201).send(presentAppeal(await svc.appeal(req.auth!.userId, req.body.actionId, req.body.text))),
  );

  app.get(
    '/moderation/models',
    {
      config: { permission: 'moderation.review' },
      schema: {
        tags,
        summary: 'Trained text models, newest first (none active for a task: the lexicon fallback is in use)',
        security,
        response: { 200: Type.Object({ items: Type.Array(ModelSchema) }, { title: 'MlModelList' }), ...problemResponses(401, 403) },
      },
    },
    async () => ({ items: (await modelStoreFor(deps).list()).map((m) => ({ task: m.task, version: m.version, score: m.score, rows: m.rows, active: m.active, note: m.note, createdAt: m.createdAt.toISOString() })) }),
  );

  app.get(
    '/sentiment/:targetType/:id',
    {
      config: { auth: 'required' },
      schema: {
        tags,
        summary: 'Sentiment of the comments on my post or video (its owner, moderators and admins)',
        security,
        params: Type.Object({ targetType: Type.Union([Type.Literal('posts'), Type.Literal('videos')]), id: Uuid }),
        querystring: Type.Object({}, { additionalProperties: false }),
        response: { 200: SentimentSchema, ...problemResponses(400, 401, 404) },
      },
    },
    async (req) => sentimentAggregate(deps, svc.targets, { userId: req.auth!.userId }, req.params.targetType === 'posts' ? 'post' : 'video', req.params.id),
  );
};
