import { Type } from '@sinclair/typebox';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModuleRoutes } from '../../src/modules/types.js';
import { idempotencyKeys, instanceSettings } from '../../src/platform/db/tables.js';
import { IDEMPOTENCY_TTL_MS, purgeIdempotencyKeys } from '../../src/platform/http/idempotency.js';
import { conflict } from '../../src/platform/errors.js';
import { createTestEnv, type TestEnv } from '../support/app.js';

/** A write endpoint that goes through the same pipeline as every module's (validation, errors, body limits). */
const settingsRoutes: ModuleRoutes = async (app, { deps }) => {
  app.post(
    '/test/settings',
    {
      config: { idempotent: true },
      schema: {
        body: Type.Object({ key: Type.String({ minLength: 1, maxLength: 40, pattern: '^[a-z.]+$' }), value: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }),
        response: { 201: Type.Object({ key: Type.String(), value: Type.Integer() }) },
      },
    },
    async (req, reply) => {
      const inserted = await deps.database.db.insert(instanceSettings).values({ key: req.body.key, value: req.body.value }).onConflictDoNothing().returning();
      if (inserted.length === 0) throw conflict('settings.exists', `setting ${req.body.key} already exists`);
      return reply.code(201).send(req.body);
    },
  );
  app.get('/test/boom', async () => {
    throw new Error('secret internal detail: password=hunter2');
  });
};

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv({ extraRoutes: [settingsRoutes], env: { BODY_LIMIT_BYTES: '2048' } });
});
afterAll(async () => env?.close());

async function settingsCount(): Promise<number> {
  return (await env.deps.database.db.select().from(instanceSettings)).length;
}

function expectProblem(res: { headers: Record<string, unknown>; json(): unknown }, status: number, code: string) {
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json() as Record<string, unknown>;
  expect(body).toMatchObject({ type: 'about:blank', status, code });
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  expect(body.requestId).toBe(res.headers['x-request-id']);
  return body;
}

describe('HTTP pipeline', () => {
  it('creates through the write endpoint and refuses a duplicate with 409', async () => {
    const ok = await env.app.inject({ method: 'POST', url: '/api/v1/test/settings', payload: { key: 'a.b', value: 1 } });
    expect(ok.statusCode).toBe(201);
    const dup = await env.app.inject({ method: 'POST', url: '/api/v1/test/settings', payload: { key: 'a.b', value: 2 } });
    expect(dup.statusCode).toBe(409);
    expectProblem(dup, 409, 'settings.exists');
    const rows = await env.deps.database.db.select().from(instanceSettings).where(eq(instanceSettings.key, 'a.b'));
    expect(rows[0]?.value).toBe(1);
  });

  it('unknown routes are 404 problem+json', async () => {
    const res = await env.app.inject({ method: 'GET', url: '/api/v1/nothing-here?x=1' });
    expect(res.statusCode).toBe(404);
    const body = expectProblem(res, 404, 'route.not_found');
    expect(body.instance).toBe('/api/v1/nothing-here');
  });

  it('validation errors name the offending field and store nothing', async () => {
    const before = await settingsCount();
    const res = await env.app.inject({ method: 'POST', url: '/api/v1/test/settings', payload: { key: 'UPPER', value: -1, extra: true } });
    expect(res.statusCode).toBe(400);
    const body = expectProblem(res, 400, 'request.invalid');
    const fields = (body.errors as { field: string }[]).map((e) => e.field).sort();
    expect(fields).toEqual(['extra', 'key', 'value']);
    const missing = await env.app.inject({ method: 'POST', url: '/api/v1/test/settings', payload: { value: 3 } });
    expect(missing.statusCode).toBe(400);
    expect((expectProblem(missing, 400, 'request.invalid').errors as { field: string }[])[0]?.field).toBe('key');
    expect(await settingsCount()).toBe(before);
  });

  it('malformed JSON is 400, wrong content type 415, oversize body 413, and none of them stores anything', async () => {
    const before = await settingsCount();
    const malformed = await env.app.inject({ method: 'POST', url: '/api/v1/test/settings', headers: { 'content-type': 'application/json' }, payload: '{"key": "x.y", "value": ' });
    expect(malformed.statusCode).toBe(400);
    expectProblem(malformed, 400, 'request.malformed_json');

    const text = await env.app.inject({ method: 'POST', url: '/api/v1/test/settings', headers: { 'content-type': 'text/plain' }, payload: 'key=x.y' });
    expect(text.statusCode).toBe(415);
    expectProblem(text, 415, 'request.unsupported_media_type');

    const form = await env.app.inject({ method: 'POST', url: '/api/v1/test/settings', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'key=x.y&value=1' });
    expect(form.statusCode).toBe(415);

    const big = await env.app.inject({ method: 'POST', url: '/api/v1/test/settings', payload: { key: 'x.y', value: 1, pad: 'a'.repeat(4000) } });
    expect(big.statusCode).toBe(413);
    expectProblem(big, 413, 'request.body_too_large');

    const empty = await env.app.inject({ method: 'POST', url: '/api/v1/test/settings', headers: { 'content-type': 'application/json' }, payload: '' });
    expect(empty.statusCode).toBe(400);
    expectProblem(empty, 400, 'request.empty_json');
    expect(await settingsCount()).toBe(before);
  });

  it('a crash is a 500 without internals, and the request id ties it to the log', async () => {
    const res = await env.app.inject({ method: 'GET', url: '/api/v1/test/boom', headers: { 'x-request-id': 'trace-123' } });
    expect(res.statusCode).toBe(500);
    const body = expectProblem(res, 500, 'server.internal');
    expect(res.headers['x-request-id']).toBe('trace-123');
    expect(JSON.stringify(body)).not.toMatch(/hunter2|secret internal|stack|at /);
  });

  it('a request id that is not a plain token is replaced', async () => {
    const res = await env.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'bad id\nwith newline' } });
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sets safe headers: helmet and CORS', async () => {
    const res = await env.app.inject({ method: 'GET', url: '/api/v1/instance', headers: { origin: 'https://app.example.com' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBeDefined();
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    const pre = await env.app.inject({ method: 'OPTIONS', url: '/api/v1/test/settings', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' } });
    expect(pre.statusCode).toBe(204);
    // Every method the API uses is allowed from another origin, not only the safelisted GET/HEAD/POST.
    expect(String(pre.headers['access-control-allow-methods']).split(/,\s*/)).toEqual(expect.arrayContaining(['PATCH', 'PUT', 'DELETE']));
  });

  it('serves OpenAPI 3 generated from the route schemas, and Swagger UI', async () => {
    const res = await env.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json() as { openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.paths['/api/v1/instance']?.get?.responses['200']).toBeDefined();
    expect(doc.paths['/api/v1/test/settings']?.post).toBeDefined();
    expect(doc.paths['/healthz']).toBeDefined();
    expect(Object.keys(doc.paths).some((p) => p.startsWith('/files'))).toBe(false);
    // Nullable fields and string choices are described as such (platform/http/schema-types.ts).
    type Props = Record<string, { nullable?: boolean; enum?: string[]; properties?: Props }>;
    const post = (doc.paths['/api/v1/posts/{id}']?.get?.responses['200'] as { content: Record<string, { schema: { properties: Props } }> }).content['application/json']!.schema.properties;
    expect(post.quoteOf?.nullable).toBe(true);
    expect(post.editedAt?.nullable).toBe(true);
    expect(post.visibility?.enum).toEqual(['public', 'followers', 'unlisted']);
    expect(post.author?.properties?.displayName?.nullable).toBe(true);
    const ok = (path: string) => (doc.paths[path]?.get?.responses['200'] as { content: Record<string, { schema: { properties: Props } }> }).content['application/json']!.schema.properties;
    const video = ok('/api/v1/videos/{id}');
    expect(video.status?.enum).toContain('ready');
    expect(video.publishedAt?.nullable).toBe(true);
    expect(video.viewer?.nullable).toBe(true);
    const comment = (ok('/api/v1/posts/{id}/comments').items as unknown as { items: { properties: Props } }).items.properties;
    expect(comment.author?.nullable).toBe(true);
    expect(comment.author?.properties?.username).toBeDefined();
    expect(comment.moderationState?.enum).toEqual(['visible', 'held']);
    const notification = (ok('/api/v1/notifications').items as unknown as { items: { properties: Props } }).items.properties;
    expect(notification.subject?.nullable).toBe(true);
    expect(notification.type?.enum).toContain('follow');
    const ui = await env.app.inject({ method: 'GET', url: '/docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.body).toContain('swagger');
  });

  it('health, readiness and metrics', async () => {
    expect((await env.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await env.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    const checks = (ready.json() as { checks: Record<string, { ok: boolean; kind: string }> }).checks;
    expect(checks.database?.kind).toBe(process.env.DATABASE_URL ? 'postgres' : 'pglite');
    expect(checks.cache?.kind).toBe(process.env.REDIS_URL ? 'redis' : 'memory');
    expect(Object.values(checks).every((c) => c.ok)).toBe(true);
    await env.app.inject({ method: 'GET', url: '/api/v1/instance' });
    const metrics = await env.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toMatch(/http_request_duration_seconds_bucket\{[^}]*route="\/api\/v1\/instance"/);
    expect(metrics.body).toMatch(/http_errors_total\{code="route.not_found"\} \d/);
  });
});

describe('Idempotency-Key', () => {
  const post = (key: string | undefined, payload: unknown) =>
    env.app.inject({ method: 'POST', url: '/api/v1/test/settings', payload: payload as Record<string, unknown>, headers: key ? { 'idempotency-key': key } : {} });

  it('a retry with the same key and body gets the first answer and changes nothing more', async () => {
    const first = await post('retry-key-0001', { key: 'idem.one', value: 5 });
    expect(first.statusCode).toBe(201);
    const again = await post('retry-key-0001', { key: 'idem.one', value: 5 });
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    // Without the key the same body is a new request, and the setting exists: 409.
    expect((await post(undefined, { key: 'idem.one', value: 5 })).statusCode).toBe(409);
  });

  it('the same key with another body is refused with 422 and stores nothing', async () => {
    await post('retry-key-0002', { key: 'idem.two', value: 1 });
    const before = await settingsCount();
    const res = await post('retry-key-0002', { key: 'idem.three', value: 1 });
    expect(res.statusCode).toBe(422);
    expectProblem(res, 422, 'idempotency.key_reused');
    expect(await settingsCount()).toBe(before);
  });

  it('refuses a malformed key', async () => {
    const res = await post('short', { key: 'idem.four', value: 1 });
    expect(res.statusCode).toBe(400);
    expectProblem(res, 400, 'idempotency.invalid_key');
    expect((await env.deps.database.db.select().from(instanceSettings).where(eq(instanceSettings.key, 'idem.four'))).length).toBe(0);
  });

  it('keys are forgotten after a day by the purge job', async () => {
    await post('retry-key-0005', { key: 'idem.five', value: 1 });
    const later = new Date(Date.now() + IDEMPOTENCY_TTL_MS + 60_000);
    expect(await purgeIdempotencyKeys(env.deps.database.db, later)).toBeGreaterThanOrEqual(1);
    expect((await env.deps.database.db.select().from(idempotencyKeys)).length).toBe(0);
  });
});

describe('rate limiting', () => {
  let limited: TestEnv;
  beforeAll(async () => {
    limited = await createTestEnv({ env: { RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_MS: '60000' } });
  });
  afterAll(async () => limited?.close());

  it('answers 429 problem+json with Retry-After past the limit, and never limits health checks', async () => {
    const codes: number[] = [];
    let last;
    for (let i = 0; i < 5; i++) {
      last = await limited.app.inject({ method: 'GET', url: '/api/v1/instance', remoteAddress: '10.1.1.1' });
      codes.push(last.statusCode);
    }
    expect(codes).toEqual([200, 200, 200, 429, 429]);
    expectProblem(last!, 429, 'request.rate_limited');
    expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0);
    const other = await limited.app.inject({ method: 'GET', url: '/api/v1/instance', remoteAddress: '10.1.1.2' });
    expect(other.statusCode).toBe(200);
    for (let i = 0; i < 5; i++) expect((await limited.app.inject({ method: 'GET', url: '/healthz', remoteAddress: '10.1.1.1' })).statusCode).toBe(200);
  });

  it('limits a flood of bad tokens before any token is checked', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await limited.app.inject({ method: 'GET', url: '/api/v1/instance', remoteAddress: '10.1.1.3', headers: { authorization: `Bearer forged.token.${i}` } });
      codes.push(res.statusCode);
    }
    expect(codes).toEqual([401, 401, 401, 429, 429]);
  });
});
