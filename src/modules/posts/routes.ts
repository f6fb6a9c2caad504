import { Type } from '@sinclair/typebox';
import type { ModuleRoutes } from '../types.js';
import { PostPageSchema, PostSchema } from './present.js';
import { errors, IdParams, PageQuery } from './schemas.js';
import { postsServicesFor } from './service.js';

const HistorySchema = Type.Object(
  {
    items: Type.Array(
      Type.Object({
        text: Type.String(),
        mediaIds: Type.Array(Type.String({ format: 'uuid' })),
        replacedAt: Type.String({ format: 'date-time', description: 'When this version was replaced by the next' }),
      }),
    ),
  },
  { title: 'PostHistory' },
);

const ThreadSchema = Type.Object(
  {
    post: PostSchema,
    ancestors: Type.Array(PostSchema, { description: 'The posts this one answers, root first; hidden ones are left out' }),
    replies: PostPageSchema,
  },
  { title: 'Thread' },
);

/** Read endpoints: anyone may call them; a token, when sent, makes the viewer's relations count. */
export const postsReadRoutes: ModuleRoutes = async (app, { deps }) => {
  const { reader } = postsServicesFor(deps);
  const tags = ['posts'];
  const viewer = (req: { auth: { userId: string } | null }) => req.auth?.userId ?? null;

  app.get(
    '/posts/:id',
    { config: { auth: 'optional' }, schema: { tags, summary: 'A post', params: IdParams, response: { 200: PostSchema, ...errors(400, 401, 404) } } },
    async (req) => reader.get(viewer(req), req.params.id),
  );

  app.get(
    '/posts/:id/history',
    {
      config: { auth: 'optional' },
      schema: { tags, summary: 'Earlier versions of an edited post, newest first', params: IdParams, response: { 200: HistorySchema, ...errors(400, 401, 404) } },
    },
    async (req) => reader.history(viewer(req), req.params.id),
  );

  app.get(
    '/posts/:id/thread',
    {
      config: { auth: 'optional' },
      schema: {
        tags,
        summary: 'A post with the posts it answers and its replies',
        description: 'Replies are direct answers to this post, oldest first, in cursor pages (`replies.nextCursor`).',
        params: IdParams,
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: { 200: ThreadSchema, ...errors(400, 401, 404) },
      },
    },
    async (req) => reader.thread(viewer(req), req.params.id, req.query),
  );

  app.get(
    '/users/:username/posts',
    {
      config: { auth: 'optional' },
      schema: {
        tags,
        summary: "A profile's posts and reposts, newest first",
        params: Type.Object({ username: Type.String({ minLength: 1, maxLength: 30 }) }),
        querystring: Type.Object({ ...PageQuery, includeReplies: Type.Boolean({ default: false }) }, { additionalProperties: false }),
        response: { 200: PostPageSchema, ...errors(400, 401, 404) },
      },
    },
    async (req) => reader.profileFeed(viewer(req), req.params.username, req.query),
  );

  app.get(
    '/hashtags/:tag/posts',
    {
      config: { auth: 'optional' },
      schema: {
        tags,
        summary: 'Posts with a hashtag, newest first',
        description: 'Unlisted posts never appear here.',
        params: Type.Object({ tag: Type.String({ minLength: 1, maxLength: 65 }) }),
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: { 200: PostPageSchema, ...errors(400, 401) },
      },
    },
    async (req) => reader.hashtagFeed(viewer(req), req.params.tag, req.query),
  );
};
