import { describe, expect, it } from 'vitest';
import { detectFormat, parseLabelled } from '../../src/ml/text/dataset.js';
import { countFeatures, defaultFeatureConfig, hashString, vectorise } from '../../src/ml/text/features.js';
import { evaluate, majorityClass, stratifiedFolds } from '../../src/ml/text/metrics.js';
import { offensiveData, spamData } from './support.js';
import { crossValidate, shareText, TextClassifier, trainModel, trainTestEvaluate, type ModelArtefact } from '../../src/ml/text/pipeline.js';

describe('features', () => {
  it('hashes deterministically and shares features across evasions', () => {
    expect(hashString('abc')).toBe(hashString('abc'));
    expect(hashString('abc')).not.toBe(hashString('abd'));
    const a = new Set(countFeatures('shit', defaultFeatureConfig).keys());
    const b = new Set(countFeatures('sh1iiit', defaultFeatureConfig).keys());
    const shared = [...a].filter((k) => b.has(k)).length;
    expect(shared / a.size).toBe(1);
    const v = vectorise(countFeatures('hello world', defaultFeatureConfig), defaultFeatureConfig);
    const norm = Math.sqrt(Array.from(v.val).reduce((s, x) => s + x * x, 0));
    expect(norm).toBeCloseTo(1, 5);
  });

  it('hashes n-grams straight from the words, to the same buckets as their strings', () => {
    const mask = (1 << defaultFeatureConfig.bits) - 1;
    const keys = [...countFeatures('big cat', { ...defaultFeatureConfig, charNgrams: null }).keys()];
    expect(keys).toEqual([hashString('w1:big') & mask, hashString('w1:cat') & mask, hashString('w2:big cat') & mask]);
    const chars = [...countFeatures('ab', { ...defaultFeatureConfig, wordNgrams: null, charNgrams: [2, 3] }).keys()];
    expect(chars).toEqual([' a', 'ab', 'b ', ' ab', 'ab '].map((g) => hashString('c' + g) & mask));
    expect(countFeatures('ab', { ...defaultFeatureConfig, wordNgrams: null, charNgrams: null }).size).toBe(0);
  });

  it('appends extras after normalisation, summing one that shares a bucket', () => {
    const cfg = { ...defaultFeatureConfig, charNgrams: null };
    const mask = (1 << cfg.bits) - 1;
    const counts = new Map([[hashString('x:flag') & mask, 1], [7, 1]]);
    const v = vectorise(counts, cfg, undefined, { flag: 0.5, zero: 0, other: 2 });
    expect(Array.from(v.idx)).toEqual([hashString('x:flag') & mask, 7, hashString('x:other') & mask]);
    expect(v.val[0]).toBeCloseTo(Math.SQRT1_2 + 0.5, 6);
    expect(v.val[1]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(v.val[2]).toBe(2);
  });
});

describe('metrics', () => {
  it('computes accuracy, macro-F1 and macro-recall', () => {
    const r = evaluate([0, 0, 1, 1], [0, 1, 1, 1], ['a', 'b']);
    expect(r.accuracy).toBe(0.75);
    expect(r.perClass[0]).toMatchObject({ precision: 1, recall: 0.5 });
    expect(r.perClass[1]!.precision).toBeCloseTo(2 / 3);
    expect(r.macroRecall).toBe(0.75);
    expect(r.macroF1).toBeCloseTo((2 / 3 + 0.8) / 2);
    expect(majorityClass([1, 1, 0])).toBe(1);
  });

  it('stratified folds partition the rows and keep class balance', () => {
    const y = Array.from({ length: 50 }, (_, i) => (i < 40 ? 0 : 1));
    const folds = stratifiedFolds(y, 5, 3);
    expect(folds.flat().sort((a, b) => a - b)).toEqual(y.map((_, i) => i));
    for (const f of folds) expect(f.filter((i) => y[i] === 1)).toHaveLength(2);
  });
});

describe('linear text classifier', () => {
  it('cross-validates well above the majority baseline on separable data', () => {
    const cv = crossValidate('spam', spamData(120), 5);
    expect(cv.model.accuracy).toBeGreaterThan(0.9);
    expect(cv.majority.accuracy).toBeLessThanOrEqual(0.5);
    expect(cv.model.macroF1).toBeGreaterThan(cv.majority.macroF1);
  });

  it('serialises to JSON and predicts the same after loading', () => {
    const data = spamData(80);
    const artefact = trainModel('spam', data, null);
    const loaded = new TextClassifier(JSON.parse(JSON.stringify(artefact)) as ModelArtefact);
    const direct = new TextClassifier(artefact);
    for (const t of ['check out my channel and subscribe', 'what a beautiful voice']) {
      expect(loaded.predict(t).probabilities).toEqual(direct.predict(t).probabilities);
    }
    expect(loaded.predict('subscribe to my channel for free gift cards').label).toBe('spam');
    expect(loaded.predict('the drummer is amazing, beautiful voice').label).toBe('ham');
    expect(() => new TextClassifier({ ...artefact, format: 'other' } as unknown as ModelArtefact)).toThrow(/not a social-flow/);
  });

  it('stores an ensemble (offensive: a word model and a character model) and still reads single-model artefacts', () => {
    const data = offensiveData(80);
    const artefact = trainModel('offensive', data, null);
    expect(artefact.schema).toBe(2);
    expect(artefact.parts!.map((p) => [p.features.wordNgrams, p.features.charNgrams])).toEqual([[[1, 2], null], [null, [2, 5]]]);
    const loaded = new TextClassifier(JSON.parse(JSON.stringify(artefact)) as ModelArtefact);
    expect(loaded.predict('you are a stupid idiot').label).toBe('offensive');
    expect(loaded.predict('what a lovely morning').label).toBe('not-offensive');
    const p = loaded.predict('you are a stupid idiot').probabilities;
    expect(p[0]! + p[1]!).toBeCloseTo(1, 6);

    // Schema 1 (one model, fields at the top level), as trained before the ensemble.
    const spam = trainModel('spam', spamData(80), null);
    const [part] = spam.parts!;
    const v1 = { ...spam, schema: 1, parts: undefined, features: part!.features, idf: part!.idf, weights: part!.weights, bias: part!.bias } as ModelArtefact;
    const t = 'subscribe to my channel for free gift cards';
    expect(new TextClassifier(v1).predict(t).probabilities).toEqual(new TextClassifier(spam).predict(t).probabilities);
    expect(() => new TextClassifier({ ...spam, parts: [] })).toThrow(/no model parts/);
  });

  it('models scoring one text share its counts and score it as they would alone', () => {
    const offensive = new TextClassifier(trainModel('offensive', offensiveData(60), null));
    const spam = new TextClassifier(trainModel('spam', spamData(60), null));
    for (const t of ['check out my channel you stupid idiot', 'a lovely morning at the lake']) {
      const shared = shareText(t);
      const o = offensive.predict(t, shared).probabilities;
      // The spam model's words + characters counts are the sum of the blocks the offensive parts counted.
      expect(shared.counts.size).toBe(2);
      expect(spam.predict(t, shared).probabilities).toEqual(spam.predict(t).probabilities);
      expect(shared.counts.size).toBe(3);
      expect(o).toEqual(offensive.predict(t).probabilities);
    }
  });

  it('train/test evaluation scores one set against another', () => {
    const r = trainTestEvaluate('spam', spamData(80, 1), spamData(40, 9));
    expect(r.model.n).toBe(40);
    expect(r.model.accuracy).toBeGreaterThan(0.9);
  });
});

describe('datasets', () => {
  it('parses RFC 4180 CSV with quoted newlines and named or numbered labels', () => {
    const csv = 'text,label\n"line one\nline two, with comma",1\nplain,not-offensive\n';
    expect(parseLabelled(csv, 'csv', ['not-offensive', 'offensive'])).toEqual([
      { text: 'line one\nline two, with comma', label: 1 },
      { text: 'plain', label: 0 },
    ]);
    const yt = 'VIDEO,COMMENT_ID,AUTHOR,DATE,CONTENT,CLASS\nv,1,a,d,"buy ""now""",1\n';
    expect(detectFormat(yt)).toBe('youtube-spam');
    expect(parseLabelled(yt, 'youtube-spam', ['ham', 'spam'])).toEqual([{ text: 'buy "now"', label: 1 }]);
  });

  it('rejects unknown labels and missing columns with the row number', () => {
    expect(() => parseLabelled('text,label\nx,7\n', 'csv', ['a', 'b'])).toThrow(/row 2: label "7"/);
    expect(() => parseLabelled('body,label\nx,1\n', 'csv', ['a', 'b'])).toThrow(/row 2: missing text/);
  });
});
