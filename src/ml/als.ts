import { rng, type InteractionMatrix } from './interactions.js';

/**
 * Implicit-feedback matrix factorisation by alternating least squares (Hu, Koren and Volinsky,
 * "Collaborative Filtering for Implicit Feedback Datasets", 2008): every unobserved pair is a weak
 * negative, an observed one a positive with confidence 1 + alpha * log(1 + weight / epsilon).
 * Each half-step solves one k x k system per user (or item) by Cholesky, using the precomputed
 * Gram matrix so the cost is O(nnz * k^2 + n * k^3) per iteration, not O(users * items).
 */
export interface AlsOptions {
  factors: number;
  iterations: number;
  regularization: number;
  alpha: number;
  epsilon: number;
  seed: number;
}

export const DEFAULT_ALS: AlsOptions = { factors: 48, iterations: 12, regularization: 0.1, alpha: 5, epsilon: 1, seed: 7 };

export interface AlsModel {
  factors: number;
  users: Float32Array;
  items: Float32Array;
}

/** Gram matrix X^T X (k x k) of n row vectors. */
function gram(x: Float32Array, n: number, k: number): Float64Array {
  const g = new Float64Array(k * k);
  for (let r = 0; r < n; r++) {
    const o = r * k;
    for (let a = 0; a < k; a++) {
      const xa = x[o + a]!;
      if (xa === 0) continue;
      for (let b = a; b < k; b++) g[a * k + b]! += xa * x[o + b]!;
    }
  }
  for (let a = 0; a < k; a++) for (let b = 0; b < a; b++) g[a * k + b] = g[b * k + a]!;
  return g;
}

/** Solve A x = b in place for symmetric positive-definite A (k x k); answers false if A is not SPD. */
function choleskySolve(a: Float64Array, b: Float64Array, k: number): boolean {
  for (let j = 0; j < k; j++) {
    let d = a[j * k + j]!;
    for (let p = 0; p < j; p++) d -= a[j * k + p]! * a[j * k + p]!;
    if (d <= 0) return false;
    const l = Math.sqrt(d);
    a[j * k + j] = l;
    for (let i = j + 1; i < k; i++) {
      let s = a[i * k + j]!;
      for (let p = 0; p < j; p++) s -= a[i * k + p]! * a[j * k + p]!;
      a[i * k + j] = s / l;
    }
  }
  for (let i = 0; i < k; i++) {
    let s = b[i]!;
    for (let p = 0; p < i; p++) s -= a[i * k + p]! * b[p]!;
    b[i] = s / a[i * k + i]!;
  }
  for (let i = k - 1; i >= 0; i--) {
    let s = b[i]!;
    for (let p = i + 1; p < k; p++) s -= a[p * k + i]! * b[p]!;
    b[i] = s / a[i * k + i]!;
  }
  return true;
}

type Rows = { offsets: Int32Array; indices: Int32Array; values: Float32Array };

/** Solve row r of `target` against the fixed side (its Gram matrix `g` precomputed); a and b are scratch. */
function solveRow(target: Float32Array, r: number, fixed: Float32Array, g: Float64Array, rows: Rows, o: AlsOptions, a: Float64Array, b: Float64Array): void {
  const k = o.factors;
  const start = rows.offsets[r]!;
  const end = rows.offsets[r + 1]!;
  if (start === end) {
    target.fill(0, r * k, r * k + k);
    return;
  }
  a.set(g);
  b.fill(0);
  for (let p = start; p < end; p++) {
    const j = rows.indices[p]!;
    const c = 1 + o.alpha * Math.log1p(rows.values[p]! / o.epsilon);
    const v = j * k;
    for (let x = 0; x < k; x++) {
      const fx = fixed[v + x]!;
      b[x]! += c * fx;
      const cf = (c - 1) * fx;
      for (let y = x; y < k; y++) a[x * k + y]! += cf * fixed[v + y]!;
    }
  }
  // Regularisation scaled by the row's count (as in implicit's ALS and Zhou et al.), then mirror.
  const lambda = o.regularization * (end - start);
  for (let x = 0; x < k; x++) {
    a[x * k + x]! += lambda;
    for (let y = 0; y < x; y++) a[x * k + y] = a[y * k + x]!;
  }
  if (!choleskySolve(a, b, k)) return;
  for (let x = 0; x < k; x++) target[r * k + x] = b[x]!;
}

/** Rows solved between two yields to the event loop: training shares its process with API requests (`social-flow start`). */
const ROWS_PER_SLICE = 128;
const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

async function halfStep(target: Float32Array, nTarget: number, fixed: Float32Array, nFixed: number, rows: Rows, o: AlsOptions): Promise<void> {
  const k = o.factors;
  const g = gram(fixed, nFixed, k);
  const a = new Float64Array(k * k);
  const b = new Float64Array(k);
  for (let r = 0; r < nTarget; r++) {
    if (r > 0 && r % ROWS_PER_SLICE === 0) await yieldToLoop();
    solveRow(target, r, fixed, g, rows, o, a, b);
  }
}

export async function trainAls(m: InteractionMatrix, opts: Partial<AlsOptions> = {}, onIteration?: (i: number, of: number) => void | Promise<void>): Promise<AlsModel> {
  const o = { ...DEFAULT_ALS, ...opts };
  const k = o.factors;
  const rand = rng(o.seed);
  const users = new Float32Array(m.nUsers * k);
  const items = new Float32Array(m.nItems * k);
  for (let i = 0; i < items.length; i++) items[i] = (rand() - 0.5) * 0.1;
  for (let it = 0; it < o.iterations; it++) {
    await halfStep(users, m.nUsers, items, m.nItems, m.byUser, o);
    await halfStep(items, m.nItems, users, m.nUsers, m.byItem, o);
    await onIteration?.(it + 1, o.iterations);
  }
  return { factors: k, users, items };
}

/** Scores of every item for a user vector (dot products). */
export function scoreVector(model: AlsModel, userVec: Float32Array, out: Float32Array): void {
  const k = model.factors;
  const n = model.items.length / k;
  for (let i = 0; i < n; i++) {
    let s = 0;
    const o = i * k;
    for (let x = 0; x < k; x++) s += userVec[x]! * model.items[o + x]!;
    out[i] = s;
  }
}

/** The item factors' Gram matrix, computed once per loaded model (fold-in runs on the request path). */
const itemGrams = new WeakMap<Float32Array, Float64Array>();

/**
 * A user vector for someone the model was not trained on (or whose history changed since): one
 * ALS half-step against the fixed item factors. This is how a new user's first likes count at once.
 */
export function foldInUser(model: AlsModel, items: number[], weights: number[], opts: Partial<AlsOptions> = {}): Float32Array {
  const o = { ...DEFAULT_ALS, ...opts, factors: model.factors };
  const k = model.factors;
  const out = new Float32Array(k);
  if (items.length === 0) return out;
  let g = itemGrams.get(model.items);
  if (!g) itemGrams.set(model.items, (g = gram(model.items, model.items.length / k, k)));
  const rows = { offsets: Int32Array.from([0, items.length]), indices: Int32Array.from(items), values: Float32Array.from(weights) };
  solveRow(out, 0, model.items, g, rows, o, new Float64Array(k * k), new Float64Array(k));
  return out;
}

export function userVector(model: AlsModel, user: number): Float32Array {
  return model.users.subarray(user * model.factors, (user + 1) * model.factors);
}

