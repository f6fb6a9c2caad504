/**
 * The production layout's API tier for the HTTP benches: N `social-flow api` processes (bin/social-flow.js,
 * as an operator starts them) on one PostgreSQL database and one Redis, each on its own port, as
 * they would stand behind a load balancer. The bench drives each with its own load generator.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ApiProcess {
  url: string;
  pid: number;
}

export interface ApiProcesses {
  processes: ApiProcess[];
  /** CPU time (user + system) the processes used so far, in ms, summed (Linux /proc). */
  cpuMs(): number;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** CPU time of one process in ms: utime + stime from /proc/<pid>/stat (clock ticks, 100 per second on Linux). */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces), which ends at the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function ready(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`API process on ${url} exited (code ${child.exitCode}) before it was ready`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.status === 200) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`API process on ${url} not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Start `n` API processes with `env` (DATABASE_URL, REDIS_URL, SECRET_KEY, ... of the bench's own app) and wait until each is ready. */
export async function startApiProcesses(n: number, env: Record<string, string | undefined>): Promise<ApiProcesses> {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  const processes: ApiProcess[] = [];
  const stop = async () => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            const timer = setTimeout(() => c.kill('SIGKILL'), 30_000);
            c.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            c.kill('SIGTERM');
          }),
      ),
    );
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < n; i++) {
      const port = await freePort();
      const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sf-bench-api-'));
      dirs.push(dataDir);
      const childEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...env, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1' };
      for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k];
      const child = spawn(process.execPath, ['bin/social-flow.js', 'api'], { cwd: repo, env: childEnv, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-4000);
      });
      children.push(child);
      const url = `http://127.0.0.1:${port}`;
      try {
        await ready(url, child, 180_000);
      } catch (err) {
        throw new Error(`${(err as Error).message}; its stderr: ${stderr.trim()}`);
      }
      processes.push({ url, pid: child.pid! });
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    processes,
    cpuMs: () => processes.reduce((sum, p) => sum + processCpuMs(p.pid), 0),
    stop,
  };
}
