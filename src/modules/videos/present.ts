import { Type, type Static } from '@sinclair/typebox';
import { Nullable, StringEnum } from '../../platform/http/schema-types.js';
import type { Storage } from '../../platform/storage/types.js';
import { PublicUserSchema, presentPublic } from '../users/present.js';
import type { UserRow } from '../users/tables.js';
import { playbackGate, playbackQuery } from './playback.js';
import { VIDEO_STATUSES, VIDEO_VISIBILITIES, type VideoRow } from './tables.js';

export const VideoSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    owner: PublicUserSchema,
    title: Type.String(),
    description: Type.String(),
    tags: Type.Array(Type.String()),
    category: Nullable(Type.String()),
    language: Nullable(Type.String()),
    visibility: StringEnum(VIDEO_VISIBILITIES),
    status: StringEnum(VIDEO_STATUSES),
    statusReason: Type.Optional(Type.String({ description: 'Why processing failed, in words for the creator' })),
    failureCode: Type.Optional(Type.String({ description: 'not_a_video, no_video_stream, corrupt, too_long, checksum_mismatch, ingest_failed, transcode_failed' })),
    moderationState: StringEnum(['visible', 'held', 'removed']),
    ageRestricted: Type.Boolean({ description: 'Signed-in viewers only: set by the creator or by a moderator (only a moderator lifts the latter)' }),
    duration: Type.Optional(Type.Number({ description: 'Seconds' })),
    width: Type.Optional(Type.Integer()),
    height: Type.Optional(Type.Integer()),
    renditions: Type.Array(Type.Object({ height: Type.Integer(), width: Type.Integer() }), { description: 'Published renditions (the master playlist lists exactly these)' }),
    hlsUrl: Type.Optional(Type.String({ description: 'Signed, expiring HLS master playlist; present as soon as the first rendition is published' })),
    thumbnailUrl: Type.Optional(Type.String()),
    storyboardUrl: Type.Optional(Type.String({ description: 'Signed WebVTT file of seek-preview tiles' })),
    likeCount: Type.Integer(),
    commentCount: Type.Integer(),
    viewCount: Type.Integer(),
    createdAt: Type.String({ format: 'date-time' }),
    publishedAt: Nullable(Type.String({ format: 'date-time' })),
    updatedAt: Type.String({ format: 'date-time' }),
    viewer: Nullable(Type.Object({ liked: Type.Boolean(), saved: Type.Boolean({ description: 'On your watch-later list' }), positionSeconds: Type.Number({ description: 'Where to resume' }) })),
  },
  { title: 'Video' },
);
export type PresentedVideo = Static<typeof VideoSchema>;

export const VideoPageSchema = Type.Object({ items: Type.Array(VideoSchema), nextCursor: Nullable(Type.String()) }, { title: 'VideoPage' });
export type VideoPage = Static<typeof VideoPageSchema>;

export interface PresentContext {
  storage: Storage;
  secretKey: string;
  publicUrl: string;
  ttlSeconds: number;
  viewer: Map<string, { liked: boolean; saved: boolean; positionSeconds: number }> | null;
}

export async function presentVideo(v: VideoRow, owner: UserRow, ctx: PresentContext): Promise<PresentedVideo> {
  const query = playbackQuery(ctx.secretKey, v.id, ctx.ttlSeconds, Date.now(), playbackGate(v));
  const base = `${ctx.publicUrl}/api/v1/videos/${v.id}`;
  return {
    id: v.id,
    owner: await presentPublic(owner, ctx.storage, ctx.ttlSeconds),
    title: v.title,
    description: v.description,
    tags: v.tags,
    category: v.category,
    language: v.language,
    visibility: v.visibility,
    status: v.status,
    ...(v.statusReason ? { statusReason: v.statusReason } : {}),
    ...(v.failureCode ? { failureCode: v.failureCode } : {}),
    moderationState: v.moderationState,
    ageRestricted: v.ageRestricted || v.moderationAgeRestricted,
    ...(v.durationSeconds !== null ? { duration: v.durationSeconds } : {}),
    ...(v.width !== null ? { width: v.width } : {}),
    ...(v.height !== null ? { height: v.height } : {}),
    renditions: [...v.renditions].sort((a, b) => a.height - b.height).map((r) => ({ height: r.height, width: r.width })),
    ...(v.renditions.length > 0 ? { hlsUrl: `${base}/hls/master.m3u8?${query}` } : {}),
    ...(v.thumbnailKey ? { thumbnailUrl: await ctx.storage.signedUrl(v.thumbnailKey, ctx.ttlSeconds) } : {}),
    ...(v.storyboard ? { storyboardUrl: `${base}/storyboard.vtt?${query}` } : {}),
    likeCount: v.likeCount,
    commentCount: v.commentCount,
    viewCount: v.viewCount,
    createdAt: v.createdAt.toISOString(),
    publishedAt: v.publishedAt?.toISOString() ?? null,
    updatedAt: v.updatedAt.toISOString(),
    viewer: ctx.viewer ? (ctx.viewer.get(v.id) ?? { liked: false, saved: false, positionSeconds: 0 }) : null,
  };
}
