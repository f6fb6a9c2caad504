import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../support/app.js';
import { countEmails, injectClient, signUp, type TestUser } from '../support/auth.js';

let env: TestEnv;
let ana: TestUser;
let bo: TestUser;

beforeAll(async () => {
  env = await createTestEnv();
  ana = await signUp(injectClient(env.app, '10.0.0.1'), env.dataDir);
  bo = await signUp(injectClient(env.app, '10.0.0.1'), env.dataDir);
});
afterAll(async () => env?.close());

const login = (ip: string, loginName: string, password: string) => injectClient(env.app, ip)('POST', '/api/v1/auth/login', { body: { login: loginName, password } });

describe('brute-force throttling', () => {
  it('per account: after 5 wrong passwords even the right one waits, with Retry-After', async () => {
    for (let i = 0; i < 5; i++) expect((await login(`10.1.0.${i}`, ana.username, `wrong guess ${i}`)).status).toBe(401);
    const blocked = await login('10.1.0.99', ana.username, ana.password);
    expect(blocked.status).toBe(429);
    expect(blocked.body.code).toBe('auth.too_many_attempts');
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    // By email address it is the same account only when the login names it the same way; the
    // username counter is what the attacker was hitting. Another account is unaffected.
    expect((await login('10.1.0.99', bo.username, bo.password)).status).toBe(200);
  });

  it('per IP: one address guessing across many accounts is slowed down', async () => {
    const ip = '10.2.0.1';
    let firstBlocked = -1;
    for (let i = 0; i < 40; i++) {
      const res = await login(ip, `nobody_${i}`, 'wrong password here');
      if (res.status === 429) {
        firstBlocked = i;
        break;
      }
      expect(res.status).toBe(401);
    }
    expect(firstBlocked).toBe(30);
    // Even a correct login from that address now waits; other addresses are fine.
    expect((await login(ip, bo.username, bo.password)).status).toBe(429);
    expect((await login('10.2.0.2', bo.username, bo.password)).status).toBe(200);
  });

  it('an unknown account and a wrong password give the same answer', async () => {
    const a = await login('10.3.0.1', 'no_such_user_here', 'whatever password');
    const b = await login('10.3.0.2', bo.username, 'whatever password');
    expect(a.status).toBe(401);
    expect(b.status).toBe(401);
    expect({ ...a.body, instance: undefined, requestId: undefined }).toEqual({ ...b.body, instance: undefined, requestId: undefined });
  });

  it('password reset emails are limited per address', async () => {
    const call = injectClient(env.app, '10.4.0.1');
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await call('POST', '/api/v1/auth/password/forgot', { body: { email: bo.email } })).status);
    expect(statuses).toEqual([202, 202, 202, 429, 429]);
    await new Promise((r) => setTimeout(r, 1500));
    expect(countEmails(env.dataDir, bo.email)).toBeLessThanOrEqual(1 + 3);
  });

  it('guessing email tokens is throttled per IP', async () => {
    const call = injectClient(env.app, '10.5.0.1');
    const codes: number[] = [];
    for (let i = 0; i < 22; i++) codes.push((await call('POST', '/api/v1/auth/verify-email', { body: { token: `guess${'x'.repeat(20)}${i}` } })).status);
    expect(codes.slice(0, 20).every((c) => c === 400)).toBe(true);
    expect(codes[21]).toBe(429);
  });
});
