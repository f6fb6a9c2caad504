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

/**
 * Paths pino removes from every log line: credentials in headers and in any object logged
 * with a password or token field, however deep it sits (two levels are enough for our shapes).
 */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  ...['password', 'newPassword', 'currentPassword', 'token', 'accessToken', 'refreshToken', 'challengeToken', 'secret', 'code', 'recoveryCode', 'totp', 'apiKey'].flatMap(
    (k) => [k, `*.${k}`, `*.*.${k}`],
  ),
];

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
  };
  return destination ? pino(opts, destination) : pino(opts);
}
