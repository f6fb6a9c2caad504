import type { CollaborativeModel } from '../../ml/recommender.js';

/**
 * A trained model as one binary object in storage: a 4-byte header length, a JSON header (options,
 * sizes, the user and item ids that the matrix rows stand for) and the Float32/Int32 arrays, each
 * 4-byte aligned. Loading copies nothing but the header parse: arrays are views on the buffer.
 */
export interface ModelArtefact {
  model: CollaborativeModel;
  /** Row i of the user factors is users[i] (a user id). */
  users: string[];
  /** Column i is items[i]: `post:<uuid>` or `video:<uuid>`. */
  items: string[];
  /** Each item's creator (same order), for the per-creator cap without a query. */
  creators: (string | null)[];
}

const FORMAT = 'social-flow/recommender@1';

export function serialiseModel(a: ModelArtefact): Buffer {
  const m = a.model;
  const arrays: [string, Float32Array | Int32Array][] = [
    ['alsUsers', m.als.users],
    ['alsItems', m.als.items],
    ['knnIds', m.knn.ids],
    ['knnSims', m.knn.sims],
    ['popularity', m.popularity],
  ];
  const header = {
    format: FORMAT,
    options: m.options,
    nUsers: m.nUsers,
    nItems: m.nItems,
    factors: m.als.factors,
    neighbours: m.knn.neighbours,
    users: a.users,
    items: a.items,
    creators: a.creators,
    arrays: arrays.map(([name, arr]) => ({ name, kind: arr instanceof Int32Array ? 'i32' : 'f32', length: arr.length })),
  };
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (4 - ((4 + json.length) % 4)) % 4;
  json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length);
  return Buffer.concat([len, json, ...arrays.map(([, arr]) => Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength))]);
}

export function deserialiseModel(buf: Buffer): ModelArtefact {
  const n = buf.readUInt32LE(0);
  const header = JSON.parse(buf.subarray(4, 4 + n).toString('utf8')) as {
    format: string;
    options: CollaborativeModel['options'];
    nUsers: number;
    nItems: number;
    factors: number;
    neighbours: number;
    users: string[];
    items: string[];
    creators: (string | null)[];
    arrays: { name: string; kind: 'i32' | 'f32'; length: number }[];
  };
  if (header.format !== FORMAT) throw new Error(`unknown model format ${header.format}`);
  // Copy into a fresh, aligned ArrayBuffer: Node's pooled Buffers may start at any offset.
  const body = new Uint8Array(buf.subarray(4 + n)).slice().buffer;
  const out: Record<string, Float32Array | Int32Array> = {};
  let at = 0;
  for (const a of header.arrays) {
    out[a.name] = a.kind === 'i32' ? new Int32Array(body, at, a.length) : new Float32Array(body, at, a.length);
    at += a.length * 4;
  }
  return {
    users: header.users,
    items: header.items,
    creators: header.creators,
    model: {
      options: header.options,
      nUsers: header.nUsers,
      nItems: header.nItems,
      als: { factors: header.factors, users: out.alsUsers as Float32Array, items: out.alsItems as Float32Array },
      knn: { nItems: header.nItems, neighbours: header.neighbours, ids: out.knnIds as Int32Array, sims: out.knnSims as Float32Array },
      popularity: out.popularity as Float32Array,
    },
  };
}
