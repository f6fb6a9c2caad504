import { readFile } from 'node:fs/promises';
import { and, count, desc, eq, gt } from 'drizzle-orm';
import type { Deps } from '../../platform/deps.js';
import { detectFormat, parseLabelled, type LabelledText } from '../../ml/text/dataset.js';
import { headlineScore, taskSpecs, type CrossValidation, type TextTask, type TrainProgress } from '../../ml/text/pipeline.js';
import { trainInThread } from '../../ml/text/train-thread.js';
import { modelStoreFor } from './models.js';
import { mlModels, moderationLabels } from './tables.js';

export interface TrainOutcome {
  task: TextTask;
  version: string;
  rows: number;
  evaluation: CrossValidation;
  score: number;
  lexiconScore: number;
  activated: boolean;
  note: string;
  previousVersion: string | null;
}

/**
 * Cross-validate, train on everything, store the versioned artefact, and activate it only if it is
 * at least as good as the model in use (same headline figure) and better than the lexicon on the
 * same folds (the lexicon stays in use otherwise: "keep whichever evaluates better").
 */
export async function trainAndRegister(deps: Deps, task: TextTask, data: LabelledText[], opts: { folds?: number; seed?: number; force?: boolean; progress?: TrainProgress } = {}): Promise<TrainOutcome> {
  const labels = new Set(data.map((d) => d.label));
  if (labels.size < 2) throw new Error(`${task}: the training data needs examples of at least two classes (found ${[...labels].map((l) => taskSpecs[task].labels[l]).join(', ') || 'none'})`);
  const perClass = Math.min(...[...labels].map((l) => data.filter((d) => d.label === l).length));
  const folds = Math.max(2, Math.min(opts.folds ?? 5, perClass));
  const seed = opts.seed ?? 7;
  // In a worker thread: the requests this process serves go on meanwhile.
  const { evaluation, artefact } = await trainInThread({ task, data: data.map((d) => ({ text: d.text, label: d.label })), folds, seed }, opts.progress);
  const score = headlineScore(task, evaluation.model);
  const lexiconScore = headlineScore(task, evaluation.lexicon);
  const blockedBy = score < lexiconScore ? `the lexicon scores better (${lexiconScore.toFixed(4)} > ${score.toFixed(4)})` : undefined;
  const r = await modelStoreFor(deps).register(artefact, score, { force: opts.force, blockedBy });
  return { task, version: artefact.version, rows: data.length, evaluation, score, lexiconScore, activated: r.activated, note: r.note, previousVersion: r.previous?.version ?? null };
}

async function seedRows(file: string | undefined, task: TextTask): Promise<LabelledText[]> {
  if (!file) return [];
  const content = await readFile(file, 'utf8');
  return parseLabelled(content, detectFormat(content), taskSpecs[task].labels);
}

export interface RetrainResult {
  task: 'offensive' | 'spam';
  skipped?: string;
  outcome?: TrainOutcome;
}

/**
 * The scheduled retrain: moderators' labels plus the operator's seed data, for the offensive and
 * spam classifiers. Skips a task with too few new labels since its last model (unless forced).
 */
export async function retrain(deps: Deps, opts: { force?: boolean; minLabels?: number } = {}): Promise<RetrainResult[]> {
  const db = deps.database.db;
  const out: RetrainResult[] = [];
  for (const task of ['offensive', 'spam'] as const) {
    const [last] = await db.select({ at: mlModels.createdAt }).from(mlModels).where(eq(mlModels.task, task)).orderBy(desc(mlModels.createdAt)).limit(1);
    const [fresh] = await db
      .select({ n: count() })
      .from(moderationLabels)
      .where(and(eq(moderationLabels.task, task), last ? gt(moderationLabels.createdAt, last.at) : undefined));
    const minLabels = opts.minLabels ?? deps.config.moderation.retrainMinLabels;
    if (!opts.force && (fresh?.n ?? 0) < minLabels) {
      out.push({ task, skipped: `${fresh?.n ?? 0} new labels since the last model (needs ${minLabels})` });
      continue;
    }
    const labelled = await db.select({ text: moderationLabels.text, label: moderationLabels.label }).from(moderationLabels).where(eq(moderationLabels.task, task));
    const seed = await seedRows(task === 'offensive' ? deps.config.moderation.seedOffensive : deps.config.moderation.seedSpam, task);
    const data = [...seed, ...labelled];
    if (new Set(data.map((d) => d.label)).size < 2) {
      out.push({ task, skipped: `needs examples of both classes (${data.length} rows)` });
      continue;
    }
    const outcome = await trainAndRegister(deps, task, data, { force: false });
    deps.logger.info({ task, version: outcome.version, score: outcome.score, activated: outcome.activated, note: outcome.note }, 'moderation retrain');
    out.push({ task, outcome });
  }
  return out;
}
