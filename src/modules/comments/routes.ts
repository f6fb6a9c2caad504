import { Type } from '@sinclair/typebox';
import { errors, IdParams, PageQuery, security } from '../posts/schemas.js';
import { reactionAdapters } from '../reactions/adapters.js';
import { ReactionsService } from '../reactions/service.js';
import type { ModuleRoutes } from '../types.js';
import { CommentPageSchema, CommentSchema } from './present.js';
import { commentsServiceFor, MAX_COMMENT } from './service.js';
import { LikeState } from '../reactions/schemas.js';

const Uuid = Type.String({ format: 'uuid' });
// Code points are counted by the service; the schema bound leaves room for astral characters (2 UTF-16 units each).
const Text = Type.String({ maxLength: MAX_COMMENT * 2, description: `Plain text, 1 to ${MAX_COMMENT} characters after trimming` });

/** Comments on posts (videos later): threads, sorting, edit, delete, pin, likes. */
export const commentsRoutes: ModuleRoutes = async (app, { deps }) => {
  const comments = commentsServiceFor(deps);
  const reactions = new ReactionsService(deps, reactionAdapters(deps));
  const tags = ['comments'];
  const config = { permission: 'account.self' } as const;

  app.post(
    '/posts/:id/comments',
    {
      config: { permission: 'account.self', idempotent: true },
      schema: {
        tags,
        summary: 'Comment on a post, or reply to a comment',
        description: `Replies nest up to depth 3; a reply to a depth-3 comment is attached next to it (same parent, depth 3).`,
        security,
        params: IdParams,
        body: Type.Object({ text: Text, parentId: Type.Optional(Uuid) }, { additionalProperties: false }),
        response: { 201: CommentSchema, ...errors(400, 401, 404, 409, 422) },
      },
    },
    async (req, reply) => {
      const id = await comments.create(req.auth!.userId, 'post', req.params.id, req.body);
      return reply.code(201).header('location', `/api/v1/comments/${id}`).send(await comments.get(req.auth!.userId, id));
    },
  );

  app.get(
    '/posts/:id/comments',
    {
      config: { auth: 'optional' },
      schema: {
        tags,
        summary: "A post's comments, or the replies to one of them",
        description:
          'newest: newest first; top: most liked first. The pinned comment leads the first page of the top-level list (one item more than `limit`). Deleted comments show as placeholders while they have replies.',
        params: IdParams,
        querystring: Type.Object(
          { ...PageQuery, sort: Type.Union([Type.Literal('newest'), Type.Literal('top')], { default: 'newest' }), parentId: Type.Optional(Uuid) },
          { additionalProperties: false },
        ),
        response: { 200: CommentPageSchema, ...errors(400, 401, 404) },
      },
    },
    async (req) => comments.list(req.auth?.userId ?? null, 'post', req.params.id, req.query),
  );

  app.get(
    '/comments/:id',
    { config: { auth: 'optional' }, schema: { tags, summary: 'A comment', params: IdParams, response: { 200: CommentSchema, ...errors(400, 401, 404) } } },
    async (req) => comments.get(req.auth?.userId ?? null, req.params.id),
  );

  app.patch(
    '/comments/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Edit your comment',
        description: 'Comments of other accounts answer 404.',
        security,
        params: IdParams,
        body: Type.Object({ text: Text }, { additionalProperties: false }),
        response: { 200: CommentSchema, ...errors(400, 401, 404) },
      },
    },
    async (req) => {
      await comments.edit(req.auth!.userId, req.params.id, req.body.text);
      return comments.get(req.auth!.userId, req.params.id);
    },
  );

  app.delete(
    '/comments/:id',
    {
      config,
      schema: { tags, summary: 'Delete a comment (yours, or one on your post)', description: 'Others answer 404.', security, params: IdParams, response: { 204: Type.Null(), ...errors(400, 401, 404) } },
    },
    async (req, reply) => {
      await comments.delete(req.auth!.userId, req.params.id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/comments/:id/pin',
    {
      config,
      schema: {
        tags,
        summary: 'Pin a top-level comment on your post (unpins the previous one)',
        security,
        params: IdParams,
        response: { 200: CommentSchema, ...errors(400, 401, 404, 422) },
      },
    },
    async (req) => {
      await comments.pin(req.auth!.userId, req.params.id, true);
      return comments.get(req.auth!.userId, req.params.id);
    },
  );
  app.delete(
    '/comments/:id/pin',
    { config, schema: { tags, summary: 'Unpin a comment on your post', security, params: IdParams, response: { 200: CommentSchema, ...errors(400, 401, 404) } } },
    async (req) => {
      await comments.pin(req.auth!.userId, req.params.id, false);
      return comments.get(req.auth!.userId, req.params.id);
    },
  );

  app.post(
    '/comments/:id/like',
    { config, schema: { tags, summary: 'Like a comment', security, params: IdParams, response: { 200: LikeState, ...errors(400, 401, 404) } } },
    async (req) => reactions.like(req.auth!.userId, 'comment', req.params.id),
  );
  app.delete(
    '/comments/:id/like',
    { config, schema: { tags, summary: 'Take back your like', security, params: IdParams, response: { 200: LikeState, ...errors(400, 401, 404) } } },
    async (req) => reactions.unlike(req.auth!.userId, 'comment', req.params.id),
  );
};
