import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import type { Deps } from '../../src/platform/deps.js';
import { users, type Role } from '../../src/modules/users/tables.js';

export const STRONG_PASSWORD = 'correct horse battery staple 42';

/** A client for a server: `fetch` over HTTP, or `app.inject` wrapped to look the same. */
export type Call = (method: string, url: string, opts?: { body?: unknown; token?: string; headers?: Record<string, string> }) => Promise<{ status: number; body: Record<string, unknown>; headers: Record<string, unknown> }>;

export function httpClient(base: string): Call {
  return async (method, url, opts = {}) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    const res = await fetch(base + url, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: Object.fromEntries(res.headers) };
  };
}

export function injectClient(app: { inject: (o: object) => Promise<{ statusCode: number; body: string; headers: Record<string, unknown> }> }, remoteAddress = '127.0.0.1'): Call {
  return async (method, url, opts = {}) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    const res = await app.inject({ method, url, headers, payload: opts.body as object | undefined, remoteAddress });
    return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as Record<string, unknown>) : {}, headers: res.headers };
  };
}

/** The newest email to an address in the outbox folder, waiting for the worker to write it. */
export async function waitForEmail(dataDir: string, to: string, subject: RegExp, timeoutMs = 60_000): Promise<string> {
  const dir = path.join(dataDir, 'outbox');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    let files: string[] = [];
    try {
      files = readdirSync(dir).filter((f) => f.endsWith('.eml')).sort().reverse();
    } catch {
      // not created yet
    }
    for (const f of files) {
      const raw = readFileSync(path.join(dir, f), 'utf8');
      if (new RegExp(`^To: .*${to.replace(/[.+]/g, '\\$&')}`, 'mi').test(raw) && subject.test(raw)) return raw;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no email to ${to} matching ${subject}`);
}

export function countEmails(dataDir: string, to: string): number {
  try {
    return readdirSync(path.join(dataDir, 'outbox')).filter((f) => f.endsWith('.eml') && readFileSync(path.join(dataDir, 'outbox', f), 'utf8').toLowerCase().includes(`to: ${to.toLowerCase()}`)).length;
  } catch {
    return 0;
  }
}

/** The code printed in an email ("enter this code in the app: X"). */
export function tokenFrom(eml: string): string {
  const m = /code in the app: ([A-Za-z0-9_-]+)/.exec(eml.replace(/=\r?\n/g, ''));
  if (!m) throw new Error('no token in the email');
  return m[1]!;
}

export interface TestUser {
  id: string;
  username: string;
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
}

let seq = 0;
/** Register, confirm the email and sign in, over the API; optionally give the account a role. */
export async function signUp(call: Call, dataDir: string, opts: { username?: string; role?: Role; deps?: Deps } = {}): Promise<TestUser> {
  seq += 1;
  const username = opts.username ?? `user_${process.pid}_${seq}_${Math.random().toString(36).slice(2, 6)}`;
  const email = `${username.toLowerCase()}@example.test`;
  const reg = await call('POST', '/api/v1/auth/register', { body: { email, username, password: STRONG_PASSWORD } });
  if (reg.status !== 202) throw new Error(`register failed: ${reg.status} ${JSON.stringify(reg.body)}`);
  const token = tokenFrom(await waitForEmail(dataDir, email, /Confirm your email/));
  const ver = await call('POST', '/api/v1/auth/verify-email', { body: { token } });
  if (ver.status !== 200) throw new Error(`verify failed: ${ver.status}`);
  if (opts.role && opts.role !== 'user') {
    if (!opts.deps) throw new Error('a role needs deps');
    await opts.deps.database.db.update(users).set({ role: opts.role }).where(eq(users.username, username));
  }
  const login = await call('POST', '/api/v1/auth/login', { body: { login: username, password: STRONG_PASSWORD } });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${JSON.stringify(login.body)}`);
  const user = login.body.user as { id: string };
  return { id: user.id, username, email, password: STRONG_PASSWORD, accessToken: login.body.accessToken as string, refreshToken: login.body.refreshToken as string };
}
