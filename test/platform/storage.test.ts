import { spawn } from 'node:child_process';
import { createCipheriv, createHash, createHmac } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStorage } from '../../src/platform/storage/index.js';
import { localFilesRoute } from '../../src/platform/storage/local-route.js';
import { LocalStorage, verifyLocalSignature } from '../../src/platform/storage/local.js';
import { S3Storage } from '../../src/platform/storage/s3.js';
import { InvalidKeyError, ObjectNotFoundError, RangeNotSatisfiableError } from '../../src/platform/storage/types.js';
import type { Storage } from '../../src/platform/storage/types.js';
import type { Config } from '../../src/config.js';
import { startS3rver } from '../support/s3rver.js';

const MiB = 1024 * 1024;
const BIG_CHUNKS = 50;
const SECRET = 'test-secret-key-0123456789abcdef0123456789';

/** Chunk i of a deterministic pseudo-random stream (AES-CTR keystream), so any slice can be recomputed. */
function chunk(i: number): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(i, 0);
  return createCipheriv('aes-256-ctr', Buffer.alloc(32, 7), iv).update(Buffer.alloc(MiB));
}

function bigBody(hash: ReturnType<typeof createHash>): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < BIG_CHUNKS; i++) {
        const c = chunk(i);
        hash.update(c);
        yield c;
      }
    })(),
  );
}

async function sha256Of(stream: Readable): Promise<{ hex: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  await pipeline(
    stream,
    new Writable({
      write(c: Buffer, _enc, cb) {
        hash.update(c);
        bytes += c.length;
        cb();
      },
    }),
  );
  return { hex: hash.digest('hex'), bytes };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** 1000 bytes where byte i is i % 251, so any slice is easy to predict. */
const SMALL = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));

interface Backend {
  storage: Storage;
  /** Variants of a good signed URL that the server must refuse with 403. */
  tampered(url: string, otherKey: string): string[];
  /** A signed URL for key whose lifetime has passed. */
  expiredUrl(key: string): Promise<string>;
  stop(): Promise<void>;
}

async function startLocal(): Promise<Backend & { app: FastifyInstance; root: string; base: string }> {
  const root = await mkdtemp(path.join(tmpdir(), 'sf-storage-local-'));
  const app = Fastify();
  // The serving instance and the signing instance share the folder; the signer needs the port first.
  await app.register(localFilesRoute, { storage: new LocalStorage({ root, publicUrl: 'http://unused', secretKey: SECRET }), secretKey: SECRET });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const storage = new LocalStorage({ root, publicUrl: base, secretKey: SECRET });
  return {
    storage,
    app,
    root,
    base,
    tampered(url, otherKey) {
      const u = new URL(url);
      const sig = u.searchParams.get('sig') ?? '';
      const flipped = new URL(url);
      flipped.searchParams.set('sig', (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1));
      const otherPath = new URL(url);
      otherPath.pathname = `/files/${otherKey.split('/').map(encodeURIComponent).join('/')}`;
      const laterExp = new URL(url);
      laterExp.searchParams.set('exp', String(Number(u.searchParams.get('exp')) + 3600));
      const noSig = new URL(url);
      noSig.searchParams.delete('sig');
      return [flipped.href, otherPath.href, laterExp.href, noSig.href];
    },
    async expiredUrl(key) {
      // Signed exactly as the spec says, with an expiry in the past.
      const exp = Math.floor(Date.now() / 1000) - 5;
      const sig = createHmac('sha256', SECRET).update(`${key}\n${exp}`).digest('base64url');
      return `${base}/files/${key.split('/').map(encodeURIComponent).join('/')}?exp=${exp}&sig=${sig}`;
    },
    async stop() {
      await app.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

async function startS3(): Promise<Backend> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sf-storage-s3-'));
  const server = await startS3rver(dir);
  const { port } = server;
  const storage = new S3Storage(
    {
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      bucket: 'social-flow-test',
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      forcePathStyle: true,
    },
    // Small parts so the 50 MB object really goes up as a multipart upload.
    { partSize: 5 * MiB },
  );
  await storage.ensureBucket();
  await storage.ensureBucket();
  return {
    storage,
    tampered(url) {
      // s3rver checks the access key and the expiry of a presigned URL but skips the V4 signature
      // arithmetic itself, so a changed signature is only refused by real S3. An unknown access key is.
      const u = new URL(url);
      u.searchParams.set('X-Amz-Credential', (u.searchParams.get('X-Amz-Credential') ?? '').replace(/^S3RVER/, 'S3RVEX'));
      return [u.href];
    },
    async expiredUrl(key) {
      const url = await storage.signedUrl(key, 1);
      await sleep(2_500);
      return url;
    },
    async stop() {
      await storage.close();
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const backends: { name: string; start: () => Promise<Backend> }[] = [
  { name: 'local', start: startLocal },
  { name: 's3', start: startS3 },
];

describe.each(backends)('storage contract: $name', ({ start }) => {
  let b: Backend;
  beforeAll(async () => {
    b = await start();
  });
  afterAll(async () => {
    await b?.stop();
  });

  it('streams a 50 MB object in and out unchanged', async () => {
    const inHash = createHash('sha256');
    const put = await b.storage.put('big/blob.bin', bigBody(inHash), { contentType: 'application/octet-stream' });
    const expected = inHash.digest('hex');
    expect(put.size).toBe(BIG_CHUNKS * MiB);

    const st = await b.storage.stat('big/blob.bin');
    expect(st?.size).toBe(BIG_CHUNKS * MiB);

    const out = await sha256Of(await b.storage.get('big/blob.bin'));
    expect(out.bytes).toBe(BIG_CHUNKS * MiB);
    expect(out.hex).toBe(expected);

    // A range across a chunk boundary deep inside the object.
    const start = 20 * MiB - 100;
    const slice = await readAll(await b.storage.get('big/blob.bin', { start, end: start + 199 }));
    expect(slice.equals(Buffer.concat([chunk(19).subarray(MiB - 100), chunk(20).subarray(0, 100)]))).toBe(true);
  });

  it('puts strings, buffers and streams; overwrites replace body and type', async () => {
    await b.storage.put('kinds/s.txt', 'hello', { contentType: 'text/plain; charset=utf-8' });
    await b.storage.put('kinds/b.bin', SMALL);
    await b.storage.put('kinds/r.bin', Readable.from([Buffer.from('ab'), Buffer.from('cd')]), { contentType: 'video/mp2t' });
    await b.storage.put('kinds/empty', Readable.from([]));

    expect((await readAll(await b.storage.get('kinds/s.txt'))).toString()).toBe('hello');
    expect((await readAll(await b.storage.get('kinds/b.bin'))).equals(SMALL)).toBe(true);
    expect((await readAll(await b.storage.get('kinds/r.bin'))).toString()).toBe('abcd');
    expect((await readAll(await b.storage.get('kinds/empty'))).length).toBe(0);
    expect((await b.storage.stat('kinds/empty'))?.size).toBe(0);
    expect((await b.storage.stat('kinds/s.txt'))?.contentType).toBe('text/plain; charset=utf-8');
    expect((await b.storage.stat('kinds/r.bin'))?.contentType).toBe('video/mp2t');

    await b.storage.put('kinds/s.txt', 'replaced!', { contentType: 'text/markdown' });
    expect((await readAll(await b.storage.get('kinds/s.txt'))).toString()).toBe('replaced!');
    const st = await b.storage.stat('kinds/s.txt');
    expect(st).toMatchObject({ key: 'kinds/s.txt', size: 9, contentType: 'text/markdown' });
    expect(st?.lastModified).toBeInstanceOf(Date);
  });

  it('a body that fails mid-stream leaves no object and keeps the old one', async () => {
    await b.storage.put('fail/kept.txt', 'old body');
    const failing = () =>
      Readable.from(
        (async function* () {
          yield Buffer.alloc(64 * 1024, 1);
          throw new Error('source broke');
        })(),
      );
    await expect(b.storage.put('fail/new.txt', failing())).rejects.toThrow('source broke');
    await expect(b.storage.put('fail/kept.txt', failing())).rejects.toThrow('source broke');
    expect(await b.storage.stat('fail/new.txt')).toBeNull();
    expect((await readAll(await b.storage.get('fail/kept.txt'))).toString()).toBe('old body');
  });

  it('reads byte ranges (inclusive end, clamped to the size)', async () => {
    await b.storage.put('ranges/small.bin', SMALL);
    const r = async (start: number, end?: number) => readAll(await b.storage.get('ranges/small.bin', { start, end }));
    expect((await r(10, 19)).equals(SMALL.subarray(10, 20))).toBe(true);
    expect((await r(990)).equals(SMALL.subarray(990))).toBe(true);
    expect((await r(995, 5000)).equals(SMALL.subarray(995))).toBe(true);
    expect((await r(999, 999)).equals(SMALL.subarray(999))).toBe(true);
    await expect(b.storage.get('ranges/small.bin', { start: 1000 })).rejects.toBeInstanceOf(RangeNotSatisfiableError);
    await expect(b.storage.get('ranges/small.bin', { start: 5, end: 4 })).rejects.toBeInstanceOf(RangeError);
    await expect(b.storage.get('ranges/small.bin', { start: -1 })).rejects.toBeInstanceOf(RangeError);
  });

  it('stats, lists, deletes and deletes by prefix', async () => {
    for (const k of ['tree/a/1.txt', 'tree/a/2.txt', 'tree/ab/3.txt', 'tree/b/deep/er/4.txt', 'treetop.txt']) {
      await b.storage.put(k, k, { contentType: 'text/plain' });
    }
    expect(await b.storage.stat('tree/a/none.txt')).toBeNull();
    // A "folder" is not an object in either backend.
    expect(await b.storage.stat('tree/a')).toBeNull();
    await expect(b.storage.get('tree/a')).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(b.storage.get('tree/a/none.txt')).rejects.toBeInstanceOf(ObjectNotFoundError);

    const keys = async (p: string) => (await b.storage.list(p)).map((o) => o.key);
    expect(await keys('tree/a/')).toEqual(['tree/a/1.txt', 'tree/a/2.txt']);
    // String-prefix semantics, as S3: `tree/a` also matches `tree/ab/...`.
    expect(await keys('tree/a')).toEqual(['tree/a/1.txt', 'tree/a/2.txt', 'tree/ab/3.txt']);
    expect(await keys('tree/')).toEqual(['tree/a/1.txt', 'tree/a/2.txt', 'tree/ab/3.txt', 'tree/b/deep/er/4.txt']);
    expect(await keys('tree')).toContain('treetop.txt');
    expect(await keys('nothing-here/')).toEqual([]);
    const listed = await b.storage.list('tree/a/');
    expect(listed[0]).toMatchObject({ key: 'tree/a/1.txt', size: 'tree/a/1.txt'.length });
    expect(listed[0]?.lastModified).toBeInstanceOf(Date);

    await b.storage.delete('tree/a/1.txt');
    await b.storage.delete('tree/a/1.txt');
    await b.storage.delete('tree/never/was.txt');
    expect(await b.storage.stat('tree/a/1.txt')).toBeNull();
    expect(await keys('tree/a/')).toEqual(['tree/a/2.txt']);

    expect(await b.storage.deletePrefix('tree/b/')).toBe(1);
    expect(await b.storage.deletePrefix('tree/b/')).toBe(0);
    expect(await b.storage.deletePrefix('tree/')).toBe(2);
    expect(await keys('tree/')).toEqual([]);
    expect(await keys('treetop')).toEqual(['treetop.txt']);
  });

  it('deletes more than one listing page by prefix', async () => {
    const n = 1105;
    const keysToPut = Array.from({ length: n }, (_, i) => `many/p-${String(i).padStart(5, '0')}.txt`);
    for (let i = 0; i < keysToPut.length; i += 50) {
      await Promise.all(keysToPut.slice(i, i + 50).map((k) => b.storage.put(k, 'x')));
    }
    // s3rver deletes a batch concurrently and can race itself pruning the folder the batch empties
    // (ENOENT -> 500); a neighbour outside the prefix keeps the folder alive. Real S3 has no folders.
    await b.storage.put('many/sentinel.txt', 'stay');
    expect((await b.storage.list('many/p-')).length).toBe(n);
    expect(await b.storage.deletePrefix('many/p-')).toBe(n);
    expect(await b.storage.list('many/p-')).toEqual([]);
    expect((await b.storage.list('many/')).map((o) => o.key)).toEqual(['many/sentinel.txt']);
    await b.storage.delete('many/sentinel.txt');
  });

  it('handles keys with spaces, unicode and URL-special characters', async () => {
    const key = 'odd/ü näme %20 ?#&+=;,@!$\'()*.txt';
    await b.storage.put(key, 'odd', { contentType: 'text/plain' });
    expect((await readAll(await b.storage.get(key))).toString()).toBe('odd');
    expect((await b.storage.list('odd/')).map((o) => o.key)).toEqual([key]);
    const res = await fetch(await b.storage.signedUrl(key, 60));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('odd');
    await b.storage.delete(key);
    expect(await b.storage.stat(key)).toBeNull();

    // Deep HLS paths make long URLs; the route must not trip over router parameter limits.
    const long = `long/${'d'.repeat(120)}/${'e'.repeat(120)}/${'f'.repeat(200)}.ts`;
    await b.storage.put(long, 'long');
    const longRes = await fetch(await b.storage.signedUrl(long, 60));
    expect(longRes.status).toBe(200);
    expect(await longRes.text()).toBe('long');
  });

  it('refuses invalid keys and prefixes', async () => {
    const bad = ['', '/abs', '../up', 'a/../b', 'a/./b', '.', '..', 'a//b', 'a/', 'a\\b', 'a\u0000b', 'line\nbreak', 'C:/windows', 'x'.repeat(1025), `a/${'y'.repeat(256)}/b`];
    for (const key of bad) {
      await expect(b.storage.put(key, 'x'), JSON.stringify(key)).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(b.storage.get(key)).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(b.storage.stat(key)).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(b.storage.delete(key)).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(b.storage.signedUrl(key, 60)).rejects.toBeInstanceOf(InvalidKeyError);
    }
    for (const prefix of ['/abs/', '../', 'a/../', 'a//', 'a\\', 'a\u0000']) {
      await expect(b.storage.list(prefix), JSON.stringify(prefix)).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(b.storage.deletePrefix(prefix)).rejects.toBeInstanceOf(InvalidKeyError);
    }
  });

  it('signed URLs work over HTTP, and are refused when tampered with or expired', async () => {
    await b.storage.put('signed/clip.ts', SMALL, { contentType: 'video/mp2t' });
    await b.storage.put('signed/other.ts', 'other');
    const url = await b.storage.signedUrl('signed/clip.ts', 60);

    const full = await fetch(url);
    expect(full.status).toBe(200);
    expect(full.headers.get('content-type')).toBe('video/mp2t');
    expect(full.headers.get('content-length')).toBe('1000');
    expect(Buffer.from(await full.arrayBuffer()).equals(SMALL)).toBe(true);

    const part = await fetch(url, { headers: { range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 100-199/1000');
    expect(Buffer.from(await part.arrayBuffer()).equals(SMALL.subarray(100, 200))).toBe(true);

    for (const bad of b.tampered(url, 'signed/other.ts')) {
      const res = await fetch(bad);
      expect(res.status, bad).toBe(403);
      await res.arrayBuffer();
    }

    const expired = await fetch(await b.expiredUrl('signed/clip.ts'));
    expect(expired.status).toBe(403);
    await expired.arrayBuffer();
  });

  it('answers ping', async () => {
    await expect(b.storage.ping()).resolves.toBeUndefined();
  });
});

describe('local storage specifics', () => {
  let local: Awaited<ReturnType<typeof startLocal>>;
  beforeAll(async () => {
    local = await startLocal();
  });
  afterAll(async () => {
    await local?.stop();
  });

  it('a killed writer never leaves a partial object under the final key', async () => {
    await local.storage.put('killed/file.bin', 'previous');
    const localModule = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/platform/storage/local.ts');
    const script = `
      const { LocalStorage } = await import(${JSON.stringify(localModule)});
      const { Readable } = await import('node:stream');
      const storage = new LocalStorage({ root: process.env.ROOT, publicUrl: 'http://x', secretKey: 'k' });
      let sent = 0;
      const body = new Readable({
        read() {
          sent++;
          this.push(Buffer.alloc(64 * 1024, 9));
          if (sent === 20) process.stdout.write('writing\\n');
          if (sent > 20) setTimeout(() => this.push(Buffer.alloc(1)), 60_000);
        },
      });
      await storage.put('killed/file.bin', body);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { ...process.env, ROOT: local.root },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => d.toString().includes('writing') && resolve());
        child.once('exit', (code) => reject(new Error(`writer exited early with ${code}`)));
      });
      // Let the first chunks reach the temp file, then kill without any chance to clean up.
      await sleep(200);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }

    expect((await readAll(await local.storage.get('killed/file.bin'))).toString()).toBe('previous');
    expect((await local.storage.list('killed/')).map((o) => o.key)).toEqual(['killed/file.bin']);
    // The half-written body is an orphan in tmp/, outside every key.
    expect((await readdir(path.join(local.root, 'tmp'))).length).toBeGreaterThan(0);
  });

  it('leaves no temp files behind after a failed put', async () => {
    const before = await readdir(path.join(local.root, 'tmp'));
    const failing = Readable.from(
      (async function* () {
        yield Buffer.from('x');
        throw new Error('nope');
      })(),
    );
    await expect(local.storage.put('tmpcheck/x', failing)).rejects.toThrow('nope');
    expect(await readdir(path.join(local.root, 'tmp'))).toEqual(before);
  });

  it('prunes folders emptied by deletes', async () => {
    await local.storage.put('prune/a/b/c.txt', 'c', { contentType: 'text/plain' });
    await local.storage.delete('prune/a/b/c.txt');
    expect(await readdir(path.join(local.root, 'objects'))).not.toContain('prune');
    expect(await readdir(path.join(local.root, 'meta'))).not.toContain('prune');
  });

  it('verifyLocalSignature checks the signature, then the expiry', async () => {
    const url = new URL(await local.storage.signedUrl('v/k.txt', 60));
    const exp = url.searchParams.get('exp') ?? '';
    const sig = url.searchParams.get('sig') ?? '';
    expect(Number(exp)).toBeGreaterThan(Date.now() / 1000 + 50);
    expect(verifyLocalSignature(SECRET, 'v/k.txt', exp, sig)).toBe('valid');
    expect(verifyLocalSignature(SECRET, 'v/k.txt', Number(exp), sig)).toBe('valid');
    expect(verifyLocalSignature(SECRET, 'v/k.txt', exp, sig, (Number(exp) + 1) * 1000)).toBe('expired');
    expect(verifyLocalSignature(SECRET, 'v/other.txt', exp, sig)).toBe('invalid');
    expect(verifyLocalSignature('another-secret-another-secret-xx', 'v/k.txt', exp, sig)).toBe('invalid');
    expect(verifyLocalSignature(SECRET, 'v/k.txt', String(Number(exp) + 1), sig)).toBe('invalid');
    expect(verifyLocalSignature(SECRET, 'v/k.txt', exp, sig.slice(0, -1))).toBe('invalid');
    expect(verifyLocalSignature(SECRET, 'v/k.txt', 'abc', sig)).toBe('invalid');
    expect(verifyLocalSignature(SECRET, 'v/k.txt', exp, '')).toBe('invalid');
  });

  it('the /files route answers with problem+json codes, ranges, HEAD and cache headers', async () => {
    await local.storage.put('route/a.bin', SMALL, { contentType: 'video/mp4' });
    const url = await local.storage.signedUrl('route/a.bin', 120);

    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('1000');
    expect(head.headers.get('accept-ranges')).toBe('bytes');
    expect(head.headers.get('content-type')).toBe('video/mp4');
    expect(head.headers.get('x-content-type-options')).toBe('nosniff');
    const maxAge = Number(/^private, max-age=(\d+)$/.exec(head.headers.get('cache-control') ?? '')?.[1]);
    expect(maxAge).toBeGreaterThan(100);
    expect(maxAge).toBeLessThanOrEqual(120);
    expect((await head.arrayBuffer()).byteLength).toBe(0);

    const suffix = await fetch(url, { headers: { range: 'bytes=-10' } });
    expect(suffix.status).toBe(206);
    expect(suffix.headers.get('content-range')).toBe('bytes 990-999/1000');
    expect(suffix.headers.get('content-length')).toBe('10');
    expect(Buffer.from(await suffix.arrayBuffer()).equals(SMALL.subarray(990))).toBe(true);

    const open = await fetch(url, { headers: { range: 'bytes=900-' } });
    expect(open.status).toBe(206);
    expect(Buffer.from(await open.arrayBuffer()).equals(SMALL.subarray(900))).toBe(true);

    const multi = await fetch(url, { headers: { range: 'bytes=0-1,5-6' } });
    expect(multi.status).toBe(200);
    expect((await multi.arrayBuffer()).byteLength).toBe(1000);

    const stale = await fetch(url, { headers: { range: 'bytes=0-9', 'if-range': 'Wed, 21 Oct 2015 07:28:00 GMT' } });
    expect(stale.status).toBe(200);
    await stale.arrayBuffer();

    const beyond = await fetch(url, { headers: { range: 'bytes=1000-' } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe('bytes */1000');
    expect(await beyond.json()).toMatchObject({ status: 416, code: 'storage.range_not_satisfiable' });

    const tampered = new URL(url);
    tampered.searchParams.set('sig', 'A'.repeat(43));
    const bad = await fetch(tampered);
    expect(bad.status).toBe(403);
    expect(bad.headers.get('content-type')).toBe('application/problem+json');
    expect(await bad.json()).toEqual({
      type: 'about:blank',
      title: expect.any(String),
      status: 403,
      code: 'storage.invalid_signature',
      detail: expect.any(String),
    });

    const expired = await fetch(await local.expiredUrl('route/a.bin'));
    expect(expired.status).toBe(403);
    expect(expired.headers.get('content-type')).toBe('application/problem+json');
    expect(await expired.json()).toMatchObject({ status: 403, code: 'storage.url_expired' });

    const missing = await fetch(await local.storage.signedUrl('route/missing.bin', 60));
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ status: 404, code: 'storage.not_found' });

    const unsigned = await fetch(`${local.base}/files/route/a.bin`);
    expect(unsigned.status).toBe(403);
    expect(await unsigned.json()).toMatchObject({ code: 'storage.invalid_signature' });

    // Even a correctly signed traversal key never reads outside the storage root.
    const exp = Math.floor(Date.now() / 1000) + 60;
    const traversal = '../../../../etc/passwd';
    const sig = createHmac('sha256', SECRET).update(`${traversal}\n${exp}`).digest('base64url');
    const escape = await fetch(`${local.base}/files/..%2F..%2F..%2F..%2Fetc%2Fpasswd?exp=${exp}&sig=${sig}`);
    expect(escape.status).toBe(404);
    expect(await escape.json()).toMatchObject({ code: 'storage.not_found' });
  });

  it('keeps the route out of the OpenAPI document', async () => {
    const app = Fastify();
    const schemas: unknown[] = [];
    app.addHook('onRoute', (route) => {
      schemas.push(route.schema);
    });
    await app.register(localFilesRoute, { storage: local.storage as LocalStorage, secretKey: SECRET });
    await app.ready();
    expect(schemas).toHaveLength(1);
    expect(schemas[0]).toMatchObject({ hide: true });
    await app.close();
  });
});

describe('createStorage', () => {
  const base = { dataDir: '/tmp/sf-data', publicUrl: 'http://127.0.0.1:3000', secretKey: SECRET, s3: undefined } as Config;

  it('picks a folder under DATA_DIR by default', async () => {
    const storage = await createStorage(base);
    expect(storage.kind).toBe('local');
    expect((storage as LocalStorage).root).toBe(path.join('/tmp/sf-data', 'storage'));
    expect(await storage.signedUrl('a/b.txt', 60)).toMatch(/^http:\/\/127\.0\.0\.1:3000\/files\/a\/b\.txt\?exp=\d+&sig=[A-Za-z0-9_-]{43}$/);
  });

  it('picks S3 when S3 settings are present', async () => {
    const storage = await createStorage({
      ...base,
      s3: { endpoint: 'http://127.0.0.1:9', region: 'us-east-1', bucket: 'b', accessKeyId: 'k', secretAccessKey: 's', forcePathStyle: true },
    });
    expect(storage.kind).toBe('s3');
    await storage.close();
  });
});
