import { normalise, tokenize } from './normalise.js';

/**
 * Hashed bag of word and character n-grams ("the hashing trick"): no vocabulary to store or ship,
 * fixed memory, and a new word costs nothing. Character n-grams are taken inside word boundaries on
 * the normalised text, so "sh1t", "shiiit" and "shit" share most of their features.
 */
export interface FeatureConfig {
  /** log2 of the vector size. */
  bits: number;
  /** Word n-gram sizes, inclusive; null: none. */
  wordNgrams: [number, number] | null;
  /** Character n-gram sizes, inclusive; null: none. */
  charNgrams: [number, number] | null;
  /** Weight of the character n-gram block against the word block. */
  charWeight: number;
}

export const defaultFeatureConfig: FeatureConfig = { bits: 18, wordNgrams: [1, 2], charNgrams: [2, 5], charWeight: 1 };

export interface SparseVector {
  idx: Int32Array;
  val: Float32Array;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a over UTF-16 code units, 32-bit. */
export function hashString(s: string, seed = FNV_OFFSET): number {
  let h = seed | 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return h >>> 0;
}

/** Dense extra signals (lexicon hits, sentiment scores, URL counts) by name, added in their own hashed slots. */
export type Extras = Record<string, number>;

function add(map: Map<number, number>, key: number, v: number): void {
  map.set(key, (map.get(key) ?? 0) + v);
}

// The hash state after each n-gram's prefix ('w2:', 'c'), so n-grams are hashed straight from the
// words, without building their strings: the same values as hashString('w2:' + words.join(' ')).
const wordPrefix: number[] = [];
const wordSeed = (n: number): number => (wordPrefix[n] ??= hashString(`w${n}:`) | 0);
const CHAR_SEED = hashString('c') | 0;

/**
 * Raw term counts in hashed space, before weighting; `normalised` and its `words` (tokenize) may be
 * passed when already computed.
 */
export function countFeatures(text: string, cfg: FeatureConfig, normalised = normalise(text), words = tokenize(normalised)): Map<number, number> {
  const mask = (1 << cfg.bits) - 1;
  const counts = new Map<number, number>();
  if (cfg.wordNgrams) {
    const [wmin, wmax] = cfg.wordNgrams;
    for (let n = wmin; n <= wmax; n++) {
      const seed = wordSeed(n);
      for (let i = 0; i + n <= words.length; i++) {
        let h = seed;
        for (let j = i; j < i + n; j++) {
          if (j > i) h = Math.imul(h ^ 32, FNV_PRIME);
          const w = words[j] as string;
          for (let c = 0; c < w.length; c++) h = Math.imul(h ^ w.charCodeAt(c), FNV_PRIME);
        }
        add(counts, (h >>> 0) & mask, 1);
      }
    }
  }
  if (cfg.charNgrams) {
    const [cmin, cmax] = cfg.charNgrams;
    const weight = cfg.charWeight;
    for (const w of words) {
      // The word padded with a space each side: position p is ' ' at 0 and len + 1, else w[p - 1].
      const len = w.length + 2;
      for (let n = cmin; n <= cmax; n++) {
        for (let i = 0; i + n <= len; i++) {
          let h = CHAR_SEED;
          for (let p = i; p < i + n; p++) h = Math.imul(h ^ (p === 0 || p === len - 1 ? 32 : w.charCodeAt(p - 1)), FNV_PRIME);
          add(counts, (h >>> 0) & mask, weight);
        }
      }
    }
  }
  return counts;
}

const extraKeys = new Map<string, number>();
const extraKey = (name: string, mask: number): number => {
  let k = extraKeys.get(name);
  if (k === undefined) extraKeys.set(name, (k = hashString('x:' + name)));
  return k & mask;
};

/**
 * A dense block of extras (the mean word vector): `values[d]` goes in the bucket of `names[d]`, as a
 * named extra would, without building an object of a hundred keys per text.
 */
export interface DenseExtras {
  names: readonly string[];
  values: ArrayLike<number>;
}

/** Where a dense block's values land for one vector size: their distinct buckets, and each value's. */
interface DenseLayout {
  slotOf: Int32Array;
  keys: Int32Array;
  slotByKey: Map<number, number>;
}
const layouts = new WeakMap<readonly string[], Map<number, DenseLayout>>();
function layoutOf(names: readonly string[], mask: number): DenseLayout {
  let byMask = layouts.get(names);
  if (!byMask) layouts.set(names, (byMask = new Map()));
  let layout = byMask.get(mask);
  if (!layout) {
    const slotByKey = new Map<number, number>();
    const slotOf = new Int32Array(names.length);
    names.forEach((name, d) => {
      const k = extraKey(name, mask);
      let slot = slotByKey.get(k);
      if (slot === undefined) slotByKey.set(k, (slot = slotByKey.size));
      slotOf[d] = slot;
    });
    layout = { slotOf, keys: Int32Array.from(slotByKey.keys()), slotByKey };
    byMask.set(mask, layout);
  }
  return layout;
}

/** Counts -> sublinear tf (1 + log) x idf, L2-normalised; then extras (named and dense) added. */
export function vectorise(counts: Map<number, number>, cfg: FeatureConfig, idf?: Float32Array, extras?: Extras, dense?: DenseExtras): SparseVector {
  const mask = (1 << cfg.bits) - 1;
  let extraCount = 0;
  if (extras) for (const name in extras) if (extras[name] !== 0) extraCount++;
  const layout = dense ? layoutOf(dense.names, mask) : null;
  const slots = layout ? layout.keys.length : 0;
  const idx = new Int32Array(counts.size + extraCount + slots);
  const val = new Float32Array(counts.size + extraCount + slots);
  // Computed in float64 and rounded once, as before, so stored models score the same.
  const tmp = scratch.length >= counts.size ? scratch : (scratch = new Float64Array(counts.size * 2));
  let n = 0;
  let norm = 0;
  for (const [k, c] of counts) {
    const v = (1 + Math.log(c)) * (idf ? (idf[k] ?? 1) : 1);
    idx[n] = k;
    tmp[n] = v;
    norm += v * v;
    n++;
  }
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < n; i++) val[i] = (tmp[i] as number) / norm;
  // Extras are added after normalisation so a long text does not drown them. Extras sharing a
  // bucket are summed; one in an n-gram's bucket is added to it.
  const byKey = extraSums;
  byKey.clear();
  if (extras) {
    for (const name in extras) {
      const v = extras[name] as number;
      if (v === 0) continue;
      const k = extraKey(name, mask);
      byKey.set(k, (byKey.get(k) ?? 0) + v);
    }
  }
  let sums: Float64Array | null = null;
  if (layout && dense) {
    sums = denseSums.length >= slots ? denseSums : (denseSums = new Float64Array(slots * 2));
    sums.fill(0, 0, slots);
    for (let d = 0; d < layout.slotOf.length; d++) sums[layout.slotOf[d] as number] = (sums[layout.slotOf[d] as number] as number) + (dense.values[d] as number);
    for (const [k, v] of byKey) {
      const slot = layout.slotByKey.get(k);
      if (slot === undefined) continue;
      sums[slot] = (sums[slot] as number) + v;
      byKey.delete(k);
    }
  }
  if (byKey.size > 0 || sums) {
    const ngrams = n;
    for (let i = 0; i < ngrams; i++) {
      const k = idx[i] as number;
      const slot = layout?.slotByKey.get(k);
      if (slot !== undefined && sums) {
        val[i] = (val[i] as number) + (sums[slot] as number);
        sums[slot] = 0;
        continue;
      }
      const v = byKey.get(k);
      if (v === undefined) continue;
      val[i] = (val[i] as number) + v;
      byKey.delete(k);
    }
    for (const [k, v] of byKey) {
      idx[n] = k;
      val[n] = v;
      n++;
    }
    if (layout && sums) {
      for (let slot = 0; slot < slots; slot++) {
        if (sums[slot] === 0) continue;
        idx[n] = layout.keys[slot] as number;
        val[n] = sums[slot] as number;
        n++;
      }
    }
  }
  return n === idx.length ? { idx, val } : { idx: idx.subarray(0, n), val: val.subarray(0, n) };
}
let scratch = new Float64Array(1024);
let denseSums = new Float64Array(256);
const extraSums = new Map<number, number>();

/** Smoothed inverse document frequency over the training counts (as scikit-learn's smooth_idf). */
export function fitIdf(docs: Map<number, number>[], cfg: FeatureConfig): Float32Array {
  const df = new Uint32Array(1 << cfg.bits);
  for (const d of docs) for (const k of d.keys()) df[k] = (df[k] ?? 0) + 1;
  const idf = new Float32Array(1 << cfg.bits);
  const n = docs.length;
  for (let k = 0; k < idf.length; k++) idf[k] = Math.log((1 + n) / (1 + (df[k] ?? 0))) + 1;
  return idf;
}
