import type { Call, TestUser } from '../support/auth.js';
import { pollUntil } from '../support/poll.js';

export interface NotificationBody {
  id: string;
  type: string;
  text: string;
  url: string;
  read: boolean;
  actorCount: number;
  actors: { id: string; username: string }[];
  subject: { type: string; id: string } | null;
  data: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

/** Poll until `check` returns a value (listeners run as jobs, a moment after the action). */
export async function waitFor<T>(check: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 60_000): Promise<T> {
  return (await pollUntil(check, what, { timeoutMs })) as T;
}

export async function listAll(call: Call, u: TestUser, query = ''): Promise<NotificationBody[]> {
  const res = await call('GET', `/api/v1/notifications?limit=100${query}`, { token: u.accessToken });
  if (res.status !== 200) throw new Error(`list failed: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body as unknown as { items: NotificationBody[] }).items;
}

/** The first notification of `type` (optionally matching more) once it is there. */
export async function waitForNotification(call: Call, u: TestUser, type: string, match: (n: NotificationBody) => boolean = () => true): Promise<NotificationBody> {
  return waitFor(async () => (await listAll(call, u)).find((n) => n.type === type && match(n)), `a ${type} notification for ${u.username}`);
}

/** Wait until no listener job of this test is queued or running, so "nothing arrived" is a real answer. */
export async function settle(deps: { jobs: { counts(): Promise<Record<string, Record<string, number>>> } }): Promise<void> {
  await waitFor(async () => {
    const counts = await deps.jobs.counts();
    const busy = Object.entries(counts)
      .filter(([name]) => (name.startsWith('on.') || name.startsWith('notifications.')) && name !== 'notifications.digest-scan')
      .some(([, c]) => (c.created ?? 0) > 0 || (c.active ?? 0) > 0 || (c.retry ?? 0) > 0);
    return !busy;
  }, 'the job queue to settle');
}
