// Child process of bench/video: PATCHes a file to a tus upload URL in --chunk-sized requests with
// node:http (the file streamed from disk, as a native client would), then prints one JSON line
// {"ms": ...} with the wall time from the first request to the last 204.
//   node --import tsx bench/support/tus-client.ts URL TOKEN FILE SIZE CHUNK
import { createReadStream } from 'node:fs';
import http from 'node:http';
import { pipeline } from 'node:stream/promises';

const [url, token, file, sizeArg, chunkArg] = process.argv.slice(2) as [string, string, string, string, string];
const size = Number(sizeArg);
const chunk = Number(chunkArg);
const agent = new http.Agent({ keepAlive: true });

async function patch(offset: number, end: number): Promise<void> {
  const req = http.request(url, {
    method: 'PATCH',
    agent,
    headers: {
      'tus-resumable': '1.0.0',
      authorization: token,
      'upload-offset': String(offset),
      'content-type': 'application/offset+octet-stream',
      'content-length': String(end - offset + 1),
    },
  });
  const answered = new Promise<http.IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  });
  await pipeline(createReadStream(file, { start: offset, end, highWaterMark: 4 * 1024 * 1024 }), req);
  const res = await answered;
  let body = '';
  for await (const part of res) body += String(part);
  if (res.statusCode !== 204) throw new Error(`PATCH ${res.statusCode}: ${body}`);
}

const t0 = performance.now();
for (let offset = 0; offset < size; offset += chunk) await patch(offset, Math.min(size, offset + chunk) - 1);
process.stdout.write(JSON.stringify({ ms: performance.now() - t0 }) + '\n');
agent.destroy();
