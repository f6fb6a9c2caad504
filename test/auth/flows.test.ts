import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/app.js';
import { httpClient, signUp, STRONG_PASSWORD, tokenFrom, waitForEmail, type Call } from '../support/auth.js';

let server: TestServer;
let call: Call;
beforeAll(async () => {
  server = await startTestServer();
  call = httpClient(server.url);
});
afterAll(async () => server?.close());

/** Three distinct valid TOTP codes: the previous, current and next 30-second steps. */
async function codes(secret: string): Promise<string[]> {
  const now = Math.floor(Date.now() / 1000);
  return Promise.all([now - 30, now, now + 30].map((epoch) => generate({ secret, epoch })));
}

describe('account flows over HTTP', () => {
  it('register -> email -> verify -> login -> refresh -> logout', async () => {
    const email = 'ana.flow@example.test';
    const reg = await call('POST', '/api/v1/auth/register', { body: { email, username: 'ana_flow', password: STRONG_PASSWORD } });
    expect(reg.status).toBe(202);

    // Signing in before confirming the address is refused with a way forward.
    const early = await call('POST', '/api/v1/auth/login', { body: { login: 'ana_flow', password: STRONG_PASSWORD } });
    expect(early.status).toBe(403);
    expect(early.body.code).toBe('auth.email_unverified');

    const eml = await waitForEmail(server.config.dataDir, email, /Confirm your email/);
    expect(eml).toMatch(/Content-Type: text\/plain/i);
    expect(eml).toMatch(/Content-Type: text\/html/i);
    const token = tokenFrom(eml);
    expect((await call('POST', '/api/v1/auth/verify-email', { body: { token } })).status).toBe(200);
    // Single use.
    const again = await call('POST', '/api/v1/auth/verify-email', { body: { token } });
    expect(again.status).toBe(400);
    expect(again.body.code).toBe('auth.invalid_token');

    const login = await call('POST', '/api/v1/auth/login', { body: { login: 'ANA.FLOW@example.test', password: STRONG_PASSWORD }, headers: { 'user-agent': 'FlowTest/1.0' } });
    expect(login.status).toBe(200);
    expect(login.body).toMatchObject({ tokenType: 'Bearer', expiresIn: 900, user: { username: 'ana_flow', email, emailVerified: true, twoFactorEnabled: false } });
    expect(JSON.stringify(login.body)).not.toMatch(/passwordHash|argon2|totpSecret|correct horse/i);
    const access = login.body.accessToken as string;
    const refresh = login.body.refreshToken as string;

    const me = await call('GET', '/api/v1/me', { token: access });
    expect(me.status).toBe(200);
    expect(me.body.username).toBe('ana_flow');

    const sessions = await call('GET', '/api/v1/auth/sessions', { token: access });
    expect(sessions.body.items).toEqual([expect.objectContaining({ userAgent: 'FlowTest/1.0', ip: '127.0.0.1', method: 'password', current: true })]);

    const r1 = await call('POST', '/api/v1/auth/refresh', { body: { refreshToken: refresh } });
    expect(r1.status).toBe(200);
    expect(r1.body.refreshToken).not.toBe(refresh);
    const r2 = await call('POST', '/api/v1/auth/refresh', { body: { refreshToken: r1.body.refreshToken } });
    expect(r2.status).toBe(200);

    const out = await call('POST', '/api/v1/auth/logout', { body: { refreshToken: r2.body.refreshToken } });
    expect(out.status).toBe(204);
    expect((await call('POST', '/api/v1/auth/refresh', { body: { refreshToken: r2.body.refreshToken } })).status).toBe(401);
    const after = await call('GET', '/api/v1/me', { token: r2.body.accessToken as string });
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('auth.session_revoked');
  });

  it('a reused refresh token revokes its whole family', async () => {
    const u = await signUp(call, server.config.dataDir);
    const first = await call('POST', '/api/v1/auth/refresh', { body: { refreshToken: u.refreshToken } });
    expect(first.status).toBe(200);
    // An attacker replays the stolen original.
    const replay = await call('POST', '/api/v1/auth/refresh', { body: { refreshToken: u.refreshToken } });
    expect(replay.status).toBe(401);
    expect(replay.body.code).toBe('auth.refresh_token_reused');
    // The legitimate holder's newer token is dead too, and so is the access token of the family.
    expect((await call('POST', '/api/v1/auth/refresh', { body: { refreshToken: first.body.refreshToken } })).status).toBe(401);
    expect((await call('GET', '/api/v1/me', { token: first.body.accessToken as string })).status).toBe(401);
  });

  it('2FA: enable -> login needs a code -> a recovery code works once', async () => {
    const u = await signUp(call, server.config.dataDir);
    const setup = await call('POST', '/api/v1/auth/2fa/setup', { token: u.accessToken });
    expect(setup.status).toBe(200);
    expect(setup.body.otpauthUri).toMatch(/^otpauth:\/\/totp\//);
    expect(setup.body.qrCodeDataUrl).toMatch(/^data:image\/png;base64,/);
    const secret = setup.body.secret as string;
    const [prev, now, next] = await codes(secret);

    expect((await call('POST', '/api/v1/auth/2fa/enable', { token: u.accessToken, body: { code: '000000' } })).status).toBe(400);
    const enabled = await call('POST', '/api/v1/auth/2fa/enable', { token: u.accessToken, body: { code: now } });
    expect(enabled.status).toBe(200);
    const recovery = enabled.body.recoveryCodes as string[];
    expect(recovery).toHaveLength(10);
    expect(new Set(recovery).size).toBe(10);

    const login = await call('POST', '/api/v1/auth/login', { body: { login: u.username, password: u.password } });
    expect(login.status).toBe(200);
    expect(login.body).toEqual({ twoFactorRequired: true, challengeToken: expect.any(String) });
    // The code used to enable cannot be replayed.
    const replayed = await call('POST', '/api/v1/auth/2fa/verify', { body: { challengeToken: login.body.challengeToken, code: now } });
    expect(replayed.status).toBe(401);
    const ok = await call('POST', '/api/v1/auth/2fa/verify', { body: { challengeToken: login.body.challengeToken, code: next } });
    expect(ok.status).toBe(200);
    expect((ok.body.user as { twoFactorEnabled: boolean }).twoFactorEnabled).toBe(true);
    // The challenge is spent.
    expect((await call('POST', '/api/v1/auth/2fa/verify', { body: { challengeToken: login.body.challengeToken, code: prev } })).status).toBe(401);

    const login2 = await call('POST', '/api/v1/auth/login', { body: { login: u.username, password: u.password } });
    const viaRecovery = await call('POST', '/api/v1/auth/2fa/verify', { body: { challengeToken: login2.body.challengeToken, code: recovery[0]!.toUpperCase() } });
    expect(viaRecovery.status).toBe(200);
    const login3 = await call('POST', '/api/v1/auth/login', { body: { login: u.username, password: u.password } });
    const reused = await call('POST', '/api/v1/auth/2fa/verify', { body: { challengeToken: login3.body.challengeToken, code: recovery[0] } });
    expect(reused.status).toBe(401);
    expect(reused.body.code).toBe('auth.invalid_2fa_code');
    expect((await call('POST', '/api/v1/auth/2fa/verify', { body: { challengeToken: login3.body.challengeToken, code: recovery[1] } })).status).toBe(200);

    // Turning it off needs the password and a code.
    const token = ok.body.accessToken as string;
    expect((await call('POST', '/api/v1/auth/2fa/disable', { token, body: { password: 'wrong password entirely', code: recovery[2] } })).status).toBe(403);
    expect((await call('POST', '/api/v1/auth/2fa/disable', { token, body: { password: u.password, code: recovery[2] } })).status).toBe(204);
    const plain = await call('POST', '/api/v1/auth/login', { body: { login: u.username, password: u.password } });
    expect(plain.body.accessToken).toEqual(expect.any(String));
  });

  it('forgot -> reset -> every old session revoked', async () => {
    const u = await signUp(call, server.config.dataDir);
    const other = await call('POST', '/api/v1/auth/login', { body: { login: u.email, password: u.password } });
    expect((await call('POST', '/api/v1/auth/password/forgot', { body: { email: u.email } })).status).toBe(202);
    // Unknown addresses get the same answer and no email.
    const unknown = await call('POST', '/api/v1/auth/password/forgot', { body: { email: 'nobody-here@example.test' } });
    expect(unknown.status).toBe(202);
    expect(unknown.body).toEqual((await call('POST', '/api/v1/auth/password/forgot', { body: { email: `x${u.email}` } })).body);

    const token = tokenFrom(await waitForEmail(server.config.dataDir, u.email, /Reset your password/));
    const weak = await call('POST', '/api/v1/auth/password/reset', { body: { token, password: 'password123' } });
    expect(weak.status).toBe(400);
    expect(weak.body.code).toBe('auth.weak_password');
    const newPassword = 'a whole new passphrase 2026!';
    expect((await call('POST', '/api/v1/auth/password/reset', { body: { token, password: newPassword } })).status).toBe(204);
    expect((await call('POST', '/api/v1/auth/password/reset', { body: { token, password: newPassword } })).status).toBe(400);

    for (const t of [u.accessToken, other.body.accessToken as string]) expect((await call('GET', '/api/v1/me', { token: t })).status).toBe(401);
    for (const r of [u.refreshToken, other.body.refreshToken as string]) expect((await call('POST', '/api/v1/auth/refresh', { body: { refreshToken: r } })).status).toBe(401);
    expect((await call('POST', '/api/v1/auth/login', { body: { login: u.username, password: u.password } })).status).toBe(401);
    expect((await call('POST', '/api/v1/auth/login', { body: { login: u.username, password: newPassword } })).status).toBe(200);
  });

  it('password change keeps this session and ends the others', async () => {
    const u = await signUp(call, server.config.dataDir);
    const other = await call('POST', '/api/v1/auth/login', { body: { login: u.username, password: u.password } });
    const wrong = await call('POST', '/api/v1/auth/password/change', { token: u.accessToken, body: { currentPassword: 'not it at all', newPassword: 'another strong passphrase 77' } });
    expect(wrong.status).toBe(403);
    const ok = await call('POST', '/api/v1/auth/password/change', { token: u.accessToken, body: { currentPassword: u.password, newPassword: 'another strong passphrase 77' } });
    expect(ok.status).toBe(204);
    expect((await call('GET', '/api/v1/me', { token: u.accessToken })).status).toBe(200);
    expect((await call('GET', '/api/v1/me', { token: other.body.accessToken as string })).status).toBe(401);
    await waitForEmail(server.config.dataDir, u.email, /Your password was changed/);
  });

  it('sessions: list, end one, end all', async () => {
    const u = await signUp(call, server.config.dataDir);
    const second = await call('POST', '/api/v1/auth/login', { body: { login: u.username, password: u.password } });
    const list = await call('GET', '/api/v1/auth/sessions', { token: u.accessToken });
    const items = list.body.items as { id: string; current: boolean }[];
    expect(items).toHaveLength(2);
    const other = items.find((i) => !i.current)!;
    expect((await call('DELETE', `/api/v1/auth/sessions/${other.id}`, { token: u.accessToken })).status).toBe(204);
    expect((await call('GET', '/api/v1/me', { token: second.body.accessToken as string })).status).toBe(401);
    const third = await call('POST', '/api/v1/auth/login', { body: { login: u.username, password: u.password } });
    const all = await call('POST', '/api/v1/auth/logout-all', { token: u.accessToken, body: { keepCurrent: true } });
    expect(all.body).toEqual({ revoked: 1 });
    expect((await call('GET', '/api/v1/me', { token: third.body.accessToken as string })).status).toBe(401);
    expect((await call('GET', '/api/v1/me', { token: u.accessToken })).status).toBe(200);
  });

  it('registering a taken email answers like a new one and tells the owner instead', async () => {
    const u = await signUp(call, server.config.dataDir);
    const res = await call('POST', '/api/v1/auth/register', { body: { email: u.email.toUpperCase(), username: `${u.username}_2`.slice(0, 30), password: STRONG_PASSWORD } });
    expect(res.status).toBe(202);
    await waitForEmail(server.config.dataDir, u.email, /already have an account/);
    const taken = await call('POST', '/api/v1/auth/register', { body: { email: 'fresh.address@example.test', username: u.username.toUpperCase(), password: STRONG_PASSWORD } });
    expect(taken.status).toBe(409);
    expect(taken.body.code).toBe('auth.username_taken');
  });
});
