import { badRequest } from '../../platform/errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Microsecond ISO time, as to_char renders it below: a millisecond Date would skip rows that share a millisecond. */
const MICRO_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** Keyset position in a newest-first list: the edge's creation time and the other account's id break ties. */
export interface GraphCursor {
  at: string;
  id: string;
}

/** Opaque to clients so the key can change without breaking anyone who only passes nextCursor back. */
export function encodeGraphCursor(c: GraphCursor): string {
  return Buffer.from(`${c.at}~${c.id}`, 'utf8').toString('base64url');
}

export function decodeGraphCursor(cursor: string): GraphCursor {
  const [at, id, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split('~');
  if (rest.length || !at || !id || !MICRO_ISO.test(at) || !UUID.test(id) || Number.isNaN(Date.parse(at))) {
    throw badRequest('request.invalid_cursor', 'cursor is not valid; pass back the nextCursor of a previous page', { errors: [{ field: 'cursor', message: 'is not valid' }] });
  }
  return { at, id };
}

/** Schema pattern for the `cursor` query parameter (base64url, bounded). */
export const GRAPH_CURSOR_PATTERN = '^[A-Za-z0-9_-]{1,128}$';
