import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { redactUrl, type Config } from './config.js';
import { createCachePlatform } from './platform/cache/index.js';
import { embeddedDatabaseHolder, openDatabase } from './platform/db/index.js';
import { createMailer } from './platform/mail/index.js';
import { detectEncoders } from './platform/media/index.js';
import { createStorage } from './platform/storage/index.js';
import { modelsStatus } from './modules/moderation/cli.js';

const run = promisify(execFile);

export interface Check {
  name: string;
  ok: boolean;
  /** Required checks fail the doctor; optional ones only warn. */
  required: boolean;
  detail: string;
  fix?: string;
}

async function attempt(fn: () => Promise<string>): Promise<{ ok: boolean; detail: string }> {
  try {
    return { ok: true, detail: await fn() };
  } catch (err) {
    return { ok: false, detail: redactUrl((err as Error).message.split('\n')[0] ?? 'failed') };
  }
}

async function binary(name: string): Promise<string> {
  const { stdout } = await run(name, ['-version'], { timeout: 10_000 });
  return (stdout.split('\n')[0] ?? '').trim();
}

export async function collectChecks(config: Config): Promise<Check[]> {
  const checks: Check[] = [];
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  checks.push({
    name: 'Node.js',
    ok: major > 20 || (major === 20 && minor >= 19),
    required: true,
    detail: `v${process.versions.node}`,
    fix: 'install Node.js 20.19 or newer (https://nodejs.org or your distribution)',
  });
  for (const bin of ['ffmpeg', 'ffprobe']) {
    const r = await attempt(() => binary(bin));
    checks.push({ name: bin, ok: r.ok, required: true, detail: r.ok ? r.detail : 'not found on PATH', fix: 'Debian/Ubuntu: sudo apt-get install ffmpeg; macOS: brew install ffmpeg' });
  }
  const enc = await attempt(async () => {
    const { found, missing } = await detectEncoders();
    if (missing.length) throw new Error(`missing ${missing.join(', ')} (found ${found.join(', ') || 'none'})`);
    return found.join(', ');
  });
  checks.push({ name: 'video encoders', ok: enc.ok, required: true, detail: enc.detail, fix: 'install an ffmpeg built with libx264 and the native aac encoder (Debian/Ubuntu: sudo apt-get install ffmpeg)' });

  let modelsCheck: Check | undefined;
  const db = await attempt(async () => {
    const holder = config.databaseUrl ? undefined : embeddedDatabaseHolder(path.join(config.dataDir, 'db'));
    if (holder !== undefined) return `embedded PGlite in ${path.join(config.dataDir, 'db')}, open in the running server (pid ${holder})`;
    const database = await openDatabase({ databaseUrl: config.databaseUrl, pgliteDir: path.join(config.dataDir, 'db') });
    try {
      const { rows } = await database.query<{ v: string }>('show server_version');
      return `${database.kind === 'pglite' ? `embedded PGlite in ${path.join(config.dataDir, 'db')}` : `PostgreSQL at ${redactUrl(config.databaseUrl ?? '')}`}, server ${rows[0]?.v ?? '?'}`;
    } finally {
      await database.close();
    }
  });
  if (db.ok) {
    // The text models live in the database and storage: say when the lexicon fallback is in use.
    const models = await attempt(async () => {
      const holder = config.databaseUrl ? undefined : embeddedDatabaseHolder(path.join(config.dataDir, 'db'));
      if (holder !== undefined) throw new Error('the embedded database is open in the running server: see GET /api/v1/moderation/models');
      const database = await openDatabase({ databaseUrl: config.databaseUrl, pgliteDir: path.join(config.dataDir, 'db') });
      try {
        const r = await modelsStatus(database);
        if (!r.ok) throw new Error(r.detail);
        return r.detail;
      } catch (err) {
        if (/ml_models/.test((err as Error).message) && /exist/.test((err as Error).message)) throw new Error('not migrated yet (social-flow migrate): no trained model, lexicon fallback in use');
        throw err;
      } finally {
        await database.close();
      }
    });
    modelsCheck = { name: 'models', ok: models.ok, required: false, detail: models.detail, fix: 'train them: social-flow ml train moderation|spam|sentiment --data FILE (docs/moderation.md)' };
  }
  checks.push({ name: 'database', ok: db.ok, required: true, detail: db.detail, fix: config.databaseUrl ? 'check DATABASE_URL and that PostgreSQL 15+ accepts connections' : `check that ${config.dataDir} is writable and no other process holds the embedded database` });
  if (modelsCheck) checks.push(modelsCheck);

  if (config.redisUrl) {
    const r = await attempt(async () => {
      const cache = await createCachePlatform({ redisUrl: config.redisUrl });
      await cache.close();
      return `Redis at ${redactUrl(config.redisUrl ?? '')}`;
    });
    checks.push({ name: 'redis', ok: r.ok, required: true, detail: r.detail, fix: 'check REDIS_URL and that Redis answers' });
  } else {
    checks.push({ name: 'redis', ok: true, required: false, detail: 'not configured: in-process cache, pub/sub and locks (one process only; set REDIS_URL to run several)' });
  }

  const s = await attempt(async () => {
    const storage = await createStorage(config);
    try {
      await storage.ping();
      return storage.kind === 'local' ? `local folder ${path.join(config.dataDir, 'storage')}` : `S3 bucket ${config.s3?.bucket}${config.s3?.endpoint ? ` at ${config.s3.endpoint}` : ''}`;
    } finally {
      await storage.close();
    }
  });
  checks.push({ name: 'storage', ok: s.ok, required: true, detail: s.detail, fix: config.s3 ? 'check S3_* settings and that the bucket exists and the key may read and write it' : `check that ${config.dataDir} is writable` });

  const m = await attempt(async () => {
    const mailer = createMailer(config);
    try {
      await mailer.verify();
      return mailer.kind === 'smtp' ? `SMTP at ${redactUrl(config.smtpUrl ?? '')}` : `outbox folder ${path.join(config.dataDir, 'outbox')} (emails are written as .eml files; set SMTP_URL to send them)`;
    } finally {
      await mailer.close();
    }
  });
  checks.push({ name: 'email', ok: m.ok, required: Boolean(config.smtpUrl), detail: m.detail, fix: 'check SMTP_URL (smtp://user:pass@host:587 or smtps://...:465)' });
  const vapid = config.notifications.vapid;
  checks.push({
    name: 'web push',
    ok: vapid !== undefined,
    required: false,
    detail: vapid ? `VAPID keys configured (subject ${vapid.subject})` : 'no VAPID keys: push subscriptions are stored, nothing is sent',
    fix: 'run `social-flow doctor --generate-vapid` and set VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY',
  });
  return checks;
}

/** Print one line per check; true when nothing required is missing. */
export async function runDoctor(config: Config, print: (line: string) => void): Promise<boolean> {
  const checks = await collectChecks(config);
  for (const c of checks) {
    const mark = c.ok ? 'ok  ' : c.required ? 'FAIL' : 'warn';
    print(`${mark} ${c.name.padEnd(9)} ${c.detail}`);
    if (!c.ok && c.fix) print(`     ${''.padEnd(9)} fix: ${c.fix}`);
  }
  const failed = checks.filter((c) => !c.ok && c.required);
  print(failed.length ? `${failed.length} problem(s) to fix before Social Flow can run fully.` : 'Everything Social Flow needs is here.');
  return failed.length === 0;
}
