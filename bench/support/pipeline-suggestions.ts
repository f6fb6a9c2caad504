/**
 * The cheaper request pipeline suggested in docs/performance.md, written so that
 * bench/http-overhead-breakdown.ts can measure it before anyone changes src/.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';
import pino, { type Logger } from 'pino';
import { redactPaths, redactQuery } from '../../src/platform/logger.js';

/** The headers helmet would set, computed once: helmet's options here depend on nothing in the request. */
export function staticHelmetHeaders(options: Parameters<typeof helmet>[0]): Record<string, string> {
  const headers: Record<string, string> = {};
  const res = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  helmet(options)({} as IncomingMessage, res as unknown as ServerResponse, () => {});
  return headers;
}

/**
 * The logger change suggested in docs/performance.md. Same options as createLogger() in
 * src/platform/logger.ts, except that pino redacts only the explicit paths: with wildcard-first paths
 * (`*.key`, `*.*.key`) pino runs every child-logger binding (so every request's reqId) and every
 * top-level value of every line through its wildcard redactor. Those keys are instead scrubbed by a
 * log formatter (top level and two levels down, as the wildcards did), which only runs when a line
 * is written.
 */
export function suggestedLogger(level: pino.LevelWithSilent, destination?: pino.DestinationStream): Logger {
  const secretKeys = new Set(redactPaths.filter((p) => p.startsWith('*.') && !p.startsWith('*.*.')).map((p) => p.slice(2)));
  // Walks what a log call passes in, before serializers run: plain objects, arrays and errors only,
  // so class instances with serializers of their own (Fastify's request and reply) are not crawled.
  const walkable = (v: object): boolean => {
    const proto = Object.getPrototypeOf(v) as unknown;
    return proto === Object.prototype || proto === null || Array.isArray(v) || v instanceof Error;
  };
  const scrub = (value: unknown, depth: number): unknown => {
    if (depth > 2 || value === null || typeof value !== 'object' || !walkable(value)) return value;
    let out: Record<string, unknown> | undefined;
    for (const [k, v] of Object.entries(value)) {
      const next = secretKeys.has(k) ? '[redacted]' : scrub(v, depth + 1);
      if (next !== v) {
        // A copy that keeps the prototype and property descriptors, so an Error stays an Error for its serializer.
        out ??= (Array.isArray(value) ? [...value] : Object.create(Object.getPrototypeOf(value), Object.getOwnPropertyDescriptors(value))) as Record<string, unknown>;
        out[k] = next;
      }
    }
    return out ?? value;
  };
  const opts: pino.LoggerOptions = {
    level,
    redact: { paths: redactPaths.filter((p) => !p.startsWith('*')), censor: '[redacted]' },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: {
      req(req: { id?: string; method?: string; url?: string; ip?: string }) {
        return { id: req.id, method: req.method, url: req.url ? redactQuery(req.url) : req.url, ip: req.ip };
      },
      err: pino.stdSerializers.err,
    },
    formatters: { log: (obj) => scrub(obj, 0) as Record<string, unknown> },
  };
  return destination ? pino(opts, destination) : pino(opts);
}
