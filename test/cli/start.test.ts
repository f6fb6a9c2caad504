import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '../..');
let copy: string;

/** The README's commands, run as a newcomer would: from a copy of the repository, on embedded defaults. */
beforeAll(() => {
  copy = mkdtempSync(path.join(os.tmpdir(), 'sf-clone-'));
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: repo, encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const f of files) {
    mkdirSync(path.dirname(path.join(copy, f)), { recursive: true });
    cpSync(path.join(repo, f), path.join(copy, f));
  }
  // `npm ci` itself is exercised by .ci/run on a clean clone; here the installed tree is reused.
  symlinkSync(path.join(repo, 'node_modules'), path.join(copy, 'node_modules'));
});
afterAll(() => rmSync(copy, { recursive: true, force: true }));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn', ...extra };
  for (const k of ['DATABASE_URL', 'REDIS_URL', 'S3_BUCKET', 'SMTP_URL', 'DATA_DIR', 'NODE_OPTIONS', 'VITEST', 'VITEST_POOL_ID', 'VITEST_WORKER_ID']) delete env[k];
  return { ...env, ...extra };
}

interface Started {
  child: ChildProcess;
  stderr: () => string;
  exit: Promise<number | null>;
}

function npmStart(port: number, extra: Record<string, string> = {}): Started {
  let err = '';
  const child = spawn('npm', ['start'], { cwd: copy, env: cleanEnv({ PORT: String(port), ...extra }), detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stderr: () => err, exit };
}

async function waitReady(s: Started, port: number): Promise<void> {
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    if (s.child.exitCode !== null) throw new Error(`exited early: ${s.stderr()}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not ready: ${s.stderr()}`);
}

describe('npm start from a fresh copy', { timeout: 180_000 }, () => {
  it('first start creates the embedded database, says so, serves, and exits 0 on SIGTERM; a restart reuses the database', async () => {
    const port = await freePort();
    const first = npmStart(port);
    await waitReady(first, port);
    expect(first.stderr()).toContain('first start: creating the embedded database');
    expect(first.stderr()).toMatch(new RegExp(`ready in [0-9.]+ s: http://127\\.0\\.0\\.1:${port}`));
    const instance = await fetch(`http://127.0.0.1:${port}/api/v1/instance`);
    expect(instance.status).toBe(200);
    expect(((await instance.json()) as { software: string }).software).toBe('social-flow');
    first.child.kill('SIGTERM');
    expect(await first.exit).toBe(0);

    const second = npmStart(port);
    await waitReady(second, port);
    expect(second.stderr()).not.toContain('first start');
    second.child.kill('SIGTERM');
    expect(await second.exit).toBe(0);
  });

  it('a bad setting stops start-up with one line naming the variable', async () => {
    const s = npmStart(await freePort(), { PORT: 'eighty' });
    expect(await s.exit).not.toBe(0);
    const line = s.stderr().split('\n').find((l) => l.includes('invalid configuration'));
    expect(line).toMatch(/PORT: "eighty" is not a whole number/);
  });

  it('a second process on the same embedded database is refused, not allowed to corrupt it', async () => {
    const port = await freePort();
    const first = npmStart(port);
    await waitReady(first, port);
    const second = npmStart(await freePort());
    expect(await second.exit).not.toBe(0);
    expect(second.stderr()).toMatch(/in use by process \d+/);
    first.child.kill('SIGTERM');
    expect(await first.exit).toBe(0);
  });

  it('doctor checks every part and says how to fix what is missing', () => {
    let out = '';
    try {
      out = execFileSync(process.execPath, ['bin/social-flow.js', 'doctor'], { cwd: copy, env: cleanEnv({ REDIS_URL: 'redis://127.0.0.1:1' }), encoding: 'utf8' });
    } catch (err) {
      out = (err as { stdout: string }).stdout;
    }
    for (const name of ['Node.js', 'ffmpeg', 'ffprobe', 'database', 'redis', 'storage', 'email']) expect(out).toMatch(new RegExp(`^(ok  |FAIL|warn) ${name}`, 'm'));
    expect(out).toMatch(/^FAIL redis .*\n\s+fix: check REDIS_URL/m);
    expect(out).toMatch(/^ok {3}database +embedded PGlite/m);
    expect(out).toMatch(/problem\(s\) to fix/);
  });
});
