import { Type, type Static, type TSchema } from '@sinclair/typebox';

/**
 * Response-schema shapes the serializer writes without validating. fast-json-stringify writes an
 * `anyOf` by running an ajv validator per branch on every value, and compiles those validators on a
 * route's first response (60-100 ms for a post: the first POST /posts after a start took ~115 ms
 * instead of ~15). `nullable: true` (OpenAPI 3.0, also understood by ajv) and `enum` are written
 * with a plain check instead. Use these in response schemas of busy routes.
 */

/** `schema` or null. The copy drops TypeBox's symbol keys, so the result is the plain JSON schema plus `nullable`. */
export function Nullable<T extends TSchema>(schema: T) {
  return Type.Unsafe<Static<T> | null>({ ...(JSON.parse(JSON.stringify(schema)) as object), nullable: true });
}

/** One of `values`, as a string `enum` (not an anyOf of constants). */
export function StringEnum<const T extends readonly string[]>(values: T, options: { description?: string } = {}) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}
