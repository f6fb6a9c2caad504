import { eq, sql } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import type { Deps } from '../../platform/deps.js';
import { job, type JobDefinition } from '../../platform/jobs/index.js';
import { effectiveState } from '../auth/session-state.js';
import { excludedFromAudienceSql } from '../graph/relations.js';
import { follows } from '../graph/tables.js';
import { GraphService } from '../graph/service.js';
import { publishRealtimeMany, userChannel } from '../realtime/publish.js';
import { presentPublic } from '../users/present.js';
import type { UsersService } from '../users/service.js';
import { users, type AccountState } from '../users/tables.js';
import { isAnnounceable } from '../videos/rules.js';
import { videos } from '../videos/tables.js';
import { presentNotification } from './present.js';
import { notificationPreferences, type NotificationRow } from './tables.js';
import { mergePreferences } from './types.js';

declare module '../../platform/jobs/index.js' {
  interface JobPayloads {
    /** Walk a creator's followers by id and queue one page job per NOTIFICATION_FANOUT_BATCH of them. */
    'notifications.fanout-plan': { videoId: string; ownerId: string };
    /** One page: the followers after `afterId` (exclusive), NOTIFICATION_FANOUT_BATCH of them. */
    'notifications.fanout': { videoId: string; ownerId: string; afterId: string | null };
  }
}

/**
 * "New video from someone you follow" to every follower, in pages of NOTIFICATION_FANOUT_BATCH.
 * A plan job reads only follower ids (an index scan) and queues every page at once, so pages run
 * in parallel on every worker instead of each waiting for the one before; each page costs a fixed
 * number of queries (the audience rules, preferences, one insert) whatever its size, and a
 * retried page or plan inserts nothing twice (dedupe key per video and recipient).
 */
export class VideoFanout {
  private readonly graph: GraphService;

  constructor(
    private readonly deps: Deps,
    private readonly users: UsersService,
  ) {
    this.graph = new GraphService(deps);
  }

  /**
   * Queue one page job per batch of followers; returns the number of pages. The page boundaries
   * (every batch-th follower id) come from one index-only scan, and every page is queued in one
   * insert, so a 100k-follower plan costs two statements rather than a hundred round trips.
   */
  async plan(videoId: string, ownerId: string): Promise<number> {
    if (!(await this.announceable(videoId))) return 0;
    const batch = this.deps.config.notifications.fanoutBatchSize;
    const { rows } = await this.deps.database.query<{ id: string }>(
      `select follower_id as id from (
         select follower_id, row_number() over (order by follower_id) as n, count(*) over () as total
         from follows where followee_id = $1
       ) t where n % $2::bigint = 0 and n < total order by follower_id`,
      [ownerId, batch],
    );
    const hasAny = rows.length > 0 || (await this.graph.followerIds(ownerId, undefined, 1)).length > 0;
    if (!hasAny) return 0;
    const afterIds: (string | null)[] = [null, ...rows.map((r) => r.id)];
    await this.deps.jobs.sendMany(
      'notifications.fanout',
      afterIds.map((afterId) => ({ videoId, ownerId, afterId })),
    );
    return afterIds.length;
  }

  /**
   * Checked by the plan and again by every page: a video held by moderation, deleted or made
   * private between publishing and a page's turn announces nothing more (it is announced again,
   * deduplicated, if it becomes visible later).
   */
  private async announceable(videoId: string): Promise<boolean> {
    const [v] = await this.deps.database.db
      .select({ deletedAt: videos.deletedAt, publishedAt: videos.publishedAt, moderationState: videos.moderationState, visibility: videos.visibility })
      .from(videos)
      .where(eq(videos.id, videoId));
    return v !== undefined && isAnnounceable(v);
  }

  async page(videoId: string, ownerId: string, afterId: string | null): Promise<number> {
    const batch = this.deps.config.notifications.fanoutBatchSize;
    if (!(await this.announceable(videoId))) return 0;
    const [owner] = await this.users.byIds([ownerId]);
    if (!owner || effectiveState(owner.state, owner.suspendedUntil) !== 'active') return 0;
    // The page of followers (keyset on the follower id, as the plan cut it), with each one's
    // account state and stored preferences, minus those blocked either way or muting the owner:
    // one statement for what took five.
    const res = (await this.deps.database.db.execute(sql`
      with page as (
        select ${follows.followerId} as id from ${follows}
        where ${follows.followeeId} = ${ownerId} ${afterId ? sql`and ${follows.followerId} > ${afterId}` : sql``}
        order by ${follows.followerId} limit ${batch}
      )
      select page.id, ${users.state} as state, ${users.suspendedUntil} as suspended_until, ${notificationPreferences.prefs} as prefs
      from page
      join ${users} on ${users.id} = page.id
      left join ${notificationPreferences} on ${notificationPreferences.userId} = page.id
      where not ${excludedFromAudienceSql(ownerId, sql`page.id`)}`)) as unknown as {
      rows: { id: string; state: AccountState; suspended_until: Date | string | null; prefs: Parameters<typeof mergePreferences>[0] }[];
    };
    const audience = res.rows.filter((r) => effectiveState(r.state, r.suspended_until) === 'active');
    const now = new Date();
    const due = audience.map((r) => ({ recipientId: r.id, p: mergePreferences(r.prefs).video_published })).filter(({ p }) => p.inApp || p.email || p.push);
    if (due.length === 0) return 0;
    const rows: NotificationRow[] = due.map(({ recipientId, p }) => ({
      id: uuidv7(),
      recipientId,
      type: 'video_published',
      groupKey: null,
      dedupeKey: `video_published:${videoId}`,
      subjectType: 'video',
      subjectId: videoId,
      actorIds: [ownerId],
      actorCount: 1,
      data: {},
      listed: p.inApp,
      emailState: p.email ? 'digest' : null,
      createdAt: now,
      updatedAt: now,
      readAt: null,
    }));
    const col = <K extends keyof NotificationRow>(k: K) => sql.param(rows.map((r) => r[k]));
    const inserted = await this.deps.database.transaction(async (tx) => {
      // One statement with one array per column (unnest): a thousand rows are as cheap to plan as one.
      const res = (await tx.execute(sql`
        insert into notifications (id, recipient_id, type, dedupe_key, subject_type, subject_id, actor_ids, actor_count, data, listed, email_state, created_at, updated_at)
        select t.id, t.recipient_id, 'video_published', ${`video_published:${videoId}`}, 'video', ${videoId}::uuid, ${JSON.stringify([ownerId])}::jsonb, 1, '{}'::jsonb, t.listed, t.email_state, ${now.toISOString()}::timestamptz, ${now.toISOString()}::timestamptz
        from unnest(${col('id')}::uuid[], ${col('recipientId')}::uuid[], ${col('listed')}::boolean[], ${col('emailState')}::text[]) as t(id, recipient_id, listed, email_state)
        on conflict do nothing
        returning id`)) as unknown as { rows: { id: string }[] };
      const ids = new Set(res.rows.map((r) => r.id));
      const pushIds = new Set(due.filter((d) => d.p.push).map((d) => d.recipientId));
      const toPush = rows.filter((r) => ids.has(r.id) && pushIds.has(r.recipientId)).map((r) => r.id);
      if (toPush.length && this.deps.push.configured) await this.deps.jobs.send('notifications.push', { ids: toPush }, { tx });
      return rows.filter((r) => ids.has(r.id));
    });
    // One presented actor for the whole page: the followers passed the rules above, so every
    // one of them may see the owner.
    const actor = await presentPublic(owner, this.deps.storage, this.deps.config.signedUrlTtlSeconds);
    await publishRealtimeMany(
      this.deps,
      inserted.filter((r) => r.listed).map((r) => ({ channel: userChannel(r.recipientId), message: { type: 'notification', data: presentNotification(r, [actor]) } })),
    );
    return inserted.length;
  }
}

export function fanoutJobs(fanout: VideoFanout): JobDefinition[] {
  return [
    job({
      name: 'notifications.fanout-plan',
      retryLimit: 5,
      retryDelaySeconds: 5,
      handler: async (data) => {
        await fanout.plan(data.videoId, data.ownerId);
      },
    }),
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
