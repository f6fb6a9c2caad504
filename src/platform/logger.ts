import pino, { type Logger, type LoggerOptions } from 'pino';

/** Query parameters that carry secrets (signed URLs, email links, OAuth callbacks). */
const SECRET_PARAMS = /^(sig|signature|token|code|state|access_token|refresh_token|x-amz-signature|x-amz-credential|x-amz-security-token|key|secret|password)$/i;

export function redactQuery(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  let changed = false;
  for (const k of [...params.keys()]) {
    if (SECRET_PARAMS.test(k)) {
      params.set(k, '[redacted]');
      changed = true;
    }
  }
  return changed ? `${url.slice(0, q)}?${params.toString()}` : url;
}

/** Header paths pino removes from every log line. */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
];

/**
 * Keys whose values never reach a log line, wherever they sit in the first three levels of what is
 * logged. Scrubbed by a formatter rather than pino's wildcard redaction, which would run on every
 * per-request child logger even when nothing is written (see docs/performance.md).
 */
export const SECRET_KEYS = new Set([
  'password',
  'newPassword',
  'currentPassword',
  'token',
  'accessToken',
  'refreshToken',
  'challengeToken',
  'secret',
  'recoveryCode',
  'recoveryCodes',
  'totp',
  'apiKey',
  'privateJwk',
  'clientSecret',
]);

/** Plain objects, arrays and errors only: class instances (Fastify's request, reply) have serializers of their own. */
function walkable(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null || Array.isArray(v) || v instanceof Error;
}

export function scrubSecrets(value: unknown, depth = 0): unknown {
  if (depth > 2 || value === null || typeof value !== 'object' || !walkable(value)) return value;
  let out: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(value)) {
    const next = SECRET_KEYS.has(k) ? '[redacted]' : scrubSecrets(v, depth + 1);
    if (next !== v) {
      // A copy keeping prototype and descriptors, so an Error stays an Error for its serializer.
      out ??= (Array.isArray(value) ? [...value] : Object.create(Object.getPrototypeOf(value), Object.getOwnPropertyDescriptors(value))) as Record<string, unknown>;
      out[k] = next;
    }
  }
  return out ?? value;
}

export function createLogger(level: LoggerOptions['level'], destination?: pino.DestinationStream): Logger {
  const opts: LoggerOptions = {
    level,
    redact: { paths: redactPaths, censor: '[redacted]' },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: {
      req(req: { id?: string; method?: string; url?: string; ip?: string }) {
        return { id: req.id, method: req.method, url: req.url ? redactQuery(req.url) : req.url, ip: req.ip };
      },
      err: pino.stdSerializers.err,
    },
    formatters: { log: (obj) => scrubSecrets(obj) as Record<string, unknown> },
  };
  return destination ? pino(opts, destination) : pino(opts);
}
