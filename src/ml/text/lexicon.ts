import { englishDataset, englishRecommendedTransformers, RegExpMatcher } from 'obscenity';
import { SentimentIntensityAnalyzer } from 'vader-sentiment';
import { normalise } from './normalise.js';

/**
 * Lexicon signals: obscenity's curated English profanity list (with its own evasion transformers),
 * a short list of spam phrasings, and VADER's sentiment lexicon. They are the fallback when no model
 * has been trained, and extra features for the models that have.
 */
const profanityMatcher = new RegExpMatcher({ ...englishDataset.build(), ...englishRecommendedTransformers });


const dataset = englishDataset;

/** Number of distinct profane words found in the raw text or its normalised form (one word may match several patterns). */
export function profanityHits(text: string, normalised = normalise(text)): number {
  const words = new Set<string>();
  for (const source of [text, normalised]) {
    for (const m of profanityMatcher.getAllMatches(source)) words.add(dataset.getPayloadWithPhraseMetadata(m).phraseMetadata?.originalWord ?? `#${m.termId}`);
  }
  return words.size;
}

const SPAM_PHRASES = [
  /\bcheck (?:out )?(?:my|our|this)\b/,
  /\bsubscribe\b/,
  /\bmy (?:channel|video|page|playlist)\b/,
  /\b(?:free|win|earn|money|gift ?card|promo|discount|click)\b/,
  /\bxxurl\b/,
  /\bfollow me\b/,
];

/** Spam phrasings matched in the normalised text (URLs appear there as "xxurl"). */
export function spamHits(normalised: string): number {
  let n = 0;
  for (const re of SPAM_PHRASES) if (re.test(normalised)) n++;
  return n;
}

export interface SentimentScores {
  neg: number;
  neu: number;
  pos: number;
  compound: number;
}

export function vaderScores(text: string): SentimentScores {
  return SentimentIntensityAnalyzer.polarity_scores(text);
}

/** VADER's published rule: compound >= 0.05 positive, <= -0.05 negative, else neutral (0 neg, 1 neu, 2 pos). */
export function vaderClass(compound: number): 0 | 1 | 2 {
  if (compound >= 0.05) return 2;
  if (compound <= -0.05) return 0;
  return 1;
}
