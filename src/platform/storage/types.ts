import type { Readable } from 'node:stream';

export interface StoredObject {
  key: string;
  size: number;
  contentType: string | undefined;
  lastModified: Date;
}

export interface PutOptions {
  contentType?: string;
}

/**
 * Object storage: a folder under DATA_DIR in the embedded column, S3 (or compatible) with S3_*.
 * Keys are relative paths like `videos/<id>/720p/seg-001.ts`; `..`, absolute paths and empty
 * segments are refused.
 */
export interface Storage {
  kind: 'local' | 's3';
  /** Streams the body in; never buffers the whole object. */
  put(key: string, body: Readable | Buffer | string, opts?: PutOptions): Promise<StoredObject>;
  /** A stream of the object, optionally a byte range (inclusive end). Throws NotFoundError when absent. */
  get(key: string, range?: { start: number; end?: number }): Promise<Readable>;
  stat(key: string): Promise<StoredObject | null>;
  delete(key: string): Promise<void>;
  /** Delete everything under a prefix (e.g. all renditions of a video). */
  deletePrefix(prefix: string): Promise<number>;
  list(prefix: string): Promise<StoredObject[]>;
  /**
   * A URL that lets anyone holding it GET the object until it expires: HMAC-signed for local
   * files (served by the app at /files/...), presigned for S3.
   */
  signedUrl(key: string, expiresInSeconds: number): Promise<string>;
  /** Check the backend answers (used by /readyz). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class ObjectNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`object not found: ${key}`);
    this.name = 'ObjectNotFoundError';
  }
}

export class InvalidKeyError extends Error {
  constructor(readonly key: string) {
    super(`invalid storage key: ${JSON.stringify(key)}`);
    this.name = 'InvalidKeyError';
  }
}

/** A byte range that starts at or past the end of the object (HTTP 416). */
export class RangeNotSatisfiableError extends Error {
  constructor(
    readonly key: string,
    readonly size: number | undefined,
  ) {
    super(`range not satisfiable for ${key}`);
    this.name = 'RangeNotSatisfiableError';
  }
}
