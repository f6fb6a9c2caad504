import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createWriteStream, constants as fsConstants } from 'node:fs';
import { access, lstat, mkdir, open, readdir, readFile, rename, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertValidKey, assertValidPrefix, encodeKeyPath } from './keys.js';
import { ObjectNotFoundError, RangeNotSatisfiableError } from './types.js';
import type { PutOptions, Storage, StoredObject } from './types.js';

export interface LocalStorageOptions {
  /** The folder that holds everything (DATA_DIR/storage). */
  root: string;
  /** Base of signed URLs; the app serves them at `${publicUrl}/files/...`. */
  publicUrl: string;
  /** HMAC key for signed URLs. */
  secretKey: string;
}

/** The object behind an open file descriptor, so size, type and bytes all describe one version. */
export interface LocalObjectHandle {
  object: StoredObject;
  /** Reads the bytes (inclusive range) and closes the descriptor when done or destroyed. */
  stream(range?: { start: number; end: number }): Readable;
  /** Releases the descriptor when the bytes are not wanted (HEAD). */
  close(): Promise<void>;
}

export type LocalSignatureCheck = 'valid' | 'invalid' | 'expired';

const LIST_STAT_CONCURRENCY = 32;

function sign(secretKey: string, key: string, exp: number): string {
  return createHmac('sha256', secretKey).update(`${key}\n${exp}`).digest('base64url');
}

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * Checks a local signed URL. The signature is checked before the expiry so that a forged `exp`
 * reads as a bad signature rather than as an expired link.
 */
export function verifyLocalSignature(
  secretKey: string,
  key: string,
  exp: string | number,
  sig: string,
  nowMs: number = Date.now(),
): LocalSignatureCheck {
  const expStr = String(exp);
  if (!/^\d{1,12}$/.test(expStr) || typeof sig !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(sig)) return 'invalid';
  const expected = Buffer.from(sign(secretKey, key, Number(expStr)), 'base64url');
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
  return nowMs > Number(expStr) * 1000 ? 'expired' : 'valid';
}

function validateRange(range: { start: number; end?: number }): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0 || (end !== undefined && (!Number.isSafeInteger(end) || end < start))) {
    throw new RangeError(`invalid byte range ${start}-${end ?? ''}`);
  }
}

/**
 * Objects as plain files under `<root>/objects/<key>`, so an operator can back them up or serve
 * them with any tool. Layout:
 *
 * - `objects/<key>`: the bytes.
 * - `meta/<key>`: a small JSON sidecar `{ "contentType": ... }`, written only when a content type
 *   was given. Kept in a parallel tree rather than next to the object so no key is reserved and
 *   listing never has to skip sidecars. Without a sidecar the type is undefined, as for an S3
 *   object stored without one.
 * - `tmp/`: bodies being written. A put streams into `tmp/` (same file system) and renames into
 *   place, so a killed process leaves at most an orphan in `tmp/`, never a partial object.
 *
 * A key cannot be both an object and a folder here (`a/b` and `a/b/c`), unlike in S3.
 */
export class LocalStorage implements Storage {
  readonly kind = 'local' as const;
  readonly root: string;
  private readonly objectsDir: string;
  private readonly metaDir: string;
  private readonly tmpDir: string;
  private readonly publicUrl: string;
  private readonly secretKey: string;
  private dirsReady: Promise<void> | undefined;

  constructor(opts: LocalStorageOptions) {
    this.root = path.resolve(opts.root);
    this.objectsDir = path.join(this.root, 'objects');
    this.metaDir = path.join(this.root, 'meta');
    this.tmpDir = path.join(this.root, 'tmp');
    this.publicUrl = opts.publicUrl.replace(/\/+$/, '');
    this.secretKey = opts.secretKey;
  }

  private ensureDirs(): Promise<void> {
    this.dirsReady ??= (async () => {
      for (const d of [this.objectsDir, this.metaDir, this.tmpDir]) await mkdir(d, { recursive: true });
    })().catch((err: unknown) => {
      this.dirsReady = undefined;
      throw err;
    });
    return this.dirsReady;
  }

  private objectPath(key: string): string {
    return path.join(this.objectsDir, ...key.split('/'));
  }

  private metaPath(key: string): string {
    return path.join(this.metaDir, ...key.split('/'));
  }

  private tmpPath(): string {
    return path.join(this.tmpDir, `${Date.now()}-${randomUUID()}`);
  }

  /**
   * Renames into place, recreating the parent folder when a concurrent delete pruned it between
   * our mkdir and our rename.
   */
  private async moveInto(from: string, to: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      await mkdir(path.dirname(to), { recursive: true });
      try {
        await rename(from, to);
        return;
      } catch (err) {
        if (errCode(err) !== 'ENOENT' || attempt >= 4) throw err;
      }
    }
  }

  /** Removes folders left empty by a delete, stopping at the first one still in use. */
  private async prune(base: string, file: string): Promise<void> {
    let dir = path.dirname(file);
    while (dir.startsWith(base + path.sep)) {
      try {
        await rmdir(dir);
      } catch {
        return;
      }
      dir = path.dirname(dir);
    }
  }

  private async readContentType(key: string): Promise<string | undefined> {
    try {
      const meta = JSON.parse(await readFile(this.metaPath(key), 'utf8')) as { contentType?: unknown };
      return typeof meta.contentType === 'string' ? meta.contentType : undefined;
    } catch {
      return undefined;
    }
  }

  async put(key: string, body: Readable | Buffer | string, opts: PutOptions = {}): Promise<StoredObject> {
    assertValidKey(key);
    await this.ensureDirs();
    const tmp = this.tmpPath();
    let metaTmp: string | undefined;
    try {
      if (typeof body === 'string' || Buffer.isBuffer(body)) {
        await writeFile(tmp, body, { flush: true });
      } else {
        // flush: fsync before close, so the rename below never publishes bytes still in the page cache.
        await pipeline(body, createWriteStream(tmp, { flush: true }));
      }
      const info = await stat(tmp);
      if (opts.contentType !== undefined) {
        metaTmp = this.tmpPath();
        await writeFile(metaTmp, JSON.stringify({ contentType: opts.contentType }));
        await this.moveInto(metaTmp, this.metaPath(key));
        metaTmp = undefined;
      } else {
        await unlink(this.metaPath(key)).catch(() => undefined);
      }
      await this.moveInto(tmp, this.objectPath(key));
      return { key, size: info.size, contentType: opts.contentType, lastModified: info.mtime };
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      if (metaTmp !== undefined) await unlink(metaTmp).catch(() => undefined);
      throw err;
    }
  }

  /** Opens the object; throws ObjectNotFoundError when absent. */
  async open(key: string): Promise<LocalObjectHandle> {
    assertValidKey(key);
    let fh: FileHandle;
    try {
      fh = await open(this.objectPath(key), 'r');
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') throw new ObjectNotFoundError(key);
      throw err;
    }
    try {
      const info = await fh.stat();
      // Opening a folder succeeds on Linux; a folder is never an object.
      if (!info.isFile()) throw new ObjectNotFoundError(key);
      const object: StoredObject = { key, size: info.size, contentType: await this.readContentType(key), lastModified: info.mtime };
      return {
        object,
        stream: (range) => fh.createReadStream(range ? { start: range.start, end: range.end } : {}),
        close: () => fh.close(),
      };
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
  }

  async get(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    if (range) validateRange(range);
    const handle = await this.open(key);
    const { size } = handle.object;
    if (!range) return handle.stream();
    if (range.start >= size) {
      await handle.close();
      throw new RangeNotSatisfiableError(key, size);
    }
    return handle.stream({ start: range.start, end: Math.min(range.end ?? size - 1, size - 1) });
  }

  async stat(key: string): Promise<StoredObject | null> {
    assertValidKey(key);
    try {
      const info = await stat(this.objectPath(key));
      if (!info.isFile()) return null;
      return { key, size: info.size, contentType: await this.readContentType(key), lastModified: info.mtime };
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    const file = this.objectPath(key);
    try {
      if (!(await lstat(file)).isFile()) return;
      await unlink(file);
    } catch (err) {
      const code = errCode(err);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
    }
    const meta = this.metaPath(key);
    await unlink(meta).catch(() => undefined);
    await this.prune(this.objectsDir, file);
    await this.prune(this.metaDir, meta);
  }

  async deletePrefix(prefix: string): Promise<number> {
    const objects = await this.list(prefix);
    let deleted = 0;
    for (let i = 0; i < objects.length; i += LIST_STAT_CONCURRENCY) {
      await Promise.all(
        objects.slice(i, i + LIST_STAT_CONCURRENCY).map(async (o) => {
          await this.delete(o.key);
          deleted++;
        }),
      );
    }
    return deleted;
  }

  /**
   * S3 semantics: a plain string prefix, sorted by key. contentType is left undefined, as S3's
   * listing does not carry it either; call stat() for it.
   */
  async list(prefix: string): Promise<StoredObject[]> {
    assertValidPrefix(prefix);
    const cut = prefix.lastIndexOf('/');
    const folder = cut === -1 ? '' : prefix.slice(0, cut + 1);
    const partial = prefix.slice(cut + 1);
    const keys: string[] = [];
    await this.walk(path.join(this.objectsDir, ...folder.split('/').filter(Boolean)), folder, partial, keys);
    keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

    const out: (StoredObject | null)[] = [];
    for (let i = 0; i < keys.length; i += LIST_STAT_CONCURRENCY) {
      out.push(
        ...(await Promise.all(
          keys.slice(i, i + LIST_STAT_CONCURRENCY).map(async (key) => {
            try {
              const info = await stat(this.objectPath(key));
              return { key, size: info.size, contentType: undefined, lastModified: info.mtime };
            } catch (err) {
              // Deleted between readdir and stat: it is simply no longer listed.
              if (errCode(err) === 'ENOENT') return null;
              throw err;
            }
          }),
        )),
      );
    }
    return out.filter((o): o is StoredObject => o !== null);
  }

  private async walk(dir: string, keyPrefix: string, partial: string, into: string[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw err;
    }
    for (const e of entries) {
      if (partial !== '' && !e.name.startsWith(partial)) continue;
      if (e.isDirectory()) await this.walk(path.join(dir, e.name), `${keyPrefix}${e.name}/`, '', into);
      else if (e.isFile()) into.push(keyPrefix + e.name);
    }
  }

  async signedUrl(key: string, expiresInSeconds: number): Promise<string> {
    assertValidKey(key);
    if (!(expiresInSeconds > 0)) throw new RangeError('expiresInSeconds must be positive');
    const exp = Math.floor(Date.now() / 1000) + Math.ceil(expiresInSeconds);
    const sig = sign(this.secretKey, key, exp);
    return `${this.publicUrl}/files/${encodeKeyPath(key)}?exp=${exp}&sig=${sig}`;
  }

  async ping(): Promise<void> {
    await this.ensureDirs();
    await access(this.objectsDir, fsConstants.R_OK | fsConstants.W_OK);
    await access(this.tmpDir, fsConstants.W_OK);
  }

  async close(): Promise<void> {}
}
