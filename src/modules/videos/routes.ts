import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { problemResponses as errors } from '../../platform/http/problem.js';
import type { ModuleRoutes } from '../types.js';
import { VideoPageSchema, VideoSchema } from './present.js';
import { MAX_DESCRIPTION, MAX_TITLE, videosServiceFor } from './service.js';
import { VIDEO_VISIBILITIES } from './tables.js';

const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const PageQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,128}$', description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);
const security = [{ bearerAuth: [] }];
const Visibility = Type.Union(VIDEO_VISIBILITIES.map((v) => Type.Literal(v)), { description: 'public; unlisted (by link only, never in lists); followers; private (only you)' });
const Tag = Type.String({ minLength: 1, maxLength: 50 });
// Lengths in code points are checked by the service; the schema leaves room for astral characters.
const fields = {
  title: Type.String({ minLength: 1, maxLength: MAX_TITLE * 2 }),
  description: Type.String({ maxLength: MAX_DESCRIPTION * 2 }),
  tags: Type.Array(Tag, { maxItems: 30 }),
  category: Type.Union([Type.String({ minLength: 1, maxLength: 50, pattern: '^[a-z0-9][a-z0-9_-]*$' }), Type.Null()]),
  language: Type.Union([Type.String({ pattern: '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$', description: 'BCP 47, e.g. en or pt-BR' }), Type.Null()]),
  visibility: Visibility,
  ageRestricted: Type.Boolean(),
};
const Created = Type.Object(
  { id: Type.String({ format: 'uuid' }), upload: Type.Object({ url: Type.String({ description: 'tus creation URL for this video (POST with Upload-Length, then PATCH the bytes to the Location answered)' }) }) },
  { title: 'VideoCreated' },
);

export const videoRoutes: ModuleRoutes = async (app, { deps }) => {
  const videos = videosServiceFor(deps);
  const tags = ['videos'];
  const viewer = (req: { auth: { userId: string } | null }) => req.auth?.userId ?? null;

  app.post(
    '/videos',
    {
      config: { permission: 'account.self', idempotent: true },
      schema: {
        tags,
        summary: 'Create a video and get the URL to upload its file to (tus)',
        security,
        body: Type.Object(
          { title: fields.title, description: Type.Optional(fields.description), tags: Type.Optional(fields.tags), category: Type.Optional(fields.category), language: Type.Optional(fields.language), visibility: Type.Optional(fields.visibility), ageRestricted: Type.Optional(fields.ageRestricted) },
          { additionalProperties: false },
        ),
        response: { 201: Created, ...errors(400, 401, 403, 409, 422) },
      },
    },
    async (req, reply) => {
      const created = await videos.create(req.auth!.userId, req.body);
      return reply.code(201).header('location', `/api/v1/videos/${created.id}`).send(created);
    },
  );

  app.get(
    '/videos',
    { config: { auth: 'optional' }, schema: { tags, summary: 'Recently published public videos, newest first', querystring: PageQuery, response: { 200: VideoPageSchema, ...errors(400, 401) } } },
    async (req) => videos.recent(viewer(req), req.query.limit, req.query.cursor),
  );

  app.get(
    '/videos/:id',
    {
      config: { auth: 'optional' },
      schema: {
        tags,
        summary: 'A video: status, metadata and (once playable) its signed HLS master playlist',
        description: 'status goes uploading -> processing -> ready (or failed, with statusReason). hlsUrl appears as soon as the first rendition is published.',
        params: IdParams,
        response: { 200: VideoSchema, ...errors(400, 401, 404) },
      },
    },
    async (req) => videos.get(viewer(req), req.params.id),
  );

  app.patch(
    '/videos/:id',
    {
      config: { permission: 'account.self' },
      schema: {
        tags,
        summary: 'Edit your video: title, description, tags, category, language, visibility',
        security,
        params: IdParams,
        body: Type.Object(
          { title: Type.Optional(fields.title), description: Type.Optional(fields.description), tags: Type.Optional(fields.tags), category: Type.Optional(fields.category), language: Type.Optional(fields.language), visibility: Type.Optional(fields.visibility), ageRestricted: Type.Optional(fields.ageRestricted) },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: VideoSchema, ...errors(400, 401, 404) },
      },
    },
    async (req) => {
      await videos.update(req.auth!.userId, req.params.id, req.body);
      return videos.get(req.auth!.userId, req.params.id);
    },
  );

  app.delete(
    '/videos/:id',
    { config: { permission: 'account.self' }, schema: { tags, summary: 'Delete your video (moderators: any video); its files are removed in the background', security, params: IdParams, response: { 204: Type.Null(), ...errors(400, 401, 404) } } },
    async (req, reply) => {
      const role = req.auth!.role;
      await videos.delete(req.auth!.userId, role === 'moderator' || role === 'admin', req.params.id);
      return reply.code(204).send(null);
    },
  );

  await app.register(async (plugin) => {
    const thumbs = plugin.withTypeProvider<TypeBoxTypeProvider>();
    // Raw image bodies for this route only, up to the image limit.
    thumbs.addContentTypeParser(['image/jpeg', 'image/png', 'image/webp'], { parseAs: 'buffer', bodyLimit: deps.config.auth.imageMaxBytes }, (_req, body, done) => done(null, body));
    thumbs.put(
      '/videos/:id/thumbnail',
      {
        config: { permission: 'account.self' },
        schema: {
          tags,
          summary: "Replace your video's thumbnail",
          description: `The image itself as the body (Content-Type image/jpeg, image/png or image/webp), at most ${deps.config.auth.imageMaxBytes} bytes.`,
          security,
          params: IdParams,
          response: { 200: VideoSchema, ...errors(400, 401, 404, 413, 415, 422) },
        },
      },
      async (req) => {
        await videos.replaceThumbnail(req.auth!.userId, req.params.id, req.body as Buffer);
        return videos.get(req.auth!.userId, req.params.id);
      },
    );
  });

  app.get(
    '/users/:username/videos',
    {
      config: { auth: 'optional' },
      schema: {
        tags,
        summary: "A creator's videos, newest first",
        description: 'The creator also sees their unlisted, private and unfinished videos.',
        params: Type.Object({ username: Type.String({ minLength: 1, maxLength: 64 }) }),
        querystring: PageQuery,
        response: { 200: VideoPageSchema, ...errors(400, 401, 404) },
      },
    },
    async (req) => videos.listByCreator(viewer(req), req.params.username, req.query.limit, req.query.cursor),
  );

  app.post(
    '/videos/:id/views',
    {
      config: { auth: 'optional' },
      schema: {
        tags,
        summary: 'Report that playback started; counted once per viewer (or anonymous device) per window',
        params: IdParams,
        response: { 200: Type.Object({ counted: Type.Boolean(), viewCount: Type.Integer() }, { title: 'ViewResult' }), ...errors(400, 401, 404) },
      },
    },
    async (req) => videos.view(viewer(req), `${req.ip}\n${req.headers['user-agent'] ?? ''}`, req.params.id),
  );

  app.post(
    '/videos/:id/progress',
    {
      config: { permission: 'account.self' },
      schema: {
        tags,
        summary: 'Watch-time heartbeat: your resume position and the seconds watched since the last one',
        security,
        params: IdParams,
        body: Type.Object(
          { positionSeconds: Type.Number({ minimum: 0, maximum: 172_800 }), watchedSeconds: Type.Optional(Type.Number({ minimum: 0, maximum: 3600, default: 0, description: 'Seconds actually played since the last heartbeat; at most 120 count per call' })) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ positionSeconds: Type.Number(), watchedSeconds: Type.Number(), completed: Type.Boolean() }, { title: 'VideoProgress' }), ...errors(400, 401, 404) },
      },
    },
    async (req) => videos.progress(req.auth!.userId, req.params.id, req.body.positionSeconds, req.body.watchedSeconds ?? 0),
  );
};
