import { foldInUser, scoreVector, trainAls, userVector, DEFAULT_ALS, type AlsModel, type AlsOptions } from './als.js';
import { rowOf, type InteractionMatrix } from './interactions.js';
import { scoreItemKnn, trainItemKnn, DEFAULT_ITEM_KNN, type ItemKnnModel, type ItemKnnOptions } from './item-knn.js';
import { popularity } from './popularity.js';

/**
 * The collaborative part of the recommender, shared by the product (src/modules/recommendations)
 * and bench/recsys-eval.ts so the benchmark scores the code that ships: implicit ALS and item
 * co-visitation, each normalised per user and blended with a little popularity. Item co-visitation
 * reads the user's history with recency weights, so the most recent engagements steer "what next".
 */
export interface BlendWeights {
  mf: number;
  covisit: number;
  popularity: number;
  /** History items back from the latest at which a co-visitation vote counts half. */
  recencyHalfLife: number;
}

export interface RecommenderOptions {
  als: AlsOptions;
  itemKnn: ItemKnnOptions;
  blend: BlendWeights;
}

export const DEFAULT_BLEND: BlendWeights = { mf: 1, covisit: 2, popularity: 0.05, recencyHalfLife: 5 };
export const DEFAULT_RECOMMENDER: RecommenderOptions = { als: DEFAULT_ALS, itemKnn: DEFAULT_ITEM_KNN, blend: DEFAULT_BLEND };

export interface CollaborativeModel {
  options: RecommenderOptions;
  nUsers: number;
  nItems: number;
  als: AlsModel;
  knn: ItemKnnModel;
  popularity: Float32Array;
}

export type TrainProgress = (step: string, done: number, of: number) => void | Promise<void>;

export async function trainCollaborative(m: InteractionMatrix, opts: Partial<{ als: Partial<AlsOptions>; itemKnn: Partial<ItemKnnOptions>; blend: Partial<BlendWeights> }> = {}, progress?: TrainProgress): Promise<CollaborativeModel> {
  const options: RecommenderOptions = {
    als: { ...DEFAULT_ALS, ...opts.als },
    itemKnn: { ...DEFAULT_ITEM_KNN, ...opts.itemKnn },
    blend: { ...DEFAULT_BLEND, ...opts.blend },
  };
  const steps = options.als.iterations + 1;
  const als = await trainAls(m, options.als, (i) => progress?.('matrix factorisation', i, steps));
  const knn = await trainItemKnn(m, options.itemKnn);
  await progress?.('co-visitation', steps, steps);
  return { options, nUsers: m.nUsers, nItems: m.nItems, als, knn, popularity: popularity(m) };
}

export interface History {
  items: number[];
  weights: number[];
  /** Same order as items; larger is more recent. */
  times: number[];
}

export function historyOf(m: InteractionMatrix, user: number): History {
  const r = rowOf(m.byUser, user);
  return { items: [...r.indices], weights: [...r.values], times: [...r.times] };
}

function normaliseInto(acc: Float32Array, s: Float32Array, weight: number): void {
  if (weight === 0) return;
  let max = 0;
  for (let i = 0; i < s.length; i++) if (s[i]! > max) max = s[i]!;
  if (max <= 0) return;
  const f = weight / max;
  for (let i = 0; i < s.length; i++) acc[i]! += s[i]! * f;
}

/** Components kept apart so the product can explain and re-weight them (candidate sources). */
export interface ScoreParts {
  mf: Float32Array;
  covisit: Float32Array;
  blended: Float32Array;
}

/**
 * Scores of every item for one user. `user` is the trained row when the user was in the training
 * data; the history (possibly newer than the model) is folded in when it is not.
 */
export function scoreUser(model: CollaborativeModel, user: number | null, history: History): ScoreParts {
  const n = model.nItems;
  const b = model.options.blend;
  const mf = new Float32Array(n);
  const covisit = new Float32Array(n);
  const blended = new Float32Array(n);
  if (history.items.length > 0 || user !== null) {
    const vec = user !== null && user < model.nUsers ? userVector(model.als, user) : foldInUser(model.als, history.items, history.weights, model.options.als);
    scoreVector(model.als, vec, mf);
  }
  const order = history.items.map((_, p) => p).sort((x, y) => history.times[y]! - history.times[x]!);
  const recent = order.map((p, rank) => ({ item: history.items[p]!, weight: Math.pow(0.5, rank / b.recencyHalfLife) }));
  scoreItemKnn(model.knn, recent, covisit);
  normaliseInto(blended, mf, b.mf);
  normaliseInto(blended, covisit, b.covisit);
  normaliseInto(blended, model.popularity, b.popularity);
  return { mf, covisit, blended };
}
