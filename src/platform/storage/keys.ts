import { InvalidKeyError } from './types.js';

// S3 caps keys at 1024 UTF-8 bytes; holding the local folder to the same limit keeps a key that
// works in one column working in the other.
const MAX_KEY_BYTES = 1024;

// Control characters (NUL and friends) break file systems, log lines and HTTP paths alike.
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f\\]/;

// Each segment becomes a file or folder name in the local column, and most file systems stop at
// 255 bytes per name (S3 has no such limit, but a key must work in both).
const MAX_SEGMENT_BYTES = 255;

function segmentsOk(segments: string[]): boolean {
  return segments.every((s) => s !== '' && s !== '.' && s !== '..' && Buffer.byteLength(s, 'utf8') <= MAX_SEGMENT_BYTES);
}

/**
 * Refuses keys that could escape the storage root or that the two backends would treat
 * differently: absolute paths, `..`/`.` segments, empty segments, backslashes, control characters,
 * over-long keys or segments.
 */
export function assertValidKey(key: string): void {
  if (typeof key !== 'string' || key === '' || key.startsWith('/') || FORBIDDEN.test(key)) throw new InvalidKeyError(key);
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw new InvalidKeyError(key);
  if (/^[A-Za-z]:/.test(key)) throw new InvalidKeyError(key);
  if (!segmentsOk(key.split('/'))) throw new InvalidKeyError(key);
}

/**
 * A prefix is a key that may be empty (everything) or end in `/` (one folder) or stop mid-segment
 * (S3 string-prefix semantics: `videos/ab` matches `videos/abc/...`). Its complete segments follow
 * the key rules.
 */
export function assertValidPrefix(prefix: string): void {
  if (typeof prefix !== 'string') throw new InvalidKeyError(String(prefix));
  if (prefix === '') return;
  if (prefix.startsWith('/') || FORBIDDEN.test(prefix) || /^[A-Za-z]:/.test(prefix)) throw new InvalidKeyError(prefix);
  if (Buffer.byteLength(prefix, 'utf8') > MAX_KEY_BYTES) throw new InvalidKeyError(prefix);
  const segments = prefix.split('/');
  // The last piece is only ever compared as a string, never joined into a path, so it may be
  // anything (even `.`, which matches keys like `.thumbs/...`).
  segments.pop();
  if (!segmentsOk(segments)) throw new InvalidKeyError(prefix);
}

/** Percent-encodes each segment so the key survives a URL path unchanged. */
export function encodeKeyPath(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}
