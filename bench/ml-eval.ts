/**
 * Offline evaluation of the text models (offensive language, comment spam, sentiment).
 *
 *   npx tsx bench/ml-eval.ts                      5-fold cross-validation on the three dev splits
 *   npx tsx bench/ml-eval.ts --task offensive|spam|sentiment --train FILE --test FILE [--format F]
 *   optional: --folds 5 --seed 7 --latency 2000 --datasets DIR (default ../shared/datasets from the repository root)
 *
 * Method
 * - Data: ../shared/datasets/ beside the repository (tweeteval-offensive, youtube-spam,
 *   tweeteval-sentiment dev.csv; see that folder's README). Never copied into the repository.
 * - Each task: stratified k-fold CV of the shipped pipeline (normaliser, hashed word 1-2 and char 2-5
 *   n-grams, tf-idf, lexicon extras, averaged-SGD logistic regression with balanced class weights;
 *   offensive: one model on the word n-grams and one on the char n-grams, probabilities averaged);
 *   on the same folds, a majority-class baseline and the lexicon-only pipeline (obscenity for
 *   offensive, spam phrases for spam, VADER for sentiment).
 * - Latency: models trained on the whole dev sets are stored as artefacts; a child process loads them
 *   (as the moderation worker loads models from storage) and scores --latency comments one at a time
 *   through offensive + spam (what the moderation job does per comment) and through all three;
 *   p50/p99 of one comment.
 * - The last line is one JSON object with every figure.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { dataFormats, readLabelled, type DataFormat, type LabelledText } from '../src/ml/text/dataset.js';
import type { EvalReport } from '../src/ml/text/metrics.js';
import { crossValidate, taskSpecs, textTasks, trainModel, trainTestEvaluate, type CrossValidation, type TextTask } from '../src/ml/text/pipeline.js';

const { values: args } = parseArgs({
  options: {
    task: { type: 'string' },
    train: { type: 'string' },
    test: { type: 'string' },
    format: { type: 'string' },
    folds: { type: 'string', default: '5' },
    seed: { type: 'string', default: '7' },
    latency: { type: 'string', default: '2000' },
    datasets: { type: 'string' },
  },
});

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const datasetsDir = args.datasets ? path.resolve(args.datasets) : path.resolve(repoRoot, '../shared/datasets');
const devFiles: Record<TextTask, { file: string; format: DataFormat }> = {
  offensive: { file: path.join(datasetsDir, 'tweeteval-offensive/dev.csv'), format: 'tweeteval' },
  spam: { file: path.join(datasetsDir, 'youtube-spam/dev.csv'), format: 'youtube-spam' },
  sentiment: { file: path.join(datasetsDir, 'tweeteval-sentiment/dev.csv'), format: 'tweeteval' },
};

const pct = (x: number): string => (100 * x).toFixed(1).padStart(5);
const seed = Number(args.seed);

function line(name: string, r: EvalReport): string {
  const perClass = r.perClass.map((c) => `${c.label} F1 ${pct(c.f1)} R ${pct(c.recall)}`).join(' | ');
  return `  ${name.padEnd(9)} acc ${pct(r.accuracy)}  macro-F1 ${pct(r.macroF1)}  macro-recall ${pct(r.macroRecall)}   ${perClass}`;
}

function figures(task: TextTask, cv: CrossValidation): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, r] of [['model', cv.model], ['lexicon', cv.lexicon], ['majority', cv.majority]] as const) {
    const round = (x: number): number => Math.round(x * 10000) / 10000;
    if (task === 'offensive') out[`${name}MacroF1`] = round(r.macroF1);
    if (task === 'spam') {
      out[`${name}Accuracy`] = round(r.accuracy);
      out[`${name}SpamF1`] = round(r.perClass[1]?.f1 ?? 0);
    }
    if (task === 'sentiment') out[`${name}MacroRecall`] = round(r.macroRecall);
  }
  return out;
}

function progress(task: string): (stage: string, done: number, total: number) => void {
  let last = -1;
  return (stage, done, total) => {
    const p = Math.floor((10 * done) / total);
    if (p !== last) {
      last = p;
      process.stdout.write(`\r  ${task}: ${stage} ${'#'.repeat(p)}${'.'.repeat(10 - p)} ${done}/${total}`);
      if (done === total) process.stdout.write('\n');
    }
  };
}

async function main(): Promise<void> {
  console.log('ml-eval: figures measured on a shared, loaded machine (2 cores, other engineers running); latency is indicative');
  const result: Record<string, unknown> = { mode: args.task ? 'train-test' : `${args.folds}-fold` };
  if (args.task) {
    const task = args.task as TextTask;
    if (!textTasks.includes(task)) throw new Error(`--task must be one of ${textTasks.join(', ')}`);
    if (!args.train || !args.test) throw new Error('--task needs --train FILE and --test FILE');
    const format = (args.format ?? devFiles[task].format) as DataFormat;
    if (!dataFormats.includes(format)) throw new Error(`--format must be one of ${dataFormats.join(', ')}`);
    const train = await readLabelled(args.train, format, taskSpecs[task].labels);
    const test = await readLabelled(args.test, format, taskSpecs[task].labels);
    console.log(`${task}: train ${train.length} rows (${args.train}), test ${test.length} rows (${args.test})`);
    const r = trainTestEvaluate(task, train, test, seed, progress(task));
    for (const [n, rep] of [['model', r.model], ['lexicon', r.lexicon], ['majority', r.majority]] as const) console.log(line(n, rep));
    result[task] = figures(task, r);
    console.log(JSON.stringify(result));
    return;
  }
  if (!existsSync(datasetsDir)) {
    console.error(`ml-eval: the datasets folder ${datasetsDir} is absent: it sits beside the repository in the development workplace (see docs/moderation.md); use --task --train --test with your own files`);
    process.exitCode = 2;
    return;
  }
  const folds = Number(args.folds);
  const data = {} as Record<TextTask, LabelledText[]>;
  for (const task of textTasks) {
    const { file, format } = devFiles[task];
    if (!existsSync(file)) {
      console.error(`ml-eval: ${file} is missing from ${datasetsDir}`);
      process.exitCode = 2;
      return;
    }
    data[task] = await readLabelled(file, format, taskSpecs[task].labels);
    const t0 = performance.now();
    console.log(`${task}: ${data[task].length} rows, ${folds}-fold stratified CV (seed ${seed})`);
    const cv = crossValidate(task, data[task], folds, seed, progress(task));
    for (const [n, rep] of [['model', cv.model], ['lexicon', cv.lexicon], ['majority', cv.majority]] as const) console.log(line(n, rep));
    console.log(`  (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    result[task] = figures(task, cv);
  }
  // Latency: the three shipped models, trained on all the dev data and stored as artefacts, score one
  // comment per call in a child process that loads them as the moderation worker does (so no
  // training state sits in its heap).
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'sf-ml-eval-'));
  let mod: { p50Ms: number; p99Ms: number };
  let all: { p50Ms: number; p99Ms: number };
  let n: number;
  try {
    const files = textTasks.map((t) => {
      const file = path.join(tmp, `${t}.json`);
      writeFileSync(file, JSON.stringify(trainModel(t, data[t], null, seed)));
      return file;
    });
    const comments = data.spam.map((d) => d.text).concat(data.offensive.map((d) => d.text));
    n = Math.min(Number(args.latency), comments.length);
    writeFileSync(path.join(tmp, 'comments.json'), JSON.stringify(comments));
    const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'bench/support/score-latency.ts'), path.join(tmp, 'comments.json'), String(n), ...files], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    ({ moderation: mod, allThree: all } = JSON.parse(out.trim().split('\n').at(-1)!) as { moderation: typeof mod; allThree: typeof all });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  console.log(`latency: one comment through the moderation models (offensive + spam): p50 ${mod.p50Ms} ms, p99 ${mod.p99Ms} ms (${n} comments)`);
  console.log(`latency: one comment through all three (offensive + spam + sentiment): p50 ${all.p50Ms} ms, p99 ${all.p99Ms} ms`);
  result.latency = { comments: n, moderation: mod, allThree: all };
  console.log(JSON.stringify(result));
}

await main();
