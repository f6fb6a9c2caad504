import { Type } from '@sinclair/typebox';
import { PostPageSchema } from '../posts/present.js';
import { errors } from '../posts/schemas.js';
import type { ModuleRoutes } from '../types.js';
import { VideoPageSchema } from '../videos/present.js';
import { TRENDING_WINDOWS } from './tables.js';
import { trendingServiceFor } from './service.js';

const Query = Type.Object(
  {
    window: Type.Union(
      TRENDING_WINDOWS.map((w) => Type.Literal(w)),
      { default: 'day' },
    ),
    limit: Type.Integer({ minimum: 1, maximum: 50, default: 20 }),
    cursor: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,16}$', description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);

const HashtagPage = Type.Object(
  {
    items: Type.Array(Type.Object({ tag: Type.String(), score: Type.Number(), users: Type.Integer({ description: 'Accounts engaging within the window' }) })),
    nextCursor: Type.Union([Type.String(), Type.Null()]),
  },
  { title: 'TrendingHashtags' },
);

export const trendingRoutes: ModuleRoutes = async (app, { deps }) => {
  const service = trendingServiceFor(deps);
  const tags = ['trending'];
  const description =
    'Computed every few minutes by a job (momentum in unique accounts against the item’s own baseline; see docs/discovery.md) and served from the cache. Hidden items are left out for each viewer.';
  app.get(
    '/trending/posts',
    { config: { auth: 'optional' }, schema: { tags, summary: 'Trending posts', description, querystring: Query, response: { 200: PostPageSchema, ...errors(400, 401) } } },
    async (req) => service.posts(req.auth?.userId ?? null, req.query.window, req.query.limit, req.query.cursor),
  );
  app.get(
    '/trending/videos',
    {
      config: { auth: 'optional' },
      schema: {
        tags,
        summary: 'Trending videos',
        description: `${description} Views (signed-in viewers only), completed watches, likes and comments count; public, finished videos only.`,
        querystring: Query,
        response: { 200: VideoPageSchema, ...errors(400, 401) },
      },
    },
    async (req) => service.videos(req.auth?.userId ?? null, req.query.window, req.query.limit, req.query.cursor),
  );
  app.get(
    '/trending/hashtags',
    { config: { auth: 'optional' }, schema: { tags, summary: 'Trending hashtags', description, querystring: Query, response: { 200: HashtagPage, ...errors(400, 401) } } },
    async (req) => service.hashtags(req.query.window, req.query.limit, req.query.cursor),
  );
};
