import { STATUS_CODES } from 'node:http';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import type { Metrics } from '../metrics.js';

/** RFC 9457 problem details, plus a stable `code` clients can switch on and the request id. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'about:blank: the status code says it all; `code` is the precise reason' }),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.String({ description: 'Stable machine-readable reason, e.g. request.invalid' }),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    requestId: Type.Optional(Type.String()),
    errors: Type.Optional(
      Type.Array(Type.Object({ field: Type.String(), message: Type.String() }), { description: 'One entry per offending field (validation errors)' }),
    ),
  },
  { title: 'Problem', additionalProperties: true },
);
export type Problem = Static<typeof ProblemSchema>;

/** The `response` entries of a route schema for its error statuses: every one is problem+json. */
export function problemResponses(...codes: number[]): Record<number, typeof ProblemSchema> {
  return Object.fromEntries(codes.map((c) => [c, ProblemSchema]));
}

export function problem(status: number, code: string, detail: string, extra: Record<string, unknown> = {}): Problem {
  return { type: 'about:blank', title: STATUS_CODES[status] ?? 'Error', status, code, detail, ...extra };
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, p: Problem, metrics?: Metrics): FastifyReply {
  metrics?.httpErrors.inc({ code: p.code });
  return reply
    .code(p.status)
    .type('application/problem+json')
    .send({ ...p, instance: request.url.split('?')[0], requestId: String(request.id) });
}

interface ValidationIssue {
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
  keyword?: string;
}

function fieldOf(issue: ValidationIssue, context: string | undefined): string {
  let field = (issue.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
  const missing = issue.params?.missingProperty;
  if (typeof missing === 'string') field = field ? `${field}.${missing}` : missing;
  const extra = issue.params?.additionalProperty;
  if (typeof extra === 'string') field = field ? `${field}.${extra}` : extra;
  return field || (context ?? 'body');
}

/** Map every error Fastify and its plugins can raise to problem+json, and never leak internals on a 5xx. */
export function toProblem(error: FastifyError & { validationContext?: string }): Problem {
  if (error instanceof AppError) return problem(error.status, error.code, error.message, error.extra);
  if (error.validation) {
    const issues = (error.validation as ValidationIssue[]).map((v) => ({ field: fieldOf(v, error.validationContext), message: v.message ?? 'is invalid' }));
    const first = issues[0];
    const where = error.validationContext ?? 'request';
    return problem(400, 'request.invalid', first ? `${where} field "${first.field}" ${first.message}` : `invalid ${where}`, { errors: issues });
  }
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return problem(415, 'request.unsupported_media_type', 'this endpoint does not accept that Content-Type; send application/json');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return problem(413, 'request.body_too_large', 'the request body is larger than this endpoint accepts');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return problem(400, 'request.empty_json', 'Content-Type is application/json but the body is empty');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return problem(400, 'request.malformed_json', 'the body is not valid JSON');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return problem(400, 'request.invalid_content_length', 'Content-Length does not match the body');
    default:
  }
  if (error instanceof SyntaxError && error.statusCode === 400) return problem(400, 'request.malformed_json', 'the body is not valid JSON');
  const status = error.statusCode ?? 500;
  if (status === 429) return problem(429, 'request.rate_limited', error.message || 'too many requests; slow down');
  if (status >= 400 && status < 500) return problem(status, `request.${(STATUS_CODES[status] ?? 'error').toLowerCase().replace(/[^a-z]+/g, '_')}`, error.message);
  return problem(500, 'server.internal', 'something went wrong on our side; the request id helps an operator find it');
}

export function registerProblemHandlers(app: FastifyInstance, metrics: Metrics): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const p = toProblem(error);
    if (error instanceof AppError && typeof error.extra.retryAfter === 'number') reply.header('retry-after', String(error.extra.retryAfter));
    if (error instanceof AppError && p.status === 401) reply.header('www-authenticate', 'Bearer');
    if (p.status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: p.code, status: p.status }, 'request rejected');
    return sendProblem(request, reply, p, metrics);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(request, reply, problem(404, 'route.not_found', `no route ${request.method} ${request.url.split('?')[0]}`), metrics),
  );
}
