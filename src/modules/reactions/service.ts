import { likesPerTarget, reconcileCounter } from '../../platform/db/counters.js';
import { and, desc, eq, sql } from 'drizzle-orm';
import { type Db, type Executor, type Tx } from '../../platform/db/index.js';
import type { Deps } from '../../platform/deps.js';
import { badRequest, notFound } from '../../platform/errors.js';
import { pageOfKeys, type CursorCodec } from '../posts/reader.js';
import './events.js';
import { likes, saves, type ReactionTarget } from './tables.js';

/**
 * What reactions need from the module that owns a kind of target (posts now; comments and videos
 * when they land): a visibility check and the like counter, both run inside the reaction's
 * transaction so the counter moves with the row and a hidden target cannot be reacted to.
 */
export interface ReactionTargetAdapter {
  /** Throw (404) unless the user may see and react to the target; answers the target's owner (author). */
  assertReactable(tx: Tx, userId: string, id: string): Promise<string>;
  /** Add delta to the stored like counter and answer the new value; undefined when the target does not exist. */
  adjustLikes(tx: Tx, id: string, delta: 1 | -1): Promise<number | undefined>;
  likeCount(ex: Executor, id: string): Promise<number | undefined>;
  /** Set every stored like counter of this kind to the true count; answers how many were wrong. */
  reconcileLikes(db: Db): Promise<number>;
  /** Present saved targets for a viewer, keyed by id, hidden ones left out (posts as posts, videos as videos). */
  present?(viewerId: string, ids: string[]): Promise<Map<string, unknown>>;
}

export type ReactionAdapters = Partial<Record<ReactionTarget, ReactionTargetAdapter>>;

interface SaveKey {
  at: number;
  id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Saves are listed by when they were made; the cursor is that time (ms) and the target id breaking ties. */
const saveCursor: CursorCodec<SaveKey> = {
  encode: (k) => Buffer.from(`${k.at}.${k.id}`, 'utf8').toString('base64url'),
  decode: (c) => {
    const [at, id] = Buffer.from(c, 'base64url').toString('utf8').split('.');
    if (!at || !/^\d{1,15}$/.test(at) || !id || !UUID.test(id)) throw badRequest('request.invalid_cursor', 'cursor is not valid; pass back the nextCursor of a previous page', { errors: [{ field: 'cursor', message: 'is not valid' }] });
    return { at: Number(at), id: id.toLowerCase() };
  },
};

export class ReactionsService {
  constructor(
    private readonly deps: Deps,
    private readonly adapters: ReactionAdapters,
  ) {}

  private adapter(type: ReactionTarget): ReactionTargetAdapter {
    const a = this.adapters[type];
    if (!a) throw notFound('reactions.unsupported_target', `${type}s cannot be reacted to yet`);
    return a;
  }

  /**
   * Like once: insert-or-nothing, and the counter moves only when a row was really inserted, in
   * the same transaction. Concurrent likes of one post serialise on its row lock, so the counter
   * equals the number of like rows whatever the interleaving.
   */
  async like(userId: string, type: ReactionTarget, id: string): Promise<{ liked: boolean; likes: number }> {
    const a = this.adapter(type);
    return this.deps.database.transaction(async (tx) => {
      const ownerId = await a.assertReactable(tx, userId, id);
      const inserted = await tx.insert(likes).values({ userId, targetType: type, targetId: id }).onConflictDoNothing().returning({ id: likes.targetId });
      const count = inserted.length ? await a.adjustLikes(tx, id, 1) : await a.likeCount(tx, id);
      if (inserted.length) await this.deps.events.publish('content.liked', { targetType: type, targetId: id, userId, ownerId }, { tx });
      return { liked: true, likes: count ?? 0 };
    });
  }

  /** Unlike needs no visibility: taking one's like back must work even after a block or a deletion. */
  async unlike(userId: string, type: ReactionTarget, id: string): Promise<{ liked: boolean; likes: number }> {
    const a = this.adapter(type);
    return this.deps.database.transaction(async (tx) => {
      const deleted = await tx
        .delete(likes)
        .where(and(eq(likes.userId, userId), eq(likes.targetType, type), eq(likes.targetId, id)))
        .returning({ id: likes.targetId });
      const count = deleted.length ? await a.adjustLikes(tx, id, -1) : await a.likeCount(tx, id);
      if (count === undefined) throw notFound(`${type}s.not_found`, `no such ${type}`);
      if (deleted.length) await this.deps.events.publish('content.unliked', { targetType: type, targetId: id, userId }, { tx });
      return { liked: false, likes: count };
    });
  }

  async save(userId: string, type: ReactionTarget, id: string): Promise<{ saved: boolean }> {
    const a = this.adapter(type);
    await this.deps.database.transaction(async (tx) => {
      const ownerId = await a.assertReactable(tx, userId, id);
      // Written by the app in whole milliseconds, so the cursor (ms) names a row exactly.
      const added = await tx.insert(saves).values({ userId, targetType: type, targetId: id, createdAt: new Date() }).onConflictDoNothing().returning({ id: saves.targetId });
      if (added.length) await this.deps.events.publish('content.saved', { targetType: type, targetId: id, userId, ownerId }, { tx });
    });
    return { saved: true };
  }

  async unsave(userId: string, type: ReactionTarget, id: string): Promise<{ saved: boolean }> {
    this.adapter(type);
    await this.deps.database.db.delete(saves).where(and(eq(saves.userId, userId), eq(saves.targetType, type), eq(saves.targetId, id)));
    return { saved: false };
  }

  /** The caller's saved items of one kind, most recently saved first; hidden ones are left out. */
  async saved<T>(userId: string, type: ReactionTarget, limit: number, cursor: string | undefined): Promise<{ items: T[]; nextCursor: string | null }> {
    const a = this.adapter(type);
    if (!a.present) throw notFound('reactions.unsupported_target', `saved ${type}s cannot be listed yet`);
    const db = this.deps.database.db;
    return pageOfKeys<SaveKey, T>(
      async (after, n) => {
        const where = [eq(saves.userId, userId), eq(saves.targetType, type)];
        if (after) where.push(sql`(${saves.createdAt}, ${saves.targetId}) < (${new Date(after.at).toISOString()}::timestamptz, ${after.id}::uuid)`);
        const rows = await db
          .select({ id: saves.targetId, at: saves.createdAt })
          .from(saves)
          .where(and(...where))
          .orderBy(desc(saves.createdAt), desc(saves.targetId))
          .limit(n);
        return rows.map((r) => ({ id: r.id, key: { at: r.at.getTime(), id: r.id } }));
      },
      async (ids) => (await a.present!(userId, ids)) as Map<string, T>,
      limit,
      cursor,
      saveCursor,
    );
  }
}

/** Repair drift in every like counter (daily job; also callable from tests and the CLI). */
export async function reconcileLikeCounts(db: Db, adapters: ReactionAdapters): Promise<Record<string, number>> {
  const fixed: Record<string, number> = {};
  for (const [type, a] of Object.entries(adapters)) fixed[type] = await a.reconcileLikes(db);
  return fixed;
}

/** The posts flavour of reconcileLikes: one statement, touching only the rows that are wrong. */
export async function reconcilePostLikes(db: Db): Promise<number> {
  return reconcileCounter(db, { table: 'posts', column: 'like_count', counts: likesPerTarget('post') });
}
