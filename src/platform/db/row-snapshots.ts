import { LRUCache } from 'lru-cache';

/**
 * Rows as this process last read them, each with the version it was read at: PostgreSQL's `xmin`
 * system column, the id of the transaction that wrote that version of the row. Every UPDATE writes
 * a new row version with its own transaction's id, so a snapshot whose version equals the row's
 * current `xmin` is exactly the row as it is now, and a changed `xmin` means it was changed.
 *
 * This is how read paths skip re-reading wide rows they have seen (posts with their authors):
 * they ask the database for the ids' current versions only (a narrow query they needed anyway for
 * other reasons), take the rows whose version matches from here and read just the rest. Nothing is
 * invalidated explicitly, so no write path can forget to, and every process (API, worker) checks
 * against the same database. Deleted rows simply stop being listed by the version query.
 *
 * Bounded: the least recently used entries go first.
 */
export class RowSnapshots<T> {
  private readonly lru: LRUCache<string, { v: string; value: T }>;

  constructor(max: number) {
    this.lru = new LRUCache({ max });
  }

  /** The snapshot of `id` if it was taken at version `v`. */
  get(id: string, v: string): T | undefined {
    const hit = this.lru.get(id);
    return hit !== undefined && hit.v === v ? hit.value : undefined;
  }

  set(id: string, v: string, value: T): void {
    this.lru.set(id, { v, value });
  }

  get size(): number {
    return this.lru.size;
  }
}
