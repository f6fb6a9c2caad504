/**
 * Offline evaluation of the recommender on MovieLens-100K (implicit feedback: "rated" = "watched").
 *
 *   npx tsx bench/recsys-eval.ts [--datasets DIR] [--train FILE --test FILE] [--factors 48]
 *                                [--iterations 12] [--alpha 5] [--reg 0.1] [--neighbours 100]
 *                                [--w-mf 1] [--w-covisit 2] [--w-pop 0.05] [--half-life 5]
 *
 * Method
 * - Default: reads `<repo>/../shared/datasets/movielens-100k/dev.tsv` (or --datasets DIR) and holds
 *   out each user's latest interaction in it (ties: the largest item id, as the dataset's own split);
 *   the rest is the training set. `--train FILE --test FILE` (same TSV format, the test file one row
 *   per user) replaces that hold-out.
 * - Trains src/ml/recommender.ts (the product's collaborative model: implicit ALS + item
 *   co-visitation with recency weights + a little popularity), then for every test user ranks ALL
 *   items the user has not interacted with in training and checks where the held-out item lands.
 * - Baselines from the same run and the same ranking: popularity (distinct users per item) and
 *   item-kNN (cosine item-item similarity over the whole history, no recency, no MF).
 * - Prints HR@10 and NDCG@10 of each, then one JSON line.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { scoreVector, userVector } from '../src/ml/als.js';
import { buildMatrix, rowOf, type Interaction } from '../src/ml/interactions.js';
import { scoreItemKnn, trainItemKnn } from '../src/ml/item-knn.js';
import { hitAndNdcg, topK } from '../src/ml/metrics.js';
import { popularity } from '../src/ml/popularity.js';
import { historyOf, scoreUser, trainCollaborative } from '../src/ml/recommender.js';

const { values: args } = parseArgs({
  options: {
    datasets: { type: 'string' },
    train: { type: 'string' },
    test: { type: 'string' },
    factors: { type: 'string', default: '48' },
    iterations: { type: 'string', default: '12' },
    alpha: { type: 'string', default: '5' },
    reg: { type: 'string', default: '0.1' },
    neighbours: { type: 'string', default: '100' },
    'w-mf': { type: 'string', default: '1' },
    'w-covisit': { type: 'string', default: '2' },
    'w-pop': { type: 'string', default: '0.05' },
    'half-life': { type: 'string', default: '5' },
    k: { type: 'string', default: '10' },
  },
  strict: true,
});

interface Row {
  user: string;
  item: string;
  rating: number;
  at: number;
}

function readTsv(file: string): Row[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: Row[] = [];
  for (const line of lines.slice(1)) {
    if (!line.trim()) continue;
    const [user, item, rating, at] = line.split('\t');
    if (!user || !item || rating === undefined || at === undefined) throw new Error(`${file}: malformed line ${JSON.stringify(line)}`);
    out.push({ user, item, rating: Number(rating), at: Number(at) });
  }
  return out;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
let train: Row[];
let test: Row[];
let source: string;
if (args.train || args.test) {
  if (!args.train || !args.test) {
    console.error('recsys-eval: --train and --test go together');
    process.exit(2);
  }
  for (const f of [args.train, args.test])
    if (!existsSync(f)) {
      console.error(`recsys-eval: ${f} does not exist`);
      process.exit(2);
    }
  train = readTsv(args.train);
  test = readTsv(args.test);
  source = `${args.train} / ${args.test}`;
} else {
  const datasets = args.datasets ?? path.resolve(repoRoot, '..', 'shared', 'datasets');
  const file = path.join(datasets, 'movielens-100k', 'dev.tsv');
  if (!existsSync(file)) {
    console.error(`recsys-eval: dataset absent: ${file} does not exist.`);
    console.error('  Put the MovieLens-100K dev split there (see ../shared/datasets/README.md), pass --datasets DIR, or --train FILE --test FILE.');
    console.log(JSON.stringify({ error: 'dataset absent', path: file }));
    process.exit(1);
  }
  const all = readTsv(file);
  // Leave-last-out: each user's latest row (ties: largest item id) is their test row.
  const last = new Map<string, Row>();
  for (const r of all) {
    const l = last.get(r.user);
    if (!l || r.at > l.at || (r.at === l.at && Number(r.item) > Number(l.item))) last.set(r.user, r);
  }
  test = [...last.values()];
  const held = new Set(test);
  train = all.filter((r) => !held.has(r));
  source = `${file} (leave-last-out)`;
}

const userIx = new Map<string, number>();
const itemIx = new Map<string, number>();
const ix = (m: Map<string, number>, k: string) => {
  let v = m.get(k);
  if (v === undefined) m.set(k, (v = m.size));
  return v;
};
for (const r of train) {
  ix(userIx, r.user);
  ix(itemIx, r.item);
}
const interactions: Interaction[] = train.map((r) => ({ user: userIx.get(r.user)!, item: itemIx.get(r.item)!, weight: 1, at: r.at }));
const m = buildMatrix(userIx.size, itemIx.size, interactions);
console.log(`recsys-eval: ${source}`);
console.log(`  train ${train.length} interactions, ${m.nUsers} users, ${m.nItems} items; test ${test.length} rows`);

const K = Number(args.k);
const t0 = performance.now();
const model = await trainCollaborative(m, {
  als: { factors: Number(args.factors), iterations: Number(args.iterations), alpha: Number(args.alpha), regularization: Number(args.reg) },
  itemKnn: { neighbours: Number(args.neighbours) },
  blend: { mf: Number(args['w-mf']), covisit: Number(args['w-covisit']), popularity: Number(args['w-pop']), recencyHalfLife: Number(args['half-life']) },
});
const trainMs = performance.now() - t0;
console.log(`  trained in ${(trainMs / 1000).toFixed(1)} s (${JSON.stringify(model.options)})`);
const cosine = await trainItemKnn(m, { neighbours: Number(args.neighbours), asymmetry: 0.5, userDamping: 0 });
const pop = popularity(m);

type Name = 'recommender' | 'als' | 'popularity' | 'itemKnn';
const sums: Record<Name, { hit: number; ndcg: number }> = { recommender: { hit: 0, ndcg: 0 }, als: { hit: 0, ndcg: 0 }, popularity: { hit: 0, ndcg: 0 }, itemKnn: { hit: 0, ndcg: 0 } };
let evaluated = 0;
let skipped = 0;
const buf = new Float32Array(m.nItems);
for (const r of test) {
  const u = userIx.get(r.user);
  const item = itemIx.get(r.item);
  // A test item never seen in training cannot be ranked by any model: it counts as a miss for all.
  if (u === undefined) {
    skipped++;
    continue;
  }
  evaluated++;
  if (item === undefined) continue;
  const seen = new Set(rowOf(m.byUser, u).indices);
  const h = historyOf(m, u);
  const parts = scoreUser(model, u, h);
  const add = (name: Name, scores: Float32Array) => {
    const x = hitAndNdcg(topK(scores, K, seen), item);
    sums[name].hit += x.hit;
    sums[name].ndcg += x.ndcg;
  };
  add('recommender', parts.blended);
  scoreVector(model.als, userVector(model.als, u), buf);
  add('als', buf);
  add('popularity', pop);
  scoreItemKnn(
    cosine,
    h.items.map((i) => ({ item: i, weight: 1 })),
    buf,
  );
  add('itemKnn', buf);
}
const figures: Record<string, number> = {};
for (const name of Object.keys(sums) as Name[]) {
  figures[`${name}HR@${K}`] = +(sums[name].hit / evaluated).toFixed(4);
  figures[`${name}NDCG@${K}`] = +(sums[name].ndcg / evaluated).toFixed(4);
  console.log(`  ${name.padEnd(12)} HR@${K} ${(sums[name].hit / evaluated).toFixed(4)}  NDCG@${K} ${(sums[name].ndcg / evaluated).toFixed(4)}`);
}
const ratio = sums.recommender.hit / Math.max(1e-9, sums.popularity.hit);
console.log(`  recommender / popularity HR@${K}: ${ratio.toFixed(2)}x (target >= 1.5x); ${evaluated} users evaluated, ${skipped} test users without training rows`);
console.log(JSON.stringify({ source, users: evaluated, items: m.nItems, trainMs: Math.round(trainMs), ...figures, ratioToPopularity: +ratio.toFixed(3), options: model.options }));
