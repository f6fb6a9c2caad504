import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { S3Storage } from '../../src/platform/storage/s3.js';

/**
 * s3rver runs in its own process (test/support/s3rver-child.mjs) because it makes ListObjectsV2
 * continuation tokens with DES, which OpenSSL 3 (Node 17+) only offers with the legacy provider;
 * without it every truncated listing is a 500. The child also answers the multipart calls s3rver
 * lacks (ListParts, AbortMultipartUpload) that @tus/s3-store makes. It exits when our end of its
 * stdin closes, so a crashed test never leaks it.
 */
export interface S3rver {
  port: number;
  /**
   * Create `name` and answer the app's S3 settings for it (S3_BUCKET, S3_ENDPOINT and keys) with a
   * client of the bucket for the test's own checks (close it after).
   */
  bucket(name: string): Promise<{ env: Record<string, string>; storage: S3Storage }>;
  stop(): Promise<void>;
}

export async function startS3rver(directory: string): Promise<S3rver> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const child = spawn(process.execPath, ['--openssl-legacy-provider', path.join(here, 's3rver-child.mjs')], {
    cwd: path.resolve(here, '../..'),
    env: { ...process.env, S3RVER_DIR: directory },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.once('exit', (code) => reject(new Error(`s3rver exited with ${code}`)));
  });
  return {
    port,
    async bucket(name) {
      const endpoint = `http://127.0.0.1:${port}`;
      const storage = new S3Storage({ endpoint, region: 'us-east-1', bucket: name, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true });
      await storage.ensureBucket();
      return { env: { S3_BUCKET: name, S3_ENDPOINT: endpoint, S3_ACCESS_KEY_ID: 'S3RVER', S3_SECRET_ACCESS_KEY: 'S3RVER' }, storage };
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.end();
      await exited;
    },
  };
}

