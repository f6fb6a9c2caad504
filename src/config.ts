import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Every setting Social Flow reads, from the environment (and `.env` when the CLI loads it).
 * Each key is documented in `.env.example`; a bad value throws a ConfigError whose message is
 * one line naming the variable and what it accepts.
 */
export interface Config {
  env: 'development' | 'production' | 'test';
  port: number;
  host: string;
  dataDir: string;
  publicUrl: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** HMAC key for signed URLs and other server-side signatures. */
  secretKey: string;
  databaseUrl: string | undefined;
  /** Connections per process to PostgreSQL (ignored by the embedded database). */
  databasePoolMax: number;
  redisUrl: string | undefined;
  /** Prefix of every Redis key and pub/sub channel: several instances (or benches) can share one Redis. */
  redisKeyPrefix: string;
  s3: S3Config | undefined;
  smtpUrl: string | undefined;
  mailFrom: string;
  bodyLimitBytes: number;
  rateLimit: { max: number; windowMs: number };
  corsOrigins: string[] | true;
  trustProxy: boolean;
  jobs: { concurrency: number; retryLimit: number; retryDelaySeconds: number };
  shutdownTimeoutMs: number;
  /** How long /readyz waits for each part (database, cache, storage) before calling it down. */
  readinessTimeoutMs: number;
  signedUrlTtlSeconds: number;
  /** How long a relevance ranking of search results is reused (0: never). */
  searchCacheSeconds: number;
  /** Where links in emails point (a web client); defaults to PUBLIC_URL. */
  appUrl: string;
  auth: AuthConfig;
  notifications: NotificationsConfig;
  video: VideoConfig;
  moderation: ModerationConfig;
  discovery: DiscoveryConfig;
}

export interface NotificationsConfig {
  /** Web push: set both keys (`social-flow doctor --generate-vapid` prints a pair); without them subscriptions are only stored. */
  vapid: { publicKey: string; privateKey: string; subject: string } | undefined;
  /** How long low-priority notifications wait to be emailed together in one digest. */
  digestMinutes: number;
  /** Followers per fan-out job (a new video from someone with 100k followers is 100 jobs of 1000). */
  fanoutBatchSize: number;
}

export interface VideoConfig {
  /** Largest single upload (tus Upload-Length). */
  maxUploadBytes: number;
  /** Sum of a user's source uploads (videos not deleted). */
  userQuotaBytes: number;
  maxDurationSeconds: number;
  /** Rendition heights, ascending; each video gets those at or below its own height (at least the lowest). */
  ladder: number[];
  /** Transcodes run in parallel per worker process. */
  transcodeConcurrency: number;
  /** A transcode still running after this long is taken as lost (its worker died) and run again. */
  transcodeTimeoutSeconds: number;
  /** Target HLS segment length. */
  segmentSeconds: number;
  /** x264 preset: speed against size. */
  x264Preset: 'ultrafast' | 'superfast' | 'veryfast' | 'faster' | 'fast' | 'medium' | 'slow';
  /** A viewer (or anonymous fingerprint) counts once per video per window. */
  viewWindowSeconds: number;
}

/** Automatic text moderation (docs/moderation.md). */
export interface ModerationConfig {
  /** A model score (probability of offensive or spam) at or above this holds the content. */
  holdThreshold: number;
  /** At or above this (and below hold) the content stays up and goes to the moderators' queue. */
  reviewThreshold: number;
  /** The inline pre-check holds content with at least this many distinct profane terms until the job scores it. */
  precheckMinTerms: number;
  /** Cron (UTC) of the retraining job; `off` disables it. */
  retrainCron: string | undefined;
  /** Seed training data the retrain job adds to the moderators' labels (CSV, text,label columns). */
  seedOffensive: string | undefined;
  seedSpam: string | undefined;
  /** Fewer new labels than this since the last training: the scheduled retrain skips. */
  retrainMinLabels: number;
}

/** Trending and the recommender (docs/discovery.md). */
export interface DiscoveryConfig {
  /** When the trending lists are recomputed (cron, UTC). */
  trendingCron: string;
  /** Accounts an item needs within the window to trend at all. */
  trendingMinUsers: number;
  /** When the recommender is retrained (cron, UTC). */
  recommenderTrainCron: string;
  recommenderFactors: number;
  recommenderIterations: number;
  /** Engagement older than this is left out of training. */
  recommenderHistoryDays: number;
}

export interface OidcProviderConfig {
  /** Lower-case name used in URLs: /api/v1/auth/oidc/<name>/start */
  name: string;
  issuer: string;
  clientId: string;
  clientSecret: string;
  scopes: string;
}

export interface AuthConfig {
  accessTokenTtlSeconds: number;
  refreshTokenTtlDays: number;
  /** Signing keys older than this are rotated by a scheduled job. */
  keyRotationDays: number;
  requireEmailVerification: boolean;
  emailTokenTtlMinutes: number;
  /** Grace period between account deletion and the purge of personal data. */
  accountPurgeGraceDays: number;
  /** Largest avatar or banner upload. */
  imageMaxBytes: number;
  /** Argon2id cost (memory KiB, iterations): defaults follow OWASP's recommendation. */
  argon2: { memoryCost: number; timeCost: number };
  oidc: OidcProviderConfig[];
}

export interface S3Config {
  endpoint: string | undefined;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function raw(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const v = raw(env, name);
  if (v === undefined) return def;
  if (!/^-?\d+$/.test(v)) throw new ConfigError(name, `"${v}" is not a whole number; expected an integer from ${min} to ${max}`);
  const n = Number(v);
  if (n < min || n > max) throw new ConfigError(name, `${n} is out of range; expected an integer from ${min} to ${max}`);
  return n;
}

function fraction(env: Env, name: string, def: number): number {
  const v = raw(env, name);
  if (v === undefined) return def;
  const n = Number(v);
  if (!/^\d*\.?\d+$/.test(v) || n < 0 || n > 1) throw new ConfigError(name, `"${v}" is not a number between 0 and 1`);
  return n;
}

function bool(env: Env, name: string, def: boolean): boolean {
  const v = raw(env, name);
  if (v === undefined) return def;
  if (['1', 'true', 'yes', 'on'].includes(v.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(v.toLowerCase())) return false;
  throw new ConfigError(name, `"${v}" is not a boolean; expected true or false`);
}

function redisKeyPrefix(env: Env): string {
  const v = raw(env, 'REDIS_KEY_PREFIX') ?? 'sf:';
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(v)) throw new ConfigError('REDIS_KEY_PREFIX', 'must be 1-64 letters, digits or _ . : - (e.g. sf:)');
  return v;
}

function oneOf<T extends string>(env: Env, name: string, def: T, allowed: readonly T[]): T {
  const v = raw(env, name);
  if (v === undefined) return def;
  if (!(allowed as readonly string[]).includes(v)) throw new ConfigError(name, `"${v}" is not allowed; expected one of ${allowed.join(', ')}`);
  return v as T;
}

/** Five cron fields (minute hour day month weekday); pg-boss checks the details when it schedules. */
function cron(env: Env, name: string, def: string): string {
  const v = raw(env, name);
  if (v === undefined) return def;
  if (!/^[\d*/,-]+(\s+[\d*/,A-Za-z-]+){4}$/.test(v)) throw new ConfigError(name, `"${v}" is not a cron expression; expected five fields such as "*/5 * * * *"`);
  return v;
}

function url(env: Env, name: string, protocols: string[]): string | undefined {
  const v = raw(env, name);
  if (v === undefined) return undefined;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new ConfigError(name, `"${redactUrl(v)}" is not a URL; expected ${protocols.map((p) => `${p}//...`).join(' or ')}`);
  }
  if (!protocols.includes(u.protocol)) throw new ConfigError(name, `protocol ${u.protocol} is not supported; expected ${protocols.join(' or ')}`);
  return v;
}

/** Hide a password in a URL before it can reach a message. */
export function redactUrl(v: string): string {
  return v.replace(/\/\/([^:/@]+):([^@]+)@/, '//$1:***@');
}

/** The secret used for HMAC signatures: from SECRET_KEY, else generated once and kept in DATA_DIR. */
function secret(env: Env, dataDir: string, persist: boolean): string {
  const v = raw(env, 'SECRET_KEY');
  if (v !== undefined) {
    if (v.length < 32) throw new ConfigError('SECRET_KEY', 'is too short; expected at least 32 characters (e.g. `openssl rand -hex 32`)');
    return v;
  }
  const file = path.join(dataDir, 'secret.key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const generated = randomBytes(32).toString('hex');
  if (persist) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, generated + '\n', { mode: 0o600 });
  }
  return generated;
}

function vapid(env: Env): NotificationsConfig['vapid'] {
  const publicKey = raw(env, 'VAPID_PUBLIC_KEY');
  const privateKey = raw(env, 'VAPID_PRIVATE_KEY');
  if (publicKey === undefined && privateKey === undefined) return undefined;
  if (publicKey === undefined) throw new ConfigError('VAPID_PUBLIC_KEY', 'is required when VAPID_PRIVATE_KEY is set (social-flow doctor --generate-vapid prints a pair)');
  if (privateKey === undefined) throw new ConfigError('VAPID_PRIVATE_KEY', 'is required when VAPID_PUBLIC_KEY is set (social-flow doctor --generate-vapid prints a pair)');
  // P-256: an uncompressed public point is 65 bytes, a private scalar 32 (both base64url).
  if (!/^[A-Za-z0-9_-]{86,88}$/.test(publicKey)) throw new ConfigError('VAPID_PUBLIC_KEY', 'is not a base64url P-256 public key (65 bytes); generate one with social-flow doctor --generate-vapid');
  if (!/^[A-Za-z0-9_-]{42,44}$/.test(privateKey)) throw new ConfigError('VAPID_PRIVATE_KEY', 'is not a base64url P-256 private key (32 bytes); generate one with social-flow doctor --generate-vapid');
  const subject = raw(env, 'VAPID_SUBJECT') ?? 'mailto:admin@localhost';
  if (!/^(mailto:\S+@\S+|https:\/\/\S+)$/.test(subject)) throw new ConfigError('VAPID_SUBJECT', `"${subject}" is not allowed; expected mailto:you@example.com or an https:// URL`);
  return { publicKey, privateKey, subject };
}

const LADDER_HEIGHTS = [144, 240, 360, 480, 720, 1080, 1440, 2160];

function ladder(env: Env): number[] {
  const v = raw(env, 'VIDEO_LADDER');
  if (v === undefined) return [144, 240, 360, 480, 720, 1080];
  const heights = v.split(',').map((s) => s.trim().replace(/p$/i, ''));
  const out: number[] = [];
  for (const h of heights) {
    if (!/^\d+$/.test(h) || !LADDER_HEIGHTS.includes(Number(h))) throw new ConfigError('VIDEO_LADDER', `"${h}" is not a rendition height; expected a comma-separated list of ${LADDER_HEIGHTS.join(', ')}`);
    if (!out.includes(Number(h))) out.push(Number(h));
  }
  return out.sort((a, b) => a - b);
}

function oidcProviders(env: Env): OidcProviderConfig[] {
  const names = raw(env, 'OIDC_PROVIDERS');
  if (names === undefined) return [];
  return names
    .split(',')
    .map((n) => n.trim().toLowerCase())
    .filter(Boolean)
    .map((name) => {
      if (!/^[a-z][a-z0-9-]{0,31}$/.test(name)) throw new ConfigError('OIDC_PROVIDERS', `"${name}" is not a valid provider name; expected lower-case letters, digits and -`);
      const k = (s: string) => `OIDC_${name.toUpperCase().replace(/-/g, '_')}_${s}`;
      const issuer = url(env, k('ISSUER'), ['http:', 'https:']);
      const clientId = raw(env, k('CLIENT_ID'));
      const clientSecret = raw(env, k('CLIENT_SECRET'));
      if (!issuer) throw new ConfigError(k('ISSUER'), `is required for OIDC provider ${name}`);
      if (!clientId) throw new ConfigError(k('CLIENT_ID'), `is required for OIDC provider ${name}`);
      if (!clientSecret) throw new ConfigError(k('CLIENT_SECRET'), `is required for OIDC provider ${name}`);
      return { name, issuer, clientId, clientSecret, scopes: raw(env, k('SCOPES')) ?? 'openid email profile' };
    });
}

export interface LoadOptions {
  /** Write a generated SECRET_KEY into DATA_DIR so restarts keep signed URLs valid. Default true. */
  persistSecret?: boolean;
}

export function loadConfig(env: Env = process.env, opts: LoadOptions = {}): Config {
  const nodeEnv = oneOf(env, 'NODE_ENV', 'development', ['development', 'production', 'test'] as const);
  const port = int(env, 'PORT', 3000, 0, 65535);
  const host = raw(env, 'HOST') ?? '127.0.0.1';
  const dataDir = path.resolve(raw(env, 'DATA_DIR') ?? './data');
  const publicUrl = (url(env, 'PUBLIC_URL', ['http:', 'https:']) ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`).replace(/\/+$/, '');

  const s3Bucket = raw(env, 'S3_BUCKET');
  let s3: S3Config | undefined;
  if (s3Bucket !== undefined) {
    const accessKeyId = raw(env, 'S3_ACCESS_KEY_ID');
    const secretAccessKey = raw(env, 'S3_SECRET_ACCESS_KEY');
    if (accessKeyId === undefined) throw new ConfigError('S3_ACCESS_KEY_ID', 'is required when S3_BUCKET is set');
    if (secretAccessKey === undefined) throw new ConfigError('S3_SECRET_ACCESS_KEY', 'is required when S3_BUCKET is set');
    const endpoint = url(env, 'S3_ENDPOINT', ['http:', 'https:']);
    s3 = {
      endpoint,
      region: raw(env, 'S3_REGION') ?? 'us-east-1',
      bucket: s3Bucket,
      accessKeyId,
      secretAccessKey,
      forcePathStyle: bool(env, 'S3_FORCE_PATH_STYLE', endpoint !== undefined),
    };
  } else {
    for (const k of ['S3_ENDPOINT', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY']) {
      if (raw(env, k) !== undefined) throw new ConfigError('S3_BUCKET', `is required when ${k} is set (S3 storage needs a bucket)`);
    }
  }

  const corsRaw = raw(env, 'CORS_ORIGINS');
  let corsOrigins: string[] | true = true;
  if (corsRaw !== undefined && corsRaw !== '*') {
    corsOrigins = corsRaw.split(',').map((s) => s.trim()).filter(Boolean);
    for (const o of corsOrigins) {
      if (!/^https?:\/\/[^/]+$/.test(o)) throw new ConfigError('CORS_ORIGINS', `"${o}" is not an origin; expected * or a comma-separated list like https://app.example.com`);
    }
  }

  return {
    env: nodeEnv,
    port,
    host,
    dataDir,
    publicUrl,
    logLevel: oneOf(env, 'LOG_LEVEL', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
    secretKey: secret(env, dataDir, opts.persistSecret ?? true),
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    databasePoolMax: int(env, 'DATABASE_POOL_MAX', 10, 1, 500),
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    redisKeyPrefix: redisKeyPrefix(env),
    s3,
    smtpUrl: url(env, 'SMTP_URL', ['smtp:', 'smtps:']),
    mailFrom: raw(env, 'MAIL_FROM') ?? 'Social Flow <no-reply@localhost>',
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 1024 * 1024, 1024, 1024 * 1024 * 1024),
    rateLimit: {
      max: int(env, 'RATE_LIMIT_MAX', 600, 1, 1_000_000),
      windowMs: int(env, 'RATE_LIMIT_WINDOW_MS', 60_000, 1000, 86_400_000),
    },
    corsOrigins,
    trustProxy: bool(env, 'TRUST_PROXY', false),
    jobs: {
      concurrency: int(env, 'JOB_CONCURRENCY', 2, 1, 64),
      retryLimit: int(env, 'JOB_RETRY_LIMIT', 5, 0, 100),
      retryDelaySeconds: int(env, 'JOB_RETRY_DELAY_SECONDS', 5, 1, 3600),
    },
    shutdownTimeoutMs: int(env, 'SHUTDOWN_TIMEOUT_MS', 30_000, 100, 600_000),
    readinessTimeoutMs: int(env, 'READINESS_TIMEOUT_MS', 3000, 100, 120_000),
    signedUrlTtlSeconds: int(env, 'SIGNED_URL_TTL_SECONDS', 3600, 10, 7 * 86_400),
    searchCacheSeconds: int(env, 'SEARCH_CACHE_SECONDS', 10, 0, 3600),
    appUrl: (url(env, 'APP_URL', ['http:', 'https:']) ?? publicUrl).replace(/\/+$/, ''),
    auth: {
      accessTokenTtlSeconds: int(env, 'ACCESS_TOKEN_TTL_SECONDS', 900, 30, 86_400),
      refreshTokenTtlDays: int(env, 'REFRESH_TOKEN_TTL_DAYS', 30, 1, 365),
      keyRotationDays: int(env, 'SIGNING_KEY_ROTATION_DAYS', 30, 1, 3650),
      requireEmailVerification: bool(env, 'REQUIRE_EMAIL_VERIFICATION', true),
      emailTokenTtlMinutes: int(env, 'EMAIL_TOKEN_TTL_MINUTES', 60, 5, 7 * 24 * 60),
      accountPurgeGraceDays: int(env, 'ACCOUNT_PURGE_GRACE_DAYS', 30, 0, 365),
      imageMaxBytes: int(env, 'IMAGE_MAX_BYTES', 5 * 1024 * 1024, 1024, 100 * 1024 * 1024),
      argon2: {
        memoryCost: int(env, 'ARGON2_MEMORY_KIB', 19_456, 1024, 1_048_576),
        timeCost: int(env, 'ARGON2_ITERATIONS', 2, 1, 20),
      },
      oidc: oidcProviders(env),
    },
    notifications: {
      vapid: vapid(env),
      digestMinutes: int(env, 'NOTIFICATION_DIGEST_MINUTES', 1440, 0, 7 * 24 * 60),
      fanoutBatchSize: int(env, 'NOTIFICATION_FANOUT_BATCH', 1000, 10, 10_000),
    },
    video: {
      maxUploadBytes: int(env, 'VIDEO_MAX_UPLOAD_BYTES', 8 * 1024 ** 3, 1024, 1024 ** 4),
      userQuotaBytes: int(env, 'VIDEO_USER_QUOTA_BYTES', 50 * 1024 ** 3, 1024, 1024 ** 5),
      maxDurationSeconds: int(env, 'VIDEO_MAX_DURATION_SECONDS', 4 * 3600, 1, 48 * 3600),
      ladder: ladder(env),
      transcodeConcurrency: int(env, 'VIDEO_TRANSCODE_CONCURRENCY', 1, 1, 32),
      transcodeTimeoutSeconds: int(env, 'VIDEO_TRANSCODE_TIMEOUT_SECONDS', 3 * 3600, 2, 48 * 3600),
      segmentSeconds: int(env, 'VIDEO_SEGMENT_SECONDS', 4, 2, 10),
      x264Preset: oneOf(env, 'VIDEO_X264_PRESET', 'veryfast', ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow'] as const),
      viewWindowSeconds: int(env, 'VIDEO_VIEW_WINDOW_SECONDS', 6 * 3600, 1, 30 * 86_400),
    },
    moderation: moderationConfig(env),
    discovery: {
      trendingCron: cron(env, 'TRENDING_CRON', '*/5 * * * *'),
      trendingMinUsers: int(env, 'TRENDING_MIN_USERS', 2, 1, 1000),
      recommenderTrainCron: cron(env, 'RECOMMENDER_TRAIN_CRON', '15 */6 * * *'),
      recommenderFactors: int(env, 'RECOMMENDER_FACTORS', 48, 4, 256),
      recommenderIterations: int(env, 'RECOMMENDER_ITERATIONS', 12, 1, 100),
      recommenderHistoryDays: int(env, 'RECOMMENDER_HISTORY_DAYS', 90, 1, 3650),
    },
  };
}

function moderationConfig(env: Env): ModerationConfig {
  const holdThreshold = fraction(env, 'MODERATION_HOLD_THRESHOLD', 0.9);
  const reviewThreshold = fraction(env, 'MODERATION_REVIEW_THRESHOLD', 0.6);
  if (reviewThreshold > holdThreshold) throw new ConfigError('MODERATION_REVIEW_THRESHOLD', `must not be above MODERATION_HOLD_THRESHOLD (${holdThreshold})`);
  const cron = raw(env, 'MODERATION_RETRAIN_CRON') ?? '0 3 * * *';
  if (cron !== 'off' && cron.split(/\s+/).length !== 5) throw new ConfigError('MODERATION_RETRAIN_CRON', `"${cron}" is not a 5-field cron expression (or off)`);
  return {
    holdThreshold,
    reviewThreshold,
    precheckMinTerms: int(env, 'MODERATION_PRECHECK_MIN_TERMS', 2, 1, 100),
    retrainCron: cron === 'off' ? undefined : cron,
    seedOffensive: raw(env, 'MODERATION_SEED_OFFENSIVE'),
    seedSpam: raw(env, 'MODERATION_SEED_SPAM'),
    retrainMinLabels: int(env, 'MODERATION_RETRAIN_MIN_LABELS', 20, 0, 1_000_000),
  };
}
