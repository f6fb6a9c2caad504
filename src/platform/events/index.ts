import type { Tx } from '../db/index.js';
import type { JobContext, JobName, Jobs } from '../jobs/index.js';

/**
 * Domain events and their payloads. A module declares what it publishes in its `events.ts` by
 * declaration merging, exactly as jobs do:
 *
 *   declare module '../../platform/events/index.js' {
 *     interface DomainEvents { 'video.ready': { videoId: string; ownerId: string } }
 *   }
 *
 * docs/events.md lists every event, who publishes it and who listens.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface DomainEvents {}

export type EventName = keyof DomainEvents & string;

export interface EventSubscription<N extends EventName = EventName> {
  event: N;
  /** Names the listener (`notifications`, `search`): one durable queue per event and listener. */
  subscriber: string;
  handler: (payload: DomainEvents[N], ctx: JobContext) => Promise<void>;
  retryLimit?: number;
  retryDelaySeconds?: number;
  concurrency?: number;
}

/** Keeps a subscription's payload type checked while it joins a list of other events' subscriptions. */
export function on<N extends EventName>(sub: EventSubscription<N>): EventSubscription {
  return sub as unknown as EventSubscription;
}

export interface PublishOptions {
  /** Publish inside the caller's transaction: listeners hear of it only if the transaction commits. */
  tx?: Tx;
}

/**
 * Durable domain events on the job queue. Each (event, listener) pair is a pg-boss queue of its
 * own, so a listener that fails is retried (and dead-lettered) without re-running the others, and
 * an event published in a transaction exists only if that transaction commits. Listeners run on
 * worker processes, never inside the request that published the event.
 */
export class Events {
  private listeners = new Map<string, string[]>();

  constructor(private jobs: Jobs) {}

  /** Register a listener; like job definitions, every process registers every listener before jobs start. */
  subscribe(sub: EventSubscription): void {
    const name = listenerJobName(sub.event, sub.subscriber);
    const existing = this.listeners.get(sub.event) ?? [];
    if (existing.includes(name)) throw new Error(`${sub.subscriber} already listens to ${sub.event}`);
    this.jobs.define({
      name: name as JobName,
      handler: (data, ctx) => sub.handler(data as never, ctx),
      retryLimit: sub.retryLimit,
      retryDelaySeconds: sub.retryDelaySeconds,
      concurrency: sub.concurrency,
    });
    this.listeners.set(sub.event, [...existing, name]);
  }

  /** Queue the event for every listener. With no listener this costs nothing. */
  async publish<N extends EventName>(event: N, payload: DomainEvents[N], opts: PublishOptions = {}): Promise<void> {
    for (const name of this.listeners.get(event) ?? []) {
      await this.jobs.send(name as JobName, payload as never, { tx: opts.tx });
    }
  }

  listenersOf(event: EventName): string[] {
    return [...(this.listeners.get(event) ?? [])];
  }
}

export const listenerJobName = (event: string, subscriber: string) => `on.${event}.${subscriber}`;
