import multipart from '@fastify/multipart';
import { Type } from '@sinclair/typebox';
import { readImageUpload } from '../users/profile-routes.js';
import { MAX_INPUT_PIXELS } from '../users/images.js';
import type { ModuleRoutes } from '../types.js';
import { MediaSchema, PostSchema } from './present.js';
import { errors, IdParams, security } from './schemas.js';
import { postsServicesFor } from './service.js';
import { POST_VISIBILITIES } from './tables.js';
import { MAX_TEXT } from './text.js';
import { MAX_IMAGES } from './writer.js';

const Uuid = Type.String({ format: 'uuid' });

const CreateBody = Type.Object(
  {
    text: Type.String({ maxLength: MAX_TEXT, description: `Plain text, 1 to ${MAX_TEXT} characters after trimming (may be empty when media is attached). #hashtags and @mentions are picked out of it.` }),
    visibility: Type.Optional(Type.Union(POST_VISIBILITIES.map((v) => Type.Literal(v)), { description: 'Default public. A reply to a followers-only post is followers-only.' })),
    replyTo: Type.Optional(Uuid),
    quoteOf: Type.Optional(Uuid),
    media: Type.Optional(Type.Array(Uuid, { maxItems: MAX_IMAGES, description: 'Up to 4 image ids from POST /media, or the id of one of your own videos (POST /videos) alone' })),
  },
  { additionalProperties: false },
);

/** Writes: every route needs a signed-in account and acts as that account only. */
export const postsWriteRoutes: ModuleRoutes = async (app, { deps }) => {
  const { reader, writer, media } = postsServicesFor(deps);
  const tags = ['posts'];

  app.post(
    '/posts',
    {
      config: { permission: 'account.self', idempotent: true },
      schema: { tags, summary: 'Write a post, reply or quote', security, body: CreateBody, response: { 201: PostSchema, ...errors(400, 401, 404, 409, 422) } },
    },
    async (req, reply) => {
      const id = await writer.create(req.auth!.userId, req.body);
      return reply.code(201).header('location', `/api/v1/posts/${id}`).send(await reader.get(req.auth!.userId, id));
    },
  );

  app.patch(
    '/posts/:id',
    {
      config: { permission: 'account.self' },
      schema: {
        tags,
        summary: 'Edit the text of your post',
        description: 'The previous text is kept (GET /posts/:id/history). Posts of other accounts answer 404.',
        security,
        params: IdParams,
        body: Type.Object({ text: Type.String({ maxLength: MAX_TEXT }) }, { additionalProperties: false }),
        response: { 200: PostSchema, ...errors(400, 401, 404) },
      },
    },
    async (req) => {
      await writer.edit(req.auth!.userId, req.params.id, req.body.text);
      return reader.get(req.auth!.userId, req.params.id);
    },
  );

  app.delete(
    '/posts/:id',
    {
      config: { permission: 'account.self' },
      schema: { tags, summary: 'Delete your post', description: 'Posts of other accounts answer 404.', security, params: IdParams, response: { 204: Type.Null(), ...errors(400, 401, 404) } },
    },
    async (req, reply) => {
      await writer.delete(req.auth!.userId, req.params.id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/posts/:id/repost',
    {
      config: { permission: 'account.self' },
      schema: {
        tags,
        summary: 'Repost a post',
        description: '201 with the new repost; 200 with the existing one when you already reposted it. Followers-only posts cannot be reposted (422).',
        security,
        params: IdParams,
        response: { 200: PostSchema, 201: PostSchema, ...errors(400, 401, 404, 422) },
      },
    },
    async (req, reply) => {
      const { id, created } = await writer.repost(req.auth!.userId, req.params.id);
      return reply.code(created ? 201 : 200).send(await reader.get(req.auth!.userId, id));
    },
  );

  app.delete(
    '/posts/:id/repost',
    { config: { permission: 'account.self' }, schema: { tags, summary: 'Undo your repost', security, params: IdParams, response: { 204: Type.Null(), ...errors(400, 401) } } },
    async (req, reply) => {
      await writer.unrepost(req.auth!.userId, req.params.id);
      return reply.code(204).send(null);
    },
  );

  // Its own scope, so multipart bodies are accepted by the upload route and no other.
  await app.register(async (scope) => {
    const maxBytes = deps.config.auth.imageMaxBytes;
    await scope.register(multipart, { throwFileSizeLimit: false, limits: { fileSize: maxBytes, files: 1, fields: 0, parts: 1, fieldNameSize: 64, headerPairs: 20 } });
    scope.post(
      '/media',
      {
        // No Idempotency-Key here: the key's request hash covers JSON bodies, not a streamed file.
        config: { permission: 'account.self' },
        // The body is a stream the handler reads itself; the schema is there for the API document.
        validatorCompiler: () => () => true,
        schema: {
          tags,
          summary: 'Upload an image to attach to a post',
          description: `multipart/form-data with one file field \`file\` of at most ${maxBytes} bytes and ${MAX_INPUT_PIXELS / 1_000_000} megapixels. Stored as WebP 320 and 1280 pixels wide (never enlarged), EXIF and all other metadata removed. Attach it with \`media: [id]\` in POST /posts.`,
          security,
          consumes: ['multipart/form-data'],
          body: Type.Object({ file: Type.String({ format: 'binary' }) }),
          response: { 201: MediaSchema, ...errors(400, 401, 413, 415, 422) },
        },
      },
      async (req, reply) => {
        const bytes = await readImageUpload(req, reply, maxBytes);
        return reply.code(201).send(await media.uploadImage(req.auth!.userId, bytes));
      },
    );
  });
};
