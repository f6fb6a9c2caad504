import { rng, shuffle } from './linear.js';

export interface ClassReport {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface EvalReport {
  n: number;
  accuracy: number;
  macroF1: number;
  macroRecall: number;
  perClass: ClassReport[];
}

export function evaluate(truth: number[], predicted: number[], labels: string[]): EvalReport {
  const k = labels.length;
  const tp = new Array<number>(k).fill(0);
  const fp = new Array<number>(k).fill(0);
  const fn = new Array<number>(k).fill(0);
  let correct = 0;
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i] as number;
    const p = predicted[i] as number;
    if (t === p) {
      correct++;
      tp[t] = (tp[t] as number) + 1;
    } else {
      fp[p] = (fp[p] as number) + 1;
      fn[t] = (fn[t] as number) + 1;
    }
  }
  const perClass = labels.map((label, c) => {
    const precision = (tp[c] as number) + (fp[c] as number) === 0 ? 0 : (tp[c] as number) / ((tp[c] as number) + (fp[c] as number));
    const recall = (tp[c] as number) + (fn[c] as number) === 0 ? 0 : (tp[c] as number) / ((tp[c] as number) + (fn[c] as number));
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return { label, precision, recall, f1, support: (tp[c] as number) + (fn[c] as number) };
  });
  return {
    n: truth.length,
    accuracy: truth.length === 0 ? 0 : correct / truth.length,
    macroF1: perClass.reduce((s, c) => s + c.f1, 0) / k,
    macroRecall: perClass.reduce((s, c) => s + c.recall, 0) / k,
    perClass,
  };
}

/** Stratified k folds: each fold keeps the class proportions; returns the test indices of each fold. */
export function stratifiedFolds(y: number[], k: number, seed: number): number[][] {
  const folds: number[][] = Array.from({ length: k }, () => []);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < y.length; i++) {
    const list = byClass.get(y[i] as number) ?? [];
    list.push(i);
    byClass.set(y[i] as number, list);
  }
  const random = rng(seed);
  let next = 0;
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    for (const i of shuffle(byClass.get(c) as number[], random)) {
      (folds[next % k] as number[]).push(i);
      next++;
    }
  }
  return folds;
}

/** The label every prediction would take under a majority-class baseline. */
export function majorityClass(y: number[]): number {
  const counts = new Map<number, number>();
  for (const c of y) counts.set(c, (counts.get(c) ?? 0) + 1);
  let best = 0;
  let bestCount = -1;
  for (const [c, n] of counts) if (n > bestCount) [best, bestCount] = [c, n];
  return best;
}
