import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { COMMON_WORDS, pretrainedVectors, readVectorsFile, VECTORS_SOURCE, WordVectors, writeVectorsFile } from '../../src/ml/text/embeddings.js';
import { countFeatures, defaultFeatureConfig, vectorise } from '../../src/ml/text/features.js';
import { TextClassifier, trainModel, type ModelArtefact } from '../../src/ml/text/pipeline.js';
import { offensiveData } from './support.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'sf-vectors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const small = (): WordVectors =>
  WordVectors.quantise(3, ['good', 'bad', 'fine', 'awful'], (i) => [
    [1, 0.5, 0],
    [-1, 0, 0.25],
    [0.8, 0.4, 0.1],
    [-0.9, -0.1, 0.3],
  ][i]!);

const cosine = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
};

describe('word vectors', () => {
  it('quantise to int8 closely, average known words (L2-normalised, scaled) and ignore unknown ones', () => {
    const v = small();
    const m = v.mean(['good', 'nonsense'], 2)!;
    expect(m.names).toEqual(['e0', 'e1', 'e2']);
    // 'good' alone: (1, 0.5, 0) quantised (0.5 -> 64/127), normalised, times 2.
    expect(Array.from(m.values).map((x) => Math.round(x * 100) / 100)).toEqual([1.79, 0.9, 0]);
    expect(v.mean(['nonsense', 'words'])).toBeNull();
    const both = Array.from(v.mean(['good', 'bad'])!.values);
    expect(Math.hypot(...both)).toBeCloseTo(1, 6);
  });

  it('keep the asked words plus the most frequent rows in a subset, and round-trip through JSON and the binary file', () => {
    const v = small();
    const sub = v.subset(['awful', 'missing', 'awful'], 1);
    expect(sub.words).toEqual(['good', 'awful']);
    expect(Array.from(sub.mean(['awful'])!.values)).toEqual(Array.from(v.mean(['awful'])!.values));

    const back = WordVectors.fromStored(JSON.parse(JSON.stringify(v.toStored())) as ReturnType<WordVectors['toStored']>);
    expect(back.words).toEqual(v.words);
    expect(Array.from(back.mean(['bad', 'fine'])!.values)).toEqual(Array.from(v.mean(['bad', 'fine'])!.values));

    const file = path.join(dir, 'v.int8');
    writeVectorsFile(file, v);
    const read = readVectorsFile(file)!;
    expect(read.words).toEqual(v.words);
    expect(Array.from(read.mean(['fine', 'awful'])!.values)).toEqual(Array.from(v.mean(['fine', 'awful'])!.values));
    // A truncated or foreign file is not used (the loader then reads the package again).
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, bytes.length - 5));
    expect(readVectorsFile(file)).toBeNull();
    writeFileSync(file, 'not a vectors file\n');
    expect(readVectorsFile(file)).toBeNull();
    expect(readVectorsFile(path.join(dir, 'absent'))).toBeNull();
  });

  it('land in the same buckets as named extras would', () => {
    const counts = countFeatures('you are a stupid idiot', defaultFeatureConfig);
    const mean = small().mean(['bad', 'awful'])!;
    const named = Object.fromEntries(mean.names.map((n, d) => [n, mean.values[d]!]));
    const a = vectorise(counts, defaultFeatureConfig, undefined, { caps: 0.5, ...named });
    const b = vectorise(counts, defaultFeatureConfig, undefined, { caps: 0.5 }, mean);
    expect(Array.from(b.idx)).toEqual(Array.from(a.idx));
    expect(Array.from(b.val)).toEqual(Array.from(a.val));
  });

  it('the pre-trained set (GloVe) puts insults near each other', () => {
    const v = pretrainedVectors();
    expect(v.size).toBe(341_479);
    expect(v.dims).toBe(100);
    const at = (w: string) => Array.from(v.mean([w])!.values);
    expect(cosine(at('idiot'), at('moron'))).toBeGreaterThan(cosine(at('idiot'), at('lovely')) + 0.15);
  });
});

describe('offensive model with word vectors', () => {
  const artefact = trainModel('offensive', offensiveData(90), null);
  const withVectors = new TextClassifier(JSON.parse(JSON.stringify(artefact)) as ModelArtefact);
  const { vectors: _dropped, ...rest } = artefact;
  const without = new TextClassifier(rest as ModelArtefact);

  it('stores its training words and the most frequent ones, and scores the same after loading', () => {
    expect(artefact.vectors).toMatchObject({ source: VECTORS_SOURCE, dims: 100, scale: 1 });
    const words = artefact.vectors!.words.split('\n');
    expect(words.length).toBeGreaterThanOrEqual(COMMON_WORDS);
    expect(words).toEqual(expect.arrayContaining(['moron', 'pathetic', 'lake']));
    const direct = new TextClassifier(artefact);
    for (const t of ['shut up you moron', 'a lovely morning at the lake']) expect(withVectors.predict(t).probabilities).toEqual(direct.predict(t).probabilities);
  });

  it('moves scores only through known words, and separates unseen insults from unseen kind words better than n-grams alone', () => {
    // No word of this text has a vector: both models see the same features.
    expect(withVectors.predict('zxqv qqzj').probabilities).toEqual(without.predict('zxqv qqzj').probabilities);
    // None of these words is in the training texts.
    const insults = ['imbecile', 'dumb fool', 'ignorant jerk'];
    const kind = ['delightful', 'wonderful sunny day', 'thank you kindly'];
    const gap = (m: TextClassifier) => {
      const p = (t: string) => m.predict(t).probabilities[1]!;
      return insults.reduce((s, t) => s + p(t), 0) / insults.length - kind.reduce((s, t) => s + p(t), 0) / kind.length;
    };
    expect(gap(withVectors)).toBeGreaterThan(gap(without) + 0.02);
    for (const t of insults) expect(withVectors.predict(t).label).toBe('offensive');
    for (const t of kind) expect(withVectors.predict(t).label).toBe('not-offensive');
  });
});
