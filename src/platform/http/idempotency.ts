import { createHash } from 'node:crypto';
import { and, eq, lt } from 'drizzle-orm';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../db/index.js';
import { idempotencyKeys } from '../db/tables.js';
import { AppError } from '../errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Honour an Idempotency-Key header on this route (DESIGN §3: every write a client may retry). */
    idempotent?: boolean;
  }
  interface FastifyRequest {
    idempotency?: { scope: string; key: string };
  }
}

const KEY = /^[A-Za-z0-9._:-]{8,128}$/;
/** How long a key is remembered; a retry later than this is a new request. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** A claim with no answer after this long belongs to a request whose process died. */
const ABANDONED_AFTER_MS = 60_000;

function requestHash(request: FastifyRequest): string {
  return createHash('sha256').update(request.method).update('\n').update(request.url).update('\n').update(JSON.stringify(request.body ?? null)).digest('hex');
}

/**
 * Idempotency-Key for routes with `config: { idempotent: true }`: the first request with a key
 * runs and its answer is stored; a retry with the same key and body gets that answer again
 * (header Idempotent-Replayed: true); the same key with another body is a client bug (422); a
 * retry while the first is still running is told to wait (409). A 5xx answer is not kept, so the
 * client's retry runs again. Keys are per user (or per IP when anonymous).
 */
export function registerIdempotency(app: FastifyInstance, db: Db, scopeOf: (request: FastifyRequest) => string): void {
  // Callback style in front: most routes are not idempotent-keyed and should not pay for a promise.
  app.addHook('preHandler', (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
    if (!request.routeOptions.config.idempotent || request.headers['idempotency-key'] === undefined) return done();
    // A replayed answer has been sent: the chain must stop there, so done() is not called.
    claim(request, reply).then((replayed) => (replayed ? undefined : done()), done);
  });

  /** Claim the key, or replay the stored answer (true). */
  async function claim(request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
    const key = request.headers['idempotency-key'];
    if (typeof key !== 'string' || !KEY.test(key)) {
      throw new AppError(400, 'idempotency.invalid_key', 'Idempotency-Key must be 8 to 128 characters of letters, digits, . _ : -');
    }
    const scope = scopeOf(request);
    const hash = requestHash(request);
    const inserted = await db
      .insert(idempotencyKeys)
      .values({ scope, key, method: request.method, path: request.routeOptions.url ?? request.url, requestHash: hash })
      .onConflictDoNothing()
      .returning({ key: idempotencyKeys.key });
    if (inserted.length === 1) {
      request.idempotency = { scope, key };
      return false;
    }
    const [prior] = await db.select().from(idempotencyKeys).where(and(eq(idempotencyKeys.scope, scope), eq(idempotencyKeys.key, key)));
    if (!prior) throw new AppError(409, 'idempotency.in_progress', 'a request with this Idempotency-Key is being processed; retry shortly');
    if (prior.statusCode === null && Date.now() - prior.createdAt.getTime() > ABANDONED_AFTER_MS) {
      // The process that claimed it died mid-request (its onSend never ran): let this retry take over.
      await db.delete(idempotencyKeys).where(and(eq(idempotencyKeys.scope, scope), eq(idempotencyKeys.key, key), eq(idempotencyKeys.requestHash, hash)));
      throw new AppError(409, 'idempotency.in_progress', 'the earlier request with this Idempotency-Key did not finish; retry now');
    }
    if (prior.requestHash !== hash) {
      throw new AppError(422, 'idempotency.key_reused', 'this Idempotency-Key was used for a different request; use a new key for a new request');
    }
    if (prior.statusCode === null) throw new AppError(409, 'idempotency.in_progress', 'a request with this Idempotency-Key is being processed; retry shortly');
    reply.header('idempotent-replayed', 'true');
    if (prior.responseHeaders) for (const [h, v] of Object.entries(prior.responseHeaders)) reply.header(h, v);
    reply.code(prior.statusCode).send(prior.responseBody);
    return true;
  }

  app.addHook('onSend', async (request, reply, payload) => {
    const claim = request.idempotency;
    if (!claim) return payload;
    request.idempotency = undefined;
    const where = and(eq(idempotencyKeys.scope, claim.scope), eq(idempotencyKeys.key, claim.key));
    if (reply.statusCode >= 500) {
      await db.delete(idempotencyKeys).where(where);
      return payload;
    }
    let body: unknown = null;
    if (typeof payload === 'string') {
      try {
        body = JSON.parse(payload);
      } catch {
        body = payload;
      }
    }
    const headers: Record<string, string> = {};
    for (const h of ['content-type', 'location']) {
      const v = reply.getHeader(h);
      if (typeof v === 'string') headers[h] = v;
    }
    await db.update(idempotencyKeys).set({ statusCode: reply.statusCode, responseBody: body, responseHeaders: headers, completedAt: new Date() }).where(where);
    return payload;
  });
}

/** Forget keys older than the TTL (run by a scheduled job). */
export async function purgeIdempotencyKeys(db: Db, now = new Date()): Promise<number> {
  const rows = await db
    .delete(idempotencyKeys)
    .where(lt(idempotencyKeys.createdAt, new Date(now.getTime() - IDEMPOTENCY_TTL_MS)))
    .returning({ key: idempotencyKeys.key });
  return rows.length;
}
