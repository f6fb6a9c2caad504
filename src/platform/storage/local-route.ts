import type {} from '@fastify/swagger';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { LocalObjectHandle, LocalStorage } from './local.js';
import { verifyLocalSignature } from './local.js';
import { InvalidKeyError, ObjectNotFoundError } from './types.js';

export interface LocalFilesRouteOptions {
  storage: LocalStorage;
  secretKey: string;
}

type ByteRange = { start: number; end: number };

function problem(reply: FastifyReply, status: number, code: string, title: string, detail: string): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'application/problem+json')
    .header('cache-control', 'no-store')
    // A Buffer, so Fastify sends the media type as given instead of appending a charset to it.
    .send(Buffer.from(JSON.stringify({ type: 'about:blank', title, status, code, detail })));
}

/**
 * One `bytes=` range (RFC 9110 14.1.2). Several ranges would need multipart/byteranges, which
 * video players never ask for, so those (and anything malformed) are ignored and the whole object
 * is served, as the RFC allows.
 */
export function parseRangeHeader(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | null {
  if (header === undefined) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return null;
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return null;
  if (a === '') {
    const suffix = Number(b);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Number(b);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) return null;
  if (start >= size) return 'unsatisfiable';
  if (end < start) return null;
  return { start, end: Math.min(end, size - 1) };
}

function single(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * Serves LocalStorage objects at `GET|HEAD /files/<key>?exp=&sig=`, the URLs LocalStorage.signedUrl
 * makes. Anyone holding a valid URL may read until it expires, so nothing else is checked here.
 */
export async function localFilesRoute(app: FastifyInstance, opts: LocalFilesRouteOptions): Promise<void> {
  const { storage, secretKey } = opts;

  app.route({
    method: ['GET', 'HEAD'],
    url: '/files/*',
    schema: { hide: true },
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      const key = (request.params as Record<string, string | undefined>)['*'] ?? '';
      const query = request.query as Record<string, unknown>;
      const exp = single(query.exp);
      const sig = single(query.sig);

      const check = exp === undefined || sig === undefined ? 'invalid' : verifyLocalSignature(secretKey, key, exp, sig);
      if (check === 'invalid') {
        return problem(reply, 403, 'storage.invalid_signature', 'Invalid signature', 'This link is not valid for this file.');
      }
      if (check === 'expired') {
        return problem(reply, 403, 'storage.url_expired', 'Link expired', 'This link has expired; ask for a new one.');
      }

      let handle: LocalObjectHandle;
      try {
        handle = await storage.open(key);
      } catch (err) {
        if (err instanceof ObjectNotFoundError || err instanceof InvalidKeyError) {
          return problem(reply, 404, 'storage.not_found', 'Not found', 'No file exists at this address.');
        }
        throw err;
      }

      const { object } = handle;
      const lastModified = object.lastModified.toUTCString();
      const maxAge = Math.max(0, Number(exp) - Math.floor(Date.now() / 1000));
      reply
        .header('accept-ranges', 'bytes')
        .header('last-modified', lastModified)
        // Private and no longer than the link lives: a shared cache must not keep serving it.
        .header('cache-control', `private, max-age=${maxAge}`)
        // Uploaded bytes come from users: never let a browser sniff or run them as a page of this origin.
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', 'sandbox');

      // If-Range with a date that no longer matches means the client's partial copy is stale.
      const ifRange = request.headers['if-range'];
      const rangeHeader = ifRange === undefined || ifRange === lastModified ? request.headers.range : undefined;
      const range = parseRangeHeader(rangeHeader, object.size);

      if (range === 'unsatisfiable') {
        await handle.close();
        reply.header('content-range', `bytes */${object.size}`);
        return problem(reply, 416, 'storage.range_not_satisfiable', 'Range not satisfiable', `The file is ${object.size} bytes long.`);
      }

      reply.header('content-type', object.contentType ?? 'application/octet-stream');
      if (range) {
        reply
          .code(206)
          .header('content-range', `bytes ${range.start}-${range.end}/${object.size}`)
          .header('content-length', String(range.end - range.start + 1));
      } else {
        reply.code(200).header('content-length', String(object.size));
      }

      if (request.method === 'HEAD') {
        await handle.close();
        return reply.send();
      }
      return reply.send(handle.stream(range ?? undefined));
    },
  });
}
