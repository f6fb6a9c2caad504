export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** Extra headers, e.g. List-Unsubscribe. */
  headers?: Record<string, string>;
}

export interface SentMail {
  messageId: string;
  /** Where the embedded outbox wrote the .eml file; undefined for SMTP. */
  file?: string;
}

/** Email: .eml files in DATA_DIR/outbox in the embedded column, SMTP via nodemailer with SMTP_URL. */
export interface Mailer {
  kind: 'outbox' | 'smtp';
  send(msg: MailMessage): Promise<SentMail>;
  /** Check the transport answers (doctor, /readyz). */
  verify(): Promise<void>;
  close(): Promise<void>;
}
