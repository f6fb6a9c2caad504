import { badRequest } from '../../platform/errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Keyset cursors are the last row's id, wrapped so clients treat them as opaque: the encoding can
 * change (a composite key, a sort order) without breaking anyone who only passes it back.
 */
export function encodeCursor(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

/** The id a cursor stands for; anything that is not one of ours is the client's mistake (400). */
export function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!UUID.test(id)) throw badRequest('request.invalid_cursor', 'cursor is not valid; pass back the nextCursor of a previous page', { errors: [{ field: 'cursor', message: 'is not valid' }] });
  return id.toLowerCase();
}

/** Schema for the `cursor` query parameter: base64url of a UUID is 48 characters. */
export const CURSOR_PATTERN = '^[A-Za-z0-9_-]{1,64}$';
