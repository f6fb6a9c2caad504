import { Type } from '@sinclair/typebox';
import { PostPageSchema } from '../posts/present.js';
import { errors } from '../posts/schemas.js';
import type { ModuleRoutes } from '../types.js';
import { PublicUserSchema } from '../users/present.js';
import { VideoPageSchema } from '../videos/present.js';
import { searchServiceFor, SEARCH_TYPES } from './service.js';

/** Long enough for any real query, short enough that a pasted essay is refused before it reaches SQL. */
export const MAX_QUERY = 200;

const HashtagSchema = Type.Object({ tag: Type.String(), posts: Type.Integer({ description: 'Live, listed posts using it' }) }, { title: 'HashtagHit' });
const page = <T extends Parameters<typeof Type.Array>[0]>(item: T, title: string) =>
  Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) }, { title });

const SearchQuery = Type.Object(
  {
    q: Type.String({ minLength: 1, maxLength: MAX_QUERY, description: 'Words to find; typos are tolerated' }),
    type: Type.Union(
      SEARCH_TYPES.map((t) => Type.Literal(t)),
      { default: 'all', description: '`all` answers the first page of each kind; a cursor needs one kind' },
    ),
    sort: Type.Union([Type.Literal('relevance'), Type.Literal('recent')], {
      default: 'relevance',
      description: 'Posts and videos (recent: posts newest first, videos newest published first); people and hashtags are by relevance',
    }),
    since: Type.Optional(Type.String({ format: 'date-time', description: 'Posts created, videos published, at or after' })),
    until: Type.Optional(Type.String({ format: 'date-time', description: 'Posts created, videos published, before' })),
    minDuration: Type.Optional(Type.Number({ minimum: 0, maximum: 172_800, description: 'Videos only: at least this many seconds long' })),
    maxDuration: Type.Optional(Type.Number({ minimum: 0, maximum: 172_800, description: 'Videos only: at most this many seconds long' })),
    limit: Type.Integer({ minimum: 1, maximum: 50, default: 20 }),
    cursor: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,160}$', description: 'nextCursor of the previous page of the same type' })),
  },
  { additionalProperties: false },
);

const SearchResultSchema = Type.Object(
  {
    posts: Type.Optional(PostPageSchema),
    videos: Type.Optional(VideoPageSchema),
    users: Type.Optional(page(PublicUserSchema, 'UserSearchPage')),
    hashtags: Type.Optional(page(HashtagSchema, 'HashtagSearchPage')),
  },
  { title: 'SearchResult' },
);

export const searchRoutes: ModuleRoutes = async (app, { deps }) => {
  const tags = ['search'];
  const service = searchServiceFor(deps);
  const viewer = (req: { auth: { userId: string } | null }) => req.auth?.userId ?? null;

  app.get(
    '/search',
    {
      config: { auth: 'optional' },
      schema: {
        tags,
        summary: 'Search posts, videos, people and hashtags',
        description:
          'Full-text (English stemming; videos weigh title over tags over description) plus trigram similarity, so misspelt words still match. Results follow the same rules as every list: blocked, muted, follower-only (unless you follow), unlisted, deleted and moderated posts and videos never appear; videos only once processing has finished, private ones to their owner only.',
        querystring: SearchQuery,
        response: { 200: SearchResultSchema, ...errors(400, 401) },
      },
    },
    async (req) => service.search(viewer(req), req.query),
  );

  app.get(
    '/search/suggest',
    {
      config: { auth: 'optional' },
      schema: {
        tags,
        summary: 'As-you-type suggestions: people, hashtags and video titles',
        description: 'Up to five of each. People and hashtags match by name prefix or similarity; videos by the words of their title, tags and description, the last word typed matching as a prefix ("cat vid" finds "Cat videos"), under the same visibility rules as search.',
        querystring: Type.Object({ q: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
        response: {
          200: Type.Object(
            {
              users: Type.Array(PublicUserSchema),
              hashtags: Type.Array(HashtagSchema),
              videos: Type.Array(Type.Object({ id: Type.String({ format: 'uuid' }), title: Type.String() }, { title: 'VideoSuggestion' })),
            },
            { title: 'Suggestions' },
          ),
          ...errors(400, 401),
        },
      },
    },
    async (req) => service.suggest(viewer(req), req.query.q),
  );
};
