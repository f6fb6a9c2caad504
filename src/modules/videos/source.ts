import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ERRORS, type DataStore } from '@tus/utils';
import type { Deps } from '../../platform/deps.js';
import type { S3Storage } from '../../platform/storage/s3.js';

/**
 * Where uploaded sources live: the tus store itself (a folder under DATA_DIR for the embedded
 * column, the S3 bucket in production, named by video id), so a finished upload is never copied.
 */
export interface SourceStore {
  datastore: DataStore;
  /** A path or URL ffmpeg/ffprobe can read the source from. */
  location(videoId: string): Promise<string>;
  read(videoId: string): Promise<Readable>;
  remove(videoId: string): Promise<void>;
}

const built = new WeakMap<Deps, Promise<SourceStore>>();

export function sourceStoreFor(deps: Deps): Promise<SourceStore> {
  let s = built.get(deps);
  if (!s) {
    s = makeSourceStore(deps);
    built.set(deps, s);
  }
  return s;
}

async function makeSourceStore(deps: Deps): Promise<SourceStore> {
  const { config } = deps;
  if (config.s3) {
    const { S3Store } = await import('@tus/s3-store');
    const s3 = config.s3;
    // Objects are named by tus id, which is the video id (plus `<id>.info` for tus metadata).
    const storage = deps.storage as S3Storage;
    /**
     * S3Store.remove (tus termination, and our clean-ups: failed ingest, deleted video) aborts the
     * multipart upload, then deletes `<id>` and `<id>.info`. Once an upload is complete the abort
     * answers NoSuchUpload, which it reports as a missing upload before deleting anything: the
     * source of every deleted video stayed in the bucket. It also never deletes `<id>.part` (bytes
     * short of a part, kept until more arrive). Whatever it manages, all three objects go.
     */
    class RemovingS3Store extends S3Store {
      override async remove(id: string): Promise<void> {
        try {
          await super.remove(id);
        } finally {
          await Promise.all([id, `${id}.info`, `${id}.part`].map((key) => storage.delete(key).catch(() => {})));
        }
      }
    }
    const datastore = new RemovingS3Store({
      partSize: 8 * 1024 * 1024,
      s3ClientConfig: {
        bucket: s3.bucket,
        region: s3.region,
        ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
        forcePathStyle: s3.forcePathStyle,
        credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
        // As in platform/storage/s3.ts: no CRC32 trailers where the API does not demand them. Stores
        // that do not decode aws-chunked bodies (s3rver, older MinIO and Ceph) would otherwise keep
        // the chunk framing as part of the object: every incomplete part grew by 44 bytes.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      },
    });
    return {
      datastore,
      location: (id) => storage.signedUrl(id, config.video.transcodeTimeoutSeconds + 3600),
      read: (id) => storage.get(id),
      async remove(id) {
        // A missing upload is not an error here; what exists of it is gone either way.
        await datastore.remove(id).catch(() => {});
      },
    };
  }
  const { FileStore } = await import('@tus/file-store');
  const directory = path.join(config.dataDir, 'uploads');
  // Created (and awaited) here instead of by FileStore: its constructor starts an mkdir it never
  // waits for, whose failure (say, DATA_DIR removed meanwhile) is an uncaught exception that kills
  // the process. The subclass turns that fire-and-forget check off.
  await mkdir(directory, { recursive: true });
  class AwaitedDirFileStore extends FileStore {
    /**
     * FileStore.write with a 4 MiB write buffer instead of 16 KiB: the request's 64 KiB chunks pile
     * up while one write is in flight and go to disk together (writev), rather than one write and
     * one wait per chunk. Same contract: bytes land from `offset`, the new offset is returned.
     */
    override async write(readable: Readable, id: string, offset: number): Promise<number> {
      const file = createWriteStream(path.join(directory, id), { flags: 'r+', start: offset, highWaterMark: 4 * 1024 * 1024 });
      try {
        await pipeline(readable, file);
      } catch {
        throw ERRORS.FILE_WRITE_ERROR;
      }
      return offset + file.bytesWritten;
    }
  }
  Object.defineProperty(AwaitedDirFileStore.prototype, 'checkOrCreateDirectory', { value: () => {} });
  const datastore = new AwaitedDirFileStore({ directory });
  return {
    datastore,
    location: async (id) => path.join(directory, id),
    read: async (id) => createReadStream(path.join(directory, id)),
    async remove(id) {
      await datastore.remove(id).catch(() => {});
    },
  };
}
