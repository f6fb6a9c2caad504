import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifications } from '../../src/modules/notifications/tables.js';
import { startTestServer, type TestServer } from '../support/app.js';
import { httpClient, STRONG_PASSWORD, tokenFrom, type Call, type TestUser } from '../support/auth.js';
import { startSmtp, type Received } from '../support/smtp.js';
import { expect4xx, post } from '../posts/support.js';
import { settle, waitFor, waitForNotification } from './support.js';

let smtp: Awaited<ReturnType<typeof startSmtp>>;
let server: TestServer;
let call: Call;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;

/** Headers unfolded (RFC 5322 folding), so a long header reads as one line. */
const unfold = (raw: string) => raw.replace(/\r?\n[ \t]+/g, ' ');
const header = (raw: string, name: string) => new RegExp(`^${name}: (.*)$`, 'mi').exec(unfold(raw).split(/\r?\n\r?\n/)[0]!)?.[1]?.trim();

/** Take the first received email to `to` whose subject matches, waiting for it. */
async function mailTo(to: string, subject: RegExp): Promise<Received> {
  return waitFor(async () => {
    const i = smtp.received.findIndex((r) => r.to.includes(to) && subject.test(header(r.raw, 'Subject') ?? ''));
    return i >= 0 ? smtp.received.splice(i, 1)[0] : undefined;
  }, `an email to ${to} matching ${subject}`);
}

let seq = 0;
async function signUpSmtp(): Promise<TestUser> {
  seq += 1;
  const username = `mail_${process.pid}_${seq}`;
  const email = `${username}@example.test`;
  expect((await call('POST', '/api/v1/auth/register', { body: { email, username, password: STRONG_PASSWORD } })).status).toBe(202);
  const confirm = await mailTo(email, /Confirm your email/);
  expect((await call('POST', '/api/v1/auth/verify-email', { body: { token: tokenFrom(confirm.raw) } })).status).toBe(200);
  const login = await call('POST', '/api/v1/auth/login', { body: { login: username, password: STRONG_PASSWORD } });
  const user = login.body.user as { id: string };
  return { id: user.id, username, email, password: STRONG_PASSWORD, accessToken: login.body.accessToken as string, refreshToken: login.body.refreshToken as string };
}

const unsubscribeUrl = (raw: string) => /^<(http[^>]+)>$/.exec(header(raw, 'List-Unsubscribe') ?? '')?.[1];
/** Links point at PUBLIC_URL, which in tests names port 0: send them to where the server listens. */
const local = (url: string) => url.replace(server.config.publicUrl, server.url);
const prefs = async (u: TestUser) => (await call('GET', '/api/v1/notifications/preferences', { token: u.accessToken })).body as Record<string, { inApp: boolean; email: boolean; push: boolean }>;
const oneClick = (url: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });

beforeAll(async () => {
  smtp = await startSmtp();
  // Digest scans are sent by the tests: a scheduled tick between two notifications would split a digest.
  server = await startTestServer({ schedules: false, env: { SMTP_URL: `smtp://127.0.0.1:${smtp.port}`, NOTIFICATION_DIGEST_MINUTES: '0', ARGON2_MEMORY_KIB: '1024', ARGON2_ITERATIONS: '1' } });
  call = httpClient(server.url);
  alice = await signUpSmtp();
  bob = await signUpSmtp();
  carol = await signUpSmtp();
});
afterAll(async () => {
  await server?.close();
  await smtp?.stop();
});

describe('notification email over SMTP', () => {
  let url: string;

  it('sends a mention as text and HTML with a one-click List-Unsubscribe header', async () => {
    const p = await post(call, bob, { text: `hello @${alice.username}` });
    const mail = await mailTo(alice.email, /mentioned you/);
    expect(header(mail.raw, 'Subject')).toBe(`${bob.username} mentioned you`);
    expect(header(mail.raw, 'Content-Type')).toMatch(/^multipart\/alternative/);
    expect(mail.raw).toMatch(/Content-Type: text\/plain/);
    expect(mail.raw).toMatch(/Content-Type: text\/html/);
    expect(mail.raw.replace(/=\r?\n/g, '')).toContain(`/posts/${p.id}`);
    expect(header(mail.raw, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
    url = unsubscribeUrl(mail.raw)!;
    expect(url).toMatch(new RegExp(`^${server.config.publicUrl}/api/v1/notifications/unsubscribe\\?token=`));
    // The body carries the same link, for people rather than mail clients.
    expect(mail.raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=')).toContain(url.split('token=')[1]!.slice(0, 30));
  });

  it('the unsubscribe link works once and cannot be forged', async () => {
    // Opening the link (as a mail scanner would) changes nothing.
    const landing = await fetch(local(url));
    expect(landing.status).toBe(200);
    expect(landing.headers.get('content-type')).toMatch(/text\/html/);
    expect(await landing.text()).toMatch(/<form method="post"/);
    expect((await prefs(alice)).mention!.email).toBe(true);

    const token = new URL(url).searchParams.get('token')!;
    const flipped = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    const forged = await oneClick(`${server.url}/api/v1/notifications/unsubscribe?token=${flipped}`);
    expect(forged.status).toBe(400);
    expect(((await forged.json()) as { code: string }).code).toBe('notifications.unsubscribe_invalid');
    const otherId = await oneClick(`${server.url}/api/v1/notifications/unsubscribe?token=01936a3e-0000-7000-8000-000000000000.${token.split('.')[1]}`);
    expect(otherId.status).toBe(400);
    expect4xx(await call('POST', '/api/v1/notifications/unsubscribe'), 400);
    expect((await prefs(alice)).mention!.email).toBe(true);

    const used = await oneClick(local(url));
    expect(used.status).toBe(200);
    expect(await used.json()).toEqual({ unsubscribed: true, types: ['mention'] });
    const after = await prefs(alice);
    expect(after.mention).toEqual({ inApp: true, email: false, push: true });
    expect(after.reply!.email).toBe(true);

    const again = await oneClick(local(url));
    expect(again.status).toBe(410);
    expect(((await again.json()) as { code: string }).code).toBe('notifications.unsubscribe_used');
  });

  it('obeys the email channel per type: no mention email any more, still listed in-app, replies still emailed', async () => {
    const m = await post(call, carol, { text: `again @${alice.username}` });
    await waitForNotification(call, alice, 'mention', (n) => n.subject?.id === m.id);
    const mine = await post(call, alice, { text: 'reply to me' });
    await post(call, carol, { text: 'a reply', replyTo: mine.id });
    await mailTo(alice.email, /replied to your post/);
    await settle(server.deps);
    expect(smtp.received.filter((r) => r.to.includes(alice.email) && /mentioned you/.test(header(r.raw, 'Subject') ?? ''))).toEqual([]);
  });

  it('emails low-priority types together in one digest, which unsubscribes from all of them at once', async () => {
    expect((await call('PATCH', '/api/v1/notifications/preferences', { token: bob.accessToken, body: { like: { email: true }, follow: { email: true } } })).status).toBe(200);
    const p = await post(call, bob, { text: 'digest me' });
    await call('POST', `/api/v1/posts/${p.id}/like`, { token: alice.accessToken });
    await call('POST', `/api/v1/posts/${p.id}/like`, { token: carol.accessToken });
    await call('POST', `/api/v1/users/${bob.username}/follow`, { token: carol.accessToken });
    const db = server.deps.database.db;
    await waitFor(
      async () => {
        const rows = await db.select().from(notifications).where(and(eq(notifications.recipientId, bob.id)));
        return rows.some((r) => r.type === 'follow') && rows.some((r) => r.type === 'like' && r.actorCount === 2);
      },
      'the like group and the follow',
    );
    // The scan runs every minute; ask for one now rather than wait.
    await server.deps.jobs.send('notifications.digest-scan', {});
    const digest = await mailTo(bob.email, /new notifications|liked your post|followed you/);
    const body = digest.raw.replace(/=\r?\n/g, '');
    expect(header(digest.raw, 'Subject')).toMatch(/^2 new notifications: /);
    expect(body).toMatch(/What you missed/);
    expect(body).toMatch(/liked your post/);
    expect(body).toMatch(/followed you/);
    expect(digest.raw).toMatch(/Content-Type: text\/html/);
    const link = unsubscribeUrl(digest.raw)!;
    expect((await oneClick(local(link))).status).toBe(200);
    const after = await prefs(bob);
    expect(after.like!.email).toBe(false);
    expect(after.follow!.email).toBe(false);
    expect(after.mention!.email).toBe(true);
    expect(after.moderation!.email).toBe(true);
    const rows = await db.select().from(notifications).where(eq(notifications.recipientId, bob.id));
    expect(rows.filter((r) => r.type === 'like' || r.type === 'follow').map((r) => r.emailState)).toEqual(['sent', 'sent']);
  });
});
