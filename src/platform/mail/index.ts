import path from 'node:path';
import type { Config } from '../../config.js';
import { OutboxMailer } from './outbox.js';
import { SmtpMailer } from './smtp.js';
import type { MailMessage, Mailer, SentMail } from './types.js';

export { OutboxMailer } from './outbox.js';
export type { OutboxMailerOptions } from './outbox.js';
export { SmtpMailer } from './smtp.js';
export type { SmtpMailerOptions } from './smtp.js';
export type { MailMessage, Mailer, SentMail } from './types.js';

/** What a sent message looks like to a logger; no body, so no token in a link reaches a log line. */
export interface MailSentInfo {
  kind: Mailer['kind'];
  messageId: string;
  to: string;
  subject: string;
  /** The .eml file, for the outbox. */
  file?: string;
}

export interface CreateMailerOptions {
  /** Called after each successful send (the outbox's "log line"). */
  onSent?: (info: MailSentInfo) => void;
}

/** SMTP when SMTP_URL is set, otherwise .eml files in DATA_DIR/outbox. Mail comes from MAIL_FROM. */
export function createMailer(config: Config, opts: CreateMailerOptions = {}): Mailer {
  const inner: Mailer = config.smtpUrl
    ? new SmtpMailer({ url: config.smtpUrl, from: config.mailFrom })
    : new OutboxMailer({ dir: path.join(config.dataDir, 'outbox'), from: config.mailFrom });
  const { onSent } = opts;
  if (!onSent) return inner;
  return {
    kind: inner.kind,
    async send(msg: MailMessage): Promise<SentMail> {
      const sent = await inner.send(msg);
      try {
        onSent({ kind: inner.kind, messageId: sent.messageId, to: msg.to, subject: msg.subject, file: sent.file });
      } catch {
        // The message is already out; a failing observer must not make the caller retry and send it twice.
      }
      return sent;
    },
    verify: () => inner.verify(),
    close: () => inner.close(),
  };
}
