import { Type, type Static, type TProperties } from '@sinclair/typebox';
import { Nullable, StringEnum } from '../../platform/http/schema-types.js';
import type { Storage } from '../../platform/storage/types.js';
import { PublicUserSchema, type PublicUser } from '../users/present.js';
import type { PresentedVideo } from '../videos/present.js';
import { VIDEO_STATUSES } from '../videos/tables.js';
import { POST_VISIBILITIES, type mediaAttachments, type posts } from './tables.js';

export type PostRow = typeof posts.$inferSelect;
export type MediaRow = typeof mediaAttachments.$inferSelect;

const Uuid = Type.String({ format: 'uuid' });
const NullableUuid = Nullable(Uuid);

export const MediaSchema = Type.Object(
  {
    id: Uuid,
    kind: StringEnum(['image', 'video'], { description: 'video: `id` is the video (GET /api/v1/videos/:id)' }),
    width: Nullable(Type.Integer()),
    height: Nullable(Type.Integer()),
    description: Nullable(Type.String()),
    urls: Type.Record(Type.String(), Type.String(), {
      description:
        'Signed URLs: { "320": ..., "1280": ... } for images (WebP, by width); { hls, thumbnail, storyboard } for a video the viewer may watch (hls once its first rendition is published), {} for one they may not',
    }),
    video: Type.Optional(
      Nullable(
        Type.Object(
          { title: Type.String(), status: StringEnum(VIDEO_STATUSES), duration: Nullable(Type.Number({ description: 'Seconds' })) },
          { description: 'Videos only: null when the viewer may not watch it (private, followers-only, deleted, held, not processed yet)' },
        ),
      ),
    ),
  },
  { title: 'Media' },
);
export type PresentedMedia = Static<typeof MediaSchema>;

const coreFields = {
  id: Uuid,
  author: PublicUserSchema,
  text: Type.String({ description: 'Plain text: show it escaped, never as HTML' }),
  visibility: StringEnum(POST_VISIBILITIES),
  replyTo: NullableUuid,
  rootId: NullableUuid,
  media: Type.Array(MediaSchema),
  hashtags: Type.Array(Type.String()),
  mentions: Type.Array(Type.Object({ id: Uuid, username: Type.String() })),
  counts: Type.Object({ likes: Type.Integer(), replies: Type.Integer(), reposts: Type.Integer(), quotes: Type.Integer() }),
  createdAt: Type.String({ format: 'date-time' }),
  editedAt: Nullable(Type.String({ format: 'date-time' })),
  moderationState: StringEnum(['visible', 'held'], {
    description: 'held: waiting for a moderator; only its author and moderators see it (docs/moderation.md)',
  }),
} satisfies TProperties;

/** A quoted or reposted post inside another: one level deep, without the viewer's state. */
export const EmbeddedPostSchema = Type.Object(coreFields, { title: 'EmbeddedPost' });
export type EmbeddedPost = Static<typeof EmbeddedPostSchema>;

export const ViewerStateSchema = Type.Object({ liked: Type.Boolean(), saved: Type.Boolean(), reposted: Type.Boolean() });
export type ViewerState = Static<typeof ViewerStateSchema>;

export const PostSchema = Type.Object(
  {
    ...coreFields,
    quoteOf: Nullable(Type.Object(coreFields, { title: 'EmbeddedPost', description: 'Null when there is none or the viewer may not see it' })),
    repostOf: Nullable(Type.Object(coreFields, { title: 'EmbeddedPost', description: 'Set on a repost (whose text is empty)' })),
    viewer: Nullable(Type.Object(ViewerStateSchema.properties, { description: 'Null for anonymous callers' })),
  },
  { title: 'Post' },
);
export type PresentedPost = Static<typeof PostSchema>;

export const PostPageSchema = Type.Object({ items: Type.Array(PostSchema), nextCursor: Nullable(Type.String()) }, { title: 'PostPage' });
export type PostPage = Static<typeof PostPageSchema>;

/** Everything a batch of posts needs to be shown, loaded once per batch. */
export interface PresentInput {
  authors: Map<string, PublicUser>;
  hashtags: Map<string, string[]>;
  mentions: Map<string, { id: string; username: string }[]>;
  media: Map<string, PresentedMedia>;
}

export function presentCore(p: PostRow, input: PresentInput): EmbeddedPost {
  return {
    id: p.id,
    author: input.authors.get(p.authorId)!,
    text: p.text,
    visibility: p.visibility,
    replyTo: p.replyToId,
    rootId: p.rootId,
    media: p.media.map((m) => input.media.get(m.id)).filter((m): m is PresentedMedia => m !== undefined),
    hashtags: input.hashtags.get(p.id) ?? [],
    mentions: input.mentions.get(p.id) ?? [],
    counts: { likes: p.likeCount, replies: p.replyCount, reposts: p.repostCount, quotes: p.quoteCount },
    createdAt: p.createdAt.toISOString(),
    editedAt: p.editedAt?.toISOString() ?? null,
    // Removed posts never reach presentation (rules.canSee).
    moderationState: p.moderationState === 'held' ? 'held' : 'visible',
  };
}

/**
 * A video in a post, as this viewer may see it: the video module's rules decide (a private video in
 * a public post plays for its owner only); when they say no, the item stays, without links.
 */
export function presentVideoMedia(id: string, v: PresentedVideo | undefined): PresentedMedia {
  if (!v) return { id, kind: 'video', width: null, height: null, description: null, urls: {}, video: null };
  const urls: Record<string, string> = {};
  if (v.hlsUrl) urls.hls = v.hlsUrl;
  if (v.thumbnailUrl) urls.thumbnail = v.thumbnailUrl;
  if (v.storyboardUrl) urls.storyboard = v.storyboardUrl;
  return { id, kind: 'video', width: v.width ?? null, height: v.height ?? null, description: null, urls, video: { title: v.title, status: v.status, duration: v.duration ?? null } };
}

/** Image renditions are stored under their width ("320", "1280"); URLs are signed for the configured TTL. */
export async function presentMedia(m: MediaRow, storage: Storage, ttl: number): Promise<PresentedMedia> {
  const entries = await Promise.all(Object.entries(m.keys).map(async ([name, key]) => [name, await storage.signedUrl(key, ttl)] as const));
  return { id: m.id, kind: m.kind, width: m.width, height: m.height, description: m.description, urls: Object.fromEntries(entries) };
}
