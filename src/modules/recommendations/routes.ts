import { Type } from '@sinclair/typebox';
import { PostPageSchema } from '../posts/present.js';
import { errors, security } from '../posts/schemas.js';
import type { ModuleRoutes } from '../types.js';
import { VideoPageSchema, VideoSchema } from '../videos/present.js';
import { recommendationsFor } from './service.js';
import { upNextFor } from './up-next.js';

const ForYouSchema = Type.Object(
  {
    ...PostPageSchema.properties,
    modelId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()], { description: 'The recommender model version that ranked this list; null before the first training' }),
  },
  { title: 'ForYouPage' },
);

const ForYouVideosSchema = Type.Object(
  {
    ...VideoPageSchema.properties,
    modelId: ForYouSchema.properties.modelId,
  },
  { title: 'ForYouVideoPage' },
);

const FeedQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 50, default: 20 }),
    cursor: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$', description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);

const UpNextSchema = Type.Object({ items: Type.Array(VideoSchema) }, { title: 'UpNext' });

const InterestsSchema = Type.Object({ hashtags: Type.Array(Type.String()) }, { title: 'Interests' });

export const recommendationsRoutes: ModuleRoutes = async (app, { deps }) => {
  const service = recommendationsFor(deps);

  app.get(
    '/feed/for-you',
    {
      config: { permission: 'account.self' },
      schema: {
        tags: ['feed'],
        summary: 'Your "For you" feed: posts picked for you, best first',
        description:
          'Candidates from what people with similar tastes engaged with (co-visitation and matrix factorisation), hashtags you engage with or picked as interests, accounts you follow and what is trending; blended with a freshness bonus, at most 2 posts of one creator in any 10, and the visibility rules applied last. Pages come from a ranking kept for 15 minutes, so paging does not repeat posts.',
        security,
        querystring: FeedQuery,
        response: { 200: ForYouSchema, ...errors(400, 401, 403) },
      },
    },
    async (req) => service.forYou(req.auth!.userId, req.query.limit, req.query.cursor),
  );

  app.get(
    '/feed/for-you/videos',
    {
      config: { permission: 'account.self' },
      schema: {
        tags: ['feed'],
        summary: 'Your "For you" videos, best first',
        description:
          'The "For you" ranking over videos (GET /feed/for-you answers posts): what people with similar tastes watched and liked, videos sharing tags with what you watch or with your interests, creators you follow and trending videos; a freshness bonus, at most 2 videos of one creator in any 10, finished watches left out, and the visibility rules applied last. Pages come from a ranking kept for 15 minutes.',
        security,
        querystring: FeedQuery,
        response: { 200: ForYouVideosSchema, ...errors(400, 401, 403) },
      },
    },
    async (req) => service.forYouVideos(req.auth!.userId, req.query.limit, req.query.cursor),
  );

  app.get(
    '/videos/:id/up-next',
    {
      config: { auth: 'optional' },
      schema: {
        tags: ['videos'],
        summary: 'Videos to watch after this one, best first',
        description:
          'Videos the people who watched this one also watched (co-visitation), then videos sharing its tags (the same creator counts a little), then trending and new videos as fill. Never this video, never one you finished, never one you may not watch. 404 when you may not see this video (as GET /videos/:id).',
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
        querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 50, default: 20 }) }, { additionalProperties: false }),
        response: { 200: UpNextSchema, ...errors(400, 401, 404) },
      },
    },
    async (req) => upNextFor(deps).upNext(req.auth?.userId ?? null, req.params.id, req.query.limit),
  );

  app.get(
    '/me/interests',
    {
      config: { permission: 'account.self' },
      schema: { tags: ['feed'], summary: 'Hashtags you picked as interests (cold start of "For you")', security, response: { 200: InterestsSchema, ...errors(401, 403) } },
    },
    async (req) => ({ hashtags: await service.interests(req.auth!.userId) }),
  );

  app.put(
    '/me/interests',
    {
      config: { permission: 'account.self' },
      schema: {
        tags: ['feed'],
        summary: 'Replace your interests (up to 20 hashtags)',
        security,
        body: Type.Object({ hashtags: Type.Array(Type.String({ minLength: 1, maxLength: 65 }), { maxItems: 20 }) }, { additionalProperties: false }),
        response: { 200: InterestsSchema, ...errors(400, 401, 403) },
      },
    },
    async (req) => ({ hashtags: await service.setInterests(req.auth!.userId, req.body.hashtags) }),
  );
};
