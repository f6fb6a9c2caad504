import { Type } from '@sinclair/typebox';
import { problemResponses as errors } from '../../platform/http/problem.js';
import { CommentPageSchema, CommentSchema } from '../comments/present.js';
import { commentsServiceFor, MAX_COMMENT } from '../comments/service.js';
import { reactionAdapters } from '../reactions/adapters.js';
import { ReactionsService } from '../reactions/service.js';
import { PageQuery } from '../posts/schemas.js';
import type { ModuleRoutes } from '../types.js';
import { VideoPageSchema, type PresentedVideo } from './present.js';
import { LikeState, SaveState } from '../reactions/schemas.js';

const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const Uuid = Type.String({ format: 'uuid' });
const Text = Type.String({ maxLength: MAX_COMMENT * 2, description: `Plain text, 1 to ${MAX_COMMENT} characters after trimming` });
const security = [{ bearerAuth: [] }];

/**
 * Likes and comments on videos, the same contract as on posts: editing, deleting, pinning and
 * liking a comment go through /comments/:id whatever it is attached to.
 */
export const videoSocialRoutes: ModuleRoutes = async (app, { deps }) => {
  const reactions = new ReactionsService(deps, reactionAdapters(deps));
  const comments = commentsServiceFor(deps);
  const config = { permission: 'account.self' } as const;

  app.post(
    '/videos/:id/like',
    { config, schema: { tags: ['reactions'], summary: 'Like a video', security, params: IdParams, response: { 200: LikeState, ...errors(400, 401, 404) } } },
    async (req) => reactions.like(req.auth!.userId, 'video', req.params.id),
  );
  app.delete(
    '/videos/:id/like',
    { config, schema: { tags: ['reactions'], summary: 'Take back your like of a video', security, params: IdParams, response: { 200: LikeState, ...errors(400, 401, 404) } } },
    async (req) => reactions.unlike(req.auth!.userId, 'video', req.params.id),
  );

  app.post(
    '/videos/:id/save',
    { config, schema: { tags: ['reactions'], summary: 'Save a video to watch later (private to you)', security, params: IdParams, response: { 200: SaveState, ...errors(400, 401, 404) } } },
    async (req) => reactions.save(req.auth!.userId, 'video', req.params.id),
  );
  app.delete(
    '/videos/:id/save',
    { config, schema: { tags: ['reactions'], summary: 'Remove a video from your watch-later list', security, params: IdParams, response: { 200: SaveState, ...errors(400, 401) } } },
    async (req) => reactions.unsave(req.auth!.userId, 'video', req.params.id),
  );
  app.get(
    '/me/saved/videos',
    {
      config,
      schema: {
        tags: ['reactions'],
        summary: 'Your watch-later list: saved videos, most recently saved first',
        description: 'Videos you may no longer see (made private, deleted, removed) are left out.',
        security,
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: { 200: VideoPageSchema, ...errors(400, 401) },
      },
    },
    async (req) => reactions.saved<PresentedVideo>(req.auth!.userId, 'video', req.query.limit, req.query.cursor),
  );

  app.post(
    '/videos/:id/comments',
    {
      config: { permission: 'account.self', idempotent: true },
      schema: {
        tags: ['comments'],
        summary: 'Comment on a video, or reply to a comment',
        description: 'Replies nest up to depth 3; a reply to a depth-3 comment is attached next to it (same parent, depth 3).',
        security,
        params: IdParams,
        body: Type.Object({ text: Text, parentId: Type.Optional(Uuid) }, { additionalProperties: false }),
        response: { 201: CommentSchema, ...errors(400, 401, 404, 409, 422) },
      },
    },
    async (req, reply) => {
      const id = await comments.create(req.auth!.userId, 'video', req.params.id, req.body);
      return reply.code(201).header('location', `/api/v1/comments/${id}`).send(await comments.get(req.auth!.userId, id));
    },
  );

  app.get(
    '/videos/:id/comments',
    {
      config: { auth: 'optional' },
      schema: {
        tags: ['comments'],
        summary: "A video's comments, or the replies to one of them",
        description: 'newest: newest first; top: most liked first. The pinned comment (pinned by the video owner) leads the first page of the top-level list.',
        params: IdParams,
        querystring: Type.Object(
          {
            limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
            cursor: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,128}$' })),
            sort: Type.Union([Type.Literal('newest'), Type.Literal('top')], { default: 'newest' }),
            parentId: Type.Optional(Uuid),
          },
          { additionalProperties: false },
        ),
        response: { 200: CommentPageSchema, ...errors(400, 401, 404) },
      },
    },
    async (req) => comments.list(req.auth?.userId ?? null, 'video', req.params.id, req.query),
  );
};
