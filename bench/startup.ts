/**
 * Start-up time: from spawning `node bin/social-flow.js start` to the first 200 from /readyz, on a
 * fresh DATA_DIR (first start: creates and migrates the embedded database) and then on the existing
 * one (restarts), embedded defaults.
 *
 *   npx tsx bench/startup.ts [--restarts 3]
 *
 * Each process is stopped with SIGTERM and must exit 0 before the next starts. The last line is one
 * JSON object with the figures. Target (issue 2): restart to /readyz 200 in < 5 s.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({ options: { restarts: { type: 'string', default: '3' } }, strict: true });
const restarts = Number(args.restarts);
if (!Number.isInteger(restarts) || restarts < 1) throw new Error('--restarts must be an integer >= 1');
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function once(dataDir: string): Promise<number> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn' };
  for (const k of ['DATABASE_URL', 'REDIS_URL', 'S3_BUCKET', 'SMTP_URL']) delete env[k];
  const t0 = performance.now();
  const child = spawn(process.execPath, ['bin/social-flow.js', 'start'], { cwd: repo, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exited before ready: ${err}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const ms = Math.round(performance.now() - t0);
  child.kill('SIGTERM');
  const code = await exited;
  if (code !== 0) throw new Error(`exit code ${code} after SIGTERM: ${err}`);
  return ms;
}

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sf-bench-startup-'));
try {
  console.log(`startup: ${os.cpus().length} cores, node ${process.version}, load average ${(os.loadavg()[0] ?? 0).toFixed(2)}`);
  const first = await once(dataDir);
  console.log(`first start (new database): ${first} ms to /readyz 200`);
  const again: number[] = [];
  for (let i = 0; i < restarts; i++) {
    again.push(await once(dataDir));
    console.log(`restart ${i + 1}: ${again[i]} ms to /readyz 200`);
  }
  const sorted = [...again].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  console.log(`restart median ${median} ms (target < 5000 ms: ${median < 5000 ? 'met' : 'missed'})`);
  console.log(JSON.stringify({ bench: 'startup', firstStartMs: first, restartMs: again, restartMedianMs: median, targetMs: 5000 }));
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
