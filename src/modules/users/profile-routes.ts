import multipart, { type MultipartFile } from '@fastify/multipart';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError, badRequest } from '../../platform/errors.js';
import { problemResponses } from '../../platform/http/problem.js';
import type { ModuleRoutes } from '../types.js';
import { AccountLifecycle } from './account.js';
import { imageTooLarge, MAX_INPUT_PIXELS, ProfileImages, RENDITIONS, type ImageKind } from './images.js';
import { presentSelf, SelfUserSchema } from './present.js';


const tooLarge = (maxBytes: number) => imageTooLarge(`the image is larger than ${Math.floor(maxBytes / 1024)} KiB`);

/** Read one part into memory, stopping at the size limit instead of receiving the rest. */
async function collect(part: MultipartFile, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of part.file) {
    if (part.file.truncated) throw tooLarge(maxBytes);
    chunks.push(chunk as Buffer);
  }
  if (part.file.truncated) throw tooLarge(maxBytes);
  return Buffer.concat(chunks);
}

const unexpectedPart = () => badRequest('profile.unexpected_field', 'send exactly one part: the image, in a file field named "file"');

/** @fastify/multipart's and busboy's errors, as problems a client can act on. */
function uploadProblem(err: unknown, maxBytes: number): unknown {
  if (err instanceof AppError) return err;
  switch ((err as { code?: string }).code) {
    case 'FST_REQ_FILE_TOO_LARGE':
      return tooLarge(maxBytes);
    case 'FST_FILES_LIMIT':
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return unexpectedPart();
    default:
      return badRequest('profile.malformed_upload', 'the multipart/form-data body could not be read');
  }
}

/**
 * The single `file` part of a multipart/form-data upload, streamed in with the size limit applied
 * as bytes arrive (busboy counts them), so an oversized upload is refused without being held.
 */
export async function readImageUpload(req: FastifyRequest, reply: FastifyReply, maxBytes: number): Promise<Buffer> {
  if (!req.isMultipart()) throw new AppError(415, 'profile.multipart_required', 'send the image as multipart/form-data, in a file field named "file"');
  let image: Buffer | undefined;
  try {
    for await (const part of req.parts()) {
      if (part.type !== 'file' || part.fieldname !== 'file' || image) throw unexpectedPart();
      image = await collect(part, maxBytes);
    }
  } catch (err) {
    // The client may still be sending: close the connection rather than read the rest of the body,
    // as Fastify does for an oversized JSON body.
    reply.header('connection', 'close');
    throw uploadProblem(err, maxBytes);
  }
  if (!image || image.length === 0) throw badRequest('profile.file_required', 'send the image in a file field named "file"', { errors: [{ field: 'file', message: 'is required' }] });
  return image;
}

const UploadBody = Type.Object({
  file: Type.String({ format: 'binary', description: 'JPEG, PNG, WebP, GIF (first frame) or AVIF; the type is read from the bytes' }),
});

const describeSizes = (kind: ImageKind) =>
  Object.entries(RENDITIONS[kind])
    .map(([size, { width, height }]) => `${size} ${width}x${height}`)
    .join(', ');

/**
 * Avatars, banners and the account's own lifecycle. Every route acts on the caller's account only:
 * there is no user id in any path, so nobody can name someone else's.
 */
export const profileRoutes: ModuleRoutes = async (app, { deps }) => {
  const maxBytes = deps.config.auth.imageMaxBytes;
  // Registered here, not on the app: multipart bodies are accepted by these routes and no others.
  await app.register(multipart, {
    throwFileSizeLimit: false,
    limits: { fileSize: maxBytes, files: 1, fields: 0, parts: 1, fieldNameSize: 64, headerPairs: 20 },
  });

  const images = new ProfileImages(deps);
  const account = new AccountLifecycle(deps);
  const ttl = deps.config.signedUrlTtlSeconds;
  const tags = ['users'];
  const security = [{ bearerAuth: [] }];

  for (const kind of ['avatar', 'banner'] as const) {
    app.put(
      `/me/${kind}`,
      {
        config: { permission: 'account.self' },
        // The body is a stream the handler reads itself; the schema is there for the API document.
        validatorCompiler: () => () => true,
        schema: {
          tags,
          summary: `Upload your ${kind}`,
          description: `multipart/form-data with one file field \`file\` of at most ${maxBytes} bytes and ${MAX_INPUT_PIXELS / 1_000_000} megapixels. Stored as WebP in three sizes (${describeSizes(kind)}, cropped to fill), with EXIF and all other metadata removed. Each upload gets new URLs.`,
          security,
          consumes: ['multipart/form-data'],
          body: UploadBody,
          response: { 200: SelfUserSchema, ...problemResponses(400, 401, 413, 415, 422) },
        },
      },
      async (req, reply) => {
        const bytes = await readImageUpload(req, reply, maxBytes);
        return presentSelf(await images.replace(req.auth!.userId, kind, bytes), deps.storage, ttl);
      },
    );

    app.delete(
      `/me/${kind}`,
      {
        config: { permission: 'account.self' },
        schema: { tags, summary: `Remove your ${kind}`, security, response: { 200: SelfUserSchema, ...problemResponses(401) } },
      },
      async (req) => presentSelf(await images.remove(req.auth!.userId, kind), deps.storage, ttl),
    );
  }

  const Password = Type.String({ maxLength: 256, description: 'Required when the account has a password' });

  app.post(
    '/me/deactivate',
    {
      config: { permission: 'account.self' },
      schema: {
        tags,
        summary: 'Deactivate your account',
        description: 'Hides your profile and signs you out everywhere. Signing in again reactivates the account.',
        security,
        body: Type.Object({ password: Type.Optional(Password) }, { additionalProperties: false }),
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 429) },
      },
    },
    async (req, reply) => {
      await account.deactivate(req.auth!.userId, req.body.password, req.ip);
      return reply.code(204).send(null);
    },
  );

  app.delete(
    '/me',
    {
      config: { permission: 'account.self' },
      schema: {
        tags,
        summary: 'Delete your account',
        description: `Signs you out everywhere and hides your profile at once; personal data is erased ${deps.config.auth.accountPurgeGraceDays} days later. Cannot be undone by signing in.`,
        security,
        body: Type.Object(
          { password: Type.Optional(Password), confirm: Type.String({ minLength: 1, maxLength: 64, description: 'Your username, typed to confirm' }) },
          { additionalProperties: false },
        ),
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 429) },
      },
    },
    async (req, reply) => {
      await account.delete(req.auth!.userId, req.body, req.ip);
      return reply.code(204).send(null);
    },
  );
};
