// Child process of bench/ml-eval: loads stored model artefacts (JSON files, as the moderation worker
// loads them from storage) and times scoring one comment at a time, with no training state in the
// heap. Prints one JSON line {"moderation": {p50Ms, p99Ms}, "allThree": {...}}.
//   node --import tsx bench/support/score-latency.ts COMMENTS.json N OFFENSIVE.json SPAM.json SENTIMENT.json
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { shareText, TextClassifier, type ModelArtefact } from '../../src/ml/text/pipeline.js';

const [commentsFile, nArg, ...modelFiles] = process.argv.slice(2) as [string, string, ...string[]];
const comments = JSON.parse(readFileSync(commentsFile, 'utf8')) as string[];
const n = Math.min(Number(nArg), comments.length);
const models = modelFiles.map((f) => new TextClassifier(JSON.parse(readFileSync(f, 'utf8')) as ModelArtefact));

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

function measure(set: TextClassifier[]): { p50Ms: number; p99Ms: number } {
  for (let i = 0; i < 200; i++) {
    const text = comments[i % comments.length] as string;
    const shared = shareText(text);
    for (const m of set) m.predict(text, shared);
  }
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const text = comments[(i * 7919) % comments.length] as string;
    const t0 = performance.now();
    const shared = shareText(text);
    for (const m of set) m.predict(text, shared);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { p50Ms: Math.round(quantile(times, 0.5) * 1000) / 1000, p99Ms: Math.round(quantile(times, 0.99) * 1000) / 1000 };
}

const moderation = measure(models.slice(0, 2));
const allThree = measure(models);
process.stdout.write(JSON.stringify({ moderation, allThree }) + '\n');
