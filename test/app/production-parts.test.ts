import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/app.js';
import { httpClient, STRONG_PASSWORD, tokenFrom } from '../support/auth.js';
import { startS3rver } from '../support/s3rver.js';
import { startSmtp } from '../support/smtp.js';

/**
 * The same build on the production column's remaining parts: S3 (s3rver) for storage and SMTP
 * (smtp-server) for email, next to whichever database and cache this run uses.
 */
let dir: string;
let s3: Awaited<ReturnType<typeof startS3rver>>;
let smtp: Awaited<ReturnType<typeof startSmtp>>;
let server: TestServer;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sf-prod-parts-'));
  s3 = await startS3rver(dir);
  smtp = await startSmtp();
  const bucket = await s3.bucket('social-flow-test');
  await bucket.storage.close();
  server = await startTestServer({ env: { ...bucket.env, SMTP_URL: `smtp://127.0.0.1:${smtp.port}` } });
});
afterAll(async () => {
  await server?.close();
  await smtp?.stop();
  await s3?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('production parts', () => {
  it('reports S3 storage ready', async () => {
    const res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { checks: Record<string, { kind: string; ok: boolean }> };
    expect(body.checks.storage).toMatchObject({ kind: 's3', ok: true });
  });

  it('stores objects in the bucket and serves them through presigned URLs', async () => {
    const storage = server.deps.storage;
    expect(storage.kind).toBe('s3');
    await storage.put('probe/hello.txt', Readable.from([Buffer.from('hello from s3')]), { contentType: 'text/plain' });
    const url = await storage.signedUrl('probe/hello.txt', 60);
    expect(url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${s3.port}/`));
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('hello from s3');
  });

  it('sends account emails over SMTP: register -> email -> verify -> login', async () => {
    const call = httpClient(server.url);
    const email = 'smtp.user@example.test';
    expect((await call('POST', '/api/v1/auth/register', { body: { email, username: 'smtp_user', password: STRONG_PASSWORD } })).status).toBe(202);
    const mail = await smtp.next();
    expect(mail.to).toEqual([email]);
    expect(mail.raw).toMatch(/Subject: Confirm your email address/);
    expect(mail.raw).toMatch(/text\/plain/);
    expect(mail.raw).toMatch(/text\/html/);
    expect((await call('POST', '/api/v1/auth/verify-email', { body: { token: tokenFrom(mail.raw) } })).status).toBe(200);
    const login = await call('POST', '/api/v1/auth/login', { body: { login: email, password: STRONG_PASSWORD } });
    expect(login.status).toBe(200);
  });
});
