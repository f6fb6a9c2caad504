import { Type } from '@sinclair/typebox';
import { CURSOR_PATTERN } from '../admin/cursor.js';
import { PostPageSchema } from '../posts/present.js';
import { errors, security } from '../posts/schemas.js';
import type { ModuleRoutes } from '../types.js';
import { feedServiceFor } from './service.js';

const HomeQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 50, default: 20 }),
    cursor: Type.Optional(Type.String({ pattern: CURSOR_PATTERN, description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);

export const feedRoutes: ModuleRoutes = async (app, { deps }) => {
  app.get(
    '/feed/home',
    {
      config: { permission: 'account.self' },
      schema: {
        tags: ['feed'],
        summary: 'Your home feed: your posts and those of the accounts you follow, newest first',
        description:
          'Top-level posts and reposts (replies are not in the home feed). Keyset pages: posts written between two pages appear on the first page, never in the middle of the list.',
        security,
        querystring: HomeQuery,
        response: { 200: PostPageSchema, ...errors(400, 401) },
      },
    },
    async (req) => feedServiceFor(deps).home(req.auth!.userId, req.query),
  );
};
