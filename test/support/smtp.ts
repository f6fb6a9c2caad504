import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

/** A real SMTP server on loopback that keeps what it receives (the stand-in for SMTP in tests). */
export interface Received {
  from: string | undefined;
  to: string[];
  user: string | undefined;
  raw: string;
}

export async function startSmtp(extra: Partial<SMTPServerOptions> = {}): Promise<{ port: number; received: Received[]; next(): Promise<Received>; stop(): Promise<void> }> {
  const received: Received[] = [];
  const waiters: ((r: Received) => void)[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    secure: false,
    logger: false,
    ...extra,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const r: Received = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
          to: session.envelope.rcptTo.map((a) => a.address),
          user: typeof session.user === 'string' ? session.user : undefined,
          raw: Buffer.concat(chunks).toString('utf8'),
        };
        received.push(r);
        waiters.shift()?.(r);
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;
  return {
    port,
    received,
    next: () => new Promise<Received>((resolve) => (received.length > 0 ? resolve(received.shift() as Received) : waiters.push(resolve))),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

