import { Type, type TSchema } from '@sinclair/typebox';
import { problemResponses } from '../../platform/http/problem.js';
import type { ModuleRoutes } from '../types.js';
import { presentPublic, PublicUserSchema } from '../users/present.js';
import type { UserRow } from '../users/tables.js';
import { GRAPH_CURSOR_PATTERN } from './cursor.js';
import { GraphService, type Page } from './service.js';


/** A mute longer than a year is a block in all but name; `DELETE` ends one early. */
export const MAX_MUTE_SECONDS = 365 * 24 * 3600;

const UsernameParams = Type.Object({ username: Type.String({ minLength: 1, maxLength: 30 }) });
const PageQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ pattern: GRAPH_CURSOR_PATTERN, description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);
const PageOf = <T extends TSchema>(item: T, title: string) =>
  Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last' }) }, { title });
const UserPage = PageOf(PublicUserSchema, 'UserPage');
const MutedPage = PageOf(
  Type.Object({ user: PublicUserSchema, expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]) }, { title: 'MutedUser' }),
  'MutedUserPage',
);
const FollowResult = Type.Object(
  { state: Type.Union([Type.Literal('following'), Type.Literal('requested')], { description: '`requested`: the account is private and must approve' }) },
  { title: 'FollowResult' },
);
const RelationshipSchema = Type.Object(
  {
    following: Type.Boolean(),
    followedBy: Type.Boolean(),
    requested: Type.Boolean({ description: 'You asked to follow; they have not answered' }),
    requestedBy: Type.Boolean({ description: 'They asked to follow you' }),
    blocking: Type.Boolean({ description: 'You blocked them' }),
    unavailable: Type.Boolean({ description: 'A block stands between you, in either direction (which one is not said)' }),
    muting: Type.Boolean(),
    muteExpiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  },
  { title: 'Relationship' },
);
const StatsSchema = Type.Object({ followers: Type.Integer(), following: Type.Integer(), posts: Type.Integer() }, { title: 'UserStats' });
const MuteBody = Type.Union([
  Type.Object(
    { durationSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: MAX_MUTE_SECONDS, description: 'Omit to mute until unmuted' })) },
    { additionalProperties: false },
  ),
  Type.Null(),
]);
const MuteResult = Type.Object({ expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]) }, { title: 'MuteResult' });

export const graphRoutes: ModuleRoutes = async (app, { deps }) => {
  const graph = new GraphService(deps);
  const ttl = deps.config.signedUrlTtlSeconds;
  const tags = ['graph'];
  const security = [{ bearerAuth: [] }];
  const presentPage = async (p: Page<UserRow>) => ({ items: await Promise.all(p.items.map((u) => presentPublic(u, deps.storage, ttl))), nextCursor: p.nextCursor });
  const self = { permission: 'account.self' } as const;
  const optional = { auth: 'optional' } as const;

  app.post(
    '/users/:username/follow',
    {
      config: self,
      schema: {
        tags,
        security,
        summary: 'Follow an account, or ask to when it is private',
        description: 'Idempotent: following again answers the same state. 403 `graph.blocked` when a block stands between you (either way).',
        params: UsernameParams,
        response: { 200: FollowResult, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (req) => ({ state: await graph.follow(req.auth!.userId, await graph.resolve(req.params.username)) }),
  );

  app.delete(
    '/users/:username/follow',
    {
      config: self,
      schema: { tags, security, summary: 'Unfollow, or withdraw a pending follow request', params: UsernameParams, response: { 204: Type.Null(), ...problemResponses(400, 401, 404) } },
    },
    async (req, reply) => {
      await graph.unfollow(req.auth!.userId, await graph.resolve(req.params.username));
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/me/follow-requests',
    { config: self, schema: { tags, security, summary: 'Pending requests to follow you, newest first', querystring: PageQuery, response: { 200: UserPage, ...problemResponses(400, 401) } } },
    async (req) => presentPage(await graph.incomingRequests(req.auth!.userId, { limit: req.query.limit ?? 20, cursor: req.query.cursor })),
  );

  for (const action of ['approve', 'deny'] as const) {
    app.post(
      `/me/follow-requests/:username/${action}`,
      {
        config: self,
        schema: {
          tags,
          security,
          summary: action === 'approve' ? 'Approve a request to follow you' : 'Deny a request to follow you',
          params: UsernameParams,
          response: { 204: Type.Null(), ...problemResponses(401, 404) },
        },
      },
      async (req, reply) => {
        const requester = await graph.resolve(req.params.username);
        if (action === 'approve') await graph.approve(req.auth!.userId, requester);
        else await graph.deny(req.auth!.userId, requester);
        return reply.code(204).send(null);
      },
    );
  }

  for (const list of ['followers', 'following'] as const) {
    app.get(
      `/users/:username/${list}`,
      {
        config: optional,
        schema: {
          tags,
          summary: list === 'followers' ? 'Who follows an account, newest first' : 'Whom an account follows, newest first',
          description: 'A private account shows its lists to itself and its approved followers only (403 `graph.private`). Accounts on the other side of a block from you are left out.',
          params: UsernameParams,
          querystring: PageQuery,
          response: { 200: UserPage, ...problemResponses(400, 403, 404) },
        },
      },
      async (req) => {
        const target = await graph.resolve(req.params.username);
        const viewer = req.auth?.userId ?? null;
        await graph.assertListsVisible(viewer, target);
        const q = { limit: req.query.limit ?? 20, cursor: req.query.cursor };
        return presentPage(list === 'followers' ? await graph.followers(viewer, target.id, q) : await graph.following(viewer, target.id, q));
      },
    );
  }

  app.get(
    '/users/:username/stats',
    { config: optional, schema: { tags, summary: "An account's counters", params: UsernameParams, response: { 200: StatsSchema, ...problemResponses(404) } } },
    async (req) => graph.stats((await graph.resolve(req.params.username)).id),
  );

  app.get(
    '/users/:username/relationship',
    { config: self, schema: { tags, security, summary: 'How you and an account stand towards each other', params: UsernameParams, response: { 200: RelationshipSchema, ...problemResponses(401, 404) } } },
    async (req) => graph.relationship(req.auth!.userId, await graph.resolve(req.params.username)),
  );

  app.post(
    '/users/:username/block',
    {
      config: self,
      schema: {
        tags,
        security,
        summary: 'Block an account',
        description: 'Removes follows and pending requests both ways. Idempotent.',
        params: UsernameParams,
        response: { 204: Type.Null(), ...problemResponses(400, 401, 404) },
      },
    },
    async (req, reply) => {
      await graph.block(req.auth!.userId, await graph.resolve(req.params.username));
      return reply.code(204).send(null);
    },
  );

  app.delete(
    '/users/:username/block',
    { config: self, schema: { tags, security, summary: 'Unblock an account', params: UsernameParams, response: { 204: Type.Null(), ...problemResponses(400, 401, 404) } } },
    async (req, reply) => {
      await graph.unblock(req.auth!.userId, await graph.resolve(req.params.username));
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/me/blocks',
    { config: self, schema: { tags, security, summary: 'Accounts you blocked, newest first', querystring: PageQuery, response: { 200: UserPage, ...problemResponses(400, 401) } } },
    async (req) => presentPage(await graph.blocked(req.auth!.userId, { limit: req.query.limit ?? 20, cursor: req.query.cursor })),
  );

  app.post(
    '/users/:username/mute',
    {
      config: self,
      schema: {
        tags,
        security,
        summary: 'Mute an account (hidden from you only)',
        description: 'Muting again replaces the duration.',
        params: UsernameParams,
        body: MuteBody,
        response: { 200: MuteResult, ...problemResponses(400, 401, 404) },
      },
    },
    async (req) => {
      const target = await graph.resolve(req.params.username);
      const expiresAt = await graph.mute(req.auth!.userId, target, req.body?.durationSeconds);
      return { expiresAt: expiresAt?.toISOString() ?? null };
    },
  );

  app.delete(
    '/users/:username/mute',
    { config: self, schema: { tags, security, summary: 'Unmute an account', params: UsernameParams, response: { 204: Type.Null(), ...problemResponses(400, 401, 404) } } },
    async (req, reply) => {
      await graph.unmute(req.auth!.userId, await graph.resolve(req.params.username));
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/me/mutes',
    { config: self, schema: { tags, security, summary: 'Accounts you muted (mutes still running), newest first', querystring: PageQuery, response: { 200: MutedPage, ...problemResponses(400, 401) } } },
    async (req) => {
      const p = await graph.muted(req.auth!.userId, { limit: req.query.limit ?? 20, cursor: req.query.cursor });
      return {
        items: await Promise.all(p.items.map(async (m) => ({ user: await presentPublic(m.user, deps.storage, ttl), expiresAt: m.expiresAt?.toISOString() ?? null }))),
        nextCursor: p.nextCursor,
      };
    },
  );
};
