import { Type } from '@sinclair/typebox';

export { problemResponses as errors } from '../../platform/http/problem.js';

export const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

/** Opaque cursors are base64url; room for a composite key (saves: time and id), each list decodes its own. */
export const PageQuery = {
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,128}$', description: 'nextCursor of the previous page' })),
};

export const security = [{ bearerAuth: [] }];
