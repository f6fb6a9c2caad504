import { Type, type Static } from '@sinclair/typebox';
import type { Storage } from '../../platform/storage/types.js';
import { effectiveState } from '../auth/session-state.js';
import { presentSelf, SelfUserSchema } from '../users/present.js';
import type { UserRow } from '../users/tables.js';
import type { AuditRecord } from './audit.js';

const Timestamp = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

/** An account as staff see it: what its owner sees, plus the moderation fields. */
export const AdminUserSchema = Type.Intersect(
  [
    SelfUserSchema,
    Type.Object({
      suspendedReason: Type.Union([Type.String(), Type.Null()]),
      suspendedUntil: Timestamp,
      deactivatedAt: Timestamp,
      deletedAt: Timestamp,
      updatedAt: Type.String({ format: 'date-time' }),
    }),
  ],
  { title: 'AdminUser' },
);
export type AdminUser = Static<typeof AdminUserSchema>;

export async function presentAdminUser(u: UserRow, storage: Storage, urlTtlSeconds: number): Promise<AdminUser> {
  return {
    ...(await presentSelf(u, storage, urlTtlSeconds)),
    // A suspension that has run out is over, even before the account signs in and the row is cleared.
    state: effectiveState(u.state, u.suspendedUntil),
    suspendedReason: u.suspendedReason,
    suspendedUntil: u.suspendedUntil?.toISOString() ?? null,
    deactivatedAt: u.deactivatedAt?.toISOString() ?? null,
    deletedAt: u.deletedAt?.toISOString() ?? null,
    updatedAt: u.updatedAt.toISOString(),
  };
}

export const AuditEntrySchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    actorId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()], { description: 'Null when the system acted (CLI, jobs)' }),
    actorUsername: Type.Union([Type.String(), Type.Null()]),
    action: Type.String({ description: 'e.g. user.suspend, user.restore, user.set_role, admin.create, keys.rotate' }),
    targetType: Type.String({ description: 'e.g. user, signing_key' }),
    targetId: Type.String(),
    targetUsername: Type.Union([Type.String(), Type.Null()], { description: 'Set when the target is an account' }),
    reason: Type.Union([Type.String(), Type.Null()]),
    details: Type.Record(Type.String(), Type.Unknown(), { description: 'What changed, e.g. { from, to } for a role change' }),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { title: 'AuditEntry' },
);
export type AuditEntry = Static<typeof AuditEntrySchema>;

export function presentAudit(r: AuditRecord): AuditEntry {
  return { ...r, createdAt: r.createdAt.toISOString() };
}
