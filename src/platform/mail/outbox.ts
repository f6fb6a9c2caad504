import { randomUUID } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type { MailMessage, Mailer, SentMail } from './types.js';

export interface OutboxMailerOptions {
  /** DATA_DIR/outbox. */
  dir: string;
  from: string;
}

/** Keeps the file name portable (no `:`, `<`, `>` or `/`) and still sortable by time. */
function fileNameFor(date: Date, messageId: string): string {
  const stamp = date.toISOString().replace(/:/g, '-');
  const id = messageId.replace(/^<|>$/g, '').replace(/[^A-Za-z0-9._@-]/g, '_').slice(0, 120);
  return `${stamp}-${id}.eml`;
}

/**
 * The embedded mail column: each message becomes one RFC 5322 `.eml` file that any mail client
 * opens, composed by nodemailer exactly as the SMTP transport would send it.
 */
export class OutboxMailer implements Mailer {
  readonly kind = 'outbox' as const;
  readonly dir: string;
  private readonly composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  private readonly from: string;

  constructor(opts: OutboxMailerOptions) {
    this.dir = path.resolve(opts.dir);
    this.from = opts.from;
  }

  async send(msg: MailMessage): Promise<SentMail> {
    const date = new Date();
    const info = await this.composer.sendMail({
      from: this.from,
      to: msg.to,
      subject: msg.subject,
      text: msg.text,
      html: msg.html,
      headers: msg.headers,
      date,
    });
    if (!Buffer.isBuffer(info.message)) throw new Error('mail composer returned a stream instead of a buffer');

    await mkdir(this.dir, { recursive: true });
    const file = path.join(this.dir, fileNameFor(date, info.messageId));
    // Dot-prefixed and not `.eml`, so anything watching the folder only ever sees whole messages.
    const tmp = path.join(this.dir, `.${randomUUID()}.tmp`);
    try {
      await writeFile(tmp, info.message, { flush: true });
      await rename(tmp, file);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    return { messageId: info.messageId, file };
  }

  async verify(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await access(this.dir, fsConstants.W_OK);
  }

  async close(): Promise<void> {
    this.composer.close();
  }
}
