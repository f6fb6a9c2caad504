import { desc, eq } from 'drizzle-orm';
import type { Readable } from 'node:stream';
import type { Deps } from '../../platform/deps.js';
import { deserialiseModel, type ModelArtefact } from './artefact.js';
import { recommenderModels } from './tables.js';

/** How often a process looks for a newer model version (one indexed query). */
const CHECK_EVERY_MS = 30_000;

export interface LoadedModel extends ModelArtefact {
  id: string;
  userIndex: Map<string, number>;
  itemIndex: Map<string, number>;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * The model this process serves from: the newest `ready` version, loaded from storage once and
 * kept in memory (an immutable artefact, so every process holding its own copy is safe). A newer
 * version is loaded in the background; requests keep the previous one until the swap, and a
 * failed load keeps the previous one too.
 */
export class ModelStore {
  private current: LoadedModel | null = null;
  private checkedAt = 0;
  private loading: Promise<void> | null = null;

  constructor(private readonly deps: Deps) {}

  /** The model to serve now; waits only when this process has none yet. */
  async get(): Promise<LoadedModel | null> {
    if (Date.now() - this.checkedAt > CHECK_EVERY_MS && !this.loading) {
      this.loading = this.refresh().finally(() => (this.loading = null));
      if (!this.current) await this.loading;
    }
    return this.current;
  }

  /** Look for a newer version now (after training in this process, and in tests). */
  async refresh(): Promise<void> {
    this.checkedAt = Date.now();
    const [row] = await this.deps.database.db
      .select({ id: recommenderModels.id, key: recommenderModels.storageKey })
      .from(recommenderModels)
      .where(eq(recommenderModels.state, 'ready'))
      .orderBy(desc(recommenderModels.id))
      .limit(1);
    if (!row?.key || row.id === this.current?.id) return;
    try {
      const artefact = deserialiseModel(await readAll(await this.deps.storage.get(row.key)));
      this.current = {
        ...artefact,
        id: row.id,
        userIndex: new Map(artefact.users.map((u, i) => [u, i])),
        itemIndex: new Map(artefact.items.map((k, i) => [k, i])),
      };
    } catch (err) {
      this.deps.logger.warn({ err, modelId: row.id }, 'could not load the recommender model; serving the previous one');
    }
  }
}
