import { Type } from '@sinclair/typebox';
import { PostPageSchema, type PresentedPost } from '../posts/present.js';
import { errors, IdParams, PageQuery, security } from '../posts/schemas.js';
import type { ModuleRoutes } from '../types.js';
import { reactionAdapters } from './adapters.js';
import { ReactionsService } from './service.js';
import { LikeState, SaveState } from './schemas.js';


/**
 * Likes and saves. Both verbs are idempotent: liking twice or unliking something not liked
 * answers 200 with the resulting state, so a client can retry without Idempotency-Key.
 */
export const reactionsRoutes: ModuleRoutes = async (app, { deps }) => {
  const reactions = new ReactionsService(deps, reactionAdapters(deps));
  const tags = ['reactions'];
  const config = { permission: 'account.self' } as const;

  app.post(
    '/posts/:id/like',
    { config, schema: { tags, summary: 'Like a post', security, params: IdParams, response: { 200: LikeState, ...errors(400, 401, 404, 422) } } },
    async (req) => reactions.like(req.auth!.userId, 'post', req.params.id),
  );
  app.delete(
    '/posts/:id/like',
    { config, schema: { tags, summary: 'Take back your like', security, params: IdParams, response: { 200: LikeState, ...errors(400, 401, 404) } } },
    async (req) => reactions.unlike(req.auth!.userId, 'post', req.params.id),
  );
  app.post(
    '/posts/:id/save',
    { config, schema: { tags, summary: 'Save a post to read later (private to you)', security, params: IdParams, response: { 200: SaveState, ...errors(400, 401, 404, 422) } } },
    async (req) => reactions.save(req.auth!.userId, 'post', req.params.id),
  );
  app.delete(
    '/posts/:id/save',
    { config, schema: { tags, summary: 'Remove a post from your saved items', security, params: IdParams, response: { 200: SaveState, ...errors(400, 401) } } },
    async (req) => reactions.unsave(req.auth!.userId, 'post', req.params.id),
  );
  app.get(
    '/me/saved',
    {
      config,
      schema: {
        tags,
        summary: 'Your saved posts, most recently saved first',
        security,
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: { 200: PostPageSchema, ...errors(400, 401) },
      },
    },
    async (req) => reactions.saved<PresentedPost>(req.auth!.userId, 'post', req.query.limit, req.query.cursor),
  );
};
