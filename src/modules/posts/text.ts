import { badRequest } from '../../platform/errors.js';

export const MAX_TEXT = 500;
export const MAX_HASHTAGS = 10;
export const MAX_MENTIONS = 10;
export const MAX_TAG_LENGTH = 64;

// Tab and newline stay (multi-line posts); every other C0 control and DEL is refused because it can
// hide text from one client and show it in another.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
/** Bidi overrides and isolates make a post read differently from what it stores ("Trojan Source"). */
const BIDI = /[\u202a-\u202e\u2066-\u2069]/;

// A tag or mention starts after a non-word character (or the start), so "a#b" and e-mail addresses
// are not picked up. Tags that are only digits ("#1") are not tags.
const HASHTAG = /(?<![\p{L}\p{N}_&/#])#([\p{L}\p{N}_]+)/gu;
const MENTION = /(?<![\p{L}\p{N}_.@/])@([A-Za-z0-9_]{1,30})(?![A-Za-z0-9_])/gu;
export const TAG_PATTERN = /^[\p{L}\p{N}_]{1,64}$/u;

const invalid = (code: string, message: string, field = 'text') => badRequest(code, message, { errors: [{ field, message }] });

export const codePoints = (s: string) => [...s].length;

/**
 * Post text is plain text: markup such as '<b>' is kept as typed and every client must show it
 * escaped. Nothing is refused for containing '<' (people write "a<b" and "<3"); what is refused is
 * what cannot be displayed honestly (control and bidi-override characters).
 */
export function normaliseText(raw: string, hasMedia: boolean): string {
  const text = raw.replace(/\r\n?/g, '\n').normalize('NFC').trim();
  if (CONTROL.test(text)) throw invalid('posts.invalid_characters', 'text contains control characters');
  if (BIDI.test(text)) throw invalid('posts.invalid_characters', 'text contains bidirectional override characters');
  if (codePoints(text) > MAX_TEXT) throw invalid('posts.text_too_long', `text is longer than ${MAX_TEXT} characters`);
  if (text === '' && !hasMedia) throw invalid('posts.text_required', 'text is empty; a post needs text or media');
  return text;
}

/** Distinct lower-cased hashtags in order of appearance. */
export function parseHashtags(text: string): string[] {
  const tags = new Set<string>();
  for (const m of text.matchAll(HASHTAG)) {
    const tag = m[1]!.toLowerCase();
    if (codePoints(tag) > MAX_TAG_LENGTH || /^\d+$/.test(tag)) continue;
    tags.add(tag);
  }
  if (tags.size > MAX_HASHTAGS) throw invalid('posts.too_many_hashtags', `a post can have at most ${MAX_HASHTAGS} hashtags`);
  return [...tags];
}

/** Distinct lower-cased usernames mentioned; which of them exist is the caller's business. */
export function parseMentions(text: string): string[] {
  const names = new Set<string>();
  for (const m of text.matchAll(MENTION)) names.add(m[1]!.toLowerCase());
  if (names.size > MAX_MENTIONS) throw invalid('posts.too_many_mentions', `a post can mention at most ${MAX_MENTIONS} accounts`);
  return [...names];
}

/** A hashtag from a URL path, with or without its '#', lower-cased; null when it cannot be a tag. */
export function normaliseTag(raw: string): string | null {
  const tag = raw.replace(/^#/, '').normalize('NFC').toLowerCase();
  return TAG_PATTERN.test(tag) ? tag : null;
}
