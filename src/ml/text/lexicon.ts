import { englishDataset, englishRecommendedTransformers, RegExpMatcher } from 'obscenity';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { SentimentIntensityAnalyzer } from 'vader-sentiment';
import { normalise, tokenize } from './normalise.js';

/**
 * Lexicon signals: obscenity's curated English profanity list (with its own evasion transformers),
 * a short list of spam phrasings, and VADER's sentiment lexicon. They are the fallback when no model
 * has been trained, and extra features for the models that have.
 */
const profanityMatcher = new RegExpMatcher({ ...englishDataset.build(), ...englishRecommendedTransformers });


const dataset = englishDataset;

/**
 * Number of distinct profane words in the normalised text (one word may match several patterns).
 * Only the normalised form is matched: it already undoes the evasions, and one pass of obscenity's
 * matcher is the costliest step of scoring a comment.
 */
export function profanityHits(text: string, normalised = normalise(text)): number {
  // Scoring asks twice for the same text (a model feature, then the stored count): remember the last one.
  if (normalised === last.normalised) return last.hits;
  const words = new Set<string>();
  for (const m of profanityMatcher.getAllMatches(normalised)) words.add(dataset.getPayloadWithPhraseMetadata(m).phraseMetadata?.originalWord ?? `#${m.termId}`);
  last.normalised = normalised;
  last.hits = words.size;
  return words.size;
}
const last = { normalised: '', hits: 0 };

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

/**
 * VADER's word valences (the lexicon file shipped in the vader-sentiment package), for cheap
 * features: the package's full analyser costs about a millisecond per comment, a lookup per token a
 * few microseconds. The full analyser stays the lexicon baseline and the fallback.
 */
const valence: Map<string, number> = (() => {
  const file = path.join(path.dirname(createRequire(import.meta.url).resolve('vader-sentiment/package.json')), 'vader_lexicon.txt');
  const map = new Map<string, number>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [word, mean] = line.split('\t');
    if (word && mean) map.set(word, Number(mean));
  }
  return map;
})();

const NEGATIONS = new Set(['not', 'no', 'never', 'nothing', 'nobody', 'none', 'neither', 'nor', 'cannot', "don't", "doesn't", "didn't", "isn't", "aren't", "wasn't", "won't", "can't", "shouldn't", 'dont', 'doesnt', 'didnt', 'isnt', 'wont', 'cant']);

/** Sum of positive and of negative valences in the normalised text, a word after a negation flipped (scaled to about -1..1). */
export function lexiconValence(normalised: string): { pos: number; neg: number } {
  let pos = 0;
  let neg = 0;
  const tokens = tokenize(normalised);
  for (let i = 0; i < tokens.length; i++) {
    let v = valence.get(tokens[i] as string);
    if (v === undefined) continue;
    if (NEGATIONS.has(tokens[i - 1] ?? '') || NEGATIONS.has(tokens[i - 2] ?? '')) v *= -0.74;
    if (v > 0) pos += v;
    else neg -= v;
  }
  return { pos: Math.tanh(pos / 4), neg: Math.tanh(neg / 4) };
}
