import { Type, type Static } from '@sinclair/typebox';
import { Nullable, StringEnum } from '../../platform/http/schema-types.js';
import { PublicUserSchema, type PublicUser } from '../users/present.js';
import { renderPath, renderText } from './render.js';
import type { NotificationRow } from './tables.js';
import { NOTIFICATION_TYPES, type NotificationType } from './types.js';

export const NotificationSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    type: StringEnum(NOTIFICATION_TYPES),
    text: Type.String({ description: 'Ready to show: "Ana and 12 others liked your post"' }),
    url: Type.String({ description: 'Where a client should take the user, relative to the web app' }),
    read: Type.Boolean(),
    actorCount: Type.Integer({ description: 'Everyone counted in a grouped notification' }),
    actors: Type.Array(PublicUserSchema, { description: 'The latest actors the viewer may see, newest first (at most 3)' }),
    subject: Nullable(Type.Object({ type: Type.String(), id: Type.String({ format: 'uuid' }) })),
    data: Type.Record(Type.String(), Type.String()),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time', description: 'Last time an actor joined the group' }),
  },
  { title: 'Notification' },
);
export type PresentedNotification = Static<typeof NotificationSchema>;

export const NotificationPageSchema = Type.Object({ items: Type.Array(NotificationSchema), nextCursor: Nullable(Type.String()) }, { title: 'NotificationPage' });

/** Shape one stored row; `actors` are those the viewer may see (hydration dropped the rest). */
export function presentNotification(row: NotificationRow, actors: PublicUser[]): PresentedNotification {
  const names = actors.map((a) => a.displayName ?? a.username);
  const type = row.type as NotificationType;
  return {
    id: row.id,
    type,
    text: renderText({ type, actorNames: names, actorCount: Math.max(row.actorCount, actors.length), subjectType: row.subjectType ?? null, data: row.data }),
    url: renderPath({ type, subjectType: row.subjectType ?? null, subjectId: row.subjectId, data: row.data, actorIds: actors.map((a) => a.id) }),
    read: row.readAt !== null,
    actorCount: row.actorCount,
    actors,
    subject: row.subjectType && row.subjectId ? { type: row.subjectType, id: row.subjectId } : null,
    data: row.data,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
