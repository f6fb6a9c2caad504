import { countFeatures, defaultFeatureConfig, fitIdf, vectorise, type DenseExtras, type Extras, type FeatureConfig, type SparseVector } from './features.js';
import { lexiconValence, profanityHits, spamHits, vaderClass, vaderScores } from './lexicon.js';
import { argmax, balancedWeights, defaultTrainOptions, predictProba, trainLinear, type LinearModel, type TrainOptions } from './linear.js';
import { evaluate, majorityClass, stratifiedFolds, type EvalReport } from './metrics.js';
import { COMMON_WORDS, pretrainedVectors, VECTORS_SOURCE, WordVectors, type StoredVectors } from './embeddings.js';
import { normalise, tokenize } from './normalise.js';

/** The three text tasks the product trains for itself. */
export const textTasks = ['offensive', 'spam', 'sentiment'] as const;
export type TextTask = (typeof textTasks)[number];

export interface TaskSpec {
  labels: readonly string[];
  /**
   * One linear model per feature configuration, their probabilities averaged (one entry: a single
   * model). Offensive keeps words and characters apart: each block gets its own tf-idf
   * normalisation, naive-Bayes weighting and weights, so the hundreds of character n-grams of a
   * tweet no longer drown its few word n-grams in one L2 norm.
   */
  features: FeatureConfig[];
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
  /**
   * Add the mean pre-trained word vector of the text (src/ml/text/embeddings.ts) to every part's
   * features, at this weight. The model keeps the vectors of its training words and of the
   * COMMON_WORDS most frequent ones.
   */
  wordVectors?: { scale: number };
}

/** Capitals among ASCII letters (texts of more than four letters) and `!` count (up to 3), in one pass. */
function shapeExtras(text: string): { caps: number; exclaim: number } {
  let letters = 0;
  let upper = 0;
  let bangs = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 65 && c <= 90) {
      letters++;
      upper++;
    } else if (c >= 97 && c <= 122) letters++;
    else if (c === 33) bangs++;
  }
  return { caps: letters > 4 ? upper / letters : 0, exclaim: Math.min(3, bangs) / 3 };
}

const wordFeatures: FeatureConfig = { ...defaultFeatureConfig, charNgrams: null };
const charFeatures: FeatureConfig = { ...defaultFeatureConfig, wordNgrams: null };

export const taskSpecs: Record<TextTask, TaskSpec> = {
  // Hyperparameters chosen by 5-fold CV on the development splits only (docs/moderation.md).
  offensive: {
    labels: ['not-offensive', 'offensive'],
    features: [wordFeatures, charFeatures],
    train: { ...defaultTrainOptions, lambda: 1e-4 },
    nbWeights: true,
    wordVectors: { scale: 1 },
    extras: (text, n) => {
      // VADER's word valences: insults are mostly strongly negative words obscenity does not list.
      const v = lexiconValence(n);
      const shape = shapeExtras(text);
      return { profanity: Math.min(2, profanityHits(text, n)), caps: shape.caps, exclaim: shape.exclaim, vneg: v.neg, vpos: v.pos };
    },
    lexicon: (text, n) => (profanityHits(text, n) > 0 ? 1 : 0),
  },
  spam: {
    labels: ['ham', 'spam'],
    features: [defaultFeatureConfig],
    train: { ...defaultTrainOptions },
    nbWeights: true,
    extras: (text, n) => ({ spamPhrases: Math.min(3, spamHits(n)), long: Math.min(1, text.length / 300), ...shapeExtras(text) }),
    lexicon: (_text, n) => (spamHits(n) >= 2 ? 1 : 0),
  },
  sentiment: {
    labels: ['negative', 'neutral', 'positive'],
    features: [defaultFeatureConfig],
    train: { ...defaultTrainOptions },
    extras: (text, n) => {
      const v = lexiconValence(n);
      return { vneg: v.neg, vpos: v.pos, vdiff: v.pos - v.neg, ...shapeExtras(text) };
    },
    lexicon: (text) => vaderClass(vaderScores(text).compound),
  },
};

/** One linear model of an artefact: its feature configuration, idf (NB-scaled for binary tasks) and weights. */
export interface ModelPart {
  features: FeatureConfig;
  idf: string;
  weights: string;
  bias: number[];
}

/**
 * A trained model as stored: JSON, with the float arrays as base64 so a 2^18-wide model stays a few
 * MB per part. Schema 2 holds `parts` (an ensemble averaged at scoring); schema 1 (one model, its
 * fields at the top level) is still read, so models trained before keep working.
 */
export interface ModelArtefact {
  format: 'social-flow/text-classifier';
  schema: 1 | 2;
  task: TextTask;
  /** Versions are sortable: ISO time of training plus a short suffix. */
  version: string;
  labels: string[];
  /** Schema 2. */
  parts?: ModelPart[];
  /** Schema 1 only: the single part. */
  features?: FeatureConfig;
  idf?: string;
  weights?: string;
  bias?: number[];
  /** Binary tasks: decision threshold on the positive class's probability. */
  threshold?: number;
  /** The word vectors the model was trained with (its spec's wordVectors), and their weight. */
  vectors?: StoredVectors & { scale: number };
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

/** What the features of one text cost to compute once, reused across folds: counts per part. */
interface Prepared {
  counts: Map<number, number>[];
  extras: Extras;
  normalised: string;
  text: string;
  /** Word tokens of the normalised text: the n-grams' words, and the word vectors'. */
  tokens: string[];
}

function prepare(spec: TaskSpec, text: string): Prepared {
  const normalised = normalise(text);
  const tokens = tokenize(normalised);
  return {
    counts: spec.features.map((f) => countFeatures(text, f, normalised, tokens)),
    extras: spec.extras(text, normalised),
    normalised,
    text,
    tokens,
  };
}

/** The work on one text that every model shares: its normalised form and n-gram counts per feature configuration. */
export interface SharedText {
  normalised: string;
  /** Word tokens of `normalised`, tokenized once for every configuration and the word vectors. */
  tokens: string[];
  counts: Map<string, Map<number, number>>;
}

export function shareText(text: string): SharedText {
  const normalised = normalise(text);
  return { normalised, tokens: tokenize(normalised), counts: new Map() };
}

export interface Prediction {
  label: string;
  index: number;
  probabilities: number[];
}

/** A feature configuration with its SharedText cache key, made once (not per text). */
interface Keyed {
  features: FeatureConfig;
  key: string;
}

interface LoadedPart extends Keyed {
  /** A configuration with both word and character n-grams: its two blocks, counted (and shared) apart. */
  blocks: [Keyed, Keyed] | null;
  idf: Float32Array;
  model: LinearModel;
}

const keyed = (features: FeatureConfig): Keyed => ({ features, key: JSON.stringify(features) });

/**
 * The counts of one configuration, from the shared cache when another model already made them.
 * A words + characters configuration is the sum of its word block and its character block (the
 * same map, entry for entry, as counting it in one go when charWeight is whole), so the offensive
 * ensemble's two parts and the spam model's single one count each n-gram once between them.
 */
function sharedCounts(shared: SharedText, text: string, k: Keyed, blocks: [Keyed, Keyed] | null): Map<number, number> {
  let counts = shared.counts.get(k.key);
  if (counts) return counts;
  if (blocks) {
    const [w, c] = blocks;
    counts = new Map(sharedCounts(shared, text, w, null));
    for (const [key, v] of sharedCounts(shared, text, c, null)) counts.set(key, (counts.get(key) ?? 0) + v);
  } else counts = countFeatures(text, k.features, shared.normalised, shared.tokens);
  shared.counts.set(k.key, counts);
  return counts;
}

/** A loaded model, ready to score. */
export class TextClassifier {
  readonly task: TextTask;
  readonly version: string;
  readonly labels: string[];
  private readonly spec: TaskSpec;
  private readonly parts: LoadedPart[];
  private readonly vectors: { table: WordVectors; scale: number; buffer: Float64Array } | null;

  constructor(readonly artefact: ModelArtefact) {
    if (artefact.format !== 'social-flow/text-classifier' || (artefact.schema !== 1 && artefact.schema !== 2)) throw new Error('not a social-flow text classifier artefact');
    this.task = artefact.task;
    this.version = artefact.version;
    this.labels = artefact.labels;
    this.spec = taskSpecs[artefact.task];
    const stored: ModelPart[] = artefact.schema === 2 ? (artefact.parts ?? []) : [{ features: artefact.features!, idf: artefact.idf!, weights: artefact.weights!, bias: artefact.bias! }];
    if (stored.length === 0) throw new Error('not a social-flow text classifier artefact: no model parts');
    this.parts = stored.map((p) => ({
      ...keyed(p.features),
      blocks:
        p.features.wordNgrams && p.features.charNgrams && Number.isInteger(p.features.charWeight)
          ? [keyed({ ...p.features, charNgrams: null }), keyed({ ...p.features, wordNgrams: null })]
          : null,
      idf: fromB64(p.idf),
      model: { classes: artefact.labels.length, dims: 1 << p.features.bits, weights: fromB64(p.weights), bias: Float64Array.from(p.bias) },
    }));
    // Whether to add word vectors is the artefact's: a model trained before they existed scores as trained.
    this.vectors = artefact.vectors ? { table: WordVectors.fromStored(artefact.vectors), scale: artefact.vectors.scale, buffer: new Float64Array(artefact.vectors.dims) } : null;
  }

  /** `shared` (from shareText) lets several models scoring the same text normalise and count it once. */
  predict(text: string, shared: SharedText = shareText(text)): Prediction {
    const extras = this.spec.extras(text, shared.normalised);
    const dense = this.vectors ? this.vectors.table.mean(shared.tokens, this.vectors.scale, this.vectors.buffer) : null;
    let probabilities: number[] | undefined;
    for (const part of this.parts) {
      const counts = sharedCounts(shared, text, part, part.blocks);
      const p = predictProba(part.model, vectorise(counts, part.features, part.idf, extras, dense ?? undefined));
      if (!probabilities) probabilities = p;
      else for (let k = 0; k < p.length; k++) probabilities[k] = (probabilities[k] as number) + (p[k] as number);
    }
    const probs = probabilities!;
    if (this.parts.length > 1) for (let k = 0; k < probs.length; k++) probs[k] = (probs[k] as number) / this.parts.length;
    const index = decideClass(this.artefact, probs);
    return { label: this.labels[index] as string, index, probabilities: probs };
  }
}

export interface TrainProgress {
  (stage: string, done: number, total: number): void;
}

interface FittedPart {
  features: FeatureConfig;
  idf: Float32Array;
  model: LinearModel;
}

/** Every part of a fit, and the word vectors its rows' extras were taken with. */
interface Fitted {
  parts: FittedPart[];
  vectors: WordVectors | null;
}

/** A row's mean word vector when the fit has vectors (undefined: none, or no known word). */
function denseOf(spec: TaskSpec, vectors: WordVectors | null, r: Prepared): DenseExtras | undefined {
  if (!vectors) return undefined;
  return vectors.mean(r.tokens, spec.wordVectors?.scale ?? 1) ?? undefined;
}

/** One part: tf-idf (NB-scaled for binary tasks) and a logistic regression on its feature block. */
function fitPart(spec: TaskSpec, part: number, rows: Prepared[], dense: (DenseExtras | undefined)[], y: number[], seed: number, progress?: (epoch: number, epochs: number) => void): FittedPart {
  const features = spec.features[part] as FeatureConfig;
  const counts = rows.map((r) => r.counts[part] as Map<number, number>);
  let idf = fitIdf(counts, features);
  if (spec.nbWeights && spec.labels.length === 2) {
    // Supervised term weighting: each bucket's idf times 1 + |naive-Bayes log-count ratio| between
    // the classes (NBSVM's idea; the sign is left to the classifier). Folded into the idf array,
    // so a stored model needs nothing new to predict.
    const dims = 1 << features.bits;
    const p = new Float64Array(dims).fill(1);
    const q = new Float64Array(dims).fill(1);
    counts.forEach((c, i) => {
      const target = y[i] === 1 ? p : q;
      for (const k of c.keys()) target[k] = (target[k] as number) + 1;
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
  const X: SparseVector[] = rows.map((r, i) => vectorise(counts[i] as Map<number, number>, features, idf, r.extras, dense[i]));
  const classes = spec.labels.length;
  const model = trainLinear(X, y, classes, 1 << features.bits, { ...spec.train, seed, classWeights: balancedWeights(y, classes), onEpoch: progress });
  return { features, idf, model };
}

/**
 * Train every part. With word vectors, the fit keeps the rows of its own training words and of the
 * most frequent words (what a stored model carries), and scores held-out texts with only those, so
 * cross-validation sees what the shipped model will.
 */
function fit(spec: TaskSpec, rows: Prepared[], y: number[], seed: number, progress?: (epoch: number, epochs: number) => void): Fitted {
  let vectors: WordVectors | null = null;
  if (spec.wordVectors) {
    const words = new Set<string>();
    for (const r of rows) for (const t of r.tokens) words.add(t);
    vectors = pretrainedVectors().subset(words, COMMON_WORDS);
  }
  const dense = rows.map((r) => denseOf(spec, vectors, r));
  const n = spec.features.length;
  const parts = spec.features.map((_, part) => fitPart(spec, part, rows, dense, y, seed + 1000 * part, progress && ((e, epochs) => progress(part * epochs + e, n * epochs))));
  return { parts, vectors };
}

function decideClass(spec: { threshold?: number }, p: number[]): number {
  if (p.length === 2 && spec.threshold !== undefined) return (p[1] as number) >= spec.threshold ? 1 : 0;
  return argmax(p);
}

/** The parts' probabilities averaged. */
function probabilitiesOf(spec: TaskSpec, fitted: Fitted, r: Prepared): number[] {
  const dense = denseOf(spec, fitted.vectors, r);
  let out: number[] | undefined;
  fitted.parts.forEach((f, part) => {
    const p = predictProba(f.model, vectorise(r.counts[part] as Map<number, number>, f.features, f.idf, r.extras, dense));
    if (!out) out = p;
    else for (let k = 0; k < p.length; k++) out[k] = (out[k] as number) + (p[k] as number);
  });
  return out!.map((x) => x / fitted.parts.length);
}

function predictWith(spec: TaskSpec, fitted: Fitted, r: Prepared): number {
  return decideClass(spec, probabilitiesOf(spec, fitted, r));
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
    schema: 2,
    task,
    version: trainedAt.toISOString().replace(/[-:.]/g, '').replace('T', '-').slice(0, 18) + Math.random().toString(36).slice(2, 6),
    labels: [...spec.labels],
    parts: fitted.parts.map((f) => ({ features: f.features, idf: toB64(f.idf), weights: toB64(f.model.weights), bias: Array.from(f.model.bias) })),
    ...(spec.threshold !== undefined ? { threshold: spec.threshold } : {}),
    ...(fitted.vectors ? { vectors: { ...fitted.vectors.toStored(VECTORS_SOURCE), scale: spec.wordVectors?.scale ?? 1 } } : {}),
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
