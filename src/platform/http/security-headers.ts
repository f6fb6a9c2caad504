import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';

export type HelmetOptions = Parameters<typeof helmet>[0];

/**
 * The headers helmet sets, computed once at start-up. @fastify/helmet rebuilds helmet (and re-parses
 * the CSP) on every request; our options depend on nothing in the request, and doing it per
 * request was the largest single cost of the pipeline (see docs/performance.md).
 */
export function staticSecurityHeaders(options: HelmetOptions): Record<string, string> {
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
