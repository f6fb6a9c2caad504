import { mulberry32 } from './random.js';

/**
 * Implicit feedback as a sparse user x item matrix (CSR, both directions), the input of every
 * model in this folder. Users and items are dense indices 0..n-1; callers keep the mapping from
 * their own ids (UUIDs in the product, MovieLens ids in bench/recsys-eval).
 */
export interface Interaction {
  user: number;
  item: number;
  /** Strength of the signal (a like counts more than a view); summed when a pair repeats. */
  weight: number;
  /** Seconds or ms: only the order matters (recency weighting of a user's history). */
  at: number;
}

export interface Csr {
  /** Row r's entries are indices[offsets[r]..offsets[r+1]). */
  offsets: Int32Array;
  indices: Int32Array;
  values: Float32Array;
  /** Latest time of each entry (same layout as values). */
  times: Float64Array;
}

export interface InteractionMatrix {
  nUsers: number;
  nItems: number;
  byUser: Csr;
  byItem: Csr;
}

function toCsr(nRows: number, rows: number[], cols: number[], vals: number[], times: number[]): Csr {
  const offsets = new Int32Array(nRows + 1);
  for (const r of rows) offsets[r + 1]!++;
  for (let r = 0; r < nRows; r++) offsets[r + 1]! += offsets[r]!;
  const fill = offsets.slice(0, nRows);
  const indices = new Int32Array(rows.length);
  const values = new Float32Array(rows.length);
  const ts = new Float64Array(rows.length);
  for (let k = 0; k < rows.length; k++) {
    const at = fill[rows[k]!]!++;
    indices[at] = cols[k]!;
    values[at] = vals[k]!;
    ts[at] = times[k]!;
  }
  return { offsets, indices, values, times: ts };
}

/** Merge repeated (user, item) pairs (weights add, latest time wins) and index both ways. */
export function buildMatrix(nUsers: number, nItems: number, interactions: Iterable<Interaction>): InteractionMatrix {
  const merged = new Map<number, { w: number; at: number }>();
  for (const x of interactions) {
    if (x.user < 0 || x.user >= nUsers || x.item < 0 || x.item >= nItems || !(x.weight > 0)) continue;
    const key = x.user * nItems + x.item;
    const m = merged.get(key);
    if (m) {
      m.w += x.weight;
      if (x.at > m.at) m.at = x.at;
    } else merged.set(key, { w: x.weight, at: x.at });
  }
  const us: number[] = [];
  const is: number[] = [];
  const ws: number[] = [];
  const ts: number[] = [];
  for (const [key, m] of merged) {
    us.push(Math.floor(key / nItems));
    is.push(key % nItems);
    ws.push(m.w);
    ts.push(m.at);
  }
  return { nUsers, nItems, byUser: toCsr(nUsers, us, is, ws, ts), byItem: toCsr(nItems, is, us, ws, ts) };
}

export function rowOf(csr: Csr, r: number): { indices: Int32Array; values: Float32Array; times: Float64Array } {
  const a = csr.offsets[r]!;
  const b = csr.offsets[r + 1]!;
  return { indices: csr.indices.subarray(a, b), values: csr.values.subarray(a, b), times: csr.times.subarray(a, b) };
}

/** Small, seedable PRNG (mulberry32): training is reproducible for a given seed. */
export const rng = mulberry32;
