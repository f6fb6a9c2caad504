import { Type } from '@sinclair/typebox';
import { notFound, unauthorized } from '../../platform/errors.js';
import { problemResponses } from '../../platform/http/problem.js';
import type { ModuleRoutes } from '../types.js';
import { presentPublic, presentSelf, PublicUserSchema, SelfUserSchema } from './present.js';
import { UsersService } from './service.js';


export const usersRoutes: ModuleRoutes = async (app, { deps }) => {
  const users = new UsersService(deps);
  const ttl = deps.config.signedUrlTtlSeconds;
  const tags = ['users'];

  app.get(
    '/me',
    { config: { permission: 'account.self' }, schema: { tags, summary: 'Your account and profile', security: [{ bearerAuth: [] }], response: { 200: SelfUserSchema, ...problemResponses(401) } } },
    async (req) => {
      const u = await users.byId(req.auth!.userId);
      if (!u) throw unauthorized('auth.required', 'sign in again');
      return presentSelf(u, deps.storage, ttl);
    },
  );

  app.patch(
    '/me',
    {
      config: { permission: 'account.self' },
      schema: {
        tags,
        summary: 'Edit your profile',
        security: [{ bearerAuth: [] }],
        body: Type.Object(
          {
            displayName: Type.Optional(Type.Union([Type.String({ maxLength: 50 }), Type.Null()])),
            bio: Type.Optional(Type.Union([Type.String({ maxLength: 500 }), Type.Null()])),
            links: Type.Optional(Type.Array(Type.Object({ label: Type.String({ minLength: 1, maxLength: 40 }), url: Type.String({ minLength: 8, maxLength: 300 }) }, { additionalProperties: false }), { maxItems: 5 })),
            isPrivate: Type.Optional(Type.Boolean({ description: 'Followers must be approved (see the social graph)' })),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: SelfUserSchema, ...problemResponses(400, 401) },
      },
    },
    async (req) => presentSelf(await users.updateProfile(req.auth!.userId, req.body), deps.storage, ttl),
  );

  app.get(
    '/users/:username',
    {
      config: { auth: 'optional' },
      schema: { tags, summary: 'A public profile', params: Type.Object({ username: Type.String({ minLength: 1, maxLength: 30 }) }), response: { 200: PublicUserSchema, ...problemResponses(404) } },
    },
    async (req) => {
      const u = await users.visibleByUsername(req.params.username);
      if (!u) throw notFound('users.not_found', 'no such user');
      return presentPublic(u, deps.storage, ttl);
    },
  );
};
