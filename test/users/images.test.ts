import { crc32 } from 'node:zlib';
import { eq } from 'drizzle-orm';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { users, type ImageSet } from '../../src/modules/users/tables.js';
import { createTestEnv, startTestServer, type TestEnv, type TestServer } from '../support/app.js';
import { httpClient, injectClient, signUp, type Call, type TestUser } from '../support/auth.js';
import { filePart, formData, photo, readObject, solid, storedKeys, type FormPart } from './support.js';

const SIZES = { avatar: [64, 256, 512].map((n) => [n, n]), banner: [[640, 213], [1280, 427], [1920, 640]] } as const;
const KEY = (userId: string, kind: string) => new RegExp(`^users/${userId}/${kind}/[0-9a-f-]{36}/(small|medium|large)\\.webp$`);

/** A valid PNG header that declares 20000x20000 pixels: a few bytes that would decode to 1.6 GB. */
async function pixelBomb(): Promise<Buffer> {
  const png = Buffer.from(await solid(1, 1).png().toBuffer());
  // IHDR data starts at byte 16 (8 signature + 4 length + 4 type); its CRC covers type and data.
  png.writeUInt32BE(20_000, 16);
  png.writeUInt32BE(20_000, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)) >>> 0, 29);
  return png;
}

describe('profile images', () => {
  let env: TestEnv;
  let call: Call;

  beforeAll(async () => {
    env = await createTestEnv();
    call = injectClient(env.app);
  });
  afterAll(async () => env?.close());

  const put = async (token: string | undefined, kind: 'avatar' | 'banner', parts: FormPart[]) => {
    const { payload, headers } = formData(parts);
    const res = await env.app.inject({ method: 'PUT', url: `/api/v1/me/${kind}`, headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) }, payload });
    return { status: res.statusCode, body: res.json() as Record<string, unknown>, headers: res.headers };
  };
  const row = async (id: string) => (await env.deps.database.db.select().from(users).where(eq(users.id, id)))[0]!;

  it('a JPEG with EXIF becomes three WebP avatars with no metadata, turned the way the camera meant', async () => {
    const u = await signUp(call, env.dataDir);
    // Stored pixels: top half red, bottom half blue; EXIF orientation 6 says "turn 90° clockwise to view",
    // which puts blue on the left and red on the right.
    const jpeg = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#ff0000' } })
      .composite([{ input: await solid(300, 100, '#0000ff').png().toBuffer(), top: 100, left: 0 }])
      .jpeg()
      .withMetadata({ orientation: 6, exif: { IFD0: { Copyright: 'secret-gps', Artist: 'Ana at 51.5007N 0.1246W' } } })
      .toBuffer();
    expect((await sharp(jpeg).metadata()).exif).toBeDefined();

    const res = await put(u.accessToken, 'avatar', [filePart(jpeg, 'holiday.jpg')]);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: u.id, username: u.username, email: u.email, banner: null });
    const avatar = res.body.avatar as Record<string, string>;
    expect(Object.keys(avatar).sort()).toEqual(['large', 'medium', 'small']);

    const set = (await row(u.id)).avatar as ImageSet;
    expect(Object.values(set).every((k) => KEY(u.id, 'avatar').test(k))).toBe(true);
    // One upload id for the three renditions.
    expect(new Set(Object.values(set).map((k) => k.split('/')[3])).size).toBe(1);
    expect(await storedKeys(env.deps.storage, u.id)).toEqual(Object.values(set).sort());

    for (const [i, size] of (['small', 'medium', 'large'] as const).entries()) {
      const bytes = await readObject(env.deps.storage, set[size]);
      const meta = await sharp(bytes).metadata();
      expect(meta.format).toBe('webp');
      expect([meta.width, meta.height]).toEqual(SIZES.avatar[i]);
      expect(meta.exif).toBeUndefined();
      expect(meta.xmp).toBeUndefined();
      expect(meta.orientation).toBeUndefined();
      expect(bytes.includes('secret-gps')).toBe(false);
      expect(bytes.includes('51.5007N')).toBe(false);
      expect((await env.deps.storage.stat(set[size]))?.contentType).toBe('image/webp');
    }
    const small = await sharp(await readObject(env.deps.storage, set.small)).raw().toBuffer({ resolveWithObject: true });
    const px = (x: number, y: number) => [...small.data.subarray((y * small.info.width + x) * small.info.channels, (y * small.info.width + x) * small.info.channels + 3)];
    const [lr, , lb] = px(8, 32);
    const [rr, , rb] = px(56, 32);
    expect(lb!).toBeGreaterThan(200);
    expect(lr!).toBeLessThan(60);
    expect(rr!).toBeGreaterThan(200);
    expect(rb!).toBeLessThan(60);
  });

  it('a PNG banner is cropped to fill 640x213, 1280x427 and 1920x640', async () => {
    const u = await signUp(call, env.dataDir);
    const png = await photo(1000, 1000).png().toBuffer();
    const res = await put(u.accessToken, 'banner', [filePart(png, 'banner.png', 'image/png')]);
    expect(res.status).toBe(200);
    expect(res.body.avatar).toBeNull();
    const set = (await row(u.id)).banner as ImageSet;
    for (const [i, size] of (['small', 'medium', 'large'] as const).entries()) {
      expect(set[size]).toMatch(KEY(u.id, 'banner'));
      const meta = await sharp(await readObject(env.deps.storage, set[size])).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['webp', ...SIZES.banner[i]!]);
    }
  });

  it('takes WebP, AVIF and GIF (first frame), whatever the request calls them', async () => {
    const u = await signUp(call, env.dataDir);
    const frame = (colour: string) => sharp({ create: { width: 40, height: 40, channels: 4, background: colour } }).png().toBuffer();
    const animated = await sharp([await frame('#00ff00'), await frame('#ff00ff')], { join: { animated: true } }).gif().toBuffer();
    expect((await sharp(animated).metadata()).pages).toBe(2);
    const inputs: [string, Buffer][] = [
      ['webp', await photo(120, 90).webp().toBuffer()],
      ['avif', await photo(120, 90).avif().toBuffer()],
      ['gif', await solid(120, 90).gif().toBuffer()],
      ['gif', animated],
    ];
    for (const [format, bytes] of inputs) {
      // The declared type and name are lies on purpose: only the bytes count.
      const res = await put(u.accessToken, 'avatar', [filePart(bytes, 'x.txt', 'text/plain')]);
      expect(res.status, format).toBe(200);
      const set = (await row(u.id)).avatar as ImageSet;
      expect((await sharp(await readObject(env.deps.storage, set.medium)).metadata()).format).toBe('webp');
    }
    // The animated GIF went last: its first (green) frame is the avatar, not a strip of both.
    const set = (await row(u.id)).avatar as ImageSet;
    const out = await sharp(await readObject(env.deps.storage, set.small)).raw().toBuffer({ resolveWithObject: true });
    expect(out.info.height).toBe(64);
    expect([...out.data.subarray(0, 3)].map((v) => Math.round(v / 255))).toEqual([0, 1, 0]);
    const last = (out.data.length / out.info.channels - 1) * out.info.channels;
    expect([...out.data.subarray(last, last + 3)].map((v) => Math.round(v / 255))).toEqual([0, 1, 0]);
  });

  it('replacing an image deletes the old set; DELETE removes it', async () => {
    const u = await signUp(call, env.dataDir);
    const first = await put(u.accessToken, 'avatar', [filePart(await photo(200, 200).jpeg().toBuffer())]);
    expect(first.status).toBe(200);
    const oldSet = (await row(u.id)).avatar as ImageSet;
    const second = await put(u.accessToken, 'avatar', [filePart(await photo(220, 220).png().toBuffer(), 'b.png', 'image/png')]);
    expect(second.status).toBe(200);
    const newSet = (await row(u.id)).avatar as ImageSet;
    expect(newSet.small).not.toBe(oldSet.small);
    // New URLs, so no cache can serve the previous picture.
    expect((second.body.avatar as Record<string, string>).small).not.toBe((first.body.avatar as Record<string, string>).small);
    expect(await storedKeys(env.deps.storage, u.id)).toEqual(Object.values(newSet).sort());
    for (const k of Object.values(oldSet)) expect(await env.deps.storage.stat(k)).toBeNull();

    const banner = await put(u.accessToken, 'banner', [filePart(await photo(900, 300).jpeg().toBuffer())]);
    expect(banner.status).toBe(200);

    const del = await call('DELETE', '/api/v1/me/avatar', { token: u.accessToken });
    expect(del.status).toBe(200);
    expect(del.body.avatar).toBeNull();
    expect(del.body.banner).not.toBeNull();
    expect((await row(u.id)).avatar).toBeNull();
    expect(await storedKeys(env.deps.storage, u.id)).toEqual(Object.values((await row(u.id)).banner as ImageSet).sort());
    // Removing what is not there is not an error.
    expect((await call('DELETE', '/api/v1/me/avatar', { token: u.accessToken })).status).toBe(200);
    const delBanner = await call('DELETE', '/api/v1/me/banner', { token: u.accessToken });
    expect(delBanner.status).toBe(200);
    expect(delBanner.body.banner).toBeNull();
    expect(await storedKeys(env.deps.storage, u.id)).toEqual([]);
  });

  it('refuses bad uploads with problem+json and changes nothing', async () => {
    const u = await signUp(call, env.dataDir);
    expect((await put(u.accessToken, 'avatar', [filePart(await photo(100, 100).jpeg().toBuffer())])).status).toBe(200);
    const before = await row(u.id);
    const keysBefore = await storedKeys(env.deps.storage, u.id);
    expect(keysBefore).toHaveLength(3);

    const jpeg = await photo(400, 300).jpeg().toBuffer();
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>';
    const heicLike = Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypheicmif1heic', 'latin1'), Buffer.alloc(64)]);
    const tooBig = Buffer.concat([jpeg.subarray(0, 64), Buffer.alloc(20 * 1024 * 1024, 0x41)]);
    const cases: { name: string; parts: FormPart[]; status: number; code: string }[] = [
      { name: 'text renamed .png', parts: [filePart('just some text, not an image at all', 'cat.png', 'image/png')], status: 415, code: 'profile.unsupported_image' },
      { name: 'svg', parts: [filePart(svg, 'x.svg', 'image/svg+xml')], status: 415, code: 'profile.unsupported_image' },
      { name: 'tiff', parts: [filePart(await photo(50, 50).tiff().toBuffer(), 'x.jpg', 'image/jpeg')], status: 415, code: 'profile.unsupported_image' },
      { name: 'heic container', parts: [filePart(heicLike, 'x.avif', 'image/avif')], status: 415, code: 'profile.unsupported_image' },
      { name: 'jpeg magic, png inside', parts: [filePart(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), await photo(20, 20).png().toBuffer()]))], status: 422, code: 'profile.corrupt_image' },
      { name: 'truncated jpeg', parts: [filePart(jpeg.subarray(0, Math.floor(jpeg.length * 0.6)))], status: 422, code: 'profile.corrupt_image' },
      { name: 'jpeg header only', parts: [filePart(jpeg.subarray(0, 200))], status: 422, code: 'profile.corrupt_image' },
      { name: '20 MB', parts: [filePart(tooBig)], status: 413, code: 'profile.image_too_large' },
      { name: 'pixel bomb', parts: [filePart(await pixelBomb(), 'x.png', 'image/png')], status: 413, code: 'profile.image_too_large' },
      { name: 'empty file', parts: [filePart(Buffer.alloc(0))], status: 400, code: 'profile.file_required' },
      { name: 'no parts', parts: [], status: 400, code: 'profile.file_required' },
      { name: 'wrong field name', parts: [{ ...filePart(jpeg), name: 'image' }], status: 400, code: 'profile.unexpected_field' },
      { name: 'a text field', parts: [{ name: 'file', data: 'hello' }], status: 400, code: 'profile.unexpected_field' },
      { name: 'two files', parts: [filePart(jpeg), filePart(jpeg)], status: 400, code: 'profile.unexpected_field' },
    ];
    for (const c of cases) {
      for (const kind of ['avatar', 'banner'] as const) {
        const res = await put(u.accessToken, kind, c.parts);
        expect(res.status, `${c.name} ${kind}`).toBe(c.status);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.body.code, c.name).toBe(c.code);
      }
    }
    // Not multipart at all.
    const json = await call('PUT', '/api/v1/me/avatar', { token: u.accessToken, body: { file: 'aGVsbG8=' } });
    expect(json.status).toBe(415);
    expect(json.body.code).toBe('profile.multipart_required');
    // Multipart is accepted by the image routes only.
    const patch = await env.app.inject({ method: 'PATCH', url: '/api/v1/me', headers: { ...formData([filePart(jpeg)]).headers, authorization: `Bearer ${u.accessToken}` }, payload: formData([filePart(jpeg)]).payload });
    expect(patch.statusCode).toBe(415);
    const raw = await env.app.inject({ method: 'PUT', url: '/api/v1/me/avatar', headers: { authorization: `Bearer ${u.accessToken}`, 'content-type': 'image/jpeg' }, payload: jpeg });
    expect(raw.statusCode).toBe(415);

    const after = await row(u.id);
    expect(after.avatar).toEqual(before.avatar);
    expect(after.banner).toBeNull();
    expect(after.updatedAt).toEqual(before.updatedAt);
    expect(await storedKeys(env.deps.storage, u.id)).toEqual(keysBefore);
  });

  it('every route needs a signed-in caller', async () => {
    const jpeg = await photo(50, 50).jpeg().toBuffer();
    for (const kind of ['avatar', 'banner'] as const) {
      const res = await put(undefined, kind, [filePart(jpeg)]);
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('auth.required');
      const del = await call('DELETE', `/api/v1/me/${kind}`);
      expect(del.status).toBe(401);
      expect((await call('DELETE', `/api/v1/me/${kind}`, { token: 'not.a.token' })).status).toBe(401);
    }
  });

  it('acts only on the caller: there is no way to name another account', async () => {
    const ana = await signUp(call, env.dataDir);
    const bob = await signUp(call, env.dataDir);
    expect((await put(ana.accessToken, 'avatar', [filePart(await photo(80, 80).jpeg().toBuffer())])).status).toBe(200);
    const anaSet = (await row(ana.id)).avatar;
    const anaKeys = await storedKeys(env.deps.storage, ana.id);

    // Bob's requests change Bob's account, whatever he puts in the body.
    const bobPut = await put(bob.accessToken, 'avatar', [filePart(await photo(80, 80).jpeg().toBuffer(), `../${ana.id}/avatar.jpg`)]);
    expect(bobPut.status).toBe(200);
    expect(bobPut.body.id).toBe(bob.id);
    expect((await call('DELETE', '/api/v1/me/avatar', { token: bob.accessToken })).body.id).toBe(bob.id);
    // Paths naming a user do not exist.
    for (const method of ['PUT', 'DELETE']) {
      const res = await env.app.inject({ method: method as 'PUT', url: `/api/v1/users/${ana.id}/avatar`, headers: { authorization: `Bearer ${bob.accessToken}` } });
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe('route.not_found');
    }
    expect((await row(ana.id)).avatar).toEqual(anaSet);
    expect(await storedKeys(env.deps.storage, ana.id)).toEqual(anaKeys);
    expect(await storedKeys(env.deps.storage, bob.id)).toEqual([]);
  });

  it('is described in the OpenAPI document as a multipart upload', async () => {
    const doc = (await env.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const op = doc.paths['/api/v1/me/avatar'].put;
    expect(Object.keys(op.requestBody.content)).toEqual(['multipart/form-data']);
    expect(op.requestBody.content['multipart/form-data'].schema.properties.file).toMatchObject({ type: 'string', format: 'binary' });
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '401', '413', '415', '422']));
    expect(doc.paths['/api/v1/me/banner'].delete).toBeDefined();
    expect(doc.paths['/api/v1/me/deactivate'].post).toBeDefined();
    expect(doc.paths['/api/v1/me'].delete.requestBody).toBeDefined();
  });
});

describe('profile images over HTTP', () => {
  let server: TestServer;
  let call: Call;
  let u: TestUser;

  beforeAll(async () => {
    server = await startTestServer();
    call = httpClient(server.url);
    u = await signUp(call, server.config.dataDir);
  });
  afterAll(async () => server?.close());

  const upload = async (kind: string, bytes: Buffer, token = u.accessToken) => {
    const form = new FormData();
    form.append('file', new Blob([bytes], { type: 'application/octet-stream' }), 'upload.bin');
    return fetch(`${server.url}/api/v1/me/${kind}`, { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body: form });
  };
  // Signed URLs carry the configured public address; the test server listens on an ephemeral port.
  const local = (url: string) => {
    const u2 = new URL(url);
    return `${server.url}${u2.pathname}${u2.search}`;
  };

  it('uploads with a browser-style form and serves every rendition at its signed URL', async () => {
    const res = await upload('avatar', await photo(600, 400).jpeg().withMetadata({ exif: { IFD0: { Copyright: 'secret-gps' } } }).toBuffer());
    expect(res.status).toBe(200);
    const body = (await res.json()) as { avatar: Record<string, string> };
    for (const [i, size] of (['small', 'medium', 'large'] as const).entries()) {
      const file = await fetch(local(body.avatar[size]!));
      expect(file.status).toBe(200);
      expect(file.headers.get('content-type')).toBe('image/webp');
      const bytes = Buffer.from(await file.arrayBuffer());
      const meta = await sharp(bytes).metadata();
      expect([meta.format, meta.width, meta.height, meta.exif]).toEqual(['webp', ...SIZES.avatar[i]!, undefined]);
    }
    // The same URL without its signature is refused.
    expect((await fetch(local(body.avatar.small!).split('?')[0]!)).status).toBeGreaterThanOrEqual(400);
    const me = await call('GET', '/api/v1/me', { token: u.accessToken });
    expect(Object.keys(me.body.avatar as object).sort()).toEqual(['large', 'medium', 'small']);
  });

  it('refuses a 20 MB upload with 413 and stores nothing', async () => {
    const keysBefore = await storedKeys(server.deps.storage, u.id);
    const big = Buffer.concat([await photo(64, 64).jpeg().toBuffer(), Buffer.alloc(20 * 1024 * 1024, 0x41)]);
    let status: number | string;
    try {
      status = (await upload('banner', big)).status;
    } catch (err) {
      // The server closes the connection instead of reading the rest; a client still sending may see that first.
      status = String((err as Error & { cause?: { code?: string } }).cause?.code ?? err);
    }
    expect([413, 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']).toContain(status);
    expect(await storedKeys(server.deps.storage, u.id)).toEqual(keysBefore);
    const me = await call('GET', '/api/v1/me', { token: u.accessToken });
    expect(me.body.banner).toBeNull();
  });
});
