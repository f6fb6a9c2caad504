/** Indices of the k best scores, best first, skipping `exclude` (already seen items). */
export function topK(scores: Float32Array, k: number, exclude?: Set<number>): number[] {
  const best: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    if (exclude?.has(i)) continue;
    const s = scores[i]!;
    if (best.length === k && s <= scores[best[k - 1]!]!) continue;
    let p: number;
    if (best.length < k) {
      best.push(i);
      p = best.length - 1;
    } else p = k - 1;
    while (p > 0 && scores[best[p - 1]!]! < s) {
      best[p] = best[p - 1]!;
      p--;
    }
    best[p] = i;
  }
  return best;
}

/** Hit rate and NDCG at k for one held-out item: 1 and 1/log2(rank+2) when it is in the list. */
export function hitAndNdcg(ranked: number[], heldOut: number): { hit: number; ndcg: number } {
  const r = ranked.indexOf(heldOut);
  return r < 0 ? { hit: 0, ndcg: 0 } : { hit: 1, ndcg: 1 / Math.log2(r + 2) };
}
