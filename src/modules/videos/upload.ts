import { Type } from '@sinclair/typebox';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyCorsOptions } from '@fastify/cors';
import { Server } from '@tus/server';
import { ERRORS, StreamLimiter, type CancellationContext, type Upload } from '@tus/utils';
import { NodeRequest, sendNodeResponse } from 'srvx/node';
import { and, eq, isNull, ne, sql } from 'drizzle-orm';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Deps } from '../../platform/deps.js';
import { AppError, badRequest, conflict } from '../../platform/errors.js';
import { problem, problemResponses as errors } from '../../platform/http/problem.js';
import type { ModuleRoutes } from '../types.js';
import { ingestUpload } from './ingest.js';
import { videoNotFound } from './service.js';
import { sourceStoreFor, type SourceStore } from './source.js';
import { CacheLocker } from './tus-locker.js';
import { videos } from './tables.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PATH = '/api/v1/uploads';

/** Upload-Metadata is `key base64value, key2 base64value2`. */
function metadataValue(header: string | undefined, key: string): string | undefined {
  for (const pair of (header ?? '').split(',')) {
    const [k, v] = pair.trim().split(' ');
    if (k === key && v !== undefined) return Buffer.from(v, 'base64').toString('utf8');
  }
  return undefined;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** @fastify/cors options for this route alone (the plugin reads them; its types do not declare them). */
    cors?: Partial<FastifyCorsOptions>;
  }
}

/**
 * tus checksum extension: the algorithms a client may name in Upload-Checksum (sha1 is the one the
 * protocol requires every server to offer), with their digest sizes in bytes.
 */
export const CHECKSUM_ALGORITHMS: Record<string, number> = { sha1: 20, sha256: 32, sha512: 64, md5: 16 };

/** The checksum a client sent with a chunk: `Upload-Checksum: <algorithm> <base64 digest>`. */
export interface ChunkChecksum {
  algorithm: string;
  digest: Buffer;
}

/** Upload-Checksum parsed, or null when absent; a malformed header or unknown algorithm is a 400 (tus checksum extension). */
export function chunkChecksum(header: string | string[] | undefined): ChunkChecksum | null {
  if (header === undefined) return null;
  const invalid = (detail: string) => badRequest('videos.upload_checksum_invalid', detail, { errors: [{ field: 'Upload-Checksum', message: detail }] });
  const m = typeof header === 'string' ? /^([A-Za-z0-9-]{1,32}) ([A-Za-z0-9+/]{1,200}={0,2})$/.exec(header.trim()) : null;
  if (!m) throw invalid('Upload-Checksum is `<algorithm> <base64 digest>`, e.g. `sha1 2jmj7l5rSw0yVb/vlWAYkK/YBwk=`');
  const algorithm = m[1]!.toLowerCase();
  const size = Object.hasOwn(CHECKSUM_ALGORITHMS, algorithm) ? CHECKSUM_ALGORITHMS[algorithm]! : 0;
  if (!size) throw badRequest('videos.upload_checksum_algorithm', `checksum algorithm ${algorithm} is not supported; use one of ${Object.keys(CHECKSUM_ALGORITHMS).join(', ')}`, { errors: [{ field: 'Upload-Checksum', message: 'names an unsupported algorithm' }] });
  const digest = Buffer.from(m[2]!, 'base64');
  if (digest.length !== size) throw invalid(`a ${algorithm} digest is ${size} bytes; this one is ${digest.length}`);
  return { algorithm, digest };
}

/** tus's status for a chunk whose checksum differs (checksum extension); thrown from writeToStore, answered as problem+json by handOver. */
const CHECKSUM_MISMATCH = { status_code: 460, body: 'Checksum Mismatch\n' };

function videoIdOfCreation(query: string | undefined, metadata: string | undefined): string {
  const id = query ?? metadataValue(metadata, 'videoId');
  if (!id || !UUID.test(id)) {
    throw badRequest('videos.upload_video_required', 'name the video: use the upload.url answered by POST /api/v1/videos (?videoId=...) or Upload-Metadata videoId', { errors: [{ field: 'videoId', message: 'is missing or not a uuid' }] });
  }
  return id.toLowerCase();
}

/**
 * Resumable uploads (tus 1.0: core, creation, creation-with-upload, termination, expiration, checksum)
 * at /api/v1/uploads, with @tus/server doing the protocol. This plugin decides who may do what:
 * one upload per video, by its owner, within the size limit and the owner's quota; the upload's
 * id is the video's id, so a client that lost everything but the video id can still resume. It
 * also adds the checksum extension, which @tus/server lacks (see nodeBodyWrites).
 */
export const uploadRoutes: ModuleRoutes = async (app, { deps }) => {
  const source = await sourceStoreFor(deps);
  const { maxUploadBytes, userQuotaBytes } = deps.config.video;
  const tus = new Server({
    path: PATH,
    datastore: source.datastore,
    maxSize: maxUploadBytes,
    respectForwardedHeaders: deps.config.trustProxy,
    // Upload locks shared by every API process (Redis in production), so no sticky routing is needed.
    locker: new CacheLocker(deps.cache, { ttlMs: 30_000, acquireTimeoutMs: 30_000 }),
    namingFunction: (req, metadata) => {
      const q = new URL(req.url).searchParams.get('videoId');
      return (q ?? metadata?.videoId ?? '').toLowerCase();
    },
    onUploadFinish: async (_req, upload) => {
      await finishUpload(deps, source, upload.id);
      return {};
    },
  });

  const spoolDir = await chunkSpoolDir(deps.config.dataDir);
  nodeBodyWrites(tus, 'PATCH', spoolDir);
  nodeBodyWrites(tus, 'POST', spoolDir);
  // Offered by this server: creation-defer-length is not (Upload-Length is required), expiration only when uploads expire.
  const extensions = ['creation', 'creation-with-upload', 'termination', ...(source.datastore.getExpiration() > 0 ? ['expiration'] : []), 'checksum'];

  // The body is tus's to read, straight from the socket: never buffered here.
  app.addContentTypeParser('application/offset+octet-stream', (_req, _payload, done) => done(null));

  const handOver = async (req: FastifyRequest, reply: FastifyReply, checksum: ChunkChecksum | null = null) => {
    // Headers set by the app's hooks (CORS, request id, security) live on the Fastify reply, which tus never sees.
    for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) reply.raw.setHeader(k, v as string);
    reply.hijack();
    if (req.method !== 'PATCH' && req.method !== 'POST') {
      await tus.handle(req.raw, reply.raw);
      return;
    }
    // tus's Node entry point hands the body on as a web stream (Node -> web -> Node again), which
    // cost three quarters of the throughput; a PATCH (or creation-with-upload POST) body goes to the
    // store as the Node stream it is.
    const request = new NodeRequest({ req: req.raw, res: reply.raw });
    Object.defineProperty(request, 'body', { value: nodeBody(req.raw, checksum) });
    let res = await tus.handleWeb(request);
    if (res.status === CHECKSUM_MISMATCH.status_code) {
      const p = problem(460, 'videos.upload_checksum_mismatch', `the chunk's ${checksum?.algorithm ?? ''} checksum differs from Upload-Checksum; nothing of it was stored: send it again from Upload-Offset`);
      const headers = new Headers(res.headers);
      headers.set('content-type', 'application/problem+json');
      headers.delete('content-length');
      res = new Response(JSON.stringify({ ...p, title: 'Checksum Mismatch', instance: req.url.split('?')[0], requestId: String(req.id) }), { status: 460, headers });
    }
    await sendNodeResponse(reply.raw, res);
  };

  const tags = ['videos'];
  const config = { auth: 'required' } as const;
  const security = [{ bearerAuth: [] }];

  // tus discovery. A browser's CORS preflight still gets the CORS plugin's answer (these headers
  // added); any other OPTIONS reaches this handler instead of being refused as a bad preflight.
  app.options(
    '/uploads',
    {
      config: { cors: { preflightContinue: true, strictPreflight: false } },
      schema: { tags, summary: 'tus discovery: protocol version, extensions, maximum size and checksum algorithms', response: { 204: Type.Null() } },
    },
    async (_req, reply) => {
      reply
        .header('tus-resumable', '1.0.0')
        .header('tus-version', '1.0.0')
        .header('tus-extension', extensions.join(','))
        .header('tus-max-size', String(maxUploadBytes))
        .header('tus-checksum-algorithm', Object.keys(CHECKSUM_ALGORITHMS).join(','))
        .code(204)
        .send(null);
    },
  );

  app.post(
    '/uploads',
    {
      config,
      schema: {
        tags,
        summary: 'Create the tus upload of a video (tus creation extension)',
        description: `Send \`Tus-Resumable: 1.0.0\` and \`Upload-Length\` (at most ${maxUploadBytes} bytes; your videos' sources count against a quota of ${userQuotaBytes} bytes). Name the video by \`?videoId=\` (the upload.url of POST /videos) or Upload-Metadata \`videoId\`. Optional Upload-Metadata \`sha256\` (hex) is checked against the assembled file. Answers 201 with Location, then PATCH the bytes there.`,
        security,
        querystring: Type.Object({ videoId: Type.Optional(Type.String({ format: 'uuid' })) }, { additionalProperties: false }),
        response: { 201: Type.Null(), ...errors(400, 401, 404, 409, 413) },
      },
    },
    async (req, reply) => {
      const id = videoIdOfCreation(req.query.videoId, req.headers['upload-metadata'] as string | undefined);
      const lengthHeader = req.headers['upload-length'];
      if (typeof lengthHeader !== 'string' || !/^\d{1,16}$/.test(lengthHeader)) {
        throw badRequest('videos.upload_length_required', 'send Upload-Length: the size of the whole file in bytes (deferred lengths are not supported)', { errors: [{ field: 'Upload-Length', message: 'is missing or not a number' }] });
      }
      const length = Number(lengthHeader);
      if (length > maxUploadBytes) throw new AppError(413, 'videos.upload_too_large', `the file is ${length} bytes; the limit is ${maxUploadBytes}`);
      if (length === 0) throw badRequest('videos.upload_empty', 'the file is empty', { errors: [{ field: 'Upload-Length', message: 'is 0' }] });
      const checksum = chunkChecksum(req.headers['upload-checksum']);
      await claimUpload(deps, source, req.auth!.userId, id, length, userQuotaBytes);
      await handOver(req, reply, checksum);
    },
  );

  const Params = Type.Object({ uploadId: Type.String({ format: 'uuid' }) });
  const ownUpload = async (req: { params: { uploadId: string }; auth: { userId: string } | null }) => {
    const [v] = await deps.database.db
      .select({ ownerId: videos.ownerId })
      .from(videos)
      .where(and(eq(videos.id, req.params.uploadId.toLowerCase()), isNull(videos.deletedAt)));
    if (!v || v.ownerId !== req.auth!.userId) throw videoNotFound();
  };

  app.head('/uploads/:uploadId', { config, schema: { tags, summary: 'Where to resume: Upload-Offset of the bytes stored so far', security, params: Params, response: { 200: Type.Null(), ...errors(400, 401, 404) } } }, async (req, reply) => {
    await ownUpload(req);
    await handOver(req, reply);
  });
  app.patch(
    '/uploads/:uploadId',
    {
      config,
      schema: {
        tags,
        summary: 'Append bytes at Upload-Offset (Content-Type: application/offset+octet-stream)',
        description: `Optional \`Upload-Checksum: <algorithm> <base64 digest>\` of this request's body (tus checksum extension; ${Object.keys(CHECKSUM_ALGORITHMS).join(', ')}): a chunk that does not match is answered 460 and not stored.`,
        security,
        params: Params,
        response: { 204: Type.Null(), ...errors(400, 401, 404, 409, 413, 460) },
      },
    },
    async (req, reply) => {
      const checksum = chunkChecksum(req.headers['upload-checksum']);
      await ownUpload(req);
      await handOver(req, reply, checksum);
    },
  );
  app.delete('/uploads/:uploadId', { config, schema: { tags, summary: 'Abandon an unfinished upload (tus termination)', security, params: Params, response: { 204: Type.Null(), ...errors(400, 401, 404, 409) } } }, async (req, reply) => {
    await ownUpload(req);
    const [v] = await deps.database.db.select({ status: videos.status }).from(videos).where(eq(videos.id, req.params.uploadId.toLowerCase()));
    if (v?.status !== 'uploading') throw conflict('videos.upload_finished', 'this upload is complete; delete the video instead');
    await deps.database.db.update(videos).set({ sourceBytes: null }).where(eq(videos.id, req.params.uploadId.toLowerCase()));
    await handOver(req, reply);
  });
};

/** A request body that is a Node stream in a web stream's place (and the chunk's checksum, if sent); only nodeBodyWrites' writeToStore reads it. */
const NODE_BODY = Symbol('node request body');
type NodeBody = { [NODE_BODY]: { req: IncomingMessage; checksum: ChunkChecksum | null } };
const nodeBody = (req: IncomingMessage, checksum: ChunkChecksum | null): NodeBody => ({ [NODE_BODY]: { req, checksum } });

type WriteToStore = (body: unknown, upload: Upload, maxFileSize: number, context: CancellationContext) => Promise<number>;

/**
 * @tus/server's PATCH and POST handlers write `req.body` to the store through BaseHandler.writeToStore.
 * This does the same (abort stops the write gracefully so what arrived is kept and the client resumes
 * from there; a source error is tus's ABORTED; the size limit is tus's StreamLimiter) with the
 * request's own Node stream. Any other body (a web stream) goes the library's way.
 *
 * With an Upload-Checksum (tus checksum extension, which @tus/server does not implement) the body is
 * first spooled to a private temporary file while it is hashed, and reaches the store only when the
 * digest matches; otherwise nothing of it is stored (460, offset unchanged) and an interrupted chunk
 * is dropped whole, since its checksum cannot be checked. Spools live under DATA_DIR (not /tmp, often
 * a small tmpfs in containers), see chunkSpoolDir. The spool costs one more disk write of
 * each checksummed chunk, for any store (an S3 part cannot be taken back once written).
 */
function nodeBodyWrites(tus: Server, method: 'PATCH' | 'POST', spoolDir: string): void {
  const handler = tus.handlers[method] as unknown as { writeToStore: WriteToStore; store: Server['datastore'] };
  const original = handler.writeToStore.bind(handler);
  handler.writeToStore = async (body, upload, maxFileSize, context) => {
    const node = (body as Partial<NodeBody> | null)?.[NODE_BODY];
    if (!node) return original(body, upload, maxFileSize, context);
    const { req: source, checksum } = node;
    if (context.signal.aborted) throw ERRORS.ABORTED;
    // The proxy lets an aborted request end the write without destroying the request itself.
    const proxy = new PassThrough({ highWaterMark: 1024 * 1024 });
    let sourceError: unknown;
    const onError = (err: unknown) => {
      sourceError = err;
      source.unpipe(proxy);
      if (!context.signal.aborted) proxy.destroy(err as Error);
    };
    const onAbort = () => {
      source.unpipe(proxy);
      if (!proxy.destroyed) proxy.end();
    };
    source.on('error', onError);
    context.signal.addEventListener('abort', onAbort, { once: true });
    let spool: string | undefined;
    try {
      if (!checksum) {
        // pipeline hands the limiter itself (a Readable) to the last step, as tus's own code relies on.
        return await pipeline(source.pipe(proxy), new StreamLimiter(maxFileSize), (limited: AsyncIterable<Buffer>) => handler.store.write(limited as Readable, upload.id, upload.offset));
      }
      spool = await mkdtemp(path.join(spoolDir, 'chunk-'));
      const file = path.join(spool, 'chunk');
      const hash = createHash(checksum.algorithm);
      const tap = new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          done(null, chunk);
        },
      });
      await pipeline(source.pipe(proxy), new StreamLimiter(maxFileSize), tap, createWriteStream(file, { flags: 'wx', mode: 0o600 }));
      if (context.signal.aborted) throw ERRORS.ABORTED;
      if (!hash.digest().equals(checksum.digest)) throw CHECKSUM_MISMATCH;
      return await handler.store.write(createReadStream(file), upload.id, upload.offset);
    } catch (err) {
      source.unpipe(proxy);
      throw (sourceError !== undefined && err === sourceError) || (err instanceof Error && err.name === 'AbortError') ? ERRORS.ABORTED : err;
    } finally {
      source.off('error', onError);
      context.signal.removeEventListener('abort', onAbort);
      if (spool) await rm(spool, { recursive: true, force: true });
    }
  };
}

/** Spools older than this belong to a process that died mid-chunk: removed when an API process starts. */
const STALE_SPOOL_MS = 60 * 60 * 1000;

/**
 * Where checksummed chunks are spooled: DATA_DIR/tmp/tus-chunks, on the data disk rather than in
 * /tmp. Leftovers of a killed process are removed at start-up; only old ones, since other API
 * processes may share the folder and have chunks in flight.
 */
async function chunkSpoolDir(dataDir: string): Promise<string> {
  const dir = path.join(dataDir, 'tmp', 'tus-chunks');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (const name of await readdir(dir)) {
    const p = path.join(dir, name);
    const s = await stat(p).catch(() => null);
    if (s && Date.now() - s.mtimeMs > STALE_SPOOL_MS) await rm(p, { recursive: true, force: true });
  }
  return dir;
}

/**
 * Reserve the upload on the video row: the owner's, still waiting for its file, not already being
 * uploaded, and within the quota. The row lock makes two concurrent creations for one video (or
 * two that together pass the quota for one owner) take turns.
 */
async function claimUpload(deps: Deps, source: SourceStore, userId: string, id: string, length: number, quota: number): Promise<void> {
  await deps.database.transaction(async (tx) => {
    // The owner's row first: all of an owner's claims serialise on it, so the quota sum below is exact.
    await tx.execute(sql`select 1 from users where id = ${userId} for update`);
    const [v] = await tx.select().from(videos).where(and(eq(videos.id, id), isNull(videos.deletedAt))).for('update');
    if (!v || v.ownerId !== userId) throw videoNotFound();
    if (v.status !== 'uploading') throw conflict('videos.upload_finished', 'this video already has its file');
    if (v.sourceBytes !== null) {
      const exists = await source.datastore.getUpload(id).then(
        () => true,
        () => false,
      );
      if (exists) throw conflict('videos.upload_exists', `this video's upload exists: resume it with HEAD/PATCH ${PATH}/${id}`);
    }
    const [used] = await tx
      .select({ n: sql<string>`coalesce(sum(${videos.sourceBytes}), 0)` })
      .from(videos)
      .where(and(eq(videos.ownerId, userId), isNull(videos.deletedAt), ne(videos.id, id)));
    if (Number(used?.n ?? 0) + length > quota) throw new AppError(413, 'videos.quota_exceeded', `this upload would take your videos to ${Number(used?.n ?? 0) + length} bytes; your quota is ${quota}`);
    await tx.update(videos).set({ sourceBytes: length, updatedAt: new Date() }).where(eq(videos.id, id));
  });
}

async function finishUpload(deps: Deps, source: SourceStore, id: string): Promise<void> {
  try {
    await ingestUpload(deps, source, id);
  } catch (err) {
    // The bytes are safe in the store; a failed probe run (not a bad file: ffprobe missing, the
    // database away) must not fail the upload. The `videos.ingest` job tries again with back-off
    // and marks the video failed (ingest_failed) only when it runs out of attempts.
    deps.logger.warn({ err, videoId: id }, 'ingesting an upload failed; queued to try again');
    await deps.jobs.send('videos.ingest', { videoId: id }, { singletonKey: id }).catch((sendErr: unknown) => deps.logger.error({ err: sendErr, videoId: id }, 'could not queue the upload for another ingest attempt'));
  }
}
