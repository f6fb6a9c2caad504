import { rowOf, type InteractionMatrix } from './interactions.js';

/**
 * Item-item co-visitation: two items are neighbours when the same people engaged with both.
 * The similarity is the co-occurrence count normalised by the items' popularity,
 * c(i, j) / (n_i^a * n_j^(1-a)) (a = 0.5 is cosine; a larger `asymmetry` damps popular targets),
 * with each user's contribution damped by the length of their history (a user who watched
 * everything says little about any pair). Only the `neighbours` best per item are kept, so the
 * model is O(items * neighbours) whatever the catalogue size.
 */
export interface ItemKnnOptions {
  neighbours: number;
  asymmetry: number;
  /** Exponent on 1 / |history| for a user's weight in the counts (0 = plain counts). */
  userDamping: number;
  /** Histories longer than this are sampled down to their latest entries (bounds the O(n^2) pairs). */
  maxHistory: number;
}

export const DEFAULT_ITEM_KNN: ItemKnnOptions = { neighbours: 100, asymmetry: 0.5, userDamping: 0.5, maxHistory: 500 };

export interface ItemKnnModel {
  nItems: number;
  neighbours: number;
  /** For item i: ids[i*neighbours ..] (-1 past the end) and their similarities. */
  ids: Int32Array;
  sims: Float32Array;
}

export async function trainItemKnn(m: InteractionMatrix, opts: Partial<ItemKnnOptions> = {}): Promise<ItemKnnModel> {
  const o = { ...DEFAULT_ITEM_KNN, ...opts };
  const n = m.nItems;
  const counts = new Float64Array(n);
  for (let i = 0; i < n; i++) counts[i] = m.byItem.offsets[i + 1]! - m.byItem.offsets[i]!;
  // Dense pair counts while they fit (small catalogues, the benchmark), sparse maps beyond.
  const dense = n * n <= 16_000_000 ? new Float32Array(n * n) : null;
  const sparse = dense ? null : Array.from({ length: n }, () => new Map<number, number>());
  for (let u = 0; u < m.nUsers; u++) {
    let { indices, times } = rowOf(m.byUser, u);
    if (indices.length < 2) continue;
    if (indices.length > o.maxHistory) {
      const order = [...indices.keys()].sort((a, b) => times[b]! - times[a]!).slice(0, o.maxHistory);
      indices = Int32Array.from(order.map((p) => indices[p]!));
      times = Float64Array.from(order.map((p) => times[p]!));
    }
    const w = 1 / Math.pow(indices.length, o.userDamping);
    for (let a = 0; a < indices.length; a++) {
      const i = indices[a]!;
      for (let b = a + 1; b < indices.length; b++) {
        const j = indices[b]!;
        if (dense) {
          dense[i * n + j]! += w;
          dense[j * n + i]! += w;
        } else {
          sparse![i]!.set(j, (sparse![i]!.get(j) ?? 0) + w);
          sparse![j]!.set(i, (sparse![j]!.get(i) ?? 0) + w);
        }
      }
    }
    if (u % 200 === 0) await new Promise((r) => setImmediate(r));
  }
  const K = o.neighbours;
  const ids = new Int32Array(n * K).fill(-1);
  const sims = new Float32Array(n * K);
  const cand: { j: number; s: number }[] = [];
  for (let i = 0; i < n; i++) {
    if (i % 64 === 63) await new Promise((r) => setImmediate(r));
    cand.length = 0;
    const push = (j: number, c: number) => {
      if (c > 0 && j !== i) cand.push({ j, s: c / (Math.pow(counts[i]!, o.asymmetry) * Math.pow(counts[j]!, 1 - o.asymmetry)) });
    };
    if (dense) for (let j = 0; j < n; j++) push(j, dense[i * n + j]!);
    else for (const [j, c] of sparse![i]!) push(j, c);
    cand.sort((a, b) => b.s - a.s);
    for (let p = 0; p < Math.min(K, cand.length); p++) {
      ids[i * K + p] = cand[p]!.j;
      sims[i * K + p] = cand[p]!.s;
    }
  }
  return { nItems: n, neighbours: K, ids, sims };
}

/**
 * Scores of every item given a history (item indices with weights, e.g. recency-decayed):
 * sum over history items of weight * similarity to each neighbour.
 */
export function scoreItemKnn(model: ItemKnnModel, history: { item: number; weight: number }[], out: Float32Array): void {
  out.fill(0);
  const K = model.neighbours;
  for (const h of history) {
    if (h.item < 0 || h.item >= model.nItems) continue;
    for (let p = 0; p < K; p++) {
      const j = model.ids[h.item * K + p]!;
      if (j < 0) break;
      out[j]! += h.weight * model.sims[h.item * K + p]!;
    }
  }
}
