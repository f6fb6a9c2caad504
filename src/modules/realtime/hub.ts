import type { Deps } from '../../platform/deps.js';
import { relationsOf } from '../graph/relations.js';
import { decodeEnvelope, pubsubChannel } from './publish.js';

/** What the hub needs of a connection: who is behind it, and a way to send it text. */
export interface Subscriber {
  readonly userId: string | null;
  send(text: string): void;
}

interface Entry {
  subs: Set<Subscriber>;
  /** The pub/sub subscription, shared by every local subscriber of the channel. */
  ready: Promise<() => Promise<void>>;
}

/**
 * The realtime channels of one API process. A process subscribes to a channel's pub/sub topic
 * once, when its first local socket joins, and drops it with the last one; what arrives goes to
 * every local socket of the channel. With Redis this reaches sockets on every process; in the
 * embedded column the in-process pub/sub gives the same behaviour on one process.
 */
export class RealtimeHub {
  private channels = new Map<string, Entry>();

  constructor(private readonly deps: Deps) {}

  get channelCount(): number {
    return this.channels.size;
  }

  async join(channel: string, sub: Subscriber): Promise<void> {
    let e = this.channels.get(channel);
    if (!e) {
      e = { subs: new Set(), ready: this.deps.cache.pubsub.subscribe(pubsubChannel(channel), (msg) => this.dispatch(channel, msg)) };
      this.channels.set(channel, e);
      e.ready.catch(() => this.channels.delete(channel));
    }
    e.subs.add(sub);
    await e.ready;
  }

  async leave(channel: string, sub: Subscriber): Promise<void> {
    const e = this.channels.get(channel);
    if (!e || !e.subs.delete(sub) || e.subs.size > 0) return;
    this.channels.delete(channel);
    const stop = await e.ready.catch(() => undefined);
    await stop?.().catch((err: unknown) => this.deps.logger.warn({ err, channel }, 'realtime unsubscribe failed'));
  }

  private dispatch(channel: string, raw: string): void {
    const e = this.channels.get(channel);
    if (!e) return;
    const env = decodeEnvelope(raw);
    if (!env) return;
    const subs = [...e.subs];
    if (env.actorId === null) {
      for (const s of subs) s.send(env.json);
      return;
    }
    // Someone's action on a shared channel (a comment): not to those who blocked them or whom they blocked.
    void this.sendUnlessBlocked(subs, env.actorId, env.json).catch((err: unknown) => this.deps.logger.warn({ err, channel }, 'realtime delivery failed'));
  }

  private async sendUnlessBlocked(subs: Subscriber[], actorId: string, text: string): Promise<void> {
    for (const s of subs) {
      if (s.userId && s.userId !== actorId) {
        const rel = (await relationsOf(this.deps.database.db, s.userId, [actorId])).get(actorId);
        if (rel?.blocked) continue;
      }
      s.send(text);
    }
  }

  async close(): Promise<void> {
    const entries = [...this.channels.values()];
    this.channels.clear();
    await Promise.all(entries.map(async (e) => (await e.ready.catch(() => undefined))?.().catch(() => {})));
  }
}
