import { executeRaw, type Executor } from './index.js';

export interface CounterSpec {
  /** The table holding the stored counter, e.g. `posts`. */
  table: string;
  /** Its key column (default `id`). */
  key?: string;
  /** The stored counter column, e.g. `like_count`. */
  column: string;
  /** A query yielding `(id, n)`: the true count per key; keys it does not list count 0. */
  counts: string;
}

/**
 * Repair drift in a stored counter: set it to the true count where the two differ, in one
 * statement that touches only the wrong rows. Returns how many rows it fixed. The write paths
 * keep counters exact in their own transactions; this is the daily safety net behind them.
 * Table, column and query are code constants, never user input.
 */
export async function reconcileCounter(db: Executor, spec: CounterSpec): Promise<number> {
  const key = spec.key ?? 'id';
  const { rows } = await executeRaw(
    db,
    `update ${spec.table} t set ${spec.column} = coalesce(c.n, 0)
       from ${spec.table} t2
       left join (${spec.counts}) c on c.id = t2.${key}
      where t.${key} = t2.${key} and t.${spec.column} <> coalesce(c.n, 0)
      returning t.${key}`,
  );
  return rows.length;
}

/** The `counts` query of a like counter: likes per target of one type. */
export const likesPerTarget = (targetType: 'post' | 'comment' | 'video') =>
  `select target_id as id, count(*)::int as n from likes where target_type = '${targetType}' group by target_id`;
