import type { Deps } from '../../platform/deps.js';
import type { Tx } from '../../platform/db/index.js';
import { job, type JobDefinition } from '../../platform/jobs/index.js';
import type { MailMessage } from '../../platform/mail/types.js';
import { Sealer } from '../auth/crypto.js';

declare module '../../platform/jobs/index.js' {
  interface JobPayloads {
    /** The message is sealed: it may carry a sign-in or reset link that must not sit readable in the job table. */
    'mail.send': { sealed: string };
  }
}

const sealers = new WeakMap<Deps, Sealer>();
function sealer(deps: Deps): Sealer {
  let s = sealers.get(deps);
  if (!s) {
    s = new Sealer(deps.config.secretKey, 'mail-jobs');
    sealers.set(deps, s);
  }
  return s;
}

/**
 * Queue an email: sent by a worker through the mail interface (outbox or SMTP) and retried with
 * back-off when the server is down. With `tx`, the email exists only if the transaction commits.
 */
export async function queueMail(deps: Deps, message: MailMessage, opts: { tx?: Tx } = {}): Promise<void> {
  await deps.jobs.send('mail.send', { sealed: sealer(deps).seal(JSON.stringify(message)) }, { tx: opts.tx });
}

export function mailJobs(deps: Deps): JobDefinition[] {
  return [
    job({
      name: 'mail.send',
      retryLimit: 8,
      retryDelaySeconds: 10,
      handler: async (data) => {
        const message = JSON.parse(sealer(deps).open(data.sealed)) as MailMessage;
        const sent = await deps.mailer.send(message);
        deps.logger.info({ messageId: sent.messageId, subject: message.subject }, 'email sent');
      },
    }),
  ];
}
