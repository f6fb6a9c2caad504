import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { createMailer } from '../../src/platform/mail/index.js';
import type { MailSentInfo } from '../../src/platform/mail/index.js';
import { OutboxMailer } from '../../src/platform/mail/outbox.js';
import type { MailMessage } from '../../src/platform/mail/types.js';
import { startSmtp } from '../support/smtp.js';

const message: MailMessage = {
  to: 'ada@example.com',
  subject: 'Confirm your email',
  text: 'Hello Ada, confirm: https://sf.example/confirm?t=abc — naïve café',
  html: '<p>Hello <b>Ada</b>, <a href="https://sf.example/confirm?t=abc">confirm</a> — naïve café</p>',
  headers: {
    'List-Unsubscribe': '<https://sf.example/unsubscribe?t=xyz>',
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
  },
};

interface Part {
  headers: Map<string, string>;
  body: string;
}

function decodeQuotedPrintable(s: string): string {
  const bytes: number[] = [];
  const soft = s.replace(/=\r?\n/g, '');
  for (let i = 0; i < soft.length; i++) {
    if (soft[i] === '=' && /^[0-9A-F]{2}$/i.test(soft.slice(i + 1, i + 3))) {
      bytes.push(parseInt(soft.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(soft[i] ?? '', 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Just enough RFC 5322 + MIME to check what a mail client would see. */
function parseEntity(raw: string): Part {
  const split = raw.indexOf('\r\n\r\n');
  if (split === -1) throw new Error('no header/body separator (CRLF CRLF)');
  const headers = new Map<string, string>();
  for (const line of raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`bad header line: ${line}`);
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  let body = raw.slice(split + 4);
  const cte = headers.get('content-transfer-encoding')?.toLowerCase();
  if (cte === 'quoted-printable') body = decodeQuotedPrintable(body);
  if (cte === 'base64') body = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  return { headers, body };
}

function parseMessage(raw: string): { top: Part; parts: Part[] } {
  const top = parseEntity(raw);
  const contentType = top.headers.get('content-type') ?? '';
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (!contentType.startsWith('multipart/alternative') || !boundary) return { top, parts: [top] };
  const sections = top.body.split(`--${boundary}`);
  expect(sections.at(-1)?.startsWith('--')).toBe(true);
  const parts = sections.slice(1, -1).map((s) => parseEntity(s.replace(/^\r\n/, '').replace(/\r\n$/, '')));
  return { top, parts };
}

function expectBothParts(raw: string, messageId?: string): void {
  const { top, parts } = parseMessage(raw);
  expect(top.headers.get('from')).toBe('Social Flow <no-reply@sf.example>');
  expect(top.headers.get('to')).toBe('ada@example.com');
  expect(top.headers.get('subject')).toBe('Confirm your email');
  expect(top.headers.get('mime-version')).toBe('1.0');
  expect(top.headers.get('date')).toMatch(/\d{4} \d{2}:\d{2}:\d{2} \+0000$/);
  expect(top.headers.get('list-unsubscribe')).toBe('<https://sf.example/unsubscribe?t=xyz>');
  expect(top.headers.get('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
  if (messageId) expect(top.headers.get('message-id')).toBe(messageId);
  expect(top.headers.get('content-type')).toMatch(/^multipart\/alternative;/);

  const text = parts.find((p) => p.headers.get('content-type')?.startsWith('text/plain'));
  const html = parts.find((p) => p.headers.get('content-type')?.startsWith('text/html'));
  expect(parts).toHaveLength(2);
  expect(text?.body).toBe(message.text);
  expect(html?.body).toBe(message.html);
}

const baseConfig = { mailFrom: 'Social Flow <no-reply@sf.example>', smtpUrl: undefined } as Config;

describe('outbox mailer', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sf-outbox-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes one parseable .eml per message with text, html and custom headers', async () => {
    const sent: MailSentInfo[] = [];
    const mailer = createMailer({ ...baseConfig, dataDir: dir }, { onSent: (i) => sent.push(i) });
    expect(mailer.kind).toBe('outbox');
    await mailer.verify();

    const first = await mailer.send(message);
    const second = await mailer.send({ ...message, subject: 'Second' });
    expect(first.file).toBeDefined();
    expect(path.dirname(first.file ?? '')).toBe(path.join(dir, 'outbox'));
    expect(path.basename(first.file ?? '')).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3}Z-[A-Za-z0-9._@-]+\.eml$/);
    expect(first.messageId).toMatch(/^<.+@.+>$/);
    expect(second.file).not.toBe(first.file);

    const raw = await readFile(first.file ?? '', 'utf8');
    expectBothParts(raw, first.messageId);

    // Only whole messages in the folder: no temp files left over.
    expect((await readdir(path.join(dir, 'outbox'))).sort()).toEqual([path.basename(first.file ?? ''), path.basename(second.file ?? '')].sort());
    expect(sent.map((s) => ({ kind: s.kind, to: s.to, subject: s.subject, file: s.file }))).toEqual([
      { kind: 'outbox', to: 'ada@example.com', subject: 'Confirm your email', file: first.file },
      { kind: 'outbox', to: 'ada@example.com', subject: 'Second', file: second.file },
    ]);
    await mailer.close();
  });

  it('sends text-only mail as a single text/plain entity', async () => {
    const mailer = new OutboxMailer({ dir: path.join(dir, 'plain'), from: 'a@sf.example' });
    const { file } = await mailer.send({ to: 'b@example.com', subject: 'Plain', text: 'just text' });
    const { top } = parseMessage(await readFile(file ?? '', 'utf8'));
    expect(top.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(top.body.trim()).toBe('just text');
  });

  it('keeps header values on one line', async () => {
    const mailer = new OutboxMailer({ dir: path.join(dir, 'inject'), from: 'a@sf.example' });
    const { file } = await mailer.send({ to: 'b@example.com', subject: 'Hi\r\nBcc: victim@example.com', text: 'x', headers: { 'X-Ref': 'a\r\nBcc: v@example.com' } });
    const { top } = parseMessage(await readFile(file ?? '', 'utf8'));
    expect(top.headers.has('bcc')).toBe(false);
  });
});

describe('smtp mailer', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  it('delivers text, html and custom headers to a real SMTP server', async () => {
    const smtp = await startSmtp();
    stops.push(smtp.stop);
    const sent: MailSentInfo[] = [];
    const mailer = createMailer({ ...baseConfig, dataDir: '/nonexistent', smtpUrl: `smtp://127.0.0.1:${smtp.port}` }, { onSent: (i) => sent.push(i) });
    stops.push(() => mailer.close());
    expect(mailer.kind).toBe('smtp');
    await mailer.verify();

    const result = await mailer.send(message);
    expect(result.file).toBeUndefined();
    const got = await smtp.next();
    expect(got.from).toBe('no-reply@sf.example');
    expect(got.to).toEqual(['ada@example.com']);
    expect(got.raw).toContain('List-Unsubscribe: <https://sf.example/unsubscribe?t=xyz>');
    expect(got.raw).toMatch(/Content-Type: text\/plain/);
    expect(got.raw).toMatch(/Content-Type: text\/html/);
    expectBothParts(got.raw, result.messageId);
    expect(sent).toEqual([{ kind: 'smtp', messageId: result.messageId, to: 'ada@example.com', subject: 'Confirm your email', file: undefined }]);
  });

  it('reuses pooled connections for a burst and authenticates with credentials from SMTP_URL', async () => {
    let connections = 0;
    const smtp = await startSmtp({
      authOptional: false,
      allowInsecureAuth: true,
      onConnect(_session, cb) {
        connections++;
        cb();
      },
      onAuth(auth, _session, cb) {
        if (auth.username === 'mailer' && auth.password === 'p@ss:w/rd') cb(null, { user: auth.username });
        else cb(new Error('bad credentials'));
      },
    });
    stops.push(smtp.stop);
    const mailer = createMailer({ ...baseConfig, dataDir: '/nonexistent', smtpUrl: `smtp://mailer:${encodeURIComponent('p@ss:w/rd')}@127.0.0.1:${smtp.port}` });
    stops.push(() => mailer.close());

    await Promise.all(Array.from({ length: 12 }, (_, i) => mailer.send({ ...message, subject: `Burst ${i}` })));
    const subjects: string[] = [];
    for (let i = 0; i < 12; i++) {
      const got = await smtp.next();
      expect(got.user).toBe('mailer');
      subjects.push(parseMessage(got.raw).top.headers.get('subject') ?? '');
    }
    expect(subjects.sort()).toEqual(Array.from({ length: 12 }, (_, i) => `Burst ${i}`).sort());
    // nodemailer's pool defaults to at most 5 connections.
    expect(connections).toBeLessThanOrEqual(5);
  });

  it('verify() fails when nothing answers', async () => {
    const smtp = await startSmtp();
    const port = smtp.port;
    await smtp.stop();
    const mailer = createMailer({ ...baseConfig, dataDir: '/nonexistent', smtpUrl: `smtp://127.0.0.1:${port}` });
    stops.push(() => mailer.close());
    await expect(mailer.verify()).rejects.toThrow();
  });
});
