import { inArray } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import type { Deps } from '../../platform/deps.js';
import { job, type JobDefinition } from '../../platform/jobs/index.js';
import { effectiveState } from '../auth/session-state.js';
import { excludedAudience } from '../graph/relations.js';
import { GraphService } from '../graph/service.js';
import { publishRealtime, userChannel } from '../realtime/publish.js';
import { presentPublic } from '../users/present.js';
import type { UsersService } from '../users/service.js';
import { users } from '../users/tables.js';
import { presentNotification } from './present.js';
import type { NotificationsService } from './service.js';
import { notificationActors, notifications } from './tables.js';

declare module '../../platform/jobs/index.js' {
  interface JobPayloads {
    /** One page of a creator's followers; each page queues the next before doing its own work. */
    'notifications.fanout': { videoId: string; ownerId: string; afterId: string | null };
  }
}

/**
 * "New video from someone you follow" to every follower, in pages of NOTIFICATION_FANOUT_BATCH.
 * A page queues the next page first, so pages run in parallel on every worker while this one
 * works; each page costs a fixed number of queries (the audience rules, preferences, one insert)
 * whatever its size, and a retried page inserts nothing twice (dedupe key per video).
 */
export class VideoFanout {
  private readonly graph: GraphService;

  constructor(
    private readonly deps: Deps,
    private readonly users: UsersService,
    private readonly notifications: NotificationsService,
  ) {
    this.graph = new GraphService(deps);
  }

  async page(videoId: string, ownerId: string, afterId: string | null): Promise<number> {
    const batch = this.deps.config.notifications.fanoutBatchSize;
    const [owner] = await this.users.byIds([ownerId]);
    if (!owner || effectiveState(owner.state, owner.suspendedUntil) !== 'active') return 0;
    const followers = await this.graph.followerIds(ownerId, afterId ?? undefined, batch);
    if (followers.length === batch) await this.deps.jobs.send('notifications.fanout', { videoId, ownerId, afterId: followers[followers.length - 1]! });
    if (followers.length === 0) return 0;

    const excluded = await excludedAudience(this.deps.database.db, ownerId, followers);
    const activeRows = await this.deps.database.db
      .select({ id: users.id, state: users.state, suspendedUntil: users.suspendedUntil })
      .from(users)
      .where(inArray(users.id, followers));
    const active = new Set(activeRows.filter((u) => effectiveState(u.state, u.suspendedUntil) === 'active').map((u) => u.id));
    const audience = followers.filter((id) => active.has(id) && !excluded.has(id));
    const prefs = await this.notifications.preferencesOf(audience);
    const now = new Date();
    const values = audience
      .map((recipientId) => ({ recipientId, p: prefs.get(recipientId)!.video_published }))
      .filter(({ p }) => p.inApp || p.email || p.push)
      .map(({ recipientId, p }) => ({
        id: uuidv7(),
        recipientId,
        type: 'video_published' as const,
        dedupeKey: `video_published:${videoId}`,
        subjectType: 'video' as const,
        subjectId: videoId,
        actorIds: [ownerId],
        actorCount: 1,
        data: {},
        listed: p.inApp,
        emailState: p.email ? ('digest' as const) : null,
        createdAt: now,
        updatedAt: now,
        push: p.push,
      }));
    if (values.length === 0) return 0;
    const inserted = await this.deps.database.transaction(async (tx) => {
      const rows = await tx
        .insert(notifications)
        .values(values.map(({ push: _push, ...v }) => v))
        .onConflictDoNothing()
        .returning();
      if (rows.length) await tx.insert(notificationActors).values(rows.map((r) => ({ notificationId: r.id, actorId: ownerId })));
      const pushIds = new Set(values.filter((v) => v.push).map((v) => v.id));
      const toPush = rows.filter((r) => pushIds.has(r.id)).map((r) => r.id);
      if (toPush.length && this.deps.push.configured) await this.deps.jobs.send('notifications.push', { ids: toPush }, { tx });
      return rows;
    });
    // One presented actor for the whole page: the followers passed the rules above, so every
    // one of them may see the owner.
    const actor = await presentPublic(owner, this.deps.storage, this.deps.config.signedUrlTtlSeconds);
    await Promise.all(inserted.filter((r) => r.listed).map((r) => publishRealtime(this.deps, userChannel(r.recipientId), { type: 'notification', data: presentNotification(r, [actor]) })));
    return inserted.length;
  }
}

export function fanoutJobs(fanout: VideoFanout): JobDefinition[] {
  return [
    job({
      name: 'notifications.fanout',
      retryLimit: 5,
      retryDelaySeconds: 5,
      concurrency: 4,
      handler: async (data) => {
        await fanout.page(data.videoId, data.ownerId, data.afterId);
      },
    }),
  ];
}

/** Followers only hear of videos they may watch: public and followers-only ones. */
export const fansOut = (visibility: string) => visibility === 'public' || visibility === 'followers';
