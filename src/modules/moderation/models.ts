import { and, desc, eq } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import type { Deps } from '../../platform/deps.js';
import type { Executor } from '../../platform/db/index.js';
import { TextClassifier, type ModelArtefact, type TextTask } from '../../ml/text/pipeline.js';
import { mlModels } from './tables.js';

/** Storage key of one artefact: versioned, never overwritten. */
export const modelKey = (task: TextTask, version: string) => `ml/models/${task}/${version}.json`;

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(chunks);
}

export interface ModelRecord {
  id: string;
  task: TextTask;
  version: string;
  score: number;
  rows: number;
  active: boolean;
  note: string;
  createdAt: Date;
}

/**
 * The trained models in use. Artefacts are immutable (a version is never rewritten), so each process
 * keeps the ones it loaded; which version is active is read from the database on every lookup (one
 * indexed row), so a retrain on any worker is picked up by all processes at their next scoring.
 */
export class ModelStore {
  private loaded = new Map<string, TextClassifier>();

  constructor(private readonly deps: Deps) {}

  async active(task: TextTask, ex: Executor = this.deps.database.db): Promise<ModelRecord | undefined> {
    const [row] = await ex.select().from(mlModels).where(and(eq(mlModels.task, task), eq(mlModels.active, true)));
    return row as ModelRecord | undefined;
  }

  /** The active classifier for a task, or undefined (the lexicon fallback applies). */
  async classifier(task: TextTask): Promise<TextClassifier | undefined> {
    const row = await this.active(task);
    if (!row) return undefined;
    const key = modelKey(task, row.version);
    let c = this.loaded.get(key);
    if (!c) {
      const artefact = JSON.parse((await readAll(await this.deps.storage.get(key))).toString('utf8')) as ModelArtefact;
      c = new TextClassifier(artefact);
      this.loaded.set(key, c);
    }
    return c;
  }

  async list(task?: TextTask): Promise<ModelRecord[]> {
    const rows = await this.deps.database.db
      .select()
      .from(mlModels)
      .where(task ? eq(mlModels.task, task) : undefined)
      .orderBy(desc(mlModels.createdAt));
    return rows as ModelRecord[];
  }

  /**
   * Store a newly trained artefact and make it active only if it scores at least as well as the
   * active one (the task's headline figure, cross-validated on its training data) and nothing else
   * blocks it (`blockedBy`: the lexicon did better on the same folds). A worse model is stored for
   * inspection but never served. `force` activates regardless.
   */
  async register(artefact: ModelArtefact, score: number, opts: { force?: boolean; blockedBy?: string } = {}): Promise<{ activated: boolean; previous: ModelRecord | undefined; note: string }> {
    const task = artefact.task;
    const key = modelKey(task, artefact.version);
    await this.deps.storage.put(key, JSON.stringify(artefact), { contentType: 'application/json' });
    return this.deps.database.transaction(async (tx) => {
      // Lock the active row so two retrains finishing together compare against the same model.
      const [previous] = await tx.select().from(mlModels).where(and(eq(mlModels.task, task), eq(mlModels.active, true))).for('update');
      const worse = previous !== undefined && score < previous.score;
      const activated = opts.force === true || (!worse && !opts.blockedBy);
      const note = activated ? 'trained' : worse ? `kept previous ${previous.version}: ${score.toFixed(4)} < ${previous.score.toFixed(4)}` : `not used: ${opts.blockedBy}`;
      if (activated && previous) await tx.update(mlModels).set({ active: false, note: 'replaced' }).where(eq(mlModels.id, previous.id));
      await tx.insert(mlModels).values({
        id: uuidv7(),
        task,
        version: artefact.version,
        storageKey: key,
        score,
        rows: artefact.rows,
        active: activated,
        note,
        evaluation: (artefact.evaluation ?? {}) as Record<string, unknown>,
      });
      return { activated, previous: previous as ModelRecord | undefined, note };
    });
  }
}

const stores = new WeakMap<Deps, ModelStore>();
export function modelStoreFor(deps: Deps): ModelStore {
  let s = stores.get(deps);
  if (!s) stores.set(deps, (s = new ModelStore(deps)));
  return s;
}
