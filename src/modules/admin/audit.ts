import { and, desc, eq, inArray, lt, type SQL } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import type { Executor } from '../../platform/db/index.js';
import { users } from '../users/tables.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { auditLog } from './tables.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface AuditEntryInput {
  /** Null when the system acted (the CLI, a job), not a signed-in person. */
  actorId: string | null;
  /** Dotted verb, e.g. `user.suspend`; clients filter on it, so it is part of the API. */
  action: string;
  targetType: string;
  targetId: string;
  reason?: string;
  details?: Record<string, unknown>;
}

/**
 * Write one audit row. Callers pass the transaction of the action itself, so an action and its
 * record commit or roll back together: no action without a trace, no trace of what never happened.
 */
export async function recordAudit(ex: Executor, entry: AuditEntryInput): Promise<string> {
  const id = uuidv7();
  await ex.insert(auditLog).values({
    id,
    actorId: entry.actorId,
    action: entry.action,
    targetType: entry.targetType,
    targetId: entry.targetId,
    reason: entry.reason ?? null,
    details: entry.details ?? {},
  });
  return id;
}

export interface AuditQuery {
  actorId?: string;
  targetType?: string;
  targetId?: string;
  action?: string;
  limit: number;
  cursor?: string;
}

export interface AuditRecord {
  id: string;
  actorId: string | null;
  /** Hydrated for people reading the log; null for the system or an erased account. */
  actorUsername: string | null;
  action: string;
  targetType: string;
  targetId: string;
  /** Set when the target is an account that still has a username. */
  targetUsername: string | null;
  reason: string | null;
  details: Record<string, unknown>;
  createdAt: Date;
}

/**
 * Newest first, keyset-paginated on the id: ids are UUIDv7 (time-ordered), so "older than the
 * cursor" is one index range and a page never repeats or skips rows written meanwhile.
 */
export async function readAudit(ex: Executor, q: AuditQuery): Promise<{ items: AuditRecord[]; nextCursor: string | null }> {
  const where: SQL[] = [];
  if (q.actorId) where.push(eq(auditLog.actorId, q.actorId));
  if (q.targetType) where.push(eq(auditLog.targetType, q.targetType));
  if (q.targetId) where.push(eq(auditLog.targetId, q.targetId));
  if (q.action) where.push(eq(auditLog.action, q.action));
  if (q.cursor) where.push(lt(auditLog.id, decodeCursor(q.cursor)));
  const rows = await ex
    .select()
    .from(auditLog)
    .where(and(...where))
    .orderBy(desc(auditLog.id))
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);

  // Hydrate names in one query for the whole page rather than a join per row.
  const userIds = new Set<string>();
  for (const r of page) {
    if (r.actorId) userIds.add(r.actorId);
    // target_id is free text; only a well-formed id may reach a uuid comparison.
    if (r.targetType === 'user' && UUID.test(r.targetId)) userIds.add(r.targetId);
  }
  const names = new Map<string, string>();
  if (userIds.size > 0) {
    const found = await ex.select({ id: users.id, username: users.username }).from(users).where(inArray(users.id, [...userIds]));
    for (const u of found) names.set(u.id, u.username);
  }

  return {
    items: page.map((r) => ({
      id: r.id,
      actorId: r.actorId,
      actorUsername: r.actorId ? (names.get(r.actorId) ?? null) : null,
      action: r.action,
      targetType: r.targetType,
      targetId: r.targetId,
      targetUsername: r.targetType === 'user' ? (names.get(r.targetId) ?? null) : null,
      reason: r.reason,
      details: r.details,
      createdAt: r.createdAt,
    })),
    nextCursor: rows.length > q.limit ? encodeCursor(page[page.length - 1]!.id) : null,
  };
}
