import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.js';
import { servicesFor } from '../../src/modules/services.js';
import { users } from '../../src/modules/users/tables.js';
import { createLogger } from '../../src/platform/logger.js';
import { startServer } from '../../src/server.js';
import { inArray } from 'drizzle-orm';

const log: { text: string; ms: number }[] = [];
let on = false;
const orig = pg.Client.prototype.query;
(pg.Client.prototype as any).query = function (this: any, ...a: any[]) {
  const t0 = performance.now();
  const text = typeof a[0] === 'string' ? a[0] : a[0]?.text;
  if (on && typeof a[a.length - 1] === 'function') {
    const cb = a[a.length - 1];
    a[a.length - 1] = (...x: any[]) => { log.push({ text: String(text).slice(0, 160), ms: performance.now() - t0 }); return cb(...x); };
  }
  if (on && a[0] && typeof a[0] === 'object' && typeof a[0].callback === 'function') {
    const cb = a[0].callback;
    a[0].callback = (...x: any[]) => { log.push({ text: String(text).slice(0, 160), ms: performance.now() - t0 }); return cb(...x); };
  }
  const r = orig.apply(this, a as any);
  if (on && r && typeof (r as any).then === 'function') (r as any).then(() => log.push({ text: String(text).slice(0, 160), ms: performance.now() - t0 }), () => {});
  return r;
};
const db = process.argv[2] ?? 'sf_bench_keep';
const config = loadConfig({ NODE_ENV: 'production', DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'tr-')), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'error', RATE_LIMIT_MAX: '1000000', DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${db}`, REDIS_URL: 'redis://127.0.0.1:6379', SECRET_KEY: `bench-only-secret-${db}-0123456789abcdef` }, { persistSecret: false });
const server = await startServer(config, createLogger('error'), ['api'], { cacheKeyPrefix: `tr:${randomBytes(3).toString('hex')}:`, onProgress: () => {} });
const deps = server.deps;
const { rows } = await deps.database.query<{ id: string }>('select user_id as id from user_stats order by following desc limit 1 offset 50');
const [u] = await deps.database.db.select().from(users).where(inArray(users.id, [rows[0]!.id]));
const { accessToken } = await servicesFor(deps).auth.startSession(u!, 'password', { ip: '127.0.0.1', userAgent: 'trace' });
for (let i = 0; i < 6; i++) {
  log.length = 0;
  on = true;
  const t0 = performance.now();
  const res = await fetch(`${server.url}/api/v1/feed/home?limit=20`, { headers: { authorization: `Bearer ${accessToken}` } });
  const body = (await res.json()) as { items: unknown[] }; if (!res.ok) { console.log(body); process.exit(1); }
  const ms = performance.now() - t0;
  on = false;
  await new Promise((r) => setTimeout(r, 50));
  console.log(`request ${i}: ${res.status} ${body.items.length} items ${ms.toFixed(1)} ms, ${log.length} queries, ${log.reduce((s, q) => s + q.ms, 0).toFixed(1)} ms in queries`);
  if (i === 0 || i === 5) for (const q of log) console.log(`   ${q.ms.toFixed(2)} ms  ${q.text.replace(/\s+/g, ' ')}`);
}
await server.stop?.();
process.exit(0);
