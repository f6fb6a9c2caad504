import { and, desc, eq, notInArray } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import { buildMatrix, type Interaction } from '../../ml/interactions.js';
import { trainCollaborative, type TrainProgress } from '../../ml/recommender.js';
import { executeRaw } from '../../platform/db/index.js';
import type { Deps } from '../../platform/deps.js';
import { serialiseModel } from './artefact.js';
import { KIND_WEIGHTS } from './engagement.js';
import { recommenderModels, type RecommenderModelRow } from './tables.js';

/** Artefacts kept in storage besides the newest (a rollback needs the previous one). */
const KEEP_VERSIONS = 3;
const LOCK = 'recommender:train';
const LOCK_TTL_MS = 10 * 60 * 1000;

export class TrainingBusy extends Error {}

const weightCase = `case kind ${Object.entries(KIND_WEIGHTS)
  .map(([k, w]) => `when '${k}' then ${w}`)
  .join(' ')} else 1 end`;

/**
 * Trains a new model version from the engagement log and stores it as an artefact. The model rows
 * say which version is current: the new one becomes `ready` only once its artefact is stored, so
 * the API keeps answering from the previous version all along. One training at a time (a lock in
 * the cache), whichever process started it.
 */
export async function trainRecommender(deps: Deps, progress?: TrainProgress): Promise<RecommenderModelRow> {
  const lock = await deps.cache.locks.tryAcquire(LOCK, LOCK_TTL_MS);
  if (!lock) throw new TrainingBusy('another training is running');
  const db = deps.database.db;
  const id = uuidv7();
  const t0 = performance.now();
  await db.insert(recommenderModels).values({ id, state: 'training' });
  try {
    const cfg = deps.config.discovery;
    await progress?.('reading engagement', 0, 1);
    const { rows } = await executeRaw<{ user_id: string; item_type: string; item_id: string; creator_id: string | null; w: number; at: Date | string }>(
      db,
      `select user_id, item_type, item_id, max(creator_id::text) as creator_id, sum(${weightCase})::float8 as w, max(at) as at
         from engagement_events
        where user_id is not null and kind <> 'create' and at > now() - make_interval(days => $1)
        group by user_id, item_type, item_id`,
      [cfg.recommenderHistoryDays],
    );
    const users = new Map<string, number>();
    const items = new Map<string, number>();
    const creators: (string | null)[] = [];
    const interactions: Interaction[] = [];
    for (const r of rows) {
      let u = users.get(r.user_id);
      if (u === undefined) users.set(r.user_id, (u = users.size));
      const key = `${r.item_type}:${r.item_id}`;
      let i = items.get(key);
      if (i === undefined) {
        items.set(key, (i = items.size));
        creators.push(r.creator_id);
      }
      interactions.push({ user: u, item: i, weight: Number(r.w), at: new Date(r.at).getTime() });
    }
    const matrix = buildMatrix(users.size, items.size, interactions);
    await progress?.('reading engagement', 1, 1);
    const model = await trainCollaborative(matrix, { als: { factors: cfg.recommenderFactors, iterations: cfg.recommenderIterations } }, async (step, done, of) => {
      await lock.extend(LOCK_TTL_MS);
      await progress?.(step, done, of);
    });
    const key = `models/recommender/${id}.bin`;
    await deps.storage.put(key, serialiseModel({ model, users: [...users.keys()], items: [...items.keys()], creators }), { contentType: 'application/octet-stream' });
    const info = { options: model.options, trainMs: Math.round(performance.now() - t0) };
    const [row] = await db
      .update(recommenderModels)
      .set({ state: 'ready', storageKey: key, users: users.size, items: items.size, interactions: interactions.length, info, finishedAt: new Date() })
      .where(eq(recommenderModels.id, id))
      .returning();
    await pruneOldVersions(deps);
    return row!;
  } catch (err) {
    await db
      .update(recommenderModels)
      .set({ state: 'failed', error: err instanceof Error ? err.message : String(err), finishedAt: new Date() })
      .where(eq(recommenderModels.id, id));
    throw err;
  } finally {
    await lock.release();
  }
}

async function pruneOldVersions(deps: Deps): Promise<void> {
  const db = deps.database.db;
  const keep = await db
    .select({ id: recommenderModels.id })
    .from(recommenderModels)
    .where(eq(recommenderModels.state, 'ready'))
    .orderBy(desc(recommenderModels.id))
    .limit(KEEP_VERSIONS);
  const old = await db
    .select()
    .from(recommenderModels)
    .where(
      and(
        eq(recommenderModels.state, 'ready'),
        notInArray(
          recommenderModels.id,
          keep.map((k) => k.id),
        ),
      ),
    );
  for (const r of old) {
    if (r.storageKey) await deps.storage.delete(r.storageKey).catch(() => {});
    await db.update(recommenderModels).set({ state: 'retired', storageKey: null }).where(eq(recommenderModels.id, r.id));
  }
}
