import path from 'node:path';
import type { Config } from '../../config.js';
import { LocalStorage } from './local.js';
import type { S3Storage } from './s3.js';
import type { Storage } from './types.js';

export { LocalStorage, verifyLocalSignature } from './local.js';
export type { LocalObjectHandle, LocalSignatureCheck, LocalStorageOptions } from './local.js';
export { localFilesRoute, parseRangeHeader } from './local-route.js';
export type { LocalFilesRouteOptions } from './local-route.js';
export type { S3Storage, S3StorageOptions } from './s3.js';
export { assertValidKey, assertValidPrefix, encodeKeyPath } from './keys.js';
export { InvalidKeyError, ObjectNotFoundError, RangeNotSatisfiableError } from './types.js';
export type { PutOptions, Storage, StoredObject } from './types.js';

/**
 * S3 when S3_BUCKET is configured, otherwise a folder under DATA_DIR. The AWS SDK is loaded only
 * when S3 is used: it is a quarter of a second of start-up the embedded column does not need.
 */
export async function createStorage(config: Config): Promise<LocalStorage | S3Storage> {
  if (config.s3) {
    const { S3Storage } = await import('./s3.js');
    return new S3Storage(config.s3);
  }
  return new LocalStorage({ root: path.join(config.dataDir, 'storage'), publicUrl: config.publicUrl, secretKey: config.secretKey });
}

export function isLocalStorage(storage: Storage): storage is LocalStorage {
  return storage instanceof LocalStorage;
}
