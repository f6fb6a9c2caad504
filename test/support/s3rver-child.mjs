/**
 * s3rver (a fake S3 on loopback) for the tests, run by s3rver.ts in a child process, plus the two
 * multipart calls it lacks and @tus/s3-store needs: ListParts (GET ?uploadId=) and
 * AbortMultipartUpload (DELETE ?uploadId=), answered from s3rver's own store of parts on disk
 * (<dir>/<bucket>/._S3rver_uploads/<uploadId>/<part number>, with <part number>.md5 beside it).
 * Prints {"port": N} once listening; exits when its stdin closes.
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import S3rver from 's3rver';

const directory = process.env.S3RVER_DIR;
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const XML = '<?xml version="1.0" encoding="UTF-8"?>';

async function multipartCalls(ctx, next) {
  const uploadId = ctx.query.uploadId;
  if (typeof uploadId !== 'string' || (ctx.method !== 'GET' && ctx.method !== 'DELETE')) return next();
  const [bucket, ...rest] = ctx.path.replace(/^\//, '').split('/');
  const key = decodeURIComponent(rest.join('/'));
  const dir = path.join(directory, bucket, '._S3rver_uploads', path.basename(uploadId));
  let names;
  try {
    names = await readdir(dir);
  } catch {
    ctx.status = 404;
    ctx.type = 'application/xml';
    ctx.body = `${XML}<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message><UploadId>${esc(uploadId)}</UploadId></Error>`;
    return;
  }
  if (ctx.method === 'DELETE') {
    await rm(dir, { recursive: true, force: true });
    ctx.status = 204;
    return;
  }
  const marker = Number(ctx.query['part-number-marker'] ?? 0);
  const max = Math.min(Number(ctx.query['max-parts'] ?? 1000), 1000);
  const after = names
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .filter((n) => n > marker)
    .sort((a, b) => a - b);
  const page = after.slice(0, max);
  const parts = await Promise.all(
    page.map(async (n) => {
      const s = await stat(path.join(dir, String(n)));
      const md5 = (await readFile(path.join(dir, `${n}.md5`), 'utf8')).trim();
      return `<Part><PartNumber>${n}</PartNumber><LastModified>${s.mtime.toISOString()}</LastModified><ETag>"${md5}"</ETag><Size>${s.size}</Size></Part>`;
    }),
  );
  ctx.type = 'application/xml';
  ctx.body =
    `${XML}<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>${esc(bucket)}</Bucket><Key>${esc(key)}</Key><UploadId>${esc(uploadId)}</UploadId>` +
    `<PartNumberMarker>${marker}</PartNumberMarker>${page.length ? `<NextPartNumberMarker>${page.at(-1)}</NextPartNumberMarker>` : ''}<MaxParts>${max}</MaxParts>` +
    `<IsTruncated>${after.length > page.length}</IsTruncated>${parts.join('')}</ListPartsResult>`;
}

// Koa composes its middleware when the server starts listening: first in line, before s3rver's router.
server.middleware.unshift(multipartCalls);
server.run().then(({ port }) => {
  // Node's 5 s keep-alive lets a loaded client reuse a socket the server is closing (ECONNRESET);
  // the clients' own idle timeouts are shorter than this, so they close first.
  server.httpServer.keepAliveTimeout = 60_000;
  process.stdout.write(JSON.stringify({ port }) + '\n');
});
process.stdin.resume();
process.stdin.on('end', () => server.close().finally(() => process.exit(0)));
