import {
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Readable, Transform } from 'node:stream';
import type { S3Config } from '../../config.js';
import { assertValidKey, assertValidPrefix } from './keys.js';
import { ObjectNotFoundError, RangeNotSatisfiableError } from './types.js';
import type { PutOptions, Storage, StoredObject } from './types.js';

export interface S3StorageOptions {
  /** Multipart part size in bytes (S3's minimum is 5 MiB). */
  partSize?: number;
  /** Parts uploaded in parallel; memory held is about partSize * queueSize. */
  queueSize?: number;
}

interface SdkError {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

function sdkError(err: unknown): SdkError {
  return (typeof err === 'object' && err !== null ? err : {}) as SdkError;
}

function isMissingObject(err: unknown): boolean {
  const e = sdkError(err);
  if (e.name === 'NoSuchKey' || e.name === 'NotFound') return true;
  // HeadObject answers a bare 404 with no body to name the error; a missing bucket must still surface.
  return e.$metadata?.httpStatusCode === 404 && e.name !== 'NoSuchBucket';
}

function isInvalidRange(err: unknown): boolean {
  const e = sdkError(err);
  return e.name === 'InvalidRange' || e.$metadata?.httpStatusCode === 416;
}

const DELETE_BATCH = 1000;

/** Objects in an S3 (or S3-compatible: MinIO, R2, Ceph, s3rver) bucket. */
export class S3Storage implements Storage {
  readonly kind = 's3' as const;
  readonly client: S3Client;
  readonly bucket: string;
  private readonly partSize: number;
  private readonly queueSize: number;

  constructor(config: S3Config, opts: S3StorageOptions = {}) {
    this.bucket = config.bucket;
    this.partSize = opts.partSize ?? 8 * 1024 * 1024;
    this.queueSize = opts.queueSize ?? 4;
    this.client = new S3Client({
      region: config.region,
      endpoint: config.endpoint,
      forcePathStyle: config.forcePathStyle,
      credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
      // Recent SDKs add CRC32 checksums to every request and check them on responses; many
      // S3-compatible stores (older MinIO, Ceph, s3rver) reject or omit them. Only send them where
      // the API demands one.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async put(key: string, body: Readable | Buffer | string, opts: PutOptions = {}): Promise<StoredObject> {
    assertValidKey(key);
    let size = 0;
    let source: Readable | Buffer | string = body;
    let counter: Transform | undefined;
    if (body instanceof Readable) {
      counter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          size += chunk.length;
          cb(null, chunk);
        },
      });
      // An error on the source destroys the counter, which fails the upload and aborts the multipart.
      body.once('error', (err) => counter?.destroy(err));
      source = body.pipe(counter);
    } else {
      size = Buffer.byteLength(body);
    }

    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: source, ContentType: opts.contentType },
      partSize: this.partSize,
      queueSize: this.queueSize,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (err) {
      if (body instanceof Readable) body.destroy();
      counter?.destroy();
      throw err;
    }
    return { key, size, contentType: opts.contentType, lastModified: new Date() };
  }

  async get(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    assertValidKey(key);
    if (range) {
      const { start, end } = range;
      if (!Number.isSafeInteger(start) || start < 0 || (end !== undefined && (!Number.isSafeInteger(end) || end < start))) {
        throw new RangeError(`invalid byte range ${start}-${end ?? ''}`);
      }
    }
    try {
      const res = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Range: range ? `bytes=${range.start}-${range.end ?? ''}` : undefined,
        }),
      );
      if (!(res.Body instanceof Readable)) throw new Error('S3 returned no body stream');
      return res.Body;
    } catch (err) {
      if (isMissingObject(err)) throw new ObjectNotFoundError(key);
      if (isInvalidRange(err)) throw new RangeNotSatisfiableError(key, undefined);
      throw err;
    }
  }

  async stat(key: string): Promise<StoredObject | null> {
    assertValidKey(key);
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { key, size: res.ContentLength ?? 0, contentType: res.ContentType, lastModified: res.LastModified ?? new Date(0) };
    } catch (err) {
      if (isMissingObject(err)) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async deletePrefix(prefix: string): Promise<number> {
    assertValidPrefix(prefix);
    let deleted = 0;
    // Each page is deleted before the next is listed, so memory stays at one page whatever the count.
    for (;;) {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, MaxKeys: DELETE_BATCH }));
      const keys = (page.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [{ Key: o.Key }]));
      if (keys.length === 0) return deleted;
      const res = await this.client.send(
        new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys, Quiet: true } }),
      );
      if (res.Errors && res.Errors.length > 0) {
        const first = res.Errors[0];
        throw new Error(`S3 refused to delete ${res.Errors.length} object(s), first ${first?.Key}: ${first?.Code} ${first?.Message}`);
      }
      deleted += keys.length;
      if (!page.IsTruncated) return deleted;
    }
  }

  /** Sorted by key (S3's order). contentType is undefined: ListObjectsV2 does not return it. */
  async list(prefix: string): Promise<StoredObject[]> {
    assertValidPrefix(prefix);
    const out: StoredObject[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        out.push({ key: o.Key, size: o.Size ?? 0, contentType: undefined, lastModified: o.LastModified ?? new Date(0) });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return out;
  }

  async signedUrl(key: string, expiresInSeconds: number): Promise<string> {
    assertValidKey(key);
    if (!(expiresInSeconds > 0)) throw new RangeError('expiresInSeconds must be positive');
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
      expiresIn: Math.ceil(expiresInSeconds),
    });
  }

  async ping(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }

  /** Creates the bucket when missing (tests, `doctor`); production buckets are usually made by ops. */
  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return;
    } catch (err) {
      if (sdkError(err).$metadata?.httpStatusCode !== 404) throw err;
    }
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      // Another process won the race: the bucket exists, which is all we wanted.
      if (sdkError(err).name !== 'BucketAlreadyOwnedByYou') throw err;
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
