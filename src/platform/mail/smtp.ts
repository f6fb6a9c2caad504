import nodemailer from 'nodemailer';
import type { Transporter } from 'nodemailer';
import type { MailMessage, Mailer, SentMail } from './types.js';

export interface SmtpMailerOptions {
  /** SMTP_URL: `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://host:465`. */
  url: string;
  from: string;
}

/** A pooled nodemailer SMTP transport, so a burst of emails reuses a few connections. */
export class SmtpMailer implements Mailer {
  readonly kind = 'smtp' as const;
  private readonly transporter: Transporter;
  private readonly from: string;

  constructor(opts: SmtpMailerOptions) {
    const url = new URL(opts.url);
    // nodemailer ignores every other option when given a `url`, so pooling rides in the query
    // string it parses; an explicit `pool=` in SMTP_URL wins.
    if (!url.searchParams.has('pool')) url.searchParams.set('pool', 'true');
    this.transporter = nodemailer.createTransport(url.href);
    this.from = opts.from;
  }

  async send(msg: MailMessage): Promise<SentMail> {
    const info = (await this.transporter.sendMail({
      from: this.from,
      to: msg.to,
      subject: msg.subject,
      text: msg.text,
      html: msg.html,
      headers: msg.headers,
    })) as { messageId: string };
    return { messageId: info.messageId };
  }

  async verify(): Promise<void> {
    await this.transporter.verify();
  }

  async close(): Promise<void> {
    this.transporter.close();
  }
}
