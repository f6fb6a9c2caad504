import type { InteractionMatrix } from './interactions.js';

/** Distinct users per item: the baseline every recommender must beat, and the last-resort fallback. */
export function popularity(m: InteractionMatrix): Float32Array {
  const out = new Float32Array(m.nItems);
  for (let i = 0; i < m.nItems; i++) out[i] = m.byItem.offsets[i + 1]! - m.byItem.offsets[i]!;
  return out;
}
