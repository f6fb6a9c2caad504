import { Type, type Static } from '@sinclair/typebox';
import { Nullable, StringEnum } from '../../platform/http/schema-types.js';
import { PublicUserSchema, type PublicUser } from '../users/present.js';
import { COMMENT_TARGETS, type comments } from './tables.js';

export type CommentRow = typeof comments.$inferSelect;

const Uuid = Type.String({ format: 'uuid' });

export const CommentSchema = Type.Object(
  {
    id: Uuid,
    targetType: StringEnum(COMMENT_TARGETS),
    targetId: Uuid,
    parentId: Nullable(Uuid),
    depth: Type.Integer({ minimum: 0, description: '0 for a top-level comment' }),
    author: Nullable(Type.Object(PublicUserSchema.properties, { title: 'PublicUser', description: 'Null on a deleted comment' })),
    text: Type.String({ description: 'Plain text: show it escaped, never as HTML. Empty on a deleted comment.' }),
    deleted: Type.Boolean({ description: 'A deleted comment is listed (as a placeholder) only while it has replies' }),
    pinned: Type.Boolean(),
    counts: Type.Object({ likes: Type.Integer(), replies: Type.Integer() }),
    createdAt: Type.String({ format: 'date-time' }),
    editedAt: Nullable(Type.String({ format: 'date-time' })),
    viewer: Nullable(Type.Object({ liked: Type.Boolean() }, { description: 'Null for anonymous callers' })),
    moderationState: StringEnum(['visible', 'held'], {
      description: 'held: waiting for a moderator; only its author and moderators see it (docs/moderation.md)',
    }),
  },
  { title: 'Comment' },
);
export type PresentedComment = Static<typeof CommentSchema>;

export const CommentPageSchema = Type.Object({ items: Type.Array(CommentSchema), nextCursor: Nullable(Type.String()) }, { title: 'CommentPage' });
export type CommentPage = Static<typeof CommentPageSchema>;

/** A comment as a viewer sees it; deleted ones keep their place in the thread and nothing else. */
export function presentComment(c: CommentRow, author: PublicUser | undefined, liked: boolean | null): PresentedComment {
  const deleted = c.deletedAt !== null;
  return {
    id: c.id,
    targetType: c.targetType,
    targetId: c.targetId,
    parentId: c.parentId,
    depth: c.depth,
    author: deleted ? null : (author ?? null),
    text: deleted ? '' : c.text,
    deleted,
    pinned: !deleted && c.pinnedAt !== null,
    counts: { likes: c.likeCount, replies: c.replyCount },
    createdAt: c.createdAt.toISOString(),
    editedAt: deleted ? null : (c.editedAt?.toISOString() ?? null),
    viewer: liked === null ? null : { liked },
    moderationState: c.moderationState === 'held' ? 'held' : 'visible',
  };
}
