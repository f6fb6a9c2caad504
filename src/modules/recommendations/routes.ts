import { Type } from '@sinclair/typebox';
import { PostPageSchema } from '../posts/present.js';
import { errors, security } from '../posts/schemas.js';
import type { ModuleRoutes } from '../types.js';
import { recommendationsFor } from './service.js';

const ForYouSchema = Type.Object(
  {
    ...PostPageSchema.properties,
    modelId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()], { description: 'The recommender model version that ranked this list; null before the first training' }),
  },
  { title: 'ForYouPage' },
);

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
        querystring: Type.Object(
          {
            limit: Type.Integer({ minimum: 1, maximum: 50, default: 20 }),
            cursor: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$', description: 'nextCursor of the previous page' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: ForYouSchema, ...errors(400, 401, 403) },
      },
    },
    async (req) => service.forYou(req.auth!.userId, req.query.limit, req.query.cursor),
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
