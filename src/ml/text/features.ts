import { normalise, tokenize } from './normalise.js';

/**
 * Hashed bag of word and character n-grams ("the hashing trick"): no vocabulary to store or ship,
 * fixed memory, and a new word costs nothing. Character n-grams are taken inside word boundaries on
 * the normalised text, so "sh1t", "shiiit" and "shit" share most of their features.
 */
export interface FeatureConfig {
  /** log2 of the vector size. */
  bits: number;
  wordNgrams: [number, number];
  charNgrams: [number, number];
  /** Weight of the character n-gram block against the word block. */
  charWeight: number;
}

export const defaultFeatureConfig: FeatureConfig = { bits: 18, wordNgrams: [1, 2], charNgrams: [2, 5], charWeight: 1 };

export interface SparseVector {
  idx: Int32Array;
  val: Float32Array;
}

/** FNV-1a over UTF-16 code units, 32-bit. */
export function hashString(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Dense extra signals (lexicon hits, sentiment scores, URL counts) by name, added in their own hashed slots. */
export type Extras = Record<string, number>;

function add(map: Map<number, number>, key: number, v: number): void {
  map.set(key, (map.get(key) ?? 0) + v);
}

/** Raw term counts in hashed space, before weighting; `normalised` may be passed when already computed. */
export function countFeatures(text: string, cfg: FeatureConfig, normalised = normalise(text)): Map<number, number> {
  const mask = (1 << cfg.bits) - 1;
  const counts = new Map<number, number>();
  const words = tokenize(normalised);
  const [wmin, wmax] = cfg.wordNgrams;
  for (let n = wmin; n <= wmax; n++) {
    for (let i = 0; i + n <= words.length; i++) {
      add(counts, hashString('w' + n + ':' + words.slice(i, i + n).join(' ')) & mask, 1);
    }
  }
  const [cmin, cmax] = cfg.charNgrams;
  for (const w of words) {
    const padded = ' ' + w + ' ';
    for (let n = cmin; n <= cmax; n++) {
      for (let i = 0; i + n <= padded.length; i++) add(counts, hashString('c' + padded.slice(i, i + n)) & mask, cfg.charWeight);
    }
  }
  return counts;
}

/** Counts -> sublinear tf (1 + log) x idf, extras appended, L2-normalised. */
export function vectorise(counts: Map<number, number>, cfg: FeatureConfig, idf?: Float32Array, extras?: Extras): SparseVector {
  const mask = (1 << cfg.bits) - 1;
  const entries = new Map<number, number>();
  for (const [k, c] of counts) entries.set(k, (1 + Math.log(c)) * (idf ? (idf[k] ?? 1) : 1));
  let norm = 0;
  for (const v of entries.values()) norm += v * v;
  norm = Math.sqrt(norm) || 1;
  for (const [k, v] of entries) entries.set(k, v / norm);
  // Extras are added after normalisation so a long text does not drown them.
  if (extras) for (const [name, v] of Object.entries(extras)) if (v !== 0) add(entries, hashString('x:' + name) & mask, v);
  const idx = new Int32Array(entries.size);
  const val = new Float32Array(entries.size);
  let i = 0;
  for (const [k, v] of entries) {
    idx[i] = k;
    val[i] = v;
    i++;
  }
  return { idx, val };
}

/** Smoothed inverse document frequency over the training counts (as scikit-learn's smooth_idf). */
export function fitIdf(docs: Map<number, number>[], cfg: FeatureConfig): Float32Array {
  const df = new Uint32Array(1 << cfg.bits);
  for (const d of docs) for (const k of d.keys()) df[k] = (df[k] ?? 0) + 1;
  const idf = new Float32Array(1 << cfg.bits);
  const n = docs.length;
  for (let k = 0; k < idf.length; k++) idf[k] = Math.log((1 + n) / (1 + (df[k] ?? 0))) + 1;
  return idf;
}
