import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * s3rver runs in its own process (test/support/s3rver-child.mjs) because it makes ListObjectsV2
 * continuation tokens with DES, which OpenSSL 3 (Node 17+) only offers with the legacy provider;
 * without it every truncated listing is a 500. The child also answers the multipart calls s3rver
 * lacks (ListParts, AbortMultipartUpload) that @tus/s3-store makes. It exits when our end of its
 * stdin closes, so a crashed test never leaks it.
 */
export async function startS3rver(directory: string): Promise<{ port: number; stop(): Promise<void> }> {
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
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.end();
      await exited;
    },
  };
}

