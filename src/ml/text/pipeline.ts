import { countFeatures, defaultFeatureConfig, fitIdf, vectorise, type Extras, type FeatureConfig, type SparseVector } from './features.js';
import { lexiconValence, profanityHits, spamHits, vaderClass, vaderScores } from './lexicon.js';
import { argmax, balancedWeights, defaultTrainOptions, predictProba, trainLinear, type LinearModel, type TrainOptions } from './linear.js';
import { evaluate, majorityClass, stratifiedFolds, type EvalReport } from './metrics.js';
import { normalise } from './normalise.js';

/** The three text tasks the product trains for itself. */
export const textTasks = ['offensive', 'spam', 'sentiment'] as const;
export type TextTask = (typeof textTasks)[number];

export interface TaskSpec {
  labels: readonly string[];
  features: FeatureConfig;
  train: TrainOptions;
  /** Lexicon and shape signals added to the hashed n-grams. */
  extras: (text: string, normalised: string) => Extras;
  /**
   * Binary tasks: the probability of the positive class from which it is predicted (0.5 = argmax).
   * A hyperparameter like the others, chosen by cross-validation on the development data.
   */
  threshold?: number;
  /** Binary tasks: scale features by their naive-Bayes log-count ratio (NBSVM, Wang & Manning 2012). */
  nbWeights?: boolean;
  /** The lexicon-only decision: the fallback before any model is trained, and the baseline to beat. */
  lexicon: (text: string, normalised: string) => number;
}

function shapeExtras(text: string): Extras {
  const letters = text.replace(/[^A-Za-z]/g, '');
  const upper = letters.replace(/[^A-Z]/g, '').length;
  return { caps: letters.length > 4 ? upper / letters.length : 0, exclaim: Math.min(3, (text.match(/!/g) ?? []).length) / 3 };
}

export const taskSpecs: Record<TextTask, TaskSpec> = {
  // Hyperparameters chosen by 5-fold CV on the development splits only (docs/moderation.md).
  offensive: {
    labels: ['not-offensive', 'offensive'],
    features: defaultFeatureConfig,
    train: { ...defaultTrainOptions, lambda: 1e-4 },
    nbWeights: true,
    extras: (text, n) => ({ profanity: Math.min(2, profanityHits(text, n)), ...shapeExtras(text) }),
    lexicon: (text, n) => (profanityHits(text, n) > 0 ? 1 : 0),
  },
  spam: {
    labels: ['ham', 'spam'],
    features: defaultFeatureConfig,
    train: { ...defaultTrainOptions },
    nbWeights: true,
    extras: (text, n) => ({ spamPhrases: Math.min(3, spamHits(n)), long: Math.min(1, text.length / 300), ...shapeExtras(text) }),
    lexicon: (_text, n) => (spamHits(n) >= 2 ? 1 : 0),
  },
  sentiment: {
    labels: ['negative', 'neutral', 'positive'],
    features: defaultFeatureConfig,
    train: { ...defaultTrainOptions },
    extras: (text, n) => {
      const v = lexiconValence(n);
      return { vneg: v.neg, vpos: v.pos, vdiff: v.pos - v.neg, ...shapeExtras(text) };
    },
    lexicon: (text) => vaderClass(vaderScores(text).compound),
  },
};

/** A trained model as stored: JSON, with the float arrays as base64 so a 2^18-wide model stays a few MB. */
export interface ModelArtefact {
  format: 'social-flow/text-classifier';
  schema: 1;
  task: TextTask;
  /** Versions are sortable: ISO time of training plus a short suffix. */
  version: string;
  labels: string[];
  features: FeatureConfig;
  /** Binary tasks: decision threshold on the positive class's probability. */
  threshold?: number;
  idf: string;
  weights: string;
  bias: number[];
  trainedAt: string;
  rows: number;
  /** Cross-validated figures of this configuration on its training data, and of the lexicon on the same folds. */
  evaluation: { model: EvalReport; lexicon: EvalReport; majority: EvalReport; folds: number } | null;
}

const toB64 = (a: Float32Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
function fromB64(s: string): Float32Array {
  const buf = Buffer.from(s, 'base64');
  const copy = new Uint8Array(buf.byteLength);
  copy.set(buf);
  return new Float32Array(copy.buffer);
}

/** What the features of one text cost to compute once, reused across folds. */
interface Prepared {
  counts: Map<number, number>;
  extras: Extras;
  normalised: string;
  text: string;
}

function prepare(spec: TaskSpec, text: string): Prepared {
  const normalised = normalise(text);
  return { counts: countFeatures(text, spec.features, normalised), extras: spec.extras(text, normalised), normalised, text };
}

/** The work on one text that every model shares: its normalised form and n-gram counts per feature configuration. */
export interface SharedText {
  normalised: string;
  counts: Map<string, Map<number, number>>;
}

export function shareText(text: string): SharedText {
  return { normalised: normalise(text), counts: new Map() };
}

export interface Prediction {
  label: string;
  index: number;
  probabilities: number[];
}

/** A loaded model, ready to score. */
export class TextClassifier {
  readonly task: TextTask;
  readonly version: string;
  readonly labels: string[];
  private readonly spec: TaskSpec;
  private readonly idf: Float32Array;
  private readonly model: LinearModel;

  constructor(readonly artefact: ModelArtefact) {
    if (artefact.format !== 'social-flow/text-classifier' || artefact.schema !== 1) throw new Error('not a social-flow text classifier artefact');
    this.task = artefact.task;
    this.version = artefact.version;
    this.labels = artefact.labels;
    this.spec = { ...taskSpecs[artefact.task], features: artefact.features };
    this.idf = fromB64(artefact.idf);
    const dims = 1 << artefact.features.bits;
    this.model = { classes: artefact.labels.length, dims, weights: fromB64(artefact.weights), bias: Float64Array.from(artefact.bias) };
  }

  /** `shared` (from shareText) lets several models scoring the same text normalise and count it once. */
  predict(text: string, shared: SharedText = shareText(text)): Prediction {
    const key = JSON.stringify(this.spec.features);
    let counts = shared.counts.get(key);
    if (!counts) {
      counts = countFeatures(text, this.spec.features, shared.normalised);
      shared.counts.set(key, counts);
    }
    const extras = this.spec.extras(text, shared.normalised);
    const probabilities = predictProba(this.model, vectorise(counts, this.spec.features, this.idf, extras));
    const index = decideClass(this.artefact, probabilities);
    return { label: this.labels[index] as string, index, probabilities };
  }
}

export interface TrainProgress {
  (stage: string, done: number, total: number): void;
}

function fit(spec: TaskSpec, rows: Prepared[], y: number[], seed: number, progress?: (epoch: number, epochs: number) => void): { idf: Float32Array; model: LinearModel } {
  let idf = fitIdf(rows.map((r) => r.counts), spec.features);
  if (spec.nbWeights && spec.labels.length === 2) {
    // Supervised term weighting: each bucket's idf times 1 + |naive-Bayes log-count ratio| between
    // the classes (NBSVM's idea; the sign is left to the classifier). Folded into the idf array,
    // so a stored model needs nothing new to predict.
    const dims = 1 << spec.features.bits;
    const p = new Float64Array(dims).fill(1);
    const q = new Float64Array(dims).fill(1);
    rows.forEach((r, i) => {
      const target = y[i] === 1 ? p : q;
      for (const k of r.counts.keys()) target[k] = (target[k] as number) + 1;
    });
    let ps = 0;
    let qs = 0;
    for (let k = 0; k < dims; k++) {
      ps += p[k] as number;
      qs += q[k] as number;
    }
    const out = new Float32Array(dims);
    for (let k = 0; k < dims; k++) out[k] = (idf[k] as number) * (1 + Math.abs(Math.log((p[k] as number) / ps / ((q[k] as number) / qs))));
    idf = out;
  }
  const X: SparseVector[] = rows.map((r) => vectorise(r.counts, spec.features, idf, r.extras));
  const classes = spec.labels.length;
  const model = trainLinear(X, y, classes, 1 << spec.features.bits, { ...spec.train, seed, classWeights: balancedWeights(y, classes), onEpoch: progress });
  return { idf, model };
}

function decideClass(spec: { threshold?: number }, p: number[]): number {
  if (p.length === 2 && spec.threshold !== undefined) return (p[1] as number) >= spec.threshold ? 1 : 0;
  return argmax(p);
}

function predictWith(spec: TaskSpec, fitted: { idf: Float32Array; model: LinearModel }, r: Prepared): number {
  return decideClass(spec, predictProba(fitted.model, vectorise(r.counts, spec.features, fitted.idf, r.extras)));
}

export interface CrossValidation {
  model: EvalReport;
  lexicon: EvalReport;
  majority: EvalReport;
  folds: number;
}

/** k-fold stratified cross-validation of the model, with the lexicon and majority baselines on the same folds. */
export function crossValidate(task: TextTask, data: { text: string; label: number }[], folds: number, seed = 7, progress?: TrainProgress, spec: TaskSpec = taskSpecs[task]): CrossValidation {
  const prepared = data.map((d) => prepare(spec, d.text));
  const y = data.map((d) => d.label);
  const foldIdx = stratifiedFolds(y, folds, seed);
  const predicted = new Array<number>(y.length).fill(0);
  const majority = new Array<number>(y.length).fill(0);
  foldIdx.forEach((test, f) => {
    const inTest = new Set(test);
    const trainIdx = y.map((_, i) => i).filter((i) => !inTest.has(i));
    const fitted = fit(spec, trainIdx.map((i) => prepared[i] as Prepared), trainIdx.map((i) => y[i] as number), seed + f, (e, n) => progress?.('cross-validating', f * n + e, folds * n));
    const maj = majorityClass(trainIdx.map((i) => y[i] as number));
    for (const i of test) {
      predicted[i] = predictWith(spec, fitted, prepared[i] as Prepared);
      majority[i] = maj;
    }
  });
  const labels = [...spec.labels];
  const lexicon = prepared.map((p) => spec.lexicon(p.text, p.normalised));
  return { model: evaluate(y, predicted, labels), lexicon: evaluate(y, lexicon, labels), majority: evaluate(y, majority, labels), folds };
}

/** Train on one set, score on another: the same three figures, no folds. */
export function trainTestEvaluate(task: TextTask, train: { text: string; label: number }[], test: { text: string; label: number }[], seed = 7, progress?: TrainProgress): CrossValidation {
  const spec = taskSpecs[task];
  const tr = train.map((d) => prepare(spec, d.text));
  const y = train.map((d) => d.label);
  const fitted = fit(spec, tr, y, seed, (e, n) => progress?.('training', e, n));
  const te = test.map((d) => prepare(spec, d.text));
  const truth = test.map((d) => d.label);
  const labels = [...spec.labels];
  const maj = majorityClass(y);
  return {
    model: evaluate(truth, te.map((r) => predictWith(spec, fitted, r)), labels),
    lexicon: evaluate(truth, te.map((r) => spec.lexicon(r.text, r.normalised)), labels),
    majority: evaluate(truth, truth.map(() => maj), labels),
    folds: 0,
  };
}

/** Train the shipped model on all the data; `evaluation` (from crossValidate) is stored with it. */
export function trainModel(task: TextTask, data: { text: string; label: number }[], evaluation: CrossValidation | null, seed = 7, progress?: TrainProgress): ModelArtefact {
  const spec = taskSpecs[task];
  const rows = data.map((d) => prepare(spec, d.text));
  const fitted = fit(spec, rows, data.map((d) => d.label), seed, (e, n) => progress?.('training', e, n));
  const trainedAt = new Date();
  return {
    format: 'social-flow/text-classifier',
    schema: 1,
    task,
    version: trainedAt.toISOString().replace(/[-:.]/g, '').replace('T', '-').slice(0, 18) + Math.random().toString(36).slice(2, 6),
    labels: [...spec.labels],
    features: spec.features,
    ...(spec.threshold !== undefined ? { threshold: spec.threshold } : {}),
    idf: toB64(fitted.idf),
    weights: toB64(fitted.model.weights),
    bias: Array.from(fitted.model.bias),
    trainedAt: trainedAt.toISOString(),
    rows: data.length,
    evaluation,
  };
}

/** The figure each task is judged by (the targets): macro-F1, accuracy, macro-recall. */
export function headlineScore(task: TextTask, r: EvalReport): number {
  if (task === 'offensive') return r.macroF1;
  if (task === 'spam') return r.accuracy;
  return r.macroRecall;
}
