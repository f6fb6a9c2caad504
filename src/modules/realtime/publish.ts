import type { Deps } from '../../platform/deps.js';

/** Pub/sub channel names: every process with a subscriber for a realtime channel listens to this. */
export const pubsubChannel = (channel: string) => `rt:${channel}`;
export const userChannel = (userId: string) => `user:${userId}`;

/**
 * What travels on pub/sub: `<actor id or nothing>\n<message JSON>`. The JSON is sent to sockets
 * as is (serialised once, however many subscribers, and never parsed again on the way); the actor
 * lets each process drop it for a subscriber who blocked or was blocked by that account.
 */
export function encodeEnvelope(actorId: string | null, json: string): string {
  return `${actorId ?? ''}\n${json}`;
}

export function decodeEnvelope(raw: string): { actorId: string | null; json: string } | null {
  const i = raw.indexOf('\n');
  if (i < 0) return null;
  return { actorId: i === 0 ? null : raw.slice(0, i), json: raw.slice(i + 1) };
}

/** Many realtime messages at once (one pipelined write to Redis): fan-out pages use it. */
export async function publishRealtimeMany(deps: Deps, items: { channel: string; message: { type: string } & Record<string, unknown>; actorId?: string | null }[]): Promise<void> {
  await deps.cache.pubsub.publishMany(items.map((i) => ({ channel: pubsubChannel(i.channel), message: encodeEnvelope(i.actorId ?? null, JSON.stringify(i.message)) })));
}

/**
 * Send a message to every socket subscribed to `channel`, on every process (Redis pub/sub with
 * REDIS_URL, in-process otherwise). Fire and forget: a socket that is not connected misses it,
 * which is why notifications are stored first and realtime is only the fast path.
 */
export async function publishRealtime(deps: Deps, channel: string, message: { type: string } & Record<string, unknown>, actorId: string | null = null): Promise<void> {
  await deps.cache.pubsub.publish(pubsubChannel(channel), encodeEnvelope(actorId, JSON.stringify(message)));
}
