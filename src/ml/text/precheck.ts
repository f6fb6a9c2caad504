import { profanityHits } from './lexicon.js';

/**
 * The cheap check run inline when content is written (a fraction of a millisecond): text with at
 * least `minTerms` distinct profane terms, after evasion is undone, starts out held. The moderation
 * job then scores it with the models and records the decision; a held item is only ever released
 * by a moderator.
 */
export function precheckHolds(text: string, minTerms: number): boolean {
  return text.length > 0 && profanityHits(text) >= minTerms;
}
