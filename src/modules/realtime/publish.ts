import type { Deps } from '../../platform/deps.js';

/** Pub/sub channel names: every process with a subscriber for a realtime channel listens to this. */
export const pubsubChannel = (channel: string) => `rt:${channel}`;
export const userChannel = (userId: string) => `user:${userId}`;

/**
 * What travels on pub/sub: the JSON text sent to sockets as is (serialised once, however many
 * subscribers), and the account whose action it is, so each process can drop it for a
 * subscriber who blocked or was blocked by that account.
 */
export interface Envelope {
  /** Acting account, checked against each subscriber's blocks; null for the user's own channel. */
  a: string | null;
  /** The message, already JSON. */
  m: string;
}

/**
 * Send a message to every socket subscribed to `channel`, on every process (Redis pub/sub with
 * REDIS_URL, in-process otherwise). Fire and forget: a socket that is not connected misses it,
 * which is why notifications are stored first and realtime is only the fast path.
 */
export async function publishRealtime(deps: Deps, channel: string, message: { type: string } & Record<string, unknown>, actorId: string | null = null): Promise<void> {
  const env: Envelope = { a: actorId, m: JSON.stringify(message) };
  await deps.cache.pubsub.publish(pubsubChannel(channel), JSON.stringify(env));
}
