import { readFile } from 'node:fs/promises';
import { SingleBar } from 'cli-progress';
import type { Database } from '../../platform/db/index.js';
import type { Deps } from '../../platform/deps.js';
import { dataFormats, detectFormat, parseLabelled, type DataFormat } from '../../ml/text/dataset.js';
import type { EvalReport } from '../../ml/text/metrics.js';
import { taskSpecs, type TextTask } from '../../ml/text/pipeline.js';
import { trainAndRegister, type TrainOutcome } from './training.js';

export interface TrainCommandOptions {
  data: string;
  format?: string;
  folds?: string;
  seed?: string;
  force?: boolean;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

function reportLines(task: TextTask, name: string, r: EvalReport): string {
  const classes = r.perClass.map((c) => `${c.label} P ${pct(c.precision)} R ${pct(c.recall)} F1 ${pct(c.f1)}`).join('; ');
  return `  ${name.padEnd(8)} accuracy ${pct(r.accuracy)}, macro-F1 ${pct(r.macroF1)}, macro-recall ${pct(r.macroRecall)} (${classes})`;
}

/**
 * `social-flow ml train moderation|spam|sentiment --data FILE [--format F]`: cross-validate, train on
 * the whole file, store the versioned artefact, and activate it unless the model in use scores
 * better (or the lexicon does). Progress goes to `progress` (stderr); the report is returned.
 */
export async function mlTrainCommand(deps: Deps, task: TextTask, opts: TrainCommandOptions, progress: NodeJS.WriteStream = process.stderr): Promise<string> {
  if (opts.format !== undefined && !dataFormats.includes(opts.format as DataFormat)) throw new Error(`--format must be one of ${dataFormats.join(', ')}`);
  const folds = Number(opts.folds ?? 5);
  if (!Number.isInteger(folds) || folds < 2 || folds > 20) throw new Error('--folds must be an integer from 2 to 20');
  const content = await readFile(opts.data, 'utf8');
  const format = (opts.format as DataFormat | undefined) ?? detectFormat(content);
  const data = parseLabelled(content, format, taskSpecs[task].labels);
  const bar = new SingleBar({ format: `${task} {stage} [{bar}] {percentage}% {value}/{total}`, stream: progress, noTTYOutput: !progress.isTTY, notTTYSchedule: 5000, hideCursor: true });
  let stage = '';
  const onProgress = (s: string, done: number, total: number) => {
    if (s !== stage) {
      if (stage) bar.stop();
      stage = s;
      bar.start(total, 0, { stage: s.padEnd(16) });
    }
    bar.update(done, { stage: s.padEnd(16) });
  };
  let outcome: TrainOutcome;
  try {
    outcome = await trainAndRegister(deps, task, data, { folds, seed: opts.seed ? Number(opts.seed) : undefined, force: opts.force, progress: onProgress });
  } finally {
    if (stage) bar.stop();
  }
  const e = outcome.evaluation;
  return [
    `${task}: ${outcome.rows} rows from ${opts.data} (format ${format}), ${e.folds}-fold stratified cross-validation:`,
    reportLines(task, 'model', e.model),
    reportLines(task, 'lexicon', e.lexicon),
    reportLines(task, 'majority', e.majority),
    `model ${outcome.version} stored (${outcome.activated ? 'now in use' : outcome.note}); previous: ${outcome.previousVersion ?? 'none (lexicon fallback)'}`,
  ].join('\n');
}

/** The doctor's line about the text models: which are trained, and where the lexicon fallback is in use. */
export async function modelsStatus(database: Database): Promise<{ ok: boolean; detail: string }> {
  const { rows } = await database.query<{ task: string; version: string; score: number }>('select task, version, score from ml_models where active');
  const active = new Map(rows.map((r) => [r.task, r]));
  const parts = (['offensive', 'spam', 'sentiment'] as const).map((t) => {
    const m = active.get(t);
    return m ? `${t} ${m.version} (${pct(m.score)})` : `${t}: no trained model, lexicon fallback in use`;
  });
  return { ok: active.size === 3, detail: parts.join('; ') };
}
